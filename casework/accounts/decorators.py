from __future__ import annotations

import time
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
        verified_at = request.session.get("otp_verified_at", 0)
        if time.time() - verified_at > settings.CASEWORK_STEP_UP_SECONDS:
            if request.method == "GET":
                back = request.get_full_path()
            else:
                back = _referer_path(request)
                # A POST is never replayed: back on its page, the person presses again.
                request.session[REPEAT_AFTER_STEP_UP] = True
            return HttpResponseRedirect(f"{reverse('reauth')}?{urlencode({'next': back})}")
        return view(request, *args, **kwargs)

    return wrapper


def role_required(*roles: Role) -> Callable[[View], View]:
    """Users without one of ``roles`` get 404, the same as for a page that does not exist."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            if not any(user.has_role(role) for role in roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


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
