from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from casework.accounts.roles import Role

View = Callable[..., HttpResponse]


def step_up_required(view: View) -> View:
    """Sensitive actions need a second factor from the last 5 minutes ("sudo mode").

    Without it the user is sent to re-authenticate and brought back to where they were.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not step_up_fresh(request):
            if request.method == "GET":
                back = request.get_full_path()
            else:
                back = _referer_path(request)
                # A POST is never replayed: back on its page, the person presses again.
                request.session[REPEAT_AFTER_STEP_UP] = True
            return HttpResponseRedirect(f"{reverse('reauth')}?{urlencode({'next': back})}")
        return view(request, *args, **kwargs)

    return wrapper


def step_up_fresh(request: HttpRequest) -> bool:
    """A second factor given within CASEWORK_STEP_UP_SECONDS in this session."""
    verified_at = request.session.get("otp_verified_at", 0)
    if not isinstance(verified_at, int | float):
        return False
    return time.time() - verified_at <= settings.CASEWORK_STEP_UP_SECONDS


def role_required(*roles: Role) -> Callable[[View], View]:
    """Users without one of ``roles`` get 404, the same as for a page that does not exist,
    and the refusal is audited and alerted like any other denied access (R28, R47)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            if not any(user.has_role(role) for role in roles):
                _audit_refusal(request, user, kwargs)
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# The path is ids and fixed words only (these routes take UUIDs); bounded all the same.
MAX_AUDITED_PATH = 200


def _audit_refusal(request: HttpRequest, user: Any, kwargs: dict[str, Any]) -> None:
    """A deny entry with ids only (the address asked for and the object id in it), and the
    hourly "access denied" alert that the organisation's auditors and mailbox see."""
    from casework.audit.alerts import AlertKind, raise_alert
    from casework.audit.models import Action
    from casework.audit.services import record

    first = next((str(value) for value in kwargs.values() if isinstance(value, uuid.UUID)), None)
    ids: dict[str, Any] = {"requested": first} if first is not None else {}
    record(
        Action.ACCESS_DENIED,
        actor=user,
        request=request,
        decision="deny",
        path=request.path[:MAX_AUDITED_PATH],
        **ids,
    )
    raise_alert(
        AlertKind.ACCESS_DENIED,
        organisation_id=user.organisation_id,
        actor=user,
        request=request,
        **ids,
    )


REPEAT_AFTER_STEP_UP = "repeat_after_step_up"


def _referer_path(request: HttpRequest) -> str:
    """The page the form was on: its hidden "next", else the Referer our same-origin policy
    sends (a path of this site only), else the dashboard."""
    named = request.POST.get("next")
    if named:
        return safe_next(request, named)
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc != request.get_host():
        return "/"
    return safe_next(request, urlunsplit(("", "", referer.path, referer.query, "")))


def safe_next(request: HttpRequest, candidate: str | None, default: str = "/") -> str:
    """``candidate`` if it is a path on this site, else ``default`` (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
