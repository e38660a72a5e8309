"""Value encryption under a 32-byte data key (DEK): AES-256-GCM with a versioned token.

Token layout, version 1 (TOKEN_VERSION):

    offset  size  field
    0       1     version byte, 0x01
    1       12    nonce, fresh from os.urandom for every encryption
    13      n     ciphertext (same length as the plaintext)
    13+n    16    GCM tag

GCM associated data = version byte || aad. Authenticating the version byte means a token
cannot be reinterpreted under another format version. The caller's aad binds the value to
where it lives (e.g. b"applicant:full_name:<record uuid>"), so a token copied to another row
or column fails to decrypt.
"""

from __future__ import annotations

import os

from ._primitives import (
    KEY_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    as_bytes,
    check_binding,
    check_key,
    open_sealed,
    seal,
)
from .errors import DecryptionError

TOKEN_VERSION = 1
_HEADER = bytes([TOKEN_VERSION])
_NONCE_END = len(_HEADER) + NONCE_SIZE
MIN_TOKEN_SIZE = _NONCE_END + TAG_SIZE  # an empty plaintext

# R35: random 96-bit nonces stay far below the NIST SP 800-38D collision bound if one DEK
# encrypts at most this many values. crypto/ is stateless; the caller counts and rolls the DEK.
MAX_ENCRYPTIONS_PER_KEY = 2**20


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key."""
    return os.urandom(KEY_SIZE)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt `plaintext` under `key`, bound to `aad` (non-empty), with a fresh random nonce."""
    return _encrypt_with_nonce(key, os.urandom(NONCE_SIZE), plaintext, aad)


def decrypt(key: bytes, token: bytes, aad: bytes) -> bytes:
    """Return the plaintext of `token`, or raise DecryptionError.

    Every problem with the token (wrong type, too short, unknown version, altered, wrong key,
    wrong aad) raises DecryptionError; a wrong-sized key or empty aad is a programming error
    and raises ValueError.
    """
    check_key(key)
    check_binding(aad, "aad")
    data = as_bytes(token)
    if len(data) < MIN_TOKEN_SIZE or data[:1] != _HEADER:
        raise DecryptionError()
    nonce = data[len(_HEADER) : _NONCE_END]
    return open_sealed(key, nonce, data[_NONCE_END:], _HEADER + aad)


def _encrypt_with_nonce(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with a caller-chosen nonce. Only for known-answer tests: reusing a nonce
    under the same key destroys GCM's confidentiality and integrity."""
    check_key(key)
    check_binding(aad, "aad")
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    return _HEADER + nonce + seal(key, nonce, plaintext, _HEADER + aad)
