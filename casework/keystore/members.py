"""Who holds an organisation key (issue 16): member key pairs, organisation keys, grants.

Each member who may read case content (a caseworker or a coordinator) has an X25519 key pair;
its private half is locked under their password (crypto.member_keys). An organisation key
exists only sealed to the public key of each member who holds it (KeyGrant). At the password
step, unlock() opens the private key with the password just typed and the organisation key
with it; casework.keystore.vault keeps it for the session. The server alone holds nothing
that opens an organisation key.

A member without a grant is *pending*: a member who holds the key grants it (grant()), in
their own request, with the key their session unlocked. The first coordinator to sign in
in an organisation that has no key yet makes it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.accounts.roles import CONTENT_ROLES, Role
from casework.audit.models import Action
from casework.audit.services import record
from casework.keystore.models import (
    EscrowKey,
    KeyGrant,
    MemberKey,
    OrganisationKey,
    OrganisationKeyEscrow,
)
from crypto import DecryptionError, decrypt, encrypt, new_data_key
from crypto.member_keys import (
    KdfParams,
    lock_private_key,
    new_member_key,
    open_sealed_secret,
    public_key_of,
    seal_to_member,
    unlock_private_key,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unlocked:
    """An organisation key as one member's sign-in opened it. Never stored as it is: the
    session keeps it encrypted (vault), and a request holds it for its own duration."""

    organisation_id: uuid.UUID
    version: int
    secret: bytes = field(repr=False)


# Why a member's copy was removed, as the audit entry keeps it (codes) and shows it (words).
REMOVAL_REASONS = {
    "reset": _("second factor and password reset"),
    "revoked": _("account revoked as possibly compromised"),
    "deactivated": _("account deactivated"),
    "role": _("a role without case content"),
}


class GrantRefused(Exception):
    """The grant cannot be made; ``message`` is a translated sentence for the coordinator."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def kdf_params() -> KdfParams:
    return KdfParams(*settings.CASEWORK_MEMBER_KDF)


def lock_context(user_id: Any) -> bytes:
    return f"member-key:{user_id}".encode()


def grant_context(organisation_id: Any, version: int, user_id: Any) -> bytes:
    return f"organisation-key:{organisation_id}:v{version}:member:{user_id}".encode()


def chain_context(organisation_id: Any, older: int, newer: int) -> bytes:
    return f"organisation-key:{organisation_id}:v{older}:under:v{newer}".encode()


def escrow_context(organisation_id: Any, version: int, escrow_key_id: Any) -> bytes:
    return f"organisation-key:{organisation_id}:v{version}:escrow:{escrow_key_id}".encode()


def reads_content(user: Any) -> bool:
    """Caseworkers and coordinators hold the organisation key; auditors, org admins and
    reference editors never see case content and never hold it."""
    return bool(user.is_active) and any(role in CONTENT_ROLES for role in user.roles)


def current_key(organisation_id: Any) -> OrganisationKey | None:
    return (
        OrganisationKey.objects.filter(organisation_id=organisation_id).order_by("-version").first()
    )


@transaction.atomic
def unlock(user: Any, password: str) -> Unlocked | None:
    """At the password step: the organisation key this member holds, opened with the password
    just typed, or None (not a content role, or pending).

    A member without a key pair gets one now (an account from before issue 16, or a role
    given after the password was set); so does one whose password was set where the old key
    could not follow it (``manage.py changepassword``): pending again. The first coordinator
    to sign in in an organisation without a key makes it."""
    if not reads_content(user):
        return None
    private = _private_key(user, password)
    current = current_key(user.organisation_id)
    if current is None:
        return _first_key(user, private) if user.has_role(Role.COORDINATOR) else None
    grant = KeyGrant.objects.filter(organisation_key=current, user=user).first()
    if grant is None:
        return None
    context = grant_context(current.organisation_id, current.version, user.pk)
    try:
        secret = open_sealed_secret(private, bytes(grant.sealed), context)
    except DecryptionError:
        logger.warning("an access grant of user %s does not open with their key", user.pk)
        return None
    escrow(current, secret)
    return Unlocked(current.organisation_id, current.version, secret)


