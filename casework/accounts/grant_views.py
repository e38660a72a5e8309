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
from casework.accounts.models import RoleGrant
from casework.accounts.roles import Role

coordinators_only = role_required(Role.COORDINATOR)


@require_http_methods(["GET"])
@coordinators_only
def grants_view(request: HttpRequest) -> HttpResponse:
    coordinator: Any = request.user
    grants = services.pending_grants_for(coordinator)
    return render(request, "accounts/grants.html", {"grants": grants})


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
