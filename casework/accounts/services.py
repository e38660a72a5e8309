"""Account write paths: sign-in bookkeeping, throttling, sessions, devices, administration.

Each function runs in one transaction together with its audit entry.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
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
    RoleGrant,
    SecurityNotice,
    TOTPDevice,
    User,
    UserSession,
)
from casework.accounts.roles import CONTENT_ROLES, Role
from casework.audit.models import Action
from casework.audit.services import client_prefix, record
from casework.keystore import members, vault
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
# An invitation link may meet this many taken usernames; then it stops working (finding 11:
# "taken" says that the name exists in some organisation, so each answer is rationed, audited
# in the inviting organisation's log, and costs the inviter a new, audited link).
USERNAME_ATTEMPTS_PER_INVITATION = 5


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
        # Lengthen, never shorten: an incident's lock (accounts.incident) stays for years
        # even when a wrong password that passed login_blocked() lands after it.
        lock, created = LoginLock.objects.select_for_update().get_or_create(
            username_digest=name, defaults={"until": now + LOCK_DURATION}
        )
        if not created and lock.until < now + LOCK_DURATION:
            lock.until = now + LOCK_DURATION
            lock.save(update_fields=["until"])
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
def rotate_organisation_key(request: HttpRequest, coordinator: User) -> int:
    """A new organisation key (members.rotate) after a suspected compromise. Every other
    session in the organisation ends: a session holding the old key could go on adding
    people under it. Members who held the key sign in again and hold the new one; this
    session keeps working with it. Returns the new version."""
    unlocked = members.rotate(coordinator=coordinator, unlocked=vault.held(), request=request)
    keep = request.session.session_key or ""
    in_organisation = User.objects.filter(organisation_id=coordinator.organisation_id)
    for user_session in UserSession.objects.filter(user__in=in_organisation).exclude(
        session_key=keep
    ):
        _end(user_session)
    ids = {str(pk) for pk in in_organisation.values_list("pk", flat=True)}
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(session_key=keep):
        if session.get_decoded().get("_auth_user_id") in ids:
            session.delete()
    vault.keep(request, coordinator, unlocked)
    return unlocked.version


@transaction.atomic
def change_password(
    request: HttpRequest, user: User, new_password: str, *, current_password: str | None = None
) -> None:
    """Every other session ends; this one stays signed in under a new session key. With the
    current password, the member's private key follows the new one (access to content
    stays); without it, a new key pair (pending until granted again)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    members.password_set(user, new_password, current_password=current_password)
    old_key = request.session.session_key
    end_other_sessions(user, keep=old_key)
    update_session_auth_hash(request, user)  # cycles the key
    UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
    notify(user, SecurityNotice.Kind.PASSWORD_CHANGED)
    record(Action.PASSWORD_CHANGED, actor=user, request=request)


# --- notices of changes to how someone signs in (R14) --------------------------------------


def notify(user: User, kind: SecurityNotice.Kind) -> None:
    """A notice the user sees on their dashboard at every sign-in until they acknowledge it."""
    SecurityNotice.objects.create(user=user, kind=kind)


def role_requests_waiting(user: User) -> tuple[int, int]:
    """The pending role grants of ``user``'s organisation a coordinator can decide
    (``RoleGrant.objects.awaiting_coordinator()``): how many are ``user``'s own, and how
    many of the others ``user`` did not ask for (those a coordinator may decide).

    Counted by a statement written out: it runs on every dashboard, and Django took longer
    to build the two filtered counts than the database took to answer (issue 15: 1.2 ms
    against 0.3 on PostgreSQL). tests/test_accounts_two_person.py holds it to the ORM's
    answer."""
    key = User._meta.pk
    assert key is not None
    me = key.get_db_prep_value(user.pk, connection)
    organisation = key.get_db_prep_value(user.organisation_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_role_requests_sql(), [me, me, me, organisation])
        mine, others = cursor.fetchone()
    return int(mine), int(others)