def password_set(
    user: Any, password: str, *, current_password: str | None = None, content: bool = False
) -> None:
    """After a member's password is set. With the current one (a change by the member
    themself): the same private key, locked under the new password, so access stays.
    Without it (a reset link, an invitation): a new key pair and no grant, pending until a
    member who holds the key grants it again. Nothing for accounts that read no content
    (``content``: a content role waits for a coordinator's confirmation)."""
    if current_password is not None:
        key = MemberKey.objects.select_for_update().filter(user=user).first()
        if key is not None:
            try:
                private = unlock_private_key(
                    bytes(key.locked_private_key), current_password.encode(), lock_context(user.pk)
                )
            except DecryptionError:
                pass  # locked under another password than the current one: start again
            else:
                _lock(key, private, password)
                key.save(update_fields=["locked_private_key", "locked_at"])
                return
    if content or reads_content(user) or MemberKey.objects.filter(user=user).exists():
        _new_pair(user, password)


def prepare_invited(user: Any, password: str, role: Role) -> None:
    """An invited caseworker or coordinator makes their key pair with their first password,
    before their role is confirmed: they are pending from the start."""
    if role in CONTENT_ROLES:
        _new_pair(user, password)


def grant(*, granter: Any, unlocked: Unlocked | None, member: Any, request: Any = None) -> None:
    """Seal the organisation key the granter's session holds to ``member``'s public key."""
    if unlocked is None or unlocked.organisation_id != granter.organisation_id:
        raise GrantRefused(
            _("Your session holds no key to grant: sign out and sign in again, then retry.")
        )
    if member.organisation_id != granter.organisation_id or not reads_content(member):
        raise GrantRefused(_("This person does not work on cases in your organisation."))
    current = current_key(granter.organisation_id)
    if current is None or current.version != unlocked.version:
        raise GrantRefused(_("The organisation key changed: sign out and sign in again."))
    key = MemberKey.objects.filter(user=member).first()
    if key is None:
        raise GrantRefused(_("This person has not signed in since they were invited or reset."))
    context = grant_context(current.organisation_id, current.version, member.pk)
    sealed = seal_to_member(bytes(key.public_key), unlocked.secret, context)
    try:
        with transaction.atomic():
            KeyGrant.objects.create(
                organisation_key=current, user=member, sealed=sealed, granted_by=granter
            )
            record(Action.CONTENT_ACCESS_GRANTED, actor=granter, target=member, request=request)
    except IntegrityError:
        raise GrantRefused(_("This person already has access.")) from None


@transaction.atomic
def remove(member: Any, *, reason: str, actor: Any = None, request: Any = None) -> int:
    """Every grant and the key pair of ``member``: their copy of the organisation key is
    gone (``reason``, one of REMOVAL_REASONS). Returns the grants removed."""
    if reason not in REMOVAL_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    removed, _kinds = KeyGrant.objects.filter(user=member).delete()
    MemberKey.objects.filter(user=member).delete()
    if removed:
        record(
            Action.CONTENT_ACCESS_REMOVED,
            actor=actor,
            organisation_id=member.organisation_id,
            target=member,
            request=request,
            removed_because=reason,
        )
    return removed


def pending_members(organisation_id: Any) -> QuerySet[Any]:
    """Caseworkers and coordinators of the organisation who do not hold its current key."""
    from casework.accounts.models import User

    # One query (the dashboard counts it): none while the organisation has no key yet.
    current = OrganisationKey.objects.filter(organisation_id=organisation_id).order_by("-version")
    latest = Subquery(current.values("pk")[:1])
    return (
        User.objects.filter(
            Exists(current),
            organisation_id=organisation_id,
            is_active=True,
            groups__name__in=[role.value for role in CONTENT_ROLES],
        )
        .exclude(key_grants__organisation_key=latest)
        .distinct()
        .order_by("username")
    )


def waiting_count(organisation_id: Any, excluding: Any) -> int:
    """How many of ``pending_members(organisation_id)`` there are, ``excluding`` aside: the
    number the dashboard shows to whoever holds the key.

    The same rows as pending_members(), counted by a statement written out: built by the
    ORM (its EXISTS, the latest version's subquery, the exclusion through the grants and a
    DISTINCT over every column of the user) it took Django 1.5 ms of the 2.2 it cost on
    each visit of the dashboard (issue 15). tests/test_member_access.py holds the two to
    the same answer."""
    from casework.accounts.models import User

    key = User._meta.pk
    assert key is not None
    values = [key.get_db_prep_value(value, connection) for value in (organisation_id, excluding)]
    names = sorted(role.value for role in CONTENT_ROLES)
    with connection.cursor() as cursor:
        cursor.execute(_waiting_sql(len(names)), [*values, *names, values[0]])
        (count,) = cursor.fetchone()
    return int(count)


