"""Data keys (DEKs): one per data subject, created, unwrapped, counted and destroyed here.

Unwrapped DEKs (as ready ciphers) are cached for the duration of one request or command
(``dek_cache``), so a list page unwraps each applicant's key once, not once per field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from casework.keystore.models import DataKey
from casework.lib.keys import keyring
from crypto import DataKeyCipher, DecryptionError, KeyRing, new_data_key, wrapped_key_version
from crypto.aead import MAX_ENCRYPTIONS_PER_KEY

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


def create_data_key(
    *, subject_type: str, subject_id: uuid.UUID, organisation_id: uuid.UUID
) -> DataKeyCipher:
    dek = new_data_key()
    key = DataKey(subject_type=subject_type, subject_id=subject_id, organisation_id=organisation_id)
    ring = keyring()
    key.wrapped = ring.wrap(dek, wrap_context(key))
    key.kek_version = ring.active_version
    key.save(force_insert=True)
    return _remember(subject_id, dek)


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
    for key in DataKey.objects.filter(subject_id__in=wanted, wrapped__isnull=False):
        _unwrap(key)


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
    try:
        ring.unwrap(bytes(key.wrapped), wrap_context(key))
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


def _unwrap(key: DataKey) -> DataKeyCipher:
    if key.wrapped is None:
        raise SubjectErased()
    return _remember(key.subject_id, keyring().unwrap(bytes(key.wrapped), wrap_context(key)))


def _remember(subject_id: uuid.UUID, dek: bytes) -> DataKeyCipher:
    cipher = DataKeyCipher(dek)
    cache = _cache.get()
    if cache is not None:
        cache[subject_id] = cipher
    return cipher
