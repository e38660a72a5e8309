"""The audit signing key (Ed25519): outside the database and outside the web process.

The signing key is read only by ``audit_checkpoint``, run by an operating-system user of its
own (SECURITY.md "Audit log"): file ``CASEWORK_AUDIT_KEY_FILE``, base64 of the raw 32-byte
private key, mode 0600, owned by that user. The web process verifies checkpoints with the
public half, ``CASEWORK_AUDIT_PUBLIC_KEY`` (base64, printed by ``audit_checkpoint
--public-key``), and never opens the key file; development derives the public key from a
development key file created on first use.
"""

from __future__ import annotations

import base64
import binascii
import logging
import stat
from pathlib import Path

from django.conf import settings

from casework.lib.env import publish_private_file
from crypto import KeyStoreError
from crypto.audit_chain import new_signing_key, public_key_of

logger = logging.getLogger(__name__)


def signing_key() -> bytes:
    """The private key: for the signer only (audit_checkpoint), never the web process."""
    path = Path(settings.CASEWORK_AUDIT_KEY_FILE)
    try:
        return _read_key(path)
    except OSError as exc:  # e.g. the web's user, to whom the signer's directory is closed
        raise KeyStoreError(f"cannot read the audit signing key {path}: {exc.strerror}") from None


def _read_key(path: Path) -> bytes:
    if not path.exists():
        if settings.PROD:
            raise KeyStoreError(
                f"audit signing key {path} not found (CASEWORK_AUDIT_KEY_FILE); create it with "
                "manage.py audit_checkpoint --init-key"
            )
        if create_signing_key(path):
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
    """The key checkpoints are verified with: CASEWORK_AUDIT_PUBLIC_KEY when set (always in
    production's web process), else the public half of the signing key (development, and
    the signer itself)."""
    if settings.CASEWORK_AUDIT_PUBLIC_KEY:
        return configured_public_key()
    return public_key_of(signing_key())


def configured_public_key() -> bytes:
    try:
        key = base64.b64decode(settings.CASEWORK_AUDIT_PUBLIC_KEY, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise KeyStoreError("CASEWORK_AUDIT_PUBLIC_KEY must be the base64 of a 32-byte key")
    return key


def check_web_process() -> None:
    """For the web server's start: production verifies with the configured public key and
    never needs (or tries) to read the signing key."""
    if settings.PROD and not settings.CASEWORK_AUDIT_PUBLIC_KEY:
        raise KeyStoreError(
            "CASEWORK_AUDIT_PUBLIC_KEY must be set (the web process never reads the audit "
            "signing key; print it with manage.py audit_checkpoint --public-key as the signer)"
        )
    public_key()


def check_signer(private_key: bytes) -> None:
    """The signer refuses to sign with a key the web process would not verify with."""
    if settings.CASEWORK_AUDIT_PUBLIC_KEY and public_key_of(private_key) != public_key():
        raise KeyStoreError(
            "the audit signing key does not match CASEWORK_AUDIT_PUBLIC_KEY; nothing was signed"
        )


def create_signing_key(path: Path) -> bool:
    """A new key at ``path`` (0600), whole or not at all; False if one was there already
    (another process created it meanwhile: read that one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    encoded = base64.b64encode(new_signing_key()).decode() + "\n"
    return publish_private_file(path, encoded.encode("ascii"))