@cache
def _waiting_sql(roles: int) -> str:
    from django.contrib.auth.models import Group

    from casework.accounts.models import User

    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (
            ("users", User),
            ("memberships", User.groups.through),
            ("groups", Group),
            ("keys", OrganisationKey),
            ("grants", KeyGrant),
        )
    }
    # Only the tables' names go into the text; the values are parameters.
    return (
        'SELECT COUNT(DISTINCT u."id") FROM {users} u'  # noqa: S608
        ' JOIN {memberships} m ON m."user_id" = u."id"'
        ' JOIN {groups} g ON g."id" = m."group_id"'
        ' WHERE u."organisation_id" = %s AND u."is_active" AND u."id" <> %s'
        ' AND g."name" IN (' + ", ".join(["%s"] * roles) + ")"
        ' AND EXISTS (SELECT 1 FROM {keys} o WHERE o."organisation_id" = %s)'
        ' AND NOT EXISTS (SELECT 1 FROM {grants} k WHERE k."user_id" = u."id"'
        ' AND k."organisation_key_id" = (SELECT o."id" FROM {keys} o'
        ' WHERE o."organisation_id" = u."organisation_id" ORDER BY o."version" DESC LIMIT 1))'
    ).format(**tables)


def holds_key(user: Any) -> bool:
    current = current_key(user.organisation_id)
    return (
        current is not None
        and KeyGrant.objects.filter(organisation_key=current, user=user).exists()
    )


def _private_key(user: Any, password: str) -> bytes:
    key = MemberKey.objects.select_for_update().filter(user=user).first()
    if key is not None:
        try:
            return unlock_private_key(
                bytes(key.locked_private_key), password.encode(), lock_context(user.pk)
            )
        except DecryptionError:
            logger.warning("the key pair of user %s did not follow a password change", user.pk)
    return _new_pair(user, password)


def _new_pair(user: Any, password: str) -> bytes:
    """A new key pair for ``user``; every grant to the old one is deleted (it is useless)."""
    private, public = new_member_key()
    KeyGrant.objects.filter(user=user).delete()
    key = MemberKey(user=user, public_key=public)
    _lock(key, private, password)
    MemberKey.objects.filter(user=user).delete()
    key.save(force_insert=True)
    return private


def _lock(key: MemberKey, private: bytes, password: str) -> None:
    key.locked_private_key = lock_private_key(
        private, password.encode(), lock_context(key.user_id), kdf_params()
    )
    key.locked_at = timezone.now()


def _first_key(coordinator: Any, private: bytes) -> Unlocked | None:
    """The organisation's first key, made by a coordinator and sealed to them."""
    secret = new_data_key()
    organisation_id = coordinator.organisation_id
    try:
        with transaction.atomic():
            made = OrganisationKey.objects.create(
                organisation_id=organisation_id, version=1, created_by=coordinator
            )
            KeyGrant.objects.create(
                organisation_key=made,
                user=coordinator,
                sealed=seal_to_member(
                    public_key_of(private),
                    secret,
                    grant_context(organisation_id, 1, coordinator.pk),
                ),
                granted_by=coordinator,
            )
            escrow(made, secret)
            record(Action.ORGANISATION_KEY_CREATED, actor=coordinator, organisation_key_version=1)
    except IntegrityError:
        return None  # another coordinator made it a moment ago: they grant it
    return Unlocked(organisation_id, 1, secret)


# --- rotation (after a suspected compromise) -------------------------------------------------


