"""Member keys: a member's X25519 key pair, its private half locked under a key derived from
their password, and secrets sealed to a member's public key (issue 16: organisation keys that
only signed-in members unlock).

Built from `cryptography` alone: X25519, HKDF-SHA256, Argon2id and AES-256-GCM. Nothing here
knows what a member, an organisation or a session is: callers give the context bytes that
bind each value to where it belongs, as with crypto.aead.

Locked private key, version 1 (LOCKED_VERSION), 83 bytes:

    offset  size  field
    0       1     version byte, 0x01
    1       16    Argon2id salt, fresh from os.urandom for every lock
    17      4     Argon2id memory cost in KiB, unsigned big-endian
    21      1     Argon2id iterations (time cost)
    22      1     Argon2id lanes (parallelism)
    23      12    nonce
    35      32    encrypted X25519 private key (its 32 raw bytes)
    67      16    GCM tag

GCM key = Argon2id(password, salt, memory, iterations, lanes), 32 bytes; associated data =
the 23-byte header || context. The parameters travel with the key, so they can be raised
later without losing anyone's key; they are authenticated, and parameters outside
KdfParams' bounds are refused before any work (a forged record cannot make the server spend
gigabytes).

Sealed secret, version 1 (SEALED_VERSION), 93 bytes for a 32-byte secret:

    offset  size  field
    0       1     version byte, 0x01
    1       32    ephemeral X25519 public key, fresh for every seal
    33      12    nonce
    45      n     encrypted secret
    45+n    16    GCM tag

GCM key = HKDF-SHA256(X25519(ephemeral private, member public), salt = ephemeral public ||
member public, info = SEAL_INFO, 32 bytes); associated data = the 33-byte header ||
context. Only the holder of the member's private key can open it; a sealed copy moved to
another member, or to another context, fails its tag check.

Every failure to unlock or open is crypto.DecryptionError, whatever the cause (wrong
password, wrong key, altered bytes, other context, unknown version).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._primitives import KEY_SIZE, NONCE_SIZE, TAG_SIZE, as_bytes, check_binding, open_sealed, seal
from .errors import DecryptionError

LOCKED_VERSION = 1
SEALED_VERSION = 1
SALT_SIZE = 16
PUBLIC_KEY_SIZE = 32
SEAL_INFO = b"casework member seal v1"

_KDF_HEADER = struct.Struct(">B16sIBB")  # version, salt, memory KiB, iterations, lanes
LOCKED_SIZE = _KDF_HEADER.size + NONCE_SIZE + KEY_SIZE + TAG_SIZE
_SEALED_HEADER = 1 + PUBLIC_KEY_SIZE


MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB
MAX_ITERATIONS = 16
MAX_LANES = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id's cost. The default is RFC 9106's second recommendation (64 MiB, three
    passes, four lanes), paid once per sign-in. Tests pass smaller ones; stored ones outside
    the bounds are refused."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        if not _within_bounds(self.memory_kib, self.iterations, self.lanes):
            raise ValueError("Argon2id parameters out of bounds")


def _within_bounds(memory_kib: int, iterations: int, lanes: int) -> bool:
    return (
        1 <= lanes <= MAX_LANES
        and 1 <= iterations <= MAX_ITERATIONS
        and 8 * lanes <= memory_kib <= MAX_MEMORY_KIB
    )


DEFAULT_KDF = KdfParams()


def new_member_key() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair: (private key, public key), 32 raw bytes each."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def public_key_of(private_key: bytes) -> bytes:
    """The public half of a 32-byte raw X25519 private key."""
    return _private(private_key).public_key().public_bytes_raw()


def lock_private_key(
    private_key: bytes, password: bytes, context: bytes, params: KdfParams = DEFAULT_KDF
) -> bytes:
    """Encrypt a member's private key under a key derived from their password."""
    _private(private_key)  # refuse anything that is not a private key
    check_binding(password, "password")
    check_binding(context, "context")
    header = _KDF_HEADER.pack(
        LOCKED_VERSION, os.urandom(SALT_SIZE), params.memory_kib, params.iterations, params.lanes
    )
    key = _derive(password, header)
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + seal(key, nonce, private_key, header + context)


