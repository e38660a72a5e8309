"""AES-256-GCM sealing and argument checks shared by aead.py and keyring.py.

Private to the package: callers use crypto.aead and crypto.keyring.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # 96-bit GCM nonce, the size GCM is designed for
TAG_SIZE = 16  # full 128-bit tag; never truncated


def check_key(key: bytes, what: str = "key") -> None:
    """Raise ValueError unless `key` is exactly 32 bytes (a programming error, not tampering)."""
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes")


def check_binding(value: bytes, what: str) -> None:
    """Raise unless `value` is non-empty bytes.

    An empty AAD or context binds the ciphertext to nothing, which is always a bug in the
    caller (R31), so it is refused rather than silently accepted.
    """
    if not isinstance(value, bytes):
        raise TypeError(f"{what} must be bytes")
    if not value:
        raise ValueError(f"{what} must not be empty")


def as_bytes(data: object) -> bytes:
    """Return stored data as bytes; anything that is not bytes-like is a DecryptionError.

    bytearray and memoryview are accepted because database drivers return them for binary
    columns (psycopg gives memoryview for bytea).
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise DecryptionError()


def seal(key: bytes, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM: return ciphertext followed by the 16-byte tag."""
    if not isinstance(plaintext, bytes):
        raise TypeError("plaintext must be bytes")
    return AESGCM(key).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
    """Inverse of seal(); any authentication failure becomes DecryptionError."""
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated)
    except InvalidTag:
        raise DecryptionError() from None
