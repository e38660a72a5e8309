"""Key-encryption keys (KEKs): a versioned key ring that wraps and unwraps data keys.

Wrapped-key layout, version 1 (exactly 65 bytes, since a DEK is always 32 bytes):

    offset  size  field
    0       1     format byte, 0x01
    1       4     KEK version, unsigned big-endian, >= 1
    5       12    nonce, fresh from os.urandom for every wrap
    17      32    AES-256-GCM ciphertext of the DEK
    49      16    GCM tag

GCM associated data = the 5-byte header || context. The context binds the DEK to its owner
(e.g. b"datakey:applicant:<uuid>:org:<uuid>"); the header binding stops anyone from
relabelling a wrapped key with another KEK version.

Layered wrapped key, version 2 (exactly 94 bytes): the same layout with format byte 0x02 and
a 61-byte payload in place of the DEK: the DEK already encrypted under an organisation key
(a crypto.aead token of 32 bytes). Both layers are needed to reach the DEK; the KEK layer is
re-wrapped on rotation (rewrap) without the organisation key. unwrap() refuses a layered key
and unwrap_layered() a plain one, so neither is ever taken for the other.

Key file / environment format (JSON, mode 0600):

    {"format": "casework-keyring/1", "active": 2,
     "keks": {"1": "<base64>", "2": "<base64>"}, "index_key": "<base64>"}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, Protocol, SupportsIndex

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
from .errors import DecryptionError, KeyFileExistsError, KeyStoreError, UnknownKeyVersionError

KEYRING_FORMAT = "casework-keyring/1"
WRAP_FORMAT = 1
LAYERED_FORMAT = 2
LAYERED_PAYLOAD_SIZE = 61  # crypto.aead's token of a 32-byte key: 1 + 12 + 32 + 16
_HEADER_SIZE = 5
_NONCE_END = _HEADER_SIZE + NONCE_SIZE
WRAPPED_KEY_SIZE = _NONCE_END + KEY_SIZE + TAG_SIZE
LAYERED_WRAPPED_SIZE = _NONCE_END + LAYERED_PAYLOAD_SIZE + TAG_SIZE
_SIZES = {WRAP_FORMAT: WRAPPED_KEY_SIZE, LAYERED_FORMAT: LAYERED_WRAPPED_SIZE}
MAX_KEY_VERSION = 2**32 - 1  # what fits in the 4-byte header
_FIELDS = frozenset({"format", "active", "keks", "index_key"})
_MAX_KEY_FILE_SIZE = 1 << 20


class KeyProvider(Protocol):
    """What the field-encryption layer needs from a key store.

    KeyRing implements it with local keys; a Vault-transit or cloud-KMS provider can implement
    it later without touching callers. unwrap raises DecryptionError on every failure.
    """

    @property
    def active_version(self) -> int: ...

    @property
    def index_key(self) -> bytes: ...

    def wrap(self, dek: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...

    def wrap_layered(self, token: bytes, context: bytes) -> bytes: ...

    def unwrap_layered(self, wrapped: bytes, context: bytes) -> bytes: ...


def wrapped_key_format(wrapped: bytes) -> int:
    """WRAP_FORMAT (a plain wrapped key) or LAYERED_FORMAT; DecryptionError if malformed."""
    data = as_bytes(wrapped)
    wrapped_key_version(data)
    return data[0]


def wrapped_key_version(wrapped: bytes) -> int:
    """Return the KEK version in a wrapped key's header; DecryptionError if malformed.

    Rotation uses it to skip DEKs already wrapped under the active KEK.
    """
    data = as_bytes(wrapped)
    if not data or _SIZES.get(data[0]) != len(data):
        raise DecryptionError()
    version = int.from_bytes(data[1:_HEADER_SIZE], "big")
    if version == 0:
        raise DecryptionError()
    return version


class KeyRing:
    """Versioned 256-bit KEKs with exactly one active, plus a separate 256-bit index key.

    The index key is only for blind indexes and is never used as a KEK. repr() shows
    versions, never keys, and the ring refuses to be pickled so it cannot end up in a cache.
    """

    __slots__ = ("_active", "_index_key", "_keks")

    def __init__(self, keks: Mapping[int, bytes], active: int, index_key: bytes) -> None:
        self._keks = dict(keks)
        self._active = active
        self._index_key = index_key
        self._validate()

    @classmethod
    def generate(cls) -> KeyRing:
        """A new ring: KEK version 1, active, and a fresh index key."""
        return cls({1: os.urandom(KEY_SIZE)}, active=1, index_key=os.urandom(KEY_SIZE))

    # -- versions ---------------------------------------------------------------------------

    @property
    def active_version(self) -> int:
        return self._active

    @property
    def versions(self) -> list[int]:
        return sorted(self._keks)

    @property
    def index_key(self) -> bytes:
        return self._index_key

    def add(self) -> int:
        """Add a random KEK as version max+1 (not active) and return its version."""
        version = max(self._keks) + 1
        if version > MAX_KEY_VERSION:
            raise KeyStoreError("no key version numbers left")
        self._keks[version] = os.urandom(KEY_SIZE)
        return version

    def activate(self, version: int) -> None:
        """Make `version` the KEK that new wraps use."""
        self._require_version(version)
        self._active = version

    def retire(self, version: int) -> None:
        """Remove a non-active KEK. The caller must first prove no wrapped DEK still uses it."""
        self._require_version(version)
        if version == self._active:
            raise KeyStoreError(f"cannot retire the active key version {version}")
        del self._keks[version]

    def without(self, version: int) -> KeyRing:
        """A new ring holding every KEK but `version` (this one is left unchanged).

        Retirement tries every wrapped key against this ring before saving it: the ring that
        is proved to open them is the ring that is saved.
        """
        ring = KeyRing(self._keks, active=self._active, index_key=self._index_key)
        ring.retire(version)
        return ring

    # -- wrapping ---------------------------------------------------------------------------

    def wrap(self, dek: bytes, context: bytes) -> bytes:
        """Wrap a 32-byte DEK under the active KEK, bound to `context` (non-empty)."""
        check_key(dek, "data key")
        return self._wrap(WRAP_FORMAT, dek, context)

    def wrap_layered(self, token: bytes, context: bytes) -> bytes:
        """Wrap a DEK already encrypted under an organisation key (a 61-byte token)."""
        if not isinstance(token, bytes) or len(token) != LAYERED_PAYLOAD_SIZE:
            raise ValueError(f"a layered payload is {LAYERED_PAYLOAD_SIZE} bytes")
        return self._wrap(LAYERED_FORMAT, token, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Return the DEK inside `wrapped` (a plain wrapped key; a layered one is refused).

        Raises DecryptionError for malformed, altered or mis-bound data, and
        UnknownKeyVersionError (a KeyStoreError that is also a DecryptionError) when the
        header names a KEK version this ring does not hold.
        """
        return self._unwrap(WRAP_FORMAT, wrapped, context)

    def unwrap_layered(self, wrapped: bytes, context: bytes) -> bytes:
        """Return the organisation-key token inside a layered wrapped key (a plain one is
        refused); the DEK needs the organisation key next."""
        return self._unwrap(LAYERED_FORMAT, wrapped, context)

    def rewrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap, then wrap again under the active KEK (KEK rotation), in the same format:
        a layered key stays layered, and its inner layer is never opened."""
        data = as_bytes(wrapped)
        kind = wrapped_key_format(data)
        return self._wrap(kind, self._unwrap(kind, data, context), context)

    def _wrap(self, kind: int, payload: bytes, context: bytes) -> bytes:
        check_binding(context, "context")
        header = bytes([kind]) + self._active.to_bytes(4, "big")
        nonce = os.urandom(NONCE_SIZE)
        return header + nonce + seal(self._keks[self._active], nonce, payload, header + context)

    def _unwrap(self, kind: int, wrapped: bytes, context: bytes) -> bytes:
        check_binding(context, "context")
        data = as_bytes(wrapped)
        version = wrapped_key_version(data)
        if data[0] != kind:
            raise DecryptionError()
        kek = self._keks.get(version)
        if kek is None:
            raise UnknownKeyVersionError(version)
        header, nonce = data[:_HEADER_SIZE], data[_HEADER_SIZE:_NONCE_END]
        return open_sealed(kek, nonce, data[_NONCE_END:], header + context)

    # -- serialisation ----------------------------------------------------------------------

    def to_json(self) -> str:
        keks = {str(v): _b64(self._keks[v]) for v in self.versions}
        document = {
            "format": KEYRING_FORMAT,
            "active": self._active,
            "keks": keks,
            "index_key": _b64(self._index_key),
        }
        return json.dumps(document, indent=2)

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """Parse the key-ring JSON strictly; any problem is a one-line KeyStoreError."""
        document = _parse_json_object(text)
        if set(document) != _FIELDS:
            raise KeyStoreError("key ring must have exactly: format, active, keks, index_key")
        if document["format"] != KEYRING_FORMAT:
            raise KeyStoreError(f"key ring format must be {KEYRING_FORMAT!r}")
        active = document["active"]
        if type(active) is not int:  # bool is an int subclass; refuse it too
            raise KeyStoreError("key ring 'active' must be an integer")
        keks = _parse_keks(document["keks"])
        index_key = _decode_key(document["index_key"], "index_key")
        return cls(keks, active=active, index_key=index_key)

    @classmethod
    def from_env(cls, value: str) -> KeyRing:
        """Parse the key ring from an environment variable holding the JSON."""
        if not value.strip():
            raise KeyStoreError("key ring environment variable is empty")
        return cls.from_json(value)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyRing:
        """Read a key file; refuse one that is missing, not a regular file, or not mode 0600."""
        return cls.from_json(_read_private_file(Path(path)))

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the key file atomically with mode 0600.

        With overwrite=False an existing file is never replaced, even by a concurrent writer
        (the new file is hard-linked into place, which fails if the name exists).
        """
        write_private_file(Path(path), (self.to_json() + "\n").encode("utf-8"), overwrite)

    # -- safety -----------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"KeyRing(active={self._active}, versions={self.versions})"

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("KeyRing must not be pickled or copied; it holds keys")

    def _require_version(self, version: int) -> None:
        if version not in self._keks:
            raise KeyStoreError(f"key version {version} is not in the key ring")

    def _validate(self) -> None:
        if not self._keks:
            raise KeyStoreError("key ring has no KEKs")
        for version, kek in self._keks.items():
            _check_version(version)
            _check_key_bytes(kek, f"KEK version {version}")
        _check_key_bytes(self._index_key, "index_key")
        if type(self._active) is not int or self._active not in self._keks:
            raise KeyStoreError("the active key version is not in the key ring")
        # Duplicates mean a copy-paste mistake, and a KEK reused as index key breaks separation.
        if len({*self._keks.values(), self._index_key}) != len(self._keks) + 1:
            raise KeyStoreError("key ring contains the same key twice")


