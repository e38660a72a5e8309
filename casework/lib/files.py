"""Encrypted file storage: documents and generated PDFs are encrypted under the owner's data
key before they reach the storage backend, and stored under random names.

The backend is Django's default storage (settings, ``CASEWORK_STORAGE``): the data directory,
or a bucket of an S3-compatible object store. Either way it receives ciphertext under a name
that says the purpose and nothing else, and never serves a file itself.

AAD: ``file:<storage name>:<purpose>:subject:<uuid>:org:<uuid>``: a file moved to another
name, another purpose or another subject fails to decrypt.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from casework.lib import datakeys

# What a backend raises when its store fails: the file system's OSError, an object store's
# botocore errors (which are not OSErrors: a missing object is FileNotFoundError, but a
# refused request or an unreachable endpoint is not).
STORE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


def _aad(name: str, purpose: str, subject_id: uuid.UUID, organisation_id: uuid.UUID) -> bytes:
    return f"file:{name}:{purpose}:subject:{subject_id}:org:{organisation_id}".encode()


def store_encrypted(
    content: bytes,
    *,
    purpose: str,
    subject_id: uuid.UUID,
    organisation_id: uuid.UUID,
    subject_type: str = "applicant",
    storage: Storage | None = None,
) -> str:
    """Encrypt and store ``content``; returns the storage name (random, no user input)."""
    storage = storage or default_storage
    name = f"{purpose}/{secrets.token_hex(16)}.enc"
    cipher = datakeys.cipher_for_encryption(
        subject_type=subject_type, subject_id=subject_id, organisation_id=organisation_id
    )
    token = cipher.encrypt(content, _aad(name, purpose, subject_id, organisation_id))
    try:
        saved = storage.save(name, ContentFile(token))
    except STORE_ERRORS:
        # A disk that filled, or a store that failed, part-way: nothing of it may stay.
        with contextlib.suppress(*STORE_ERRORS):
            storage.delete(name)
        raise
    # Both backends rename rather than overwrite (the object store with file_overwrite off),
    # and a collision on 128 random bits means something else is wrong.
    if saved != name:
        storage.delete(saved)
        raise FileExistsError("refusing to store under a name that already exists")
    datakeys.count_encryptions(subject_id, 1)
    return name


def read_encrypted(
    name: str,
    *,
    purpose: str,
    subject_id: uuid.UUID,
    organisation_id: uuid.UUID,
    storage: Storage | None = None,
) -> bytes:
    """Decrypt a stored file; DecryptionError (or SubjectErased) if it cannot be."""
    storage = storage or default_storage
    with storage.open(name, "rb") as handle:
        token = handle.read()
    cipher = datakeys.cipher_for(subject_id)
    return cipher.decrypt(token, _aad(name, purpose, subject_id, organisation_id))
