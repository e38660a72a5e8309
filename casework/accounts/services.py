"""Account write paths: sign-in bookkeeping, throttling, sessions, devices, administration.

Each function runs in one transaction together with its audit entry.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from casework.accounts.models import (
    TOTP_KEY_BYTES,
    UNCONFIRMED_DEVICE_LIFETIME,
    BackupCode,
    BackupCodeDevice,
    Invitation,
    LoginFailure,
    LoginLock,
    Organisation,
    TOTPDevice,
    User,
    UserSession,
)
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import client_prefix, record
from casework.lib.keys import keyring
from crypto import keyed_digest

# R6: 5 failures for one username from one client -> that pair waits 15 minutes;
# 30 failures for one username within 24 hours -> it is locked for an hour.
PAIR_LIMIT = 5
PAIR_WINDOW = timedelta(minutes=15)
USER_LIMIT = 30
USER_WINDOW = timedelta(hours=24)
LOCK_DURATION = timedelta(hours=1)
MAX_SESSIONS = 3
BACKUP_CODE_COUNT = 10
BACKUP_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
BACKUP_CODE_LENGTH = 24  # 24 symbols of 5 bits = 120 bits (R13 asks >= 112)
INVITATION_LIFETIME = timedelta(hours=24)


def _digest(purpose: str, value: str) -> bytes:
    return keyed_digest(keyring().index_key, purpose, value.encode("utf-8"))


def username_digest(username: str) -> bytes:
    return _digest("login-username", username.strip().casefold())


def client_digest(request: HttpRequest) -> bytes:
    return _digest("login-client", client_prefix(request) or "unknown")


# --- password step throttling ----------------------------------------------------------------


def login_blocked(request: HttpRequest, username: str) -> bool:
    """True while this username is locked, or this client has failed too often for it."""
    now = timezone.now()
    name = username_digest(username)
    if LoginLock.objects.filter(username_digest=name, until__gt=now).exists():
        return True
    recent = LoginFailure.objects.filter(
        username_digest=name, client_digest=client_digest(request), at__gt=now - PAIR_WINDOW
    )
    return recent.count() >= PAIR_LIMIT


@transaction.atomic
def login_failed(request: HttpRequest, username: str) -> None:
    now = timezone.now()
    name = username_digest(username)
    LoginFailure.objects.create(username_digest=name, client_digest=client_digest(request))
    user = User.objects.filter(username=username).first()
    if user is not None:
        User.objects.filter(pk=user.pk).update(
            failed_logins_since_last=F("failed_logins_since_last") + 1
        )
    record(Action.LOGIN_FAILED, actor=user, request=request, decision="deny")
    failures = LoginFailure.objects.filter(username_digest=name, at__gt=now - USER_WINDOW)
    if failures.count() >= USER_LIMIT:
        LoginLock.objects.update_or_create(
            username_digest=name, defaults={"until": now + LOCK_DURATION}
        )
        # The alert for org admins and auditors (R6, R47).
        record(Action.ACCOUNT_LOCKED, actor=user, request=request, decision="deny")


@transaction.atomic
def unlock_user(*, admin: User, user: User, request: HttpRequest | None = None) -> None:
    name = username_digest(user.username)
    LoginLock.objects.filter(username_digest=name).delete()
    LoginFailure.objects.filter(username_digest=name).delete()
    record(Action.ACCOUNT_UNLOCKED, actor=admin, target=user, request=request)


def is_locked(user: User) -> bool:
    return LoginLock.objects.filter(
        username_digest=username_digest(user.username), until__gt=timezone.now()
    ).exists()


# --- sign-in completion and sessions --------------------------------------------------------


@dataclass(frozen=True)
class LoginNotice:
    previous_login: str | None
    failures: int


@transaction.atomic
def second_factor_passed(request: HttpRequest, user: User) -> None:
    """After a verified second factor: new session key, session record, notice (R14, R17)."""
    request.session.cycle_key()
    request.session["otp_verified_at"] = time.time()
    request.session["session_started_at"] = time.time()
    previous = user.last_verified_login_at
    request.session["login_notice"] = {
        "previous_login": previous.isoformat() if previous else None,
        "failures": user.failed_logins_since_last,
    }
    User.objects.filter(pk=user.pk).update(
        last_verified_login_at=timezone.now(), failed_logins_since_last=0
    )
    request.session.save()
    UserSession.objects.create(
        session_key=str(request.session.session_key), user=user, client=client_prefix(request)
    )
    _evict_oldest_sessions(user)
    record(Action.LOGIN, actor=user, request=request)


def _evict_oldest_sessions(user: User) -> None:
    sessions = list(UserSession.objects.filter(user=user).order_by("-created_at"))
    for stale in sessions[MAX_SESSIONS:]:
        _end(stale)


def _end(user_session: UserSession) -> None:
    Session.objects.filter(session_key=user_session.session_key).delete()
    user_session.delete()


@transaction.atomic
def end_session(*, user: User, public_id: uuid.UUID, request: HttpRequest) -> bool:
    target = UserSession.objects.filter(user=user, public_id=public_id).first()
    if target is None:
        return False
    _end(target)
    record(Action.SESSION_ENDED, actor=user, request=request, session=str(target.public_id))
    return True


@transaction.atomic
def end_other_sessions(user: User, *, keep: str | None) -> int:
    """The kill-switch: every session of ``user`` but ``keep`` ends before its next request,
    including sessions that have passed only the password step (they have no UserSession)."""
    ended = 0
    for user_session in UserSession.objects.filter(user=user).exclude(session_key=keep or ""):
        _end(user_session)
        ended += 1
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(
        session_key=keep or ""
    ):
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def change_password(request: HttpRequest, user: User, new_password: str) -> None:
    """Every other session ends; this one stays signed in under a new session key."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    old_key = request.session.session_key
    end_other_sessions(user, keep=old_key)
    update_session_auth_hash(request, user)  # cycles the key
    UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
    record(Action.PASSWORD_CHANGED, actor=user, request=request)