# -- helpers ----------------------------------------------------------------------------------


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _check_version(version: object) -> None:
    if type(version) is not int or not 1 <= version <= MAX_KEY_VERSION:
        raise KeyStoreError("key versions must be integers from 1 to 2**32-1")


def _check_key_bytes(key: object, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise KeyStoreError(f"{what} must be {KEY_SIZE} bytes")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of duplicate names; in a key file that hides mistakes.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise KeyStoreError("key ring JSON has a duplicate field name")
    return result


def _parse_json_object(text: str) -> dict[str, Any]:
    error: str | None = None
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        error = f"key ring is not valid JSON (line {exc.lineno}, column {exc.colno})"
    # Raised outside the except block: JSONDecodeError.doc holds the whole text, keys included,
    # and must not ride along as __context__ into a traceback or error report.
    if error is not None:
        raise KeyStoreError(error)
    if not isinstance(document, dict):
        raise KeyStoreError("key ring JSON must be an object")
    return document


def _parse_keks(value: object) -> dict[int, bytes]:
    if not isinstance(value, dict) or not value:
        raise KeyStoreError("key ring 'keks' must be a non-empty object")
    keks: dict[int, bytes] = {}
    for name, key in value.items():
        version = _parse_version_name(name)
        keks[version] = _decode_key(key, f"KEK {version}")
    return keks


def _parse_version_name(name: str) -> int:
    # Checked before any message quotes the name: a key pasted in the wrong place must never be
    # echoed into a log.
    if not (name.isascii() and name.isdigit() and name[:1] != "0" and len(name) <= 10):
        raise KeyStoreError("key ring 'keks' names must be positive integers such as \"1\"")
    version = int(name)
    _check_version(version)
    return version


def _decode_key(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value.isascii():
        raise KeyStoreError(f"key ring {what} must be a base64 string")
    try:
        key = base64.b64decode(value, validate=True)
    except binascii.Error:
        key = None
    if key is None:
        raise KeyStoreError(f"key ring {what} is not valid base64")
    if len(key) != KEY_SIZE:
        raise KeyStoreError(f"key ring {what} must be {KEY_SIZE} bytes, not {len(key)}")
    return key


def _read_private_file(path: Path) -> str:
    with os.fdopen(_open_private_file(path), "rb") as handle:
        raw = handle.read(_MAX_KEY_FILE_SIZE + 1)
    if len(raw) > _MAX_KEY_FILE_SIZE:
        raise KeyStoreError(f"key file {path} is too large to be a key ring")
    return _decode_utf8(raw, path)


def _open_private_file(path: Path) -> int:
    """Open `path` read-only; return the descriptor once it is a private regular file."""
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang start-up; fstat rejects it below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise KeyStoreError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyStoreError(f"cannot open key file {path}: {exc.strerror}") from None
    try:
        # fstat on the open descriptor, so the file checked is the file read.
        _check_private_regular_file(os.fstat(fd), path)
    except KeyStoreError:
        os.close(fd)
        raise
    return fd


def _check_private_regular_file(info: os.stat_result, path: Path) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise KeyStoreError(f"key file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyStoreError(
            f"key file {path} is accessible by group or others (mode {mode:04o}); "
            f"run: chmod 600 {shlex.quote(str(path))}"
        )


def _decode_utf8(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Raised outside the except block: UnicodeDecodeError.object holds the raw file bytes.
    raise KeyStoreError(f"key file {path} is not UTF-8 text")


def write_private_file(path: Path, data: bytes, overwrite: bool) -> None:
    """Write ``data`` to ``path`` (mode 0600 whatever the umask) under a temporary name
    beside it, then move it into place, so that no reader ever sees it half-written.
    Without ``overwrite`` it is hard-linked into place, which fails if the path exists
    (KeyFileExistsError) even when another process created it a moment ago."""
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    directory = path.absolute().parent
    temporary = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        _write_new_file(temporary, data)
        _move_into_place(temporary, path, overwrite)
        _fsync_directory(directory)
    except OSError as exc:
        raise KeyStoreError(f"cannot write key file {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _write_new_file(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # exactly 0600 whatever the umask
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _move_into_place(temporary: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # atomic and never clobbers, unlike an exists() check
    except FileExistsError:
        raise _exists_error(path) from None


def _fsync_directory(directory: Path) -> None:
    # Makes the new directory entry durable: after a rotation the DB holds DEKs wrapped under
    # the new KEK, so a crash must not bring back the old key file.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exists_error(path: Path) -> KeyFileExistsError:
    return KeyFileExistsError(f"key file {path} already exists; refusing to overwrite it")
