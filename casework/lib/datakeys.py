"""Data keys (DEKs): one per data subject, created, unwrapped, counted and destroyed here.

An applicant's DEK in an organisation that has an organisation key (issue 16) is wrapped
twice: under the organisation key (crypto.aead), then under the KEK (the keyring's layered
format). Opening it needs both: the key file, and the organisation key that only a signed-in
member's request holds (casework.keystore.vault). Members' and organisations' own DEKs (TOTP
secrets, letterheads) stay under the KEK alone: they are needed before anyone is signed in.

Unwrapped DEKs (as ready ciphers) are cached for the duration of one request or command
(``dek_cache``), so a list page unwraps each applicant's key once, not once per field.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from casework.keystore.models import DataKey
from casework.lib.keys import keyring
from crypto import (
    DataKeyCipher,
    DecryptionError,
    KeyRing,
    decrypt,
    encrypt,
    new_data_key,
    wrapped_key_format,
    wrapped_key_version,
)
from crypto.aead import MAX_ENCRYPTIONS_PER_KEY
from crypto.keyring import LAYERED_FORMAT

logger = logging.getLogger(__name__)

# Stop writing under a subject's DEK long before random 96-bit nonces could collide
# (NIST SP 800-38D); crypto/ is stateless, so the count is kept here.
MAX_ENCRYPTIONS = MAX_ENCRYPTIONS_PER_KEY

_cache: ContextVar[dict[uuid.UUID, DataKeyCipher] | None] = ContextVar("dek_cache", default=None)


class DataKeyMissing(DecryptionError):
    """No data key exists for this subject: nothing of theirs can be decrypted."""

    def __init__(self) -> None:
        super().__init__("no data key for this subject")


class SubjectErased(DecryptionError):
    """The subject's data key was destroyed (crypto-shredded)."""

    def __init__(self) -> None:
        super().__init__("the data of this subject has been erased")


class OrganisationKeyMissing(DecryptionError):
    """The DEK is under the organisation key, which this request does not hold: the member is
    not signed in, waits for a coordinator to grant it, or works in another organisation.
    Pages answer it with the waiting page, never a decryption error."""

    def __init__(self) -> None:
        super().__init__("the organisation key is not held in this request")


# How many legacy data keys one request of a member holding the key puts under it.
LAYER_BATCH = 200


class TooManyEncryptions(Exception):
    """The DEK has reached MAX_ENCRYPTIONS and must be rolled before further writes."""


@contextmanager
def dek_cache() -> Iterator[None]:
    """Cache unwrapped DEKs inside this block only (one request, one command)."""
    token = _cache.set({})
    try:
        yield
    finally:
        cache = _cache.get()
        if cache is not None:
            cache.clear()
        _cache.reset(token)


def wrap_context(key: DataKey) -> bytes:
    """AAD of a wrapped DEK: binds it to its subject and organisation."""
    return f"datakey:{key.subject_type}:{key.subject_id}:org:{key.organisation_id}".encode()


def organisation_context(key: DataKey, version: int) -> bytes:
    """AAD of a DEK under an organisation key: its subject, organisation and key version."""
    return f"{wrap_context(key).decode()}:orgkey:v{version}".encode()


def create_data_key(
    *, subject_type: str, subject_id: uuid.UUID, organisation_id: uuid.UUID
) -> DataKeyCipher:
    dek = new_data_key()
    key = DataKey(subject_type=subject_type, subject_id=subject_id, organisation_id=organisation_id)
    wrap_new(key, dek)
    key.save(force_insert=True)
    return _remember(subject_id, dek)


_LOOK_UP: Any = object()


def wrap_new(key: DataKey, dek: bytes, *, current: Any = _LOOK_UP) -> None:
    """Wrap a new DEK into ``key``: an applicant's under the organisation key (if the
    organisation has one) and the KEK; OrganisationKeyMissing if this context does not hold
    it (nobody may add a person the organisation's members could not read). ``current``:
    the organisation's current OrganisationKey (or None), when the caller knows it already."""
    from casework.keystore.members import current_key

    ring = keyring()
    if key.subject_type != DataKey.SubjectType.APPLICANT:
        current = None
    elif current is _LOOK_UP:
        current = current_key(key.organisation_id)
    if current is None:
        key.wrapped = ring.wrap(dek, wrap_context(key))
    else:
        held = _organisation_key(key.organisation_id, current.version)
        token = encrypt(held, dek, organisation_context(key, current.version))
        key.wrapped = ring.wrap_layered(token, wrap_context(key))
        key.organisation_key_version = current.version
    key.kek_version = ring.active_version