def rotate(*, coordinator: Any, unlocked: Unlocked | None, request: Any = None) -> Unlocked:
    """A new version of the organisation key, sealed at once to every member who holds the
    current one; the current one is kept only encrypted under the new (previous_sealed), so
    data keys not yet moved still open for members holding the new version. Every grant of
    an older version is deleted. Data keys move under the new version in the background of
    key holders' requests (datakeys.layer_legacy_keys), resumably."""
    if unlocked is None or unlocked.organisation_id != coordinator.organisation_id:
        raise GrantRefused(
            _("Your session holds no key to rotate: sign out and sign in again, then retry.")
        )
    organisation_id = coordinator.organisation_id
    with transaction.atomic():
        current = (
            OrganisationKey.objects.select_for_update()
            .filter(organisation_id=organisation_id)
            .order_by("-version")
            .first()
        )
        if current is None or current.version != unlocked.version:
            raise GrantRefused(_("The organisation key changed: sign out and sign in again."))
        version = current.version + 1
        secret = new_data_key()
        made = OrganisationKey.objects.create(
            organisation_id=organisation_id,
            version=version,
            created_by=coordinator,
            previous_sealed=encrypt(
                secret, unlocked.secret, chain_context(organisation_id, current.version, version)
            ),
        )
        holders = KeyGrant.objects.filter(organisation_key=current).select_related(
            "user__member_key"
        )
        grants = [
            KeyGrant(
                organisation_key=made,
                user=holder.user,
                sealed=seal_to_member(
                    bytes(holder.user.member_key.public_key),
                    secret,
                    grant_context(organisation_id, version, holder.user_id),
                ),
                granted_by=coordinator,
            )
            for holder in holders
            if hasattr(holder.user, "member_key") and reads_content(holder.user)
        ]
        KeyGrant.objects.bulk_create(grants)
        KeyGrant.objects.filter(
            organisation_key__organisation_id=organisation_id, organisation_key__version__lt=version
        ).delete()
        escrow(made, secret)
        record(
            Action.ORGANISATION_KEY_ROTATED,
            actor=coordinator,
            request=request,
            organisation_key_version=version,
            holders=len(grants),
        )
    return Unlocked(organisation_id, version, secret)


def older_secret(unlocked: Unlocked, version: int) -> bytes:
    """The key of an older ``version`` of the organisation key, opened down the chain of
    previous_sealed from the version ``unlocked`` holds; DecryptionError if it does not."""
    if version == unlocked.version:
        return unlocked.secret
    if not 1 <= version < unlocked.version:
        raise DecryptionError()
    chain = {
        key.version: key
        for key in OrganisationKey.objects.filter(
            organisation_id=unlocked.organisation_id,
            version__gt=version,
            version__lte=unlocked.version,
        )
    }
    secret = unlocked.secret
    for newer in range(unlocked.version, version, -1):
        key = chain.get(newer)
        if key is None or key.previous_sealed is None:
            raise DecryptionError()
        context = chain_context(unlocked.organisation_id, newer - 1, newer)
        secret = decrypt(secret, bytes(key.previous_sealed), context)
    return secret


def key_progress(organisation_id: Any) -> tuple[int, int]:
    """How many of the organisation's applicant data keys are under its current key, of how
    many there are (destroyed ones are not counted)."""
    from casework.keystore.models import DataKey

    current = current_key(organisation_id)
    keys = DataKey.objects.filter(
        organisation_id=organisation_id,
        subject_type=DataKey.SubjectType.APPLICANT,
        wrapped__isnull=False,
    )
    done = keys.filter(organisation_key_version=current.version).count() if current else 0
    return done, keys.count()


# --- escrow (recover_keys re-grants a named coordinator from the trustees' shares) -----------


def escrow(key: OrganisationKey, secret: bytes) -> bool:
    """Seal ``key`` (whose key is ``secret``) to the newest escrow key, if there is one and
    it does not hold it yet. Called where a member's request holds the key: the first
    coordinator's sign-in, a rotation, and every key holder's sign-in (which covers a new
    escrow and keys made before any escrow). Returns whether it sealed."""
    covered = OrganisationKeyEscrow.objects.filter(organisation_key=key, escrow_key=OuterRef("pk"))
    latest = EscrowKey.objects.annotate(covered=Exists(covered)).order_by("-pk").first()
    if latest is None or latest.covered:
        return False
    sealed = seal_to_member(
        bytes(latest.public_key),
        secret,
        escrow_context(key.organisation_id, key.version, latest.pk),
    )
    try:
        with transaction.atomic():
            OrganisationKeyEscrow.objects.create(
                organisation_key=key, escrow_key=latest, sealed=sealed
            )
    except IntegrityError:
        return False  # another sign-in sealed it a moment ago
    return True