# --- devices ---------------------------------------------------------------------------------


def has_second_factor(user: User, *, passkey_only: bool) -> bool:
    """Whether the user has a confirmed device that their role may sign in with."""
    return usable_device_count(user, passkey_only=passkey_only) > 0


def usable_device_count(user: User, *, passkey_only: bool) -> int:
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).count()
    if passkey_only:
        return int(passkeys)
    return int(passkeys) + TOTPDevice.objects.filter(user=user, confirmed=True).count()


def new_totp_device(user: User, *, name: str, confirmed: bool) -> TOTPDevice:
    """A TOTP device with a fresh 160-bit key, encrypted under the user's data key."""
    device = TOTPDevice(
        user=user,
        organisation_id=user.organisation_id,
        name=name,
        confirmed=confirmed,
        key=secrets.token_bytes(TOTP_KEY_BYTES).hex(),
    )
    device.save()
    return device


def pending_totp_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator of an enrolment under way, or a new one (R12)."""
    TOTPDevice.objects.filter(
        user=user, confirmed=False, created_at__lt=timezone.now() - UNCONFIRMED_DEVICE_LIFETIME
    ).delete()
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or new_totp_device(user, name="Authenticator app", confirmed=False)


def new_backup_code() -> str:
    raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, BACKUP_CODE_LENGTH, 4))


@transaction.atomic
def issue_backup_codes(user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's backup codes with ten new ones; the plaintext exists only here."""
    from casework.accounts.models import backup_code_digest

    BackupCodeDevice.objects.filter(user=user).delete()
    device = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(
        BackupCode(device=device, digest=backup_code_digest(code)) for code in codes
    )
    record(Action.BACKUP_CODES_ISSUED, actor=user, request=request)
    return codes


