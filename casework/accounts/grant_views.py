"""Content roles need two people: the org admin asks, a coordinator confirms (finding 13).

Coordinators see the requests of their organisation for accounts that exist, never their
own and never one they asked for, and confirm or refuse each after a fresh second factor.
Both answers are audited; a request of another organisation is 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts import services
from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.models import RoleGrant, User
from casework.accounts.roles import Role
from casework.keystore import members, vault
from casework.keystore.models import MemberKey

coordinators_only = role_required(Role.COORDINATOR)
content_members = role_required(Role.COORDINATOR, Role.CASEWORKER)


@require_http_methods(["GET"])
@coordinators_only
def grants_view(request: HttpRequest) -> HttpResponse:
    coordinator: Any = request.user
    grants = services.pending_grants_for(coordinator)
    return render(request, "accounts/grants.html", {"grants": grants})


@require_http_methods(["GET"])
@content_members
def content_access_view(request: HttpRequest) -> HttpResponse:
    """Who waits for the organisation key; anyone who holds it may grant it (issue 16), so
    that an organisation whose coordinators are all away or reset is not locked out."""
    user: Any = request.user
    waiting = list(members.pending_members(user.organisation_id).exclude(pk=user.pk))
    ready = set(MemberKey.objects.filter(user__in=waiting).values_list("user_id", flat=True))
    for member in waiting:
        member.member_key_ready = member.pk in ready
    context = {"waiting_access": waiting, "holds_key": vault.held() is not None}
    if user.has_role(Role.COORDINATOR):
        context["organisation_key"] = _key_state(user)
    return render(request, "accounts/content_access.html", context)


def _key_state(coordinator: Any) -> dict[str, Any] | None:
    current = members.current_key(coordinator.organisation_id)
    if current is None:
        return None
    moved, total = members.key_progress(coordinator.organisation_id)
    return {"key": current, "moved": moved, "total": total, "moving": moved < total}


@require_http_methods(["GET", "POST"])
@coordinators_only
@step_up_required
def rotate_key_view(request: HttpRequest) -> HttpResponse:
    """Rotate the organisation key after a suspected compromise: a confirmation page, then
    the new key (services.rotate_organisation_key)."""
    coordinator: Any = request.user
    state = _key_state(coordinator)
    if state is None:
        raise Http404
    if request.method == "POST":
        try:
            version = services.rotate_organisation_key(request, coordinator)
        except members.GrantRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                _(
                    "The organisation key is now version %(version)s. Everyone else in the "
                    "organisation was signed out; the cases move under the new key as members "
                    "use the application."
                )
                % {"version": version},
            )
            return redirect("content_access")
    context = {"organisation_key": state, "holds_key": vault.held() is not None}
    return render(request, "accounts/rotate_key.html", context)


@require_POST
@content_members
@step_up_required
def content_access_grant_view(request: HttpRequest, member_id: Any) -> HttpResponse:
    """Seal the organisation key this member's session holds to a waiting member."""
    coordinator: Any = request.user
    member = User.objects.filter(pk=member_id, organisation_id=coordinator.organisation_id).first()
    if member is None:
        raise Http404
    try:
        members.grant(granter=coordinator, unlocked=vault.held(), member=member, request=request)
    except members.GrantRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("%(name)s has access to case content from their next sign-in.")
            % {"name": member.username},
        )
    return redirect("content_access")


@require_POST
@coordinators_only
@step_up_required
def grant_confirm_view(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _decide(
        request,
        public_id,
        services.confirm_grant,
        done=_("The role was confirmed; it applies from their next sign-in."),
    )


@require_POST
@coordinators_only
@step_up_required
def grant_refuse_view(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _decide(
        request,
        public_id,
        services.refuse_grant,
        done=_("The role was refused; their account stays without it."),
    )


def _decide(
    request: HttpRequest, public_id: Any, service: Callable[..., RoleGrant], *, done: str
) -> HttpResponse:
    coordinator: Any = request.user
    if not RoleGrant.objects.filter(
        pk=public_id, organisation_id=coordinator.organisation_id
    ).exists():
        raise Http404
    try:
        service(coordinator=coordinator, grant_id=public_id, request=request)
    except services.GrantInvalid:
        messages.error(
            request,
            _(
                "That request was already decided or withdrawn, or it is not yours to decide "
                "(your own role, or one you asked for); nothing changed."
            ),
        )
        return redirect("role_grants")
    messages.success(request, done)
    return redirect("role_grants")