@cache
def _role_requests_sql() -> str:
    grants = connection.ops.quote_name(RoleGrant._meta.db_table)
    users = connection.ops.quote_name(User._meta.db_table)
    # Only the tables' quoted names go into the text; the values are parameters.
    return (
        'SELECT COUNT(*) FILTER (WHERE r."user_id" = %s),'  # noqa: S608
        ' COUNT(*) FILTER (WHERE r."user_id" <> %s'
        ' AND (r."requested_by_id" IS NULL OR r."requested_by_id" <> %s))'
        f' FROM {grants} r JOIN {users} u ON u."id" = r."user_id"'
        ' WHERE r."organisation_id" = %s AND r."outcome" = \'\' AND u."is_active"'
    )


def open_notices(user: User) -> list[SecurityNotice]:
    return list(SecurityNotice.objects.filter(user=user, acknowledged_at__isnull=True))


def _signed_in_at(request: HttpRequest) -> datetime | None:
    started = request.session.get("session_started_at")
    return datetime.fromtimestamp(started, tz=UTC) if isinstance(started, int | float) else None


def can_acknowledge(request: HttpRequest, notice: SecurityNotice) -> bool:
    """Only a session that signed in after the change may dismiss its notice: the session
    that made a change (perhaps not the person's own) cannot make it disappear."""
    signed_in = _signed_in_at(request)
    return signed_in is not None and notice.created_at < signed_in


@transaction.atomic
def acknowledge_notices(request: HttpRequest, user: User) -> int:
    signed_in = _signed_in_at(request)
    if signed_in is None:
        return 0
    count = SecurityNotice.objects.filter(
        user=user, acknowledged_at__isnull=True, created_at__lt=signed_in
    ).update(acknowledged_at=timezone.now())
    if count:
        record(Action.SECURITY_NOTICES_ACKNOWLEDGED, actor=user, request=request, count=count)
    return int(count)


def factor_changed(request: HttpRequest | None, user: User, kind: SecurityNotice.Kind) -> None:
    """After any change to a user's second factors: a lasting notice, and every other session
    of theirs ends (R14, R19); the one that made the change goes on."""
    notify(user, kind)
    end_other_sessions(user, keep=request.session.session_key if request is not None else None)


# --- devices ---------------------------------------------------------------------------------


def has_second_factor(user: User, *, passkey_only: bool) -> bool:
    """Whether the user has a confirmed device that their role may sign in with."""
    return usable_device_count(user, passkey_only=passkey_only) > 0


def usable_device_count(user: User, *, passkey_only: bool) -> int:
    """Confirmed devices the user may sign in with. Under R2 (``passkey_only``) that is a
    passkey that stays on its device: a synced (backup-eligible) one never counts."""
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True)
    if passkey_only:
        return int(passkeys.filter(backup_eligible=False).count())
    return int(passkeys.count()) + TOTPDevice.objects.filter(user=user, confirmed=True).count()


def device_is_usable(device: TOTPDevice | WebAuthnCredential, *, passkey_only: bool) -> bool:
    if isinstance(device, WebAuthnCredential):
        return bool(device.confirmed) and not (passkey_only and device.backup_eligible)
    return bool(device.confirmed) and not passkey_only