@transaction.atomic
def layer_legacy_keys(unlocked: Any, limit: int) -> int:
    """Put up to ``limit`` of the organisation's applicant DEKs that are not under the key
    ``unlocked`` holds under it: those under the KEK alone (an upgrade) and those under an
    older version (a rotation). Returns how many it looked at (fewer than ``limit``: done).
    One that does not open is left as it is and logged."""
    from casework.keystore.vault import secret_of

    ring = keyring()
    keys = list(
        DataKey.objects.select_for_update()
        .filter(
            models.Q(organisation_key_version__isnull=True)
            | models.Q(organisation_key_version__lt=unlocked.version),
            organisation_id=unlocked.organisation_id,
            subject_type=DataKey.SubjectType.APPLICANT,
            wrapped__isnull=False,
        )
        .order_by("pk")[:limit]
    )
    layered = []
    for key in keys:
        if key.wrapped is None:  # filtered out above; for the type checker
            continue
        older = key.organisation_key_version
        try:
            if older is None:
                dek = ring.unwrap(bytes(key.wrapped), wrap_context(key))
            else:
                secret = secret_of(key.organisation_id, older)
                if secret is None:
                    raise DecryptionError("the older organisation key does not open")
                token = ring.unwrap_layered(bytes(key.wrapped), wrap_context(key))
                dek = decrypt(secret, token, organisation_context(key, older))
        except DecryptionError:  # damaged: left as it is (its pages say so), the rest go on
            logger.error("data key of subject %s does not open: not layered", key.subject_id)
            continue
        token = encrypt(unlocked.secret, dek, organisation_context(key, unlocked.version))
        key.wrapped = ring.wrap_layered(token, wrap_context(key))
        key.kek_version = ring.active_version
        key.organisation_key_version = unlocked.version
        layered.append(key)
    DataKey.objects.bulk_update(layered, ["wrapped", "kek_version", "organisation_key_version"])
    return len(keys)


def _organisation_key(organisation_id: uuid.UUID, version: int) -> bytes:
    from casework.keystore.vault import secret_of

    secret = secret_of(organisation_id, version)
    if secret is None:
        raise OrganisationKeyMissing()
    return secret


def cipher_for(subject_id: uuid.UUID) -> DataKeyCipher:
    """A cipher under the subject's DEK; DataKeyMissing / SubjectErased / DecryptionError."""
    cache = _cache.get()
    if cache is not None and subject_id in cache:
        return cache[subject_id]
    key = DataKey.objects.filter(subject_id=subject_id).first()
    if key is None:
        raise DataKeyMissing()
    return _unwrap(key)


def preload(subject_ids: Iterable[uuid.UUID]) -> None:
    """Unwrap the DEKs of many subjects with one query (list pages)."""
    cache = _cache.get()
    if cache is None:
        return
    wanted = {sid for sid in subject_ids if sid not in cache}
    preload_rows(DataKey.objects.filter(subject_id__in=wanted, wrapped__isnull=False))


def preload_rows(keys: Iterable[DataKey | None]) -> None:
    """Unwrap the DEKs of data key rows already read (the case page's, read with the case:
    cases.access.CASE_WITH); a destroyed key or none is left to ``cipher_for`` to refuse."""
    cache = _cache.get()
    if cache is None:
        return
    wanted = [k for k in keys if k is not None and k.wrapped is not None]
    if not wanted:
        return
    ring = keyring()  # once for the batch: each look checks the key file (lib.keys)
    for key in wanted:
        if key.subject_id not in cache:
            _unwrap(key, ring)


def cipher_for_encryption(
    *, subject_type: str, subject_id: uuid.UUID, organisation_id: uuid.UUID
) -> DataKeyCipher:
    """The cipher to encrypt with, its DEK created for a new subject; refuses an erased one."""
    try:
        return cipher_for(subject_id)
    except DataKeyMissing:
        return create_data_key(
            subject_type=subject_type, subject_id=subject_id, organisation_id=organisation_id
        )


def count_encryptions(subject_id: uuid.UUID, count: int) -> None:
    """Record ``count`` more encryptions under the subject's DEK (R35 nonce discipline)."""
    if count:
        DataKey.objects.filter(subject_id=subject_id).update(encryptions=F("encryptions") + count)


def lock_data_key(subject_id: uuid.UUID) -> None:
    """Lock the subject's data key row until the transaction ends (cases.services.lock_case
    says why: rows are locked in one order, the data key first)."""
    list(DataKey.objects.select_for_update().filter(subject_id=subject_id).values_list("pk"))


def check_encryption_budget(subject_id: uuid.UUID, count: int) -> None:
    used = (
        DataKey.objects.filter(subject_id=subject_id).values_list("encryptions", flat=True).first()
    )
    if used is not None and used + count > MAX_ENCRYPTIONS:
        raise TooManyEncryptions(f"data key {subject_id} must be rolled before more writes")


