"""Central enforcement of sign-in, the second factor and session lifetimes.

Nothing beyond the public pages is reachable without a verified second factor (R1): the
rule lives here, once, not in a decorator each view could forget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from casework.accounts.models import UserSession

# Reachable by anyone.
PUBLIC_VIEWS = frozenset(
    {"login", "healthz", "set_language", "invitation_accept", "verify_form", "letter_verify"}
)
# Reachable after the password step, before the second factor.
HALF_AUTHENTICATED_VIEWS = frozenset(
    {
        "login_verify",
        "login_enrol",
        "logout",
        # Passkey steps; django-otp-webauthn refuses registration to a user who already has
        # a device but has not used it in this session.
        "credential-authentication-begin",
        "credential-authentication-complete",
        "credential-registration-begin",
        "credential-registration-complete",
        "js-i18n-catalog",
    }
)

GetResponse = Callable[[HttpRequest], HttpResponseBase]


def _to_login(request: HttpRequest, reason: str | None = None) -> HttpResponseRedirect:
    query = {"next": request.get_full_path()} if request.method == "GET" else {}
    if reason:
        query["reason"] = reason
    suffix = f"?{urlencode(query)}" if query else ""
    return HttpResponseRedirect(reverse("login") + suffix)


class SessionPolicyMiddleware:
    """Idle timeout, absolute lifetime, and sessions ended elsewhere (R16, R19, R21)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user: Any = request.user
        if user.is_authenticated:
            reason = self._expired(request, user)
            if reason:
                UserSession.objects.filter(session_key=request.session.session_key).delete()
                logout(request)  # flushes: the session row is deleted, not just forgotten
                return _to_login(request, reason)
            request.session["last_seen_at"] = time.time()
        return self.get_response(request)

    @staticmethod
    def _expired(request: HttpRequest, user: Any) -> str | None:
        now = time.time()
        session = request.session
        last_seen = session.get("last_seen_at", now)
        if now - last_seen > settings.CASEWORK_SESSION_IDLE_SECONDS:
            return "idle"
        started = session.get("session_started_at")
        if started is not None and now - started > settings.CASEWORK_SESSION_ABSOLUTE_SECONDS:
            return "expired"
        if (
            user.is_verified()
            and not UserSession.objects.filter(session_key=session.session_key, user=user).exists()
        ):
            return "ended"
        return None


class RequireSecondFactorMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        name = match.url_name if match else None
        if name in PUBLIC_VIEWS:
            return None
        user: Any = request.user
        if not user.is_authenticated:
            return _to_login(request)
        if user.is_verified() or name in HALF_AUTHENTICATED_VIEWS:
            return None
        return HttpResponseRedirect(reverse("login_verify"))