def has_unusable_factor(user: User) -> bool:
    """Confirmed devices exist but none the user's role may sign in with (an app or a synced
    passkey of someone under R2): only an administrator's reset gets them in again."""
    return bool(
        WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
        or TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


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
def regenerate_backup_codes(request: HttpRequest, user: User) -> list[str]:
    """New backup codes asked for from the account page (after a step-up): a factor change."""
    codes = issue_backup_codes(user, request)
    factor_changed(request, user, SecurityNotice.Kind.BACKUP_CODES)
    return codes


@transaction.atomic
def confirm_totp_device(request: HttpRequest, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(Action.DEVICE_ADDED, actor=device.user, target=device, request=request)
    factor_changed(request, device.user, SecurityNotice.Kind.APP_ADDED)


@transaction.atomic
def passkey_added(request: HttpRequest, user: User, *, first_factor: bool) -> None:
    """After a passkey registration: audit, notice, and either the bookkeeping of a sign-in
    (it was the person's first factor) or the end of every other session."""
    record(Action.DEVICE_ADDED, actor=user, request=request, kind="passkey")
    notify(user, SecurityNotice.Kind.PASSKEY_ADDED)
    if first_factor:
        # The sign-in bookkeeping; every other session, password-only ones included, ends.
        end_other_sessions(user, keep=request.session.session_key)
        second_factor_passed(request, user)
    else:
        end_other_sessions(user, keep=request.session.session_key)


@transaction.atomic
def remove_device(
    request: HttpRequest, user: User, device: TOTPDevice | WebAuthnCredential
) -> None:
    device.delete()
    record(Action.DEVICE_REMOVED, actor=user, request=request, device=str(device.pk))
    factor_changed(request, user, SecurityNotice.Kind.DEVICE_REMOVED)


# --- administration --------------------------------------------------------------------------


@transaction.atomic
def reset_second_factor(*, admin: User, user: User, request: HttpRequest | None = None) -> str:
    """Every device and session of ``user`` goes, and their password with them: whoever knew
    the old password cannot enrol a factor of their own. The account comes back only through
    the single-use link returned here (shown once to the admin, who hands it over like an
    invitation): its owner sets a new password, then enrols a new second factor.

    The admin holds that link, so a content role the user had is suspended until a
    coordinator confirms it again (two people), or resetting a caseworker would give an org
    admin their cases."""
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
    user.set_unusable_password()
    user.save(update_fields=["password"])
    end_other_sessions(user, keep=None)
    _withdraw_reset_links(user)
    # The private key was locked under the password that just went: it is deleted, with the
    # member's access to content, until a coordinator grants it again.
    members.remove(user, actor=admin, request=request, reason="reset")
    roles = user.roles
    token, invitation = _new_invitation(
        user.organisation,
        roles[0] if roles else None,
        created_by=admin,
        account=user,
    )
    record(
        Action.SECOND_FACTOR_RESET,
        actor=admin,
        target=user,
        request=request,
        link=str(invitation.pk),
    )
    for role in roles:
        if role in CONTENT_ROLES:
            user.groups.remove(Group.objects.get(name=role.value))
            _request_grant(
                admin=admin, user=user, role=role, reason=RoleGrant.Reason.RESET, request=request
            )
    notify(user, SecurityNotice.Kind.FACTOR_RESET)
    return token


def _withdraw_reset_links(user: User) -> None:
    Invitation.objects.filter(account=user).pending().update(withdrawn_at=timezone.now())


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
    _withdraw_reset_links(user)
    _cancel_pending_grants(user)
    members.remove(user, actor=admin, request=request, reason="revoked")
    record(Action.PANIC_REVOKE, actor=admin, target=user, request=request)


@transaction.atomic
def deactivate_user(*, admin: User, user: User, request: HttpRequest | None = None) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    end_other_sessions(user, keep=None)
    _withdraw_reset_links(user)
    _cancel_pending_grants(user)
    members.remove(user, actor=admin, request=request, reason="deactivated")
    record(Action.USER_DEACTIVATED, actor=admin, target=user, request=request)


@transaction.atomic
def set_role(*, admin: User, user: User, role: Role, request: HttpRequest | None = None) -> bool:
    """An org admin sets someone's role. A role without case content (auditor, org admin)
    applies at once; a content role (coordinator, caseworker) waits for a coordinator of the
    organisation to confirm it, and until then the person keeps the role they had.
    True when the role applied now."""
    _cancel_pending_grants(user)
    if role in CONTENT_ROLES:
        _request_grant(
            admin=admin, user=user, role=role, reason=RoleGrant.Reason.ROLE_CHANGE, request=request
        )
        return False
    _apply_role(user, role)
    record(Action.ROLE_CHANGED, actor=admin, target=user, request=request, role=role.value)
    return True


def _apply_role(user: User, role: Role) -> None:
    """Exactly ``role``, and every session of the user ends (privileges changed: R17, R19)."""
    user.groups.set([Group.objects.get(name=role.value)])
    end_other_sessions(user, keep=None)
    if role not in CONTENT_ROLES:
        members.remove(user, reason="role")


# --- two people for a content role (finding 13) ---------------------------------------------


def _request_grant(
    *,
    admin: User,
    role: Role,
    reason: RoleGrant.Reason,
    user: User | None = None,
    invitation: Invitation | None = None,
    request: HttpRequest | None = None,
) -> RoleGrant:
    grant = RoleGrant.objects.create(
        organisation_id=admin.organisation_id,
        user=user,
        invitation=invitation,
        role=role.value,
        reason=reason,
        requested_by=admin,
    )
    record(
        Action.ROLE_GRANT_REQUESTED,
        actor=admin,
        target=user if user is not None else invitation,
        request=request,
        role=role.value,
        grant=str(grant.pk),
    )
    return grant


def _cancel_pending_grants(user: User) -> None:
    """An admin's later choice replaces an earlier request still waiting for a coordinator."""
    RoleGrant.objects.pending().filter(user=user).update(
        outcome=RoleGrant.Outcome.CANCELLED, decided_at=timezone.now()
    )


class GrantInvalid(Exception):
    """Decided already, cancelled, not for this coordinator to decide, or the account is gone."""


def pending_grants_for(coordinator: User) -> list[RoleGrant]:
    """The requests a coordinator may decide: of their organisation, for an account that
    exists and is active, never their own and never one they asked for."""
    return list(
        RoleGrant.objects.awaiting_coordinator()
        .filter(organisation_id=coordinator.organisation_id)
        .exclude(user=coordinator)
        .exclude(requested_by=coordinator)
        .select_related("user", "requested_by")
    )


def _decidable(coordinator: User, grant_id: Any) -> tuple[RoleGrant, User]:
    """The grant, locked, and its account, if ``coordinator`` may decide it now;
    GrantInvalid otherwise."""
    if not coordinator.has_role(Role.COORDINATOR):
        raise GrantInvalid
    grant = (
        RoleGrant.objects.select_for_update()
        .filter(pk=grant_id, organisation_id=coordinator.organisation_id)
        .first()
    )
    if grant is None or grant.outcome != RoleGrant.Outcome.PENDING or grant.user_id is None:
        raise GrantInvalid
    if coordinator.pk in (grant.user_id, grant.requested_by_id):
        raise GrantInvalid  # two different people, always
    subject = User.objects.get(pk=grant.user_id)
    if not subject.is_active:
        raise GrantInvalid
    return grant, subject


@transaction.atomic
def confirm_grant(
    *, coordinator: User, grant_id: Any, request: HttpRequest | None = None
) -> RoleGrant:
    grant, subject = _decidable(coordinator, grant_id)
    _apply_role(subject, Role(grant.role))
    grant.outcome = RoleGrant.Outcome.CONFIRMED
    grant.decided_by = coordinator
    grant.decided_at = timezone.now()
    grant.save(update_fields=["outcome", "decided_by", "decided_at"])
    record(
        Action.ROLE_GRANT_CONFIRMED,
        actor=coordinator,
        target=subject,
        request=request,
        role=grant.role,
        grant=str(grant.pk),
    )
    _grant_content_access(coordinator, subject, request)
    return grant


def _grant_content_access(coordinator: User, subject: User, request: HttpRequest | None) -> None:
    """Confirming a content role grants the organisation key too, when this coordinator's
    session holds it and the person has a key pair; otherwise the access queue shows them."""
    if members.holds_key(subject):
        return
    try:
        with transaction.atomic():
            members.grant(
                granter=coordinator, unlocked=vault.held(), member=subject, request=request
            )
    except members.GrantRefused:
        pass


@transaction.atomic
def refuse_grant(
    *, coordinator: User, grant_id: Any, request: HttpRequest | None = None
) -> RoleGrant:
    grant, subject = _decidable(coordinator, grant_id)
    grant.outcome = RoleGrant.Outcome.REFUSED
    grant.decided_by = coordinator
    grant.decided_at = timezone.now()
    grant.save(update_fields=["outcome", "decided_by", "decided_at"])
    record(
        Action.ROLE_GRANT_REFUSED,
        actor=coordinator,
        target=subject,
        request=request,
        decision="deny",
        role=grant.role,
        grant=str(grant.pk),
    )
    return grant


def has_active_coordinator(organisation: Organisation) -> bool:
    return bool(
        User.objects.filter(
            organisation=organisation, is_active=True, groups__name=Role.COORDINATOR.value
        ).exists()
    )


class BootstrapRefused(Exception):
    """The organisation has a coordinator already: the two-person path applies."""


@transaction.atomic
def operator_confirm_first_coordinator(*, organisation: Organisation, username: str) -> RoleGrant:
    """An operator confirms a waiting coordinator request where the organisation has no
    coordinator to do it (its first one, or its only one after a reset). The operator is the
    second person; with a coordinator present this is refused."""
    if has_active_coordinator(organisation):
        raise BootstrapRefused
    grant = (
        RoleGrant.objects.select_for_update()
        .awaiting_coordinator()
        .filter(organisation=organisation, role=Role.COORDINATOR.value, user__username=username)
        .select_related("user")
        .first()
    )
    if grant is None or grant.user is None:
        raise GrantInvalid
    _apply_role(grant.user, Role.COORDINATOR)
    grant.outcome = RoleGrant.Outcome.CONFIRMED
    grant.decided_at = timezone.now()
    grant.save(update_fields=["outcome", "decided_at"])
    record(
        Action.ROLE_GRANT_CONFIRMED,
        organisation_id=organisation.pk,
        target=grant.user,
        role=grant.role,
        grant=str(grant.pk),
        operator="manage.py first_coordinator --confirm",
    )
    return grant


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
    """Returns the token for the link (shown once); only its digest is stored. A link for a
    content role makes an account without it: a coordinator confirms the role once the
    account exists (``RoleGrant``)."""
    token, invitation = _new_invitation(admin.organisation, role, created_by=admin)
    record(Action.INVITATION_CREATED, actor=admin, target=invitation, request=request, role=role)
    if role in CONTENT_ROLES:
        _request_grant(
            admin=admin,
            invitation=invitation,
            role=role,
            reason=RoleGrant.Reason.INVITATION,
            request=request,
        )
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


@transaction.atomic
def create_first_coordinator_invitation(*, organisation: Organisation) -> str:
    """A coordinator's invitation made by an operator, for an organisation that has no
    coordinator to confirm one (bootstrap). The operator is the second person: the role
    applies when the link is accepted. Refused when a coordinator exists."""
    if has_active_coordinator(organisation):
        raise BootstrapRefused
    token, invitation = _new_invitation(organisation, Role.COORDINATOR, created_by=None)
    record(
        Action.INVITATION_CREATED,
        organisation_id=organisation.pk,
        target=invitation,
        role=Role.COORDINATOR,
        operator="manage.py first_coordinator",
    )
    return token


@transaction.atomic
def create_reference_editor_invitation(*, organisation: Organisation) -> str:
    """A reference data editor's invitation, made by the installation's operator: routes and
    missions are shared by every organisation, so no org admin hands this role out."""
    token, invitation = _new_invitation(organisation, Role.REFERENCE_EDITOR, created_by=None)
    record(
        Action.INVITATION_CREATED,
        organisation_id=organisation.pk,
        target=invitation,
        role=Role.REFERENCE_EDITOR,
        operator="manage.py reference_editor",
    )
    return token


def _new_invitation(
    organisation: Organisation,
    role: Role | None,
    *,
    created_by: User | None,
    account: User | None = None,
) -> tuple[str, Invitation]:
    token = secrets.token_urlsafe(32)  # 256 bits
    invitation = Invitation.objects.create(
        organisation=organisation,
        role=role.value if role is not None else "",
        token_digest=invitation_digest(token),
        created_by=created_by,
        account=account,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    return token, invitation


class InvitationInvalid(Exception):
    """Unknown, used, withdrawn or expired; the message says which."""


class UsernameTaken(Exception):
    """The username exists (in some organisation); ``remaining`` more may be tried."""

    def __init__(self, remaining: int) -> None:
        super().__init__("taken")
        self.remaining = remaining


def find_invitation(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("account")
        .filter(token_digest=invitation_digest(token))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid("unknown")
    _still_valid(invitation)
    return invitation


def _still_valid(invitation: Invitation) -> None:
    problem = invitation.problem()
    if problem is not None:
        raise InvitationInvalid(problem)
    if invitation.account_id is not None and not invitation.account.is_active:  # type: ignore[union-attr]
        raise InvitationInvalid("withdrawn")


def accept_invitation(
    *, token: str, username: str, password: str, request: HttpRequest | None = None
) -> User:
    """A new account from the link, or, for a reset link, the account's new password.

    A taken username is answered (the person must choose again), but each such answer is
    audited in the inviting organisation's log, and after USERNAME_ATTEMPTS_PER_INVITATION
    of them the link stops working: one link cannot be used to list another organisation's
    usernames. The refusal is committed before UsernameTaken is raised."""
    outcome = _accept(token=token, username=username, password=password, request=request)
    if isinstance(outcome, UsernameTaken):
        raise outcome
    return outcome


@transaction.atomic
def _accept(
    *, token: str, username: str, password: str, request: HttpRequest | None
) -> User | UsernameTaken:
    found = find_invitation(token)
    # Check again on the locked row: two acceptances at once must not both succeed, and a
    # link withdrawn while its form was being filled in must not work.
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    _still_valid(invitation)
    if invitation.account is not None:
        return _reopen(invitation, invitation.account, password, request)
    if User.objects.filter(username=username).exists():
        return _refuse_username(invitation, request)
    organisation: Organisation = invitation.organisation
    try:
        with transaction.atomic():  # a savepoint: the refusal below must still be written
            user = User.objects.create_user(username, organisation=organisation, password=password)
    except IntegrityError:  # the same name taken by an acceptance a moment ago
        return _refuse_username(invitation, request)
    except ValidationError as problem:
        if "username" not in getattr(problem, "error_dict", {}):
            raise
        return _refuse_username(invitation, request)
    grant = RoleGrant.objects.filter(invitation=invitation).first()
    role = Role(invitation.role)
    if grant is None and role in CONTENT_ROLES and invitation.created_by is not None:
        # Never the case for links made by create_invitation; fail safe all the same.
        grant = _request_grant(
            admin=invitation.created_by,
            invitation=invitation,
            role=role,
            reason=RoleGrant.Reason.INVITATION,
            request=request,
        )
    members.prepare_invited(user, password, role)
    if grant is not None:
        grant.user = user
        grant.save(update_fields=["user"])
    else:
        user.groups.add(Group.objects.get(name=role.value))
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    record(Action.INVITATION_ACCEPTED, actor=user, target=invitation, request=request)
    return user


def _reopen(invitation: Invitation, user: User, password: str, request: HttpRequest | None) -> User:
    """A reset link: the account's owner sets its new password; the second factor follows
    at the next sign-in."""
    user.set_password(password)
    user.save(update_fields=["password"])
    # The old key went with the reset: a new pair, which a coordinator's confirmation of the
    # suspended role grants the organisation key to (pending until then).
    awaiting = RoleGrant.objects.awaiting_coordinator().filter(user=user).exists()
    members.password_set(user, password, content=awaiting)
    end_other_sessions(user, keep=None)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    record(Action.INVITATION_ACCEPTED, actor=user, target=invitation, request=request)
    return user


def _refuse_username(invitation: Invitation, request: HttpRequest | None) -> UsernameTaken:
    invitation.refused_usernames += 1
    fields = ["refused_usernames"]
    if invitation.refused_usernames >= USERNAME_ATTEMPTS_PER_INVITATION:
        invitation.withdrawn_at = timezone.now()
        fields.append("withdrawn_at")
    invitation.save(update_fields=fields)
    record(
        Action.INVITATION_USERNAME_REFUSED,
        organisation_id=invitation.organisation_id,
        target=invitation,
        request=request,
        decision="deny",
        count=invitation.refused_usernames,
    )
    if invitation.withdrawn_at is not None:
        RoleGrant.objects.pending().filter(invitation=invitation).update(
            outcome=RoleGrant.Outcome.CANCELLED, decided_at=timezone.now()
        )
    return UsernameTaken(USERNAME_ATTEMPTS_PER_INVITATION - invitation.refused_usernames)


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
    RoleGrant.objects.pending().filter(invitation=locked).update(
        outcome=RoleGrant.Outcome.CANCELLED, decided_at=timezone.now()
    )
    record(Action.INVITATION_WITHDRAWN, actor=admin, target=locked, request=request)


def session_absolute_limit() -> int:
    return int(settings.CASEWORK_SESSION_ABSOLUTE_SECONDS)