@transaction.atomic
def destroy_data_key(subject_id: uuid.UUID) -> bool:
    """Crypto-shred: forget the wrapped DEK. Returns False if it was already gone."""
    forget(subject_id)
    updated = DataKey.objects.filter(subject_id=subject_id, wrapped__isnull=False).update(
        wrapped=None, kek_version=None, destroyed_at=timezone.now()
    )
    return bool(updated)


def rewrap_batch(keys: list[DataKey]) -> int:
    """Re-wrap DEKs under the active KEK; returns how many were re-wrapped.

    Which KEK wraps a key is read from its authenticated header, never from the
    ``kek_version`` column: anyone who can write the table can make the column lie. A column
    that disagrees with its header is corrected on the way.

    Call inside a transaction on rows fetched with ``select_for_update()``, so a concurrent
    erasure waits for this batch instead of being undone by it.
    """
    ring = keyring()
    changed, rewrapped = [], 0
    for key in keys:
        if key.wrapped is None:
            continue
        wrapped = bytes(key.wrapped)
        if wrapped_key_version(wrapped) != ring.active_version:
            key.wrapped = ring.rewrap(wrapped, wrap_context(key))
            rewrapped += 1
        elif key.kek_version == ring.active_version:
            continue
        key.kek_version = ring.active_version
        changed.append(key)
    _save_wrapped(changed)
    return rewrapped


def wrapped_batches(batch_size: int) -> Iterator[list[DataKey]]:
    """Every data key still holding a wrapped DEK, ``batch_size`` rows at a time, walked by
    primary key (so the table is never loaded whole)."""
    keys = DataKey.objects.filter(wrapped__isnull=False).order_by("pk")
    after = None
    while True:
        page = keys if after is None else keys.filter(pk__gt=after)
        batch = list(page[:batch_size])
        if not batch:
            return
        yield batch
        after = batch[-1].pk


def opens_under(ring: KeyRing, key: DataKey) -> bool:
    """Whether ``ring`` unwraps ``key``: proved by unwrapping, not read from a column."""
    if key.wrapped is None:
        return False
    wrapped = bytes(key.wrapped)
    try:
        if wrapped_key_format(wrapped) == LAYERED_FORMAT:
            ring.unwrap_layered(wrapped, wrap_context(key))  # the KEK's layer is what it proves
        else:
            ring.unwrap(wrapped, wrap_context(key))
    except DecryptionError:
        return False
    return True


def _save_wrapped(keys: list[DataKey]) -> None:
    """One prepared UPDATE for the whole batch: bulk_update() builds a CASE expression per
    row, which makes a batch quadratic (measured in bench/bench_encryption.py)."""
    if not keys:
        return
    meta = DataKey._meta
    wrapped, version = DataKey._meta.get_field("wrapped"), DataKey._meta.get_field("kek_version")
    pk = meta.pk
    assert isinstance(wrapped, models.Field) and isinstance(version, models.Field) and pk
    quote = connection.ops.quote_name
    # Identifiers come from the model's metadata and are quoted; values are parameters.
    sql = "UPDATE {} SET {} = %s, {} = %s WHERE {} = %s".format(  # noqa: S608
        *(quote(str(name)) for name in (meta.db_table, wrapped.column, version.column, pk.column))
    )
    rows = [
        (
            wrapped.get_db_prep_value(key.wrapped, connection),
            key.kek_version,
            pk.get_db_prep_value(key.pk, connection),
        )
        for key in keys
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def forget(subject_id: uuid.UUID) -> None:
    cache = _cache.get()
    if cache is not None:
        cache.pop(subject_id, None)


def _unwrap(key: DataKey, ring: KeyRing | None = None) -> DataKeyCipher:
    if key.wrapped is None:
        raise SubjectErased()
    ring = ring or keyring()
    wrapped = bytes(key.wrapped)
    if wrapped_key_format(wrapped) != LAYERED_FORMAT:
        return _remember(key.subject_id, ring.unwrap(wrapped, wrap_context(key)))
    version = key.organisation_key_version
    if version is None:
        raise DecryptionError("a layered data key without its organisation key version")
    held = _organisation_key(key.organisation_id, version)
    token = ring.unwrap_layered(wrapped, wrap_context(key))
    return _remember(key.subject_id, decrypt(held, token, organisation_context(key, version)))


def _remember(subject_id: uuid.UUID, dek: bytes) -> DataKeyCipher:
    cipher = DataKeyCipher(dek)
    cache = _cache.get()
    if cache is not None:
        cache[subject_id] = cipher
    return cipher