def unlock_private_key(locked: bytes, password: bytes, context: bytes) -> bytes:
    """The private key of a locked record, or DecryptionError (wrong password included)."""
    check_binding(password, "password")
    check_binding(context, "context")
    data = as_bytes(locked)
    if len(data) != LOCKED_SIZE:
        raise DecryptionError()
    header = data[: _KDF_HEADER.size]
    version, _salt, memory_kib, iterations, lanes = _KDF_HEADER.unpack(header)
    if version != LOCKED_VERSION or not _within_bounds(memory_kib, iterations, lanes):
        raise DecryptionError()  # before any work: a forged cost is never paid
    nonce = data[_KDF_HEADER.size : _KDF_HEADER.size + NONCE_SIZE]
    sealed = data[_KDF_HEADER.size + NONCE_SIZE :]
    return open_sealed(_derive(password, header), nonce, sealed, header + context)


def locked_params(locked: bytes) -> KdfParams:
    """The Argon2id parameters a locked key was made with (to re-lock it when they rise)."""
    data = as_bytes(locked)
    if len(data) != LOCKED_SIZE:
        raise DecryptionError()
    _version, _salt, memory_kib, iterations, lanes = _KDF_HEADER.unpack(data[: _KDF_HEADER.size])
    try:
        return KdfParams(memory_kib, iterations, lanes)
    except ValueError:
        raise DecryptionError() from None


def seal_to_member(public_key: bytes, secret: bytes, context: bytes) -> bytes:
    """Encrypt ``secret`` so that only the holder of the matching private key can open it."""
    check_binding(context, "context")
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("secret must be non-empty bytes")
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"public key must be {PUBLIC_KEY_SIZE} bytes")
    ephemeral = X25519PrivateKey.generate()  # fresh for every seal: a fresh GCM key
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key))
    key = _seal_key(shared, ephemeral_public, public_key)
    header = bytes([SEALED_VERSION]) + ephemeral_public
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + seal(key, nonce, secret, header + context)


def open_sealed_secret(private_key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The secret of a sealed record, or DecryptionError."""
    check_binding(context, "context")
    member = _private(private_key)
    data = as_bytes(sealed)
    if len(data) < _SEALED_HEADER + NONCE_SIZE + TAG_SIZE + 1 or data[0] != SEALED_VERSION:
        raise DecryptionError()
    header = data[:_SEALED_HEADER]
    try:
        ephemeral = X25519PublicKey.from_public_bytes(header[1:])
        shared = member.exchange(ephemeral)
    except ValueError:  # an all-zero shared secret: a small-order point, never ours
        raise DecryptionError() from None
    key = _seal_key(shared, header[1:], member.public_key().public_bytes_raw())
    nonce = data[_SEALED_HEADER : _SEALED_HEADER + NONCE_SIZE]
    return open_sealed(key, nonce, data[_SEALED_HEADER + NONCE_SIZE :], header + context)


def _seal_key(shared: bytes, ephemeral_public: bytes, member_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + member_public,
        info=SEAL_INFO,
    ).derive(shared)


def _derive(password: bytes, header: bytes) -> bytes:
    _version, salt, memory_kib, iterations, lanes = _KDF_HEADER.unpack(header)
    try:
        return Argon2id(
            salt=salt, length=KEY_SIZE, iterations=iterations, lanes=lanes, memory_cost=memory_kib
        ).derive(password)
    except ValueError:
        raise DecryptionError() from None


def _private(private_key: bytes) -> X25519PrivateKey:
    if not isinstance(private_key, bytes) or len(private_key) != KEY_SIZE:
        raise ValueError(f"private key must be {KEY_SIZE} bytes")
    return X25519PrivateKey.from_private_bytes(private_key)
