"""The session's copy of the organisation key, useless without the browser's cookie (issue 16).

At the password step, keep() encrypts the organisation key the member unlocked under a fresh
random 256-bit key and stores only the ciphertext in the server-side session; the random key
goes to the browser alone, in a cookie of its own (HttpOnly, SameSite=Strict; __Host- and
Secure in production). A copied session table opens nothing; the cookie of an ended session
opens nothing either, its session row being gone. Sign-out, the idle and absolute timeouts
and every revocation delete the row.

For each request of a fully signed-in member, the middleware opens the copy and holds the key
for that request only (held()); it is forgotten when the response leaves.

Session value (base64 of crypto.aead's token, 61 bytes for a 32-byte key): AES-256-GCM under
the cookie's key, associated data ``session-vault:<user id>:org:<organisation id>:v<version>``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from casework.keystore.members import Unlocked
from crypto import CryptoError, DecryptionError, decrypt, encrypt

logger = logging.getLogger(__name__)

SESSION_FIELD = "organisation_key"
COOKIE_KEY_SIZE = 32
_TO_SET = "_vault_cookie"

_held: ContextVar[tuple[Unlocked, ...]] = ContextVar("organisation_keys", default=())
# Older versions of a held key opened down its chain (a rotation in progress), this context only.
_older: ContextVar[dict[tuple[uuid.UUID, int], bytes] | None] = ContextVar(
    "older_organisation_keys", default=None
)


def held() -> Unlocked | None:
    """The organisation key of this request's signed-in member, or None (not signed in,
    pending, or a role that reads no content)."""
    keys = _held.get()
    return keys[0] if len(keys) == 1 else None


def for_organisation(organisation_id: Any) -> Unlocked | None:
    """The organisation key held in this context for ``organisation_id``, or None."""
    return next((key for key in _held.get() if key.organisation_id == organisation_id), None)


def secret_of(organisation_id: Any, version: int) -> bytes | None:
    """The key of ``version`` of the organisation key, if this context holds that version
    or a newer one (a rotation moves data keys under the newer gradually); else None."""
    held = for_organisation(organisation_id)
    if held is None or version > held.version:
        return None
    if version == held.version:
        return held.secret
    older = _older.get()
    if older is not None and (organisation_id, version) in older:
        return older[organisation_id, version]
    from casework.keystore.members import older_secret

    try:
        secret = older_secret(held, version)
    except DecryptionError:
        logger.error("an older organisation key does not open from the one held")
        return None
    if older is not None:
        older[organisation_id, version] = secret
    return secret


@contextmanager
def holding(*keys: Unlocked) -> Iterator[None]:
    """Hold ``keys`` inside this block only: a request (the middleware), or the demo's
    seeding, which knows the demo coordinators' passwords and unlocks their keys."""
    token = _held.set(tuple(keys))
    older = _older.set({})
    try:
        yield
    finally:
        _older.reset(older)
        _held.reset(token)


def keep(request: HttpRequest, user: Any, unlocked: Unlocked) -> None:
    """Keep ``unlocked`` for this session: its ciphertext in the session, its key in the
    cookie the response sets."""
    session_value, cookie_value = for_session(user, unlocked)
    request.session[SESSION_FIELD] = session_value
    setattr(request, _TO_SET, cookie_value)


def for_session(user: Any, unlocked: Unlocked) -> tuple[dict[str, Any], str]:
    """The session's value (the key encrypted under a fresh random key) and the cookie's
    (that random key, base64url)."""
    cookie_key = os.urandom(COOKIE_KEY_SIZE)
    context = _context(user.pk, unlocked.organisation_id, unlocked.version)
    token = encrypt(cookie_key, unlocked.secret, context)
    session_value = {
        "organisation": str(unlocked.organisation_id),
        "version": unlocked.version,
        "sealed": base64.b64encode(token).decode(),
    }
    return session_value, base64.urlsafe_b64encode(cookie_key).decode()


def opened(request: HttpRequest) -> Unlocked | None:
    """The organisation key of this session, or None. A session value without its cookie,
    a cookie of another session, or either altered: None, and nothing else happens (a
    member then sees the waiting page, never a decryption error)."""
    stored = request.session.get(SESSION_FIELD)
    cookie = request.COOKIES.get(settings.CASEWORK_VAULT_COOKIE_NAME)
    if not isinstance(stored, dict) or not cookie:
        return None
    user: Any = request.user
    try:
        organisation_id, version = uuid.UUID(stored["organisation"]), int(stored["version"])
        key = base64.urlsafe_b64decode(cookie.encode("ascii"))
        token = base64.b64decode(stored["sealed"])
        if len(key) != COOKIE_KEY_SIZE or organisation_id != user.organisation_id:
            return None
        secret = decrypt(key, token, _context(user.pk, organisation_id, version))
    except (KeyError, ValueError, TypeError, binascii.Error, UnicodeEncodeError, DecryptionError):
        logger.warning("a session's organisation key did not open with its cookie")
        return None
    return Unlocked(organisation_id, version, secret)


_layered: set[tuple[uuid.UUID, int]] = set()  # organisation keys with no legacy data key left


def _layer_a_batch(unlocked: Unlocked) -> None:
    """After an upgrade or a rotation, each request of a member holding the key puts a batch
    of the organisation's data keys under it (from the KEK alone, or from an older version),
    until none is left (resumable: any request goes on where the last one stopped).
    Remembered per process once done for this version: new data keys are layered under the
    current version from the start."""
    from casework.lib import datakeys

    done = (unlocked.organisation_id, unlocked.version)
    if done in _layered:
        return
    try:
        layered = datakeys.layer_legacy_keys(unlocked, datakeys.LAYER_BATCH)
    except (CryptoError, DatabaseError) as problem:
        # Work behind the member's page: it never fails the page. The batch rolled back
        # and is tried again by the next request; a data key that does not open stays as it
        # is (its own pages say so).
        logger.error("layering data keys under organisation key failed: %s", type(problem).__name__)
        return
    if layered < datakeys.LAYER_BATCH:
        _layered.add(done)


def _context(user_id: Any, organisation_id: Any, version: int) -> bytes:
    return f"session-vault:{user_id}:org:{organisation_id}:v{version}".encode()


class OrganisationKeyMiddleware:
    """Holds the signed-in member's organisation key for the request, and sets or clears
    the cookie that opens the session's copy of it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user: Any = getattr(request, "user", None)
        verified = user is not None and user.is_authenticated and user.is_verified()
        unlocked = opened(request) if verified else None
        with holding(*([unlocked] if unlocked is not None else [])):
            response = self.get_response(request)
            if unlocked is not None:
                _layer_a_batch(unlocked)
        name = settings.CASEWORK_VAULT_COOKIE_NAME
        to_set = getattr(request, _TO_SET, None)
        if to_set:
            response.set_cookie(
                name,
                to_set,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Strict",
                path="/",
            )
        elif name in request.COOKIES and SESSION_FIELD not in request.session:
            response.delete_cookie(name, path="/", samesite="Strict")  # its session is gone
        return response
