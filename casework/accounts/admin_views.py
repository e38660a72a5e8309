"""Organisation administration: invite, set role, deactivate, reset second factor, unlock,
panic revoke. Org admins act on their own organisation only and see no case content."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts import services
from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.forms import (
    LETTER_LANGUAGE_NAMES,
    AlertMailboxForm,
    InvitationAcceptForm,
    LetterheadForm,
    RoleForm,
)
from casework.accounts.models import User
from casework.accounts.roles import Role

org_admin_only = role_required(Role.ORG_ADMIN)


def get_user_for_admin(admin: User, user_id: Any) -> User:
    """A user of the admin's organisation; anything else is 404, like a missing one."""
    user = User.objects.filter(pk=user_id, organisation_id=admin.organisation_id).first()
    if user is None:
        raise Http404
    return user


def _not_self(admin: User, user: User) -> None:
    if admin.pk == user.pk:  # no raising one's own role, no locking oneself out
        raise Http404


@require_http_methods(["GET"])
@org_admin_only
def users_view(request: HttpRequest) -> HttpResponse:
    return _users_page(request, AlertMailboxForm(initial=_mailbox(request)))


def _mailbox(request: HttpRequest) -> dict[str, str]:
    admin: Any = request.user
    return {"alert_email": admin.organisation.alert_email}


def _users_page(request: HttpRequest, mailbox: AlertMailboxForm, status: int = 200) -> HttpResponse:
    admin: Any = request.user
    users = (
        User.objects.filter(organisation_id=admin.organisation_id)
        .prefetch_related("groups")
        .order_by("username")
    )
    context = {"users": users, "form": RoleForm(), "mailbox": mailbox}
    return render(request, "accounts/admin/users.html", context, status=status)


@require_http_methods(["GET", "POST"])
@org_admin_only
def letterhead_view(request: HttpRequest) -> HttpResponse:
    admin: Any = request.user
    organisation = admin.organisation
    if request.method == "POST":
        form = LetterheadForm(request.POST)
        if form.is_valid():
            services.set_letterhead(admin=admin, values=form.values(), request=request)
            messages.success(request, _("The letterhead was saved."))
            return redirect("admin_letterhead")
        status = 400
    else:
        initial = {name: getattr(organisation, name) for name in LetterheadForm.FIELDS}
        initial |= {
            f"about_{code}": organisation.about.get(code, "") for code, _n in LETTER_LANGUAGE_NAMES
        }
        form = LetterheadForm(initial=initial)
        status = 200
    return render(request, "accounts/admin/letterhead.html", {"form": form}, status=status)


@require_POST
@org_admin_only
@step_up_required
def alert_mailbox_view(request: HttpRequest) -> HttpResponse:
    admin: Any = request.user
    form = AlertMailboxForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, status=400)
    services.set_alert_mailbox(admin=admin, email=form.cleaned_data["alert_email"], request=request)
    messages.success(request, _("The security alert mailbox was saved."))
    return redirect("admin_users")


@require_POST
@org_admin_only
@step_up_required
def invite_view(request: HttpRequest) -> HttpResponse:
    admin: Any = request.user
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role for the invitation."))
        return redirect("admin_users")
    token = services.create_invitation(
        admin=admin, role=Role(form.cleaned_data["role"]), request=request
    )
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    return render(request, "accounts/admin/invited.html", {"link": link})


@require_POST
@org_admin_only
@step_up_required
def role_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    _not_self(admin, user)
    form = RoleForm(request.POST)
    if form.is_valid():
        services.set_role(
            admin=admin, user=user, role=Role(form.cleaned_data["role"]), request=request
        )
        messages.success(request, _("The role was changed; their sessions ended."))
    return redirect("admin_users")


def _action(name: str, done: Any, needs_step_up: bool = True) -> Any:
    def view(request: HttpRequest, user_id: Any) -> HttpResponse:
        admin: Any = request.user
        user = get_user_for_admin(admin, user_id)
        _not_self(admin, user)
        getattr(services, name)(admin=admin, user=user, request=request)
        messages.success(request, done)
        return redirect("admin_users")

    view.__name__ = f"{name}_view"
    wrapped = step_up_required(view) if needs_step_up else view
    return require_POST(org_admin_only(wrapped))


deactivate_view = _action("deactivate_user", gettext_lazy("The account was deactivated."))
reset_second_factor_view = _action(
    "reset_second_factor",
    gettext_lazy("Their second factor was reset; they enrol again at next sign-in."),
)
panic_revoke_view = _action(
    "panic_revoke", gettext_lazy("Every session and device of that user was revoked.")
)
unlock_view = _action("unlock_user", gettext_lazy("The account was unlocked."), needs_step_up=False)


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.find_invitation(token)
    except services.InvitationInvalid as problem:
        reason = {
            "unknown": _("This invitation link is not valid. Check that it was copied whole."),
            "used": _("This invitation link has already been used."),
            "expired": _("This invitation link has expired. Ask for a new one."),
        }[str(problem)]
        return render(request, "accounts/invitation_invalid.html", {"reason": reason}, status=410)
    form = InvitationAcceptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.accept_invitation(
            token=token,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["new_password"],
            request=request,
        )
        messages.success(request, _("Your account is ready. Sign in to set up your second factor."))
        return redirect("login")
    return render(request, "accounts/invitation_accept.html", {"form": form})