@transaction.atomic
def confirm_totp_device(request: HttpRequest, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(Action.DEVICE_ADDED, actor=device.user, target=device, request=request)
    end_other_sessions(device.user, keep=request.session.session_key)


@transaction.atomic
def remove_device(
    request: HttpRequest, user: User, device: TOTPDevice | WebAuthnCredential
) -> None:
    device.delete()
    record(Action.DEVICE_REMOVED, actor=user, request=request, device=str(device.pk))
    end_other_sessions(user, keep=request.session.session_key)


# --- administration --------------------------------------------------------------------------


@transaction.atomic
def reset_second_factor(*, admin: User, user: User, request: HttpRequest | None = None) -> None:
    """Delete every device and end every session: the user re-enrols at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
    end_other_sessions(user, keep=None)
    record(Action.SECOND_FACTOR_RESET, actor=admin, target=user, request=request)


@transaction.atomic
def panic_revoke(*, admin: User, user: User, request: HttpRequest | None = None) -> None:
    """A seized laptop: every session and device of the user, and the password too (whoever
    holds the laptop may know it), in one transaction (R19). The account stays disabled;
    the person comes back through a new invitation."""
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
    user.set_unusable_password()
    user.is_active = False
    user.save(update_fields=["password", "is_active"])
    end_other_sessions(user, keep=None)
    record(Action.PANIC_REVOKE, actor=admin, target=user, request=request)


@transaction.atomic
def deactivate_user(*, admin: User, user: User, request: HttpRequest | None = None) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    end_other_sessions(user, keep=None)
    record(Action.USER_DEACTIVATED, actor=admin, target=user, request=request)


@transaction.atomic
def set_role(*, admin: User, user: User, role: Role, request: HttpRequest | None = None) -> None:
    user.groups.set([Group.objects.get(name=role.value)])
    end_other_sessions(user, keep=None)
    record(Action.ROLE_CHANGED, actor=admin, target=user, request=request, role=role.value)


@transaction.atomic
def set_alert_mailbox(*, admin: User, email: str, request: HttpRequest | None = None) -> None:
    """Where the organisation's security alerts are mailed (R47); audited by field name."""
    Organisation.objects.filter(pk=admin.organisation_id).update(alert_email=email)
    record(
        Action.ORGANISATION_UPDATED,
        actor=admin,
        target=admin.organisation,
        request=request,
        fields=["alert_email"],
    )


@transaction.atomic
def set_letterhead(
    *, admin: User, values: dict[str, Any], request: HttpRequest | None = None
) -> None:
    """The organisation's letterhead and signatory for support letters; audited by name."""
    organisation = Organisation.objects.select_for_update().get(pk=admin.organisation_id)
    changed = sorted(name for name, value in values.items() if getattr(organisation, name) != value)
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.save()
    record(
        Action.ORGANISATION_UPDATED,
        actor=admin,
        target=organisation,
        request=request,
        fields=changed,
    )


def invitation_digest(token: str) -> bytes:
    return _digest("invitation", token)


@transaction.atomic
def create_invitation(*, admin: User, role: Role, request: HttpRequest | None = None) -> str:
    """Returns the token for the link (shown once); only its digest is stored."""
    token, invitation = _new_invitation(admin.organisation, role, created_by=admin)
    record(Action.INVITATION_CREATED, actor=admin, target=invitation, request=request, role=role)
    return token


@transaction.atomic
def create_bootstrap_invitation(*, organisation: Organisation, role: Role) -> str:
    """The first administrator's invitation, made by an operator's command."""
    token, invitation = _new_invitation(organisation, role, created_by=None)
    record(
        Action.INVITATION_CREATED,
        organisation_id=organisation.pk,
        target=invitation,
        role=role,
        by="create_organisation",
    )
    return token


def _new_invitation(
    organisation: Organisation, role: Role, *, created_by: User | None
) -> tuple[str, Invitation]:
    token = secrets.token_urlsafe(32)  # 256 bits
    invitation = Invitation.objects.create(
        organisation=organisation,
        role=role.value,
        token_digest=invitation_digest(token),
        created_by=created_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    return token, invitation


class InvitationInvalid(Exception):
    """Unknown, used, withdrawn or expired; the message says which."""


def find_invitation(token: str) -> Invitation:
    invitation = Invitation.objects.filter(token_digest=invitation_digest(token)).first()
    if invitation is None:
        raise InvitationInvalid("unknown")
    _still_valid(invitation)
    return invitation


def _still_valid(invitation: Invitation) -> None:
    problem = invitation.problem()
    if problem is not None:
        raise InvitationInvalid(problem)


@transaction.atomic
def accept_invitation(
    *, token: str, username: str, password: str, request: HttpRequest | None = None
) -> User:
    found = find_invitation(token)
    # Check again on the locked row: two acceptances at once must not both succeed, and a
    # link withdrawn while its form was being filled in must not work.
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    _still_valid(invitation)
    organisation: Organisation = invitation.organisation
    user = User.objects.create_user(username, organisation=organisation, password=password)
    user.groups.add(Group.objects.get(name=invitation.role))
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    record(Action.INVITATION_ACCEPTED, actor=user, target=invitation, request=request)
    return user


@transaction.atomic
def withdraw_invitation(
    *, admin: User, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    """The link stops working at once. Decided on the locked row, so an acceptance at the same
    moment either happens before (and this raises "used") or finds the link withdrawn."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _still_valid(locked)
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["withdrawn_at"])
    record(Action.INVITATION_WITHDRAWN, actor=admin, target=locked, request=request)


def session_absolute_limit() -> int:
    return int(settings.CASEWORK_SESSION_ABSOLUTE_SECONDS)
