"""The audit signing key (Ed25519): outside the database, like the encryption keys.

File: base64 of the raw 32-byte private key, mode 0600. Development creates it on first use;
production requires ``CASEWORK_AUDIT_KEY_FILE``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from pathlib import Path

from django.conf import settings

from crypto import KeyStoreError
from crypto.audit_chain import new_signing_key, public_key_of

logger = logging.getLogger(__name__)


def signing_key() -> bytes:
    path = Path(settings.CASEWORK_AUDIT_KEY_FILE)
    if not path.exists():
        if settings.PROD:
            raise KeyStoreError(
                f"audit signing key {path} not found (CASEWORK_AUDIT_KEY_FILE); create it with "
                "manage.py audit_checkpoint --init-key"
            )
        create_signing_key(path)
        logger.warning("created a development audit signing key at %s", path)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise KeyStoreError(f"audit signing key {path} is readable by others; chmod 600 {path}")
    try:
        key = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (ValueError, binascii.Error):
        raise KeyStoreError(f"audit signing key {path} is not valid base64") from None
    if len(key) != 32:
        raise KeyStoreError(f"audit signing key {path} must hold 32 bytes")
    return key


def public_key() -> bytes:
    return public_key_of(signing_key())


def create_signing_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(new_signing_key()).decode() + "\n")
