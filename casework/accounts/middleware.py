"""Central enforcement of sign-in, the second factor and session lifetimes.

Nothing beyond the public pages is reachable without a verified second factor (R1): the
rule lives here, once, not in a decorator each view could forget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.db import connection
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from casework.accounts.models import UserSession
from casework.lib.sql import column

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

# A session that has passed only the password step lives this long from that step, however
# active it is: enough to give a code or enrol a factor, not a standing half-open door.
HALF_SIGNED_IN_SECONDS = 15 * 60
HALF_SIGNED_IN_SINCE = "password_step_at"


def mark_password_step(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Connected to ``user_logged_in``: Django's ``login()`` (the password step) stamps the
    new session, so its absolute lifetime runs from there."""
    if request is not None and hasattr(request, "session"):
        request.session[HALF_SIGNED_IN_SINCE] = time.time()


def _to_login(request: HttpRequest, reason: str | None = None) -> HttpResponseRedirect:
    query = {"next": request.get_full_path()} if request.method == "GET" else {}
    if reason:
        query["reason"] = reason
    suffix = f"?{urlencode(query)}" if query else ""
    return HttpResponseRedirect(reverse("login") + suffix)


class SessionOTPMiddleware(OTPMiddleware):  # type: ignore[misc]
    """django-otp's middleware (``user.otp_device``, ``user.is_verified()``), whose device
    query also says whether this session is still registered to the user (``UserSession``),
    so that ``SessionPolicyMiddleware`` needs no query of its own on every page (issue 15).
    django-otp's own checks are unchanged: a device of another user, or not confirmed,
    verifies nothing."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        self._init_user_fields(user)
        if user.is_authenticated:
            persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
            device = (
                self._registered_device(request, user, persistent_id) if persistent_id else None
            )
            user.otp_device = self._finalize_device(request, user, device)
        return user

    def _registered_device(self, request: HttpRequest, user: Any, persistent_id: str) -> Any:
        """The session's device, as ``Device.from_persistent_id`` finds it, and whether the
        session is registered to the device's user, in one statement."""
        normalised = self._normalize_persistent_id(persistent_id)
        try:
            found = Device._filter_persistent_id(normalised)
        except (ValueError, LookupError):  # what Device.from_persistent_id forgives
            return None
        if found is None:  # a model that is no device
            return None
        device_id = int(normalised.rsplit("/", 1)[1])  # read and checked by the filter above
        sql = _registered_device_sql(found.model, connection.vendor)
        session_key = request.session.session_key
        device = next(iter(found.model._default_manager.raw(sql, [session_key, device_id])), None)
        if device is not None:
            setattr(user, SESSION_REGISTERED, bool(device.session_registered))
        return device


@cache
def _registered_device_sql(model: type[Device], vendor: str) -> str:
    """The device's row by its id, and whether a ``UserSession`` of the session's key belongs
    to the device's user. Written out for the reason the user's own statement is
    (accounts.backends: issue 15): Django took longer to build this query with its EXISTS
    than the database took to answer it (1.0 ms against 0.3 on PostgreSQL)."""
    quote = connection.ops.quote_name
    user = quote("user_id")
    # The model's columns by name, not d.*: a statement a connection keeps prepared must not
    # change the shape of its rows when a migration adds a column (settings, DATABASES).
    columns = ", ".join(column(model, field.name, "d") for field in model._meta.concrete_fields)
    # Only names of the models, quoted, go into the text; the values are parameters.
    return (
        f"SELECT {columns}, EXISTS(SELECT 1 FROM {quote(UserSession._meta.db_table)} s"  # noqa: S608
        f" WHERE s.{quote('session_key')} = %s AND s.{user} = d.{user})"
        f" AS {quote('session_registered')}"
        f" FROM {quote(model._meta.db_table)} d WHERE d.{quote('id')} = %s"
    )


SESSION_REGISTERED = "_session_registered"
LAST_SEEN_EVERY = 60  # seconds


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
            now = time.time()
            # Written at most once a minute: every write is a session save (three queries
            # on every page, issue 15). The idle timeout then ends a session up to a minute
            # early, never late.
            if now - request.session.get("last_seen_at", 0) >= LAST_SEEN_EVERY:
                request.session["last_seen_at"] = now
        return self.get_response(request)

    @staticmethod
    def _expired(request: HttpRequest, user: Any) -> str | None:
        now = time.time()
        session = request.session
        last_seen = session.get("last_seen_at", now)
        if now - last_seen > settings.CASEWORK_SESSION_IDLE_SECONDS:
            return "idle"
        if not user.is_verified():
            # Password step only: a lifetime of its own, from that step (fails closed when
            # the stamp is missing).
            stepped = session.get(HALF_SIGNED_IN_SINCE)
            if not isinstance(stepped, int | float) or now - stepped > HALF_SIGNED_IN_SECONDS:
                return "expired"
            return None
        started = session.get("session_started_at")
        if (
            not isinstance(started, int | float)
            or now - started > settings.CASEWORK_SESSION_ABSOLUTE_SECONDS
        ):
            return "expired"
        registered = getattr(user, SESSION_REGISTERED, None)  # read with the device
        if registered is None:
            registered = UserSession.objects.filter(
                session_key=session.session_key, user=user
            ).exists()
        if not registered:
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
