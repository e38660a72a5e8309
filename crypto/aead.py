"""Value encryption under a 32-byte data key (DEK): AES-256-GCM with a versioned token.

Token layout, version 1 (TOKEN_VERSION):

    offset  size  field
    0       1     version byte, 0x01
    1       12    nonce, fresh from os.urandom for every encryption
    13      n     ciphertext (same length as the plaintext)
    13+n    16    GCM tag

GCM associated data = version byte || aad. Authenticating the version byte means a token
cannot be reinterpreted under another format version. The caller's aad binds the value to
where it lives (e.g. b"cases.applicant.legal_name_latin:<record uuid>:org:<uuid>"), so a
token copied to another row or column fails to decrypt.
"""

from __future__ import annotations

import os
from typing import NoReturn, SupportsIndex

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._primitives import KEY_SIZE, NONCE_SIZE, TAG_SIZE, as_bytes, check_binding, check_key
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


class DataKeyCipher:
    """AES-256-GCM under one data key, set up once: for many values under the same DEK.

    Creating the AES key schedule costs more than encrypting a short field, so callers that
    handle many fields of one subject (a page, a list) keep one of these for the duration of
    the request. Holds the key; repr() does not show it, and it refuses to be pickled.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        check_key(key)
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt `plaintext`, bound to `aad` (non-empty), with a fresh random nonce."""
        return self._seal(os.urandom(NONCE_SIZE), plaintext, aad)

    def decrypt(self, token: bytes, aad: bytes) -> bytes:
        """Return the plaintext of `token`, or raise DecryptionError.

        Every problem with the token (wrong type, too short, unknown version, altered, wrong
        key, wrong aad) raises DecryptionError; an empty aad is a programming error
        (ValueError).
        """
        check_binding(aad, "aad")
        data = as_bytes(token)
        if len(data) < MIN_TOKEN_SIZE or data[:1] != _HEADER:
            raise DecryptionError()
        nonce = data[len(_HEADER) : _NONCE_END]
        try:
            return self._aead.decrypt(nonce, data[_NONCE_END:], _HEADER + aad)
        except InvalidTag:
            raise DecryptionError() from None

    def _seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        check_binding(aad, "aad")
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
            raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
        if not isinstance(plaintext, bytes):
            raise TypeError("plaintext must be bytes")
        return _HEADER + nonce + self._aead.encrypt(nonce, plaintext, _HEADER + aad)

    def __repr__(self) -> str:
        return "DataKeyCipher(<key hidden>)"

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("a DataKeyCipher holds a key and cannot be pickled")


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt `plaintext` under `key`, bound to `aad` (non-empty), with a fresh random nonce."""
    return DataKeyCipher(key).encrypt(plaintext, aad)


def decrypt(key: bytes, token: bytes, aad: bytes) -> bytes:
    """Return the plaintext of `token`, or raise DecryptionError (see DataKeyCipher.decrypt)."""
    return DataKeyCipher(key).decrypt(token, aad)


def _encrypt_with_nonce(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with a caller-chosen nonce. Only for known-answer tests: reusing a nonce
    under the same key destroys GCM's confidentiality and integrity."""
    return DataKeyCipher(key)._seal(nonce, plaintext, aad)
