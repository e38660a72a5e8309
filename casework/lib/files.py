"""Encrypted file storage: documents and generated PDFs are encrypted under the owner's data
key before they reach the storage backend, and stored under random names.

AAD: ``file:<storage name>:<purpose>:subject:<uuid>:org:<uuid>``: a file moved to another
name, another purpose or another subject fails to decrypt.
"""

from __future__ import annotations

import secrets
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from casework.lib import datakeys


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
    saved = storage.save(name, ContentFile(token))
    if saved != name:  # a collision on 128 random bits means something else is wrong
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
