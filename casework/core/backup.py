"""Backups and restores (R59): one signed archive of the database and the stored files.

An archive is an uncompressed POSIX tar file (SECURITY.md "Backups" describes it byte by
byte). Its members, in this order:

- ``database/casework.sqlite3`` (SQLite's online backup API) or ``database/casework.pgdump``
  (``pg_dump --format=custom``): the native copy of the database;
- ``data/dumpdata.jsonl``: Django's ``dumpdata`` of the same snapshot, one object a line, so
  that a SQLite backup can be restored into PostgreSQL (and back);
- ``files/<storage name>``: every stored file, ciphertext already (value tokens), from the
  data directory or, with ``CASEWORK_STORAGE=s3``, every object of the bucket;
- ``manifest.json``: every member above with its size and SHA-256, the application version,
  the applied migrations, the database vendor, the audit chain head and the time;
- ``manifest.sig``: the Ed25519 signature, by the audit signing key, of
  ``SIGNATURE_CONTEXT || manifest.json``.

The archive never holds a key: the key file, the audit signing key and the letter seals are
refused by path before anything is written, and every stored file must be a value token.
Without the installation's key file a backup is unreadable; that is the point.

Restore checks the signature, the set of members and every SHA-256 before it writes
anything; refuses a target database with application data or a non-empty file store (a
folder or a bucket, whichever is configured: an archive of one restores into the other); then
loads, copies the files, verifies the audit log and decrypts a sample of every kind of
encrypted record inside one transaction, and keeps nothing unless all of that passes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from time import monotonic
from typing import IO, Any, Protocol

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers import base as serializer_base
from django.core.serializers import jsonl
from django.core.serializers import python as python_serializer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend
from storages.backends.s3 import S3Storage  # type: ignore[import-untyped]

from casework.audit.models import Action, AuditEvent, ChainHead
from casework.audit.services import record
from casework.audit.signing import check_signer as check_audit_signer
from casework.audit.signing import public_key, signing_key
from casework.audit.verification import verify_and_record
from casework.cases import journal
from casework.cases.models import Document, StageCount
from casework.keystore.models import DataKey
from casework.letters.models import Letter
from casework.lib import datakeys
from casework.lib.fields import Ciphertext, EncryptedField, EncryptedModel, encrypted_fields
from casework.lib.files import STORE_ERRORS, read_encrypted
from casework.lib.keys import key_file_path, keyring
from crypto import TOKEN_VERSION, CryptoError, DecryptionError

FORMAT = "casework-backup/1"
# Signed before the manifest: a signature made for a backup can never pass for an audit
# checkpoint made with the same key, nor the reverse.
SIGNATURE_CONTEXT = b"casework-backup-manifest/1\n"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SQLITE_MEMBER = "database/casework.sqlite3"
POSTGRESQL_MEMBER = "database/casework.pgdump"
LOGICAL_MEMBER = "data/dumpdata.jsonl"
LOGICAL_FORMAT = "casework-jsonl"  # dumpdata's jsonl, times to the microsecond (Serializer)
FILES_PREFIX = "files/"
NATIVE_MEMBERS = {"sqlite": SQLITE_MEMBER, "postgresql": POSTGRESQL_MEMBER}

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
SIGNATURE_BYTES = 64
MIN_TOKEN_BYTES = 1 + 12 + 16  # version, nonce, tag: a value token of an empty plaintext
CHUNK = 1024 * 1024
SAMPLE_SIZE = 10  # records of each encrypted model decrypted after a restore (R59: 10 cases)
FILE_SAMPLE = 3  # stored files of each purpose decrypted after a restore

# A stored file's path, part by part: what store_encrypted writes (<purpose>/<hex>.enc) and
# nothing that could climb out of the store or hide (no "..", no leading dot, no slash).
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_DEPTH = 8

# Stored files by purpose: the records that name them, and their plaintext's SHA-256.
FILE_PURPOSES: dict[str, tuple[type[models.Model], str, str]] = {
    "document": (Document, "storage_name", "sha256"),
    "letter": (Letter, "pdf_storage_name", "pdf_sha256"),
}

# Rows that migrations write themselves (reference data, roles, content types, the empty
# chain head): a freshly migrated database holds them and still counts as empty.
_SEEDED = frozenset(
    {
        "contenttypes.contenttype",
        "auth.permission",
        "auth.group",
        "auth.group_permissions",
        "cases.route",
        "cases.mission",
        "audit.chainhead",
    }
)
_GENESIS = "0" * 64


class BackupError(Exception):
    """A backup or restore that stopped: one line for the operator. Nothing was left behind
    (no archive, no partial file), or, for a restore, the target is as it was."""


class Meter(Protocol):
    def advance(self, count: int) -> None: ...
    def finish(self) -> float: ...


MeterFactory = Callable[[int, str], Meter]


class _Silent:
    def advance(self, count: int) -> None:
        pass

    def finish(self) -> float:
        return 0.0


def _silent(total: int, label: str) -> Meter:
    return _Silent()


@dataclass(frozen=True)
class BackupResult:
    path: Path
    vendor: str
    files: int
    size: int
    entries: int
    encrypted: bool = False  # sealed as a whole to CASEWORK_BACKUP_RECIPIENT


@dataclass
class RestoreResult:
    vendor: str
    method: str  # "native" or "logical"
    entries: int  # audit entries verified
    records: int  # encrypted records decrypted (a sample of each model)
    files: int  # stored files restored
    files_decrypted: int  # a sample of each purpose
    erasures_replayed: int = 0  # people the erasure journal named, erased again
    journal: Path | None = None  # the journal read; None: there was none
    seconds: float = 0.0  # from start to the restore kept and the erasures replayed (R59)


# --- what a backup may hold ------------------------------------------------------------------


def valid_member_name(name: str) -> bool:
    """Whether ``name`` is a member a backup writes (and restore accepts)."""
    if name in (MANIFEST, SIGNATURE, SQLITE_MEMBER, POSTGRESQL_MEMBER, LOGICAL_MEMBER):
        return True
    if not name.startswith(FILES_PREFIX):
        return False
    parts = name[len(FILES_PREFIX) :].split("/")
    return len(parts) <= _MAX_DEPTH and all(_PART.fullmatch(part) for part in parts)


def secret_locations() -> list[Path]:
    """Where keys live: nothing under these ever enters an archive."""
    return [
        Path(settings.CASEWORK_KEYS_FILE),
        Path(settings.CASEWORK_AUDIT_KEY_FILE),
        Path(settings.CASEWORK_SEAL_DIR),
        Path(settings.DATA_DIR) / "secret_key",  # the development SECRET_KEY
    ]


def refuse_secret(path: Path) -> None:
    """BackupError if ``path`` (symbolic links resolved) is a key file or lies under a key
    or seal location."""
    real = Path(os.path.realpath(path))
    for location in secret_locations():
        place = Path(os.path.realpath(location))
        if real == place or place in real.parents:
            raise BackupError(
                f"refused: {path} is under {location}, where keys are kept; a backup never "
                "holds keys (move the key or seal location out of the file store)"
            )


def _storage() -> Storage:
    """The configured file store: a folder (FileSystemStorage) or a bucket (S3Storage)."""
    storage = storages["default"]
    if not isinstance(storage, FileSystemStorage | S3Storage):
        raise BackupError(
            "refused: backup and restore support the file-system storage and S3-compatible "
            "object stores only"
        )
    return storage


def _folder(storage: Storage) -> Path | None:
    """The file-system store's folder; None for an object store."""
    return Path(storage.location) if isinstance(storage, FileSystemStorage) else None


def _object_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every name in an object store, folder by folder ("folders" are key prefixes)."""
    folders, names = storage.listdir(folder)
    for name in sorted(names):
        yield posixpath.join(folder, name)
    for inner in sorted(folders):
        yield from _object_names(storage, posixpath.join(folder, inner))


@contextmanager
def _object_store() -> Iterator[None]:
    """An object store's failure (an unreachable endpoint, a refused request) as one line."""
    try:
        yield
    except FileNotFoundError:
        raise
    except STORE_ERRORS as problem:
        raise BackupError(f"the object store failed: {_first_line(problem)}") from None


# --- backup ---------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    vendor: str
    members: list[tuple[str, Path]]  # the native copy and the logical dump
    migrations: list[str]
    entries: int
    head: str


def create_backup(out: Path, *, meter: MeterFactory | None = None) -> BackupResult:
    """Write the archive to ``out`` (via ``out.partial``, fsync, rename): all or nothing."""
    meter = meter or _silent
    storage = _storage()
    folder = _folder(storage)
    if folder is not None:
        _check_destination(out, folder)
    try:
        key = signing_key()
        check_audit_signer(key)
    except CryptoError as problem:
        raise BackupError(f"cannot sign the backup: {problem}") from None
    recipient = _recipient()
    created = datetime.now(UTC).replace(microsecond=0)
    with _staging(".backup-") as staging:
        snapshot = _snapshot(staging)
        # Files after the database: a file the snapshot names was stored before it was taken
        # and stored files are never rewritten; a newer file is an orphan, restored harmlessly.
        stored = _stored_files(folder) if folder is not None else _downloaded(storage, staging)
        members = [*snapshot.members, *stored]
        for _, path in members:
            refuse_secret(path)
        manifest = _manifest_fields(snapshot, created, len(stored), key)
        if recipient is None:
            size = _write_archive(out, members, manifest, key, created, meter)
        else:
            # The tar first, in the private staging folder of this host's data directory
            # (what it holds is already on this host), then the whole of it sealed to the
            # recipient, again via FILE.partial.
            plain = staging / "archive.tar"
            _write_archive(plain, members, manifest, key, created, meter)
            size = _encrypt(plain, out, recipient)
    return BackupResult(
        out, snapshot.vendor, len(stored), size, snapshot.entries, recipient is not None
    )


# --- the archive as a whole, encrypted to an age recipient (R59) -----------------------------

AGE_HEADER = b"age-encryption.org/v1\n"


def _recipient() -> pyrage.x25519.Recipient | None:
    """The configured recipient; production refuses to write an unencrypted backup."""
    text = settings.CASEWORK_BACKUP_RECIPIENT.strip()
    if not text:
        if settings.PROD:
            raise BackupError(
                "refused: CASEWORK_BACKUP_RECIPIENT is not set; production backups are "
                "encrypted (docs/operations.md, section 15)"
            )
        return None
    try:
        return pyrage.x25519.Recipient.from_str(text)
    except pyrage.RecipientError:
        raise BackupError(
            "refused: CASEWORK_BACKUP_RECIPIENT is not an age public key (age1...)"
        ) from None


def _encrypt(plain: Path, out: Path, recipient: pyrage.x25519.Recipient) -> int:
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with plain.open("rb") as source, os.fdopen(fd, "wb") as sink:
            pyrage.encrypt_io(source, sink, [recipient])
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, out)
        _fsync_directory(out.parent)
    except OSError as problem:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write {out}: {_reason(problem)}; nothing was kept") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def is_encrypted(archive: Path) -> bool:
    try:
        with archive.open("rb") as handle:
            return handle.read(len(AGE_HEADER)) == AGE_HEADER
    except OSError:
        return False


def read_identity(path: Path) -> pyrage.x25519.Identity:
    """An age identity file (as age-keygen or backup_identity write it)."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        raise BackupError(f"refused: cannot read the identity file {path}") from None
    keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    try:
        if len(keys) != 1:
            raise pyrage.IdentityError("expected one key")
        return pyrage.x25519.Identity.from_str(keys[0])
    except pyrage.IdentityError:
        raise BackupError(f"refused: {path} holds no age identity (AGE-SECRET-KEY-1...)") from None


@contextmanager
def _decrypted(archive: Path, identity: Path | None) -> Iterator[Path]:
    """The archive's tar: the file itself, or, for an encrypted archive, its decryption in a
    private staging folder (removed afterwards, whatever happens)."""
    if not is_encrypted(archive):
        yield archive
        return
    if identity is None:
        raise BackupError(
            f"refused: {archive} is encrypted; give the backup identity with --identity"
        )
    key = read_identity(identity)
    with _staging(".decrypt-") as staging:
        plain = _private_file(staging / "archive.tar")
        try:
            with archive.open("rb") as source, plain.open("wb") as sink:
                pyrage.decrypt_io(source, sink, [key])
        except pyrage.DecryptError:
            raise BackupError(
                f"refused: {archive} cannot be decrypted with {identity} (another "
                "installation's identity, or a damaged archive)"
            ) from None
        except OSError as problem:
            if "decryption error" in str(problem):  # pyrage: a payload chunk did not verify
                raise BackupError(
                    f"refused: {archive} is damaged (a changed byte or a cut-off end): it "
                    "does not decrypt"
                ) from None
            raise BackupError(f"cannot decrypt {archive}: {_reason(problem)}") from None
        yield plain


def _check_destination(out: Path, store: Path) -> None:
    if not out.parent.is_dir():
        raise BackupError(f"refused: the directory {out.parent} does not exist")
    real = Path(os.path.realpath(out))
    root = Path(os.path.realpath(store))
    if real == root or root in real.parents:
        raise BackupError(f"refused: {out} is inside the file store {store}")


@contextmanager
def _staging(prefix: str) -> Iterator[Path]:
    """A private (0700) directory inside the data directory, never the system's temp dir:
    removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=settings.DATA_DIR))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_file(path: Path) -> Path:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    return path


def _snapshot(staging: Path) -> _Snapshot:
    if connection.in_atomic_block:
        raise BackupError("refused: a backup must not run inside a transaction")
    try:
        if connection.vendor == "sqlite":
            return _sqlite_snapshot(staging)
        if connection.vendor == "postgresql":
            return _postgresql_snapshot(staging)
    except (DatabaseError, sqlite3.Error) as problem:
        raise BackupError(f"cannot copy the database: {_first_line(problem)}") from None
    except OSError as problem:
        raise BackupError(f"cannot write in {staging.parent}: {_reason(problem)}") from None
    raise BackupError(f"refused: no backup for the {connection.vendor} database")


def _sqlite_snapshot(staging: Path) -> _Snapshot:
    """The online backup API: a consistent copy while the application keeps running."""
    native = _private_file(staging / "casework.sqlite3")
    connection.ensure_connection()
    source = connection.connection
    target = sqlite3.connect(native)
    try:
        source.backup(target)
        # A self-contained file: no -wal or -shm beside it.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    with _database_alias(native) as alias:
        logical = _dumpdata(alias, staging)
        return _Snapshot(
            "sqlite",
            [(SQLITE_MEMBER, native), (LOGICAL_MEMBER, logical)],
            _applied_migrations(connections[alias]),
            *_chain_head(alias),
        )


@contextmanager
def _database_alias(path: Path) -> Iterator[str]:
    """A connection to the snapshot file, so that dumpdata reads what the native copy holds.
    Registered as a connection only, not in the settings: it is this command's alone."""
    alias = "casework_backup_snapshot"
    config = {
        **connections[DEFAULT_DB_ALIAS].settings_dict,
        "NAME": str(path),
        "OPTIONS": {"init_command": "PRAGMA query_only = 1;"},
    }
    snapshot = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    connections[alias] = snapshot
    try:
        yield alias
    finally:
        snapshot.close()
        del connections[alias]


def _postgresql_snapshot(staging: Path) -> _Snapshot:
    """pg_dump and dumpdata from one exported snapshot: both hold the same transactions."""
    native = _private_file(staging / "casework.pgdump")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # connect (and run any health check) before the snapshot
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SHOW transaction_isolation")
        if cursor.fetchone() != ("repeatable read",):
            raise BackupError("cannot take a consistent snapshot of the database")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        _pg_dump(native, snapshot, staging)
        logical = _dumpdata(DEFAULT_DB_ALIAS, staging)
        return _Snapshot(
            "postgresql",
            [(POSTGRESQL_MEMBER, native), (LOGICAL_MEMBER, logical)],
            _applied_migrations(connection),
            *_chain_head(DEFAULT_DB_ALIAS),
        )


def _libpq_environment(database: BaseDatabaseWrapper) -> dict[str, str]:
    """The connection settings for pg_dump and pg_restore; the password travels in the
    environment, never on a command line."""
    config = database.settings_dict
    values = {
        "PGDATABASE": config.get("NAME"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGSSLMODE": config.get("OPTIONS", {}).get("sslmode"),
    }
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def _pg_dump(native: Path, snapshot: str, staging: Path) -> None:
    command = [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--snapshot={snapshot}",
        f"--file={native}",
    ]
    _run(command, _libpq_environment(connection), staging)


def _run(command: list[str], env: dict[str, str], staging: Path) -> None:
    errors = staging / f"{command[0]}.err"
    try:
        with errors.open("wb") as stderr:
            done = subprocess.run(command, env=env, stderr=stderr, stdout=subprocess.DEVNULL)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {_last_line(errors)}")


def _dumpdata(alias: str, staging: Path) -> Path:
    """Every object of every app, natural keys off, the audit tables included; encrypted
    fields are written as their stored tokens (base64), never decrypted."""
    path = _private_file(staging / "dumpdata.jsonl")
    serializers.register_serializer(LOGICAL_FORMAT, __name__)
    call_command(
        "dumpdata",
        format=LOGICAL_FORMAT,
        database=alias,
        output=str(path),
        use_base_manager=True,
        verbosity=0,
    )
    return path


class _PreciseEncoder(DjangoJSONEncoder):
    """Times to the microsecond: DjangoJSONEncoder keeps milliseconds only, and an audit
    entry whose time lost its microseconds no longer matches its hash."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime | time):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class Serializer(jsonl.Serializer):
    """The logical dump's format (registered as ``casework-jsonl`` for dumpdata): Django's
    JSON Lines with _PreciseEncoder. Django reads it back as plain ``jsonl``."""

    def _init_options(self) -> None:
        super()._init_options()  # type: ignore[misc]  # not in django-stubs
        self.json_kwargs["cls"] = _PreciseEncoder


Deserializer = jsonl.Deserializer


def _applied_migrations(database: BaseDatabaseWrapper) -> list[str]:
    """The applied migrations as the migration graph names them (a squashed migration
    stands for those it replaces once they are all applied)."""
    loader = MigrationLoader(database, ignore_no_migrations=True)
    applied = [node for node in loader.graph.nodes if node in loader.applied_migrations]
    return sorted(f"{app}.{name}" for app, name in applied)


def _chain_head(alias: str) -> tuple[int, str]:
    head = ChainHead.objects.using(alias).filter(pk=1).first()
    return (head.seq, head.hash) if head is not None else (0, _GENESIS)


def _stored_files(store: Path) -> list[tuple[str, Path]]:
    """Every file under the store, as ``files/<storage name>``: regular files only, each a
    value token (ciphertext), none under a key location."""
    if not store.exists():
        return []
    found = []
    for folder, folders, names in os.walk(store):
        folders.sort()
        for name in [*folders, *sorted(names)]:
            path = Path(folder) / name
            refuse_secret(path)
            if path.is_symlink():
                raise BackupError(f"refused: {path} is a symbolic link; the file store holds none")
        for name in sorted(names):
            path = Path(folder) / name
            member = FILES_PREFIX + path.relative_to(store).as_posix()
            if not path.is_file() or not valid_member_name(member):
                raise BackupError(f"refused: {path} is not a file the store writes")
            _refuse_plaintext(path)
            found.append((member, path))
    return found


def _downloaded(storage: Storage, staging: Path) -> list[tuple[str, Path]]:
    """Every object in the bucket as ``files/<storage name>``, copied into the private staging
    folder (ciphertext, as the bucket holds it) and checked as a stored file is."""
    found = []
    with _object_store():
        names = list(_object_names(storage))
    for name in names:
        member = FILES_PREFIX + name
        if not valid_member_name(member):
            raise BackupError(f"refused: the bucket holds {name!r}, not a file the store writes")
        path = staging / member
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            with _object_store(), storage.open(name, "rb") as source:
                content = source.read()
        except FileNotFoundError:
            continue  # deleted since it was listed: an erased person's file, an old export
        with open(path, "xb", opener=_private_opener) as out:  # noqa: PTH123 - the opener
            out.write(content)
        _refuse_plaintext(path)
        found.append((member, path))
    return found


def _refuse_plaintext(path: Path) -> None:
    """A stored file is exactly one value token: version byte 0x01, nonce, ciphertext, tag."""
    with path.open("rb") as handle:
        head = handle.read(MIN_TOKEN_BYTES)
    if len(head) < MIN_TOKEN_BYTES or head[0] != TOKEN_VERSION:
        raise BackupError(
            f"refused: {path} is not an encrypted file (no version 1 token); a backup holds "
            "no plaintext"
        )


def _application_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _manifest_fields(
    snapshot: _Snapshot, created: datetime, files: int, key: bytes
) -> dict[str, Any]:
    public = Ed25519PrivateKey.from_private_bytes(key).public_key().public_bytes_raw()
    return {
        "format": FORMAT,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "application": {"name": "safe-passage-casework", "version": _application_version()},
        "database": {
            "vendor": snapshot.vendor,
            "native": snapshot.members[0][0],
            "logical": LOGICAL_MEMBER,
            "migrations": snapshot.migrations,
        },
        "audit": {
            "origin": settings.CASEWORK_AUDIT_ORIGIN,
            "entries": snapshot.entries,
            "head": snapshot.head,
            "public_key": base64.b64encode(public).decode("ascii"),
        },
        "files": files,
    }


class _Sink:
    """The archive being written: every byte goes through ``write`` (a full disk raises
    here), counted so that tarfile can ask where it is."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.position = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])
        self.position += done
        return done

    def tell(self) -> int:
        return self.position


class _HashingReader:
    """Reads a member's source for tarfile, hashing exactly the bytes that go in."""

    def __init__(self, handle: IO[bytes], meter: Meter) -> None:
        self.handle = handle
        self.meter = meter
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.meter.advance(len(data))
        return data


def _write_archive(
    out: Path,
    members: list[tuple[str, Path]],
    fields: dict[str, Any],
    key: bytes,
    created: datetime,
    meter: MeterFactory,
) -> int:
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as problem:
        raise BackupError(f"cannot write {partial}: {_reason(problem)}") from None
    try:
        sink = _Sink(fd)
        progress = meter(sum(path.stat().st_size for _, path in members), "writing the archive")
        with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            listed = [_add_file(tar, name, path, created, progress) for name, path in members]
            manifest = _manifest_bytes({**fields, "members": listed})
            signature = Ed25519PrivateKey.from_private_bytes(key).sign(SIGNATURE_CONTEXT + manifest)
            _add_bytes(tar, MANIFEST, manifest, created)
            _add_bytes(tar, SIGNATURE, signature, created)
        progress.finish()
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(partial, out)
        _fsync_directory(out.parent)
        return sink.position
    except BaseException as problem:
        if fd >= 0:
            os.close(fd)
        partial.unlink(missing_ok=True)
        if isinstance(problem, OSError):
            raise BackupError(f"cannot write {out}: {_reason(problem)}; nothing was kept") from None
        raise


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True).encode() + b"\n"


def _tar_info(name: str, size: int, created: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(created.timestamp())
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_file(
    tar: tarfile.TarFile, name: str, path: Path, created: datetime, meter: Meter
) -> dict[str, Any]:
    with open(path, "rb", opener=_no_follow) as handle:  # noqa: PTH123 - the opener
        size = os.fstat(handle.fileno()).st_size
        reader = _HashingReader(handle, meter)
        tar.addfile(_tar_info(name, size, created), reader)
    return {"name": name, "size": size, "sha256": reader.digest.hexdigest()}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, created: datetime) -> None:
    tar.addfile(_tar_info(name, len(data), created), io.BytesIO(data))


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- restore: the archive is checked before anything is written ------------------------------


@dataclass
class _Archive:
    tar: tarfile.TarFile
    manifest: dict[str, Any]
    members: dict[str, tarfile.TarInfo]
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)


def restore_backup(
    archive: Path,
    *,
    logical: bool = False,
    meter: MeterFactory | None = None,
    erasures: Path | None = None,
    identity: Path | None = None,
) -> RestoreResult:
    """Restore ``archive`` into this installation's (empty) database and file store, then
    erase again everyone the erasure journal ``erasures`` names (default: the configured
    one; a missing journal is reported, not refused: a first restore may have none)."""
    meter = meter or _silent
    started = monotonic()
    _check_keys_configured()
    journal_path = erasures or journal.path()
    erased = _read_journal(journal_path)
    with ExitStack() as stack:
        tar_path = stack.enter_context(_decrypted(archive, identity))
        try:
            tar = tarfile.open(tar_path, "r:")  # noqa: SIM115 - closed below
        except (OSError, tarfile.TarError):
            raise BackupError(f"refused: {archive} is not a readable backup archive") from None
        stack.enter_context(tar)
        checked = _checked_archive(tar, meter)
        _check_migrations(checked.manifest)
        storage = _storage()
        new_sqlite_file = _new_sqlite_file()
        try:
            _refuse_unless_empty(storage)
            result = _restore(checked, storage, logical=logical, meter=meter)
        except BaseException:
            if new_sqlite_file is not None:
                _remove_sqlite_file(new_sqlite_file)
            raise
    result.erasures_replayed = _replay(erased) if erased is not None else 0
    result.journal = None if erased is None else journal_path
    result.seconds = round(monotonic() - started, 3)
    record(
        Action.BACKUP_RESTORED,
        archive_created=str(checked.manifest.get("created", "")),
        vendor=result.vendor,
        dump=result.method,
        entries=result.entries,
        erasures_replayed=result.erasures_replayed,
        journal=erased is not None,
        seconds=result.seconds,
    )
    return result


def _read_journal(path: Path) -> list[journal.Entry] | None:
    """The journal's entries, None when there is none; a damaged one is refused before
    anything is restored (a restore without it would bring erased people back)."""
    if not path.exists():
        return None
    try:
        return journal.read(path)
    except (OSError, journal.JournalError) as problem:
        raise BackupError(f"refused: the erasure journal cannot be read: {problem}") from None


def _replay(entries: list[journal.Entry]) -> int:
    """Erase again whoever the journal names and the backup still holds."""
    from casework.cases.models import Applicant, ErasureCause
    from casework.cases.services import applicant_erase

    due = {entry.applicant_id: entry.cause for entry in entries}
    present = Applicant.objects.filter(pk__in=due, erased_at__isnull=True)
    replayed = 0
    for applicant_id in present.values_list("pk", flat=True):
        applicant_erase(
            applicant_id=applicant_id, cause=ErasureCause(due[applicant_id]), replayed=True
        )
        replayed += 1
    return replayed


def _check_keys_configured() -> None:
    """Restore brings no keys: the installation's own must be in place before it starts."""
    if not settings.CASEWORK_KEYS_FROM_ENV and not key_file_path().exists():
        raise BackupError(
            f"refused: the key file {key_file_path()} does not exist; a backup holds no keys, "
            "so configure the backed-up installation's key file (CASEWORK_KEYS_FILE) first"
        )
    audit_key = Path(settings.CASEWORK_AUDIT_KEY_FILE)
    if not settings.CASEWORK_AUDIT_PUBLIC_KEY and not audit_key.exists():
        raise BackupError(
            "refused: no audit public key to check the archive's signature with; set "
            "CASEWORK_AUDIT_PUBLIC_KEY to the backed-up installation's"
        )


def _checked_archive(tar: tarfile.TarFile, meter: MeterFactory) -> _Archive:
    """The signature, the members' names and types, the set of members and each SHA-256."""
    try:
        infos = tar.getmembers()
    except (OSError, tarfile.TarError):
        raise BackupError("refused: the archive is damaged (not a complete tar file)") from None
    members: dict[str, tarfile.TarInfo] = {}
    for info in infos:
        if not info.isreg() or not valid_member_name(info.name):
            raise BackupError(f"refused: the archive holds {info.name!r}, which no backup writes")
        if info.name in members:
            raise BackupError(f"refused: the archive holds {info.name} twice")
        members[info.name] = info
    for name in (MANIFEST, SIGNATURE):
        if name not in members:
            raise BackupError(f"refused: the archive has no {name}")
    manifest = _signed_manifest(tar, members[MANIFEST], members[SIGNATURE])
    archive = _Archive(tar, manifest, members, _listed(manifest))
    _check_member_set(archive)
    _check_digests(archive, meter)
    return archive


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> bytes:
    if info.size > limit:
        raise BackupError(f"refused: {info.name} is larger than any backup writes")
    handle = tar.extractfile(info)
    assert handle is not None  # a regular file, checked above
    return handle.read()


def _signed_manifest(
    tar: tarfile.TarFile, manifest: tarfile.TarInfo, signature: tarfile.TarInfo
) -> dict[str, Any]:
    text = _read_member(tar, manifest, MAX_MANIFEST_BYTES)
    signed = _read_member(tar, signature, SIGNATURE_BYTES)
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key())
        key.verify(signed, SIGNATURE_CONTEXT + text)
    except CryptoError as problem:
        raise BackupError(f"refused: no audit public key: {problem}") from None
    except (InvalidSignature, ValueError):
        raise BackupError(
            "refused: the manifest's signature does not verify with this installation's audit "
            "public key: the archive was altered, or made by another installation"
        ) from None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or parsed.get("format") != FORMAT:
        raise BackupError(f"refused: the manifest is not a {FORMAT} manifest")
    return parsed


def _listed(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    listed: dict[str, dict[str, Any]] = {}
    entries = manifest.get("members")
    database = manifest.get("database")
    if not isinstance(entries, list) or not isinstance(database, dict):
        raise BackupError("refused: the manifest lists no members")
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if (
            not isinstance(name, str)
            or not valid_member_name(name)
            or name in (MANIFEST, SIGNATURE)
            or name in listed
            or not isinstance(entry.get("size"), int)
            or not isinstance(entry.get("sha256"), str)
        ):
            raise BackupError(f"refused: the manifest lists a malformed member {name!r}")
        listed[name] = entry
    vendor = database.get("vendor")
    if vendor not in NATIVE_MEMBERS or database.get("native") != NATIVE_MEMBERS[vendor]:
        raise BackupError("refused: the manifest names no database this version restores")
    for name in (NATIVE_MEMBERS[vendor], LOGICAL_MEMBER):
        if name not in listed:
            raise BackupError(f"refused: the manifest does not list {name}")
    return listed


def _check_member_set(archive: _Archive) -> None:
    present = set(archive.members) - {MANIFEST, SIGNATURE}
    for name in archive.listed:
        if name not in present:
            raise BackupError(f"refused: {name} is listed in the manifest but missing")
    for name in archive.members:
        if name not in archive.listed and name not in (MANIFEST, SIGNATURE):
            raise BackupError(f"refused: {name} is in the archive but not listed in the manifest")


def _check_digests(archive: _Archive, meter: MeterFactory) -> None:
    progress = meter(sum(e["size"] for e in archive.listed.values()), "checking the archive")
    for name, entry in archive.listed.items():
        info = archive.members[name]
        if info.size != entry["size"]:
            raise BackupError(f"refused: {name}: its size does not match the manifest")
        digest = hashlib.sha256()
        for chunk in _chunks(archive.tar, info):
            digest.update(chunk)
            progress.advance(len(chunk))
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"refused: {name}: its SHA-256 does not match the manifest")
    progress.finish()


def _chunks(tar: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    handle = tar.extractfile(info)
    assert handle is not None
    while chunk := handle.read(CHUNK):
        yield chunk


def _check_migrations(manifest: dict[str, Any]) -> None:
    """The archive must come from this version's schema: a logical dump only fits it, and
    restoring an older one and migrating afterwards is for the operator to decide."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = {f"{app}.{name}" for app, name in loader.graph.nodes}
    archived = set(manifest["database"].get("migrations") or [])
    if archived != known:
        raise BackupError(
            f"refused: the backup was made at another schema ({len(archived - known)} migrations "
            f"unknown here, {len(known - archived)} not applied in it); restore with the "
            f"application version that made it ({manifest['application']['version']}), then "
            "upgrade"
        )


def _new_sqlite_file() -> Path | None:
    """The SQLite file, if the restore creates it (removed again if the restore fails)."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    path = Path(connection.settings_dict["NAME"])
    return path if not path.exists() or path.stat().st_size == 0 else None


def _remove_sqlite_file(path: Path) -> None:
    connection.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _model_tables() -> dict[str, type[models.Model]]:
    tables: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            tables.setdefault(model._meta.db_table, model)
    return tables


def _refuse_unless_empty(storage: Storage) -> None:
    existing = set(connection.introspection.table_names())
    for table, model in _model_tables().items():
        if table not in existing or model._meta.label_lower in _SEEDED:
            continue
        if model._base_manager.exists():
            raise BackupError(
                f"refused: the target database holds data ({model._meta.label_lower}); "
                "restore only into an empty database"
            )
    if ChainHead._meta.db_table in existing and ChainHead.objects.exclude(seq=0).exists():
        raise BackupError("refused: the target database's audit log is not empty")
    store = _folder(storage)
    if store is None:
        with _object_store():
            if next(_object_names(storage), None) is not None:
                raise BackupError("refused: the bucket (CASEWORK_S3_BUCKET) is not empty")
    # Only empty folders may be there: no file, and no link that would lead the copy elsewhere.
    elif store.exists() and any(p.is_symlink() or not p.is_dir() for p in store.rglob("*")):
        raise BackupError(f"refused: the file store {store} is not empty")


# --- restore: load, copy, verify, and keep it only if everything passed -----------------------


def _restore(
    archive: _Archive, storage: Storage, *, logical: bool, meter: MeterFactory
) -> RestoreResult:
    vendor = archive.manifest["database"]["vendor"]
    native = vendor == connection.vendor and not logical
    member = NATIVE_MEMBERS[vendor] if native else LOGICAL_MEMBER
    migrate = _needs_migration()
    if migrate and connection.vendor != "postgresql":
        # SQLite cannot change its schema inside a transaction; a new file is removed again
        # if the restore fails (restore_backup).
        call_command("migrate", interactive=False, verbosity=0)
    copied = _Copied(storage)
    with _staging(".restore-") as staging:
        dump = _extract(archive, member, staging)
        try:
            with ExitStack() as stack:
                if native and vendor == "sqlite":
                    stack.enter_context(_attached(dump))
                with transaction.atomic(durable=True):
                    if migrate and connection.vendor == "postgresql":
                        call_command("migrate", interactive=False, verbosity=0)
                    _load(dump, vendor=vendor, native=native, staging=staging)
                    ContentType.objects.clear_cache()
                    files = _copy_files(archive, storage, copied, meter)
                    entries, records, decrypted = _verify_restored(archive.manifest)
        except BaseException as problem:
            copied.remove()
            ContentType.objects.clear_cache()
            if isinstance(problem, BackupError):
                raise
            if isinstance(
                problem,
                (DatabaseError, ValueError, serializer_base.DeserializationError, *STORE_ERRORS),
            ):
                raise BackupError(
                    f"restore failed, nothing was kept: {type(problem).__name__}: "
                    f"{_first_line(problem)}"
                ) from None
            raise
    method = "native" if native else "logical"
    return RestoreResult(vendor, method, entries, records, files, decrypted)


def _needs_migration() -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _extract(archive: _Archive, name: str, staging: Path) -> Path:
    """Copy one member out, checking its SHA-256 again on the way (the archive file could
    have changed since it was checked)."""
    path = staging / Path(name).name
    with open(path, "xb", opener=_private_opener) as out:  # noqa: PTH123 - the opener
        _copy_checked(archive, name, out)
    return path


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW, 0o600)


def _copy_checked(archive: _Archive, name: str, out: IO[bytes]) -> int:
    entry = archive.listed[name]
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(archive.tar, archive.members[name]):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
    out.flush()
    os.fsync(out.fileno())
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise BackupError(f"refused: {name} changed while it was being restored")
    return size


@contextmanager
def _attached(path: Path) -> Iterator[None]:
    """The SQLite snapshot attached to the connection (outside any transaction, as SQLite
    requires), detached afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("ATTACH DATABASE %s AS casework_backup", [str(path)])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DETACH DATABASE casework_backup")


def _load(dump: Path, *, vendor: str, native: bool, staging: Path) -> None:
    """Replace the rows migrations seeded with the archive's, inside the caller's transaction.

    The chain head is written last: inserting audit entries moves it (a trigger), and the
    archive's row is the one that matches its newest entry. The stage counts are counted
    again from the cases (their triggers counted the cases as they were loaded).
    """
    with connection.cursor() as cursor:
        if native and vendor == "sqlite":
            _load_sqlite(cursor)
        elif native:
            _clear(cursor, [*_model_tables(), "django_migrations"])
            _load_postgresql(cursor, dump, staging)
        else:
            _clear(cursor, list(_model_tables()))
            _load_logical(cursor, dump)
    # The stage counts are the cases' (kept by triggers): counted again from the cases loaded,
    # not taken from the archive, whose rows the triggers would have counted twice.
    StageCount.recount()


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _clear(cursor: Any, tables: list[str]) -> None:
    """Empty the tables that hold rows (only seeded ones: the target was checked empty)."""
    for table in tables:
        cursor.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1")  # noqa: S608 - quoted name
        if cursor.fetchone() is not None:
            cursor.execute(f"DELETE FROM {_quote(table)}")  # noqa: S608 - quoted name


def _head_last(tables: list[str]) -> list[str]:
    head = ChainHead._meta.db_table
    return [t for t in tables if t != head] + [t for t in tables if t == head]


def _load_sqlite(cursor: Any) -> None:
    cursor.execute(
        "SELECT name FROM casework_backup.sqlite_master "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    tables = [row[0] for row in cursor.fetchall()]
    for table in _head_last(tables):
        cursor.execute(f"PRAGMA casework_backup.table_info({_quote(table)})")
        columns = ", ".join(_quote(row[1]) for row in cursor.fetchall())
        cursor.execute(f"DELETE FROM main.{_quote(table)}")  # noqa: S608 - quoted name
        cursor.execute(
            f"INSERT INTO main.{_quote(table)} ({columns}) "  # noqa: S608 - quoted names
            f"SELECT {columns} FROM casework_backup.{_quote(table)}"
        )


# pg_restore's script of a data-only restore: what is run, what is skipped; anything else is
# refused (it would be a dump this code does not understand).
_PG_SKIP = (b"--", b"SET ", b"SELECT pg_catalog.set_config(", b"\\restrict", b"\\unrestrict")


def _load_postgresql(cursor: Any, dump: Path, staging: Path) -> None:
    """``pg_restore --data-only`` as a script, run on this connection, so that it is part of
    the transaction: COPY blocks and sequence values."""
    errors = staging / "pg_restore.err"
    command = ["pg_restore", "--data-only", "--no-owner", "--no-privileges", "--file=-", str(dump)]
    try:
        with errors.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.PIPE, stderr=stderr, env=_libpq_environment(connection)
            )
    except FileNotFoundError:
        raise BackupError("pg_restore is not installed (Debian: postgresql-client)") from None
    assert process.stdout is not None
    head: tuple[str, list[bytes]] | None = None
    with process:
        lines = iter(process.stdout)
        for line in lines:
            if line.startswith(b"COPY ") and line.rstrip().endswith(b" FROM stdin;"):
                statement = line.decode().rstrip().removesuffix(";")
                if _copies_head(statement):
                    head = (statement, list(_copy_rows(lines)))
                elif _copies(statement, StageCount):
                    for _row in _copy_rows(lines):  # counted again afterwards: skipped
                        pass
                else:
                    _copy(cursor, statement, _copy_rows(lines))
            elif line.startswith(b"SELECT pg_catalog.setval("):
                cursor.execute(line.decode().strip())
            elif line.strip() and not line.startswith(_PG_SKIP):
                process.kill()
                raise BackupError(
                    "refused: the database dump holds a statement restore does not run"
                )
    if process.returncode != 0:
        raise BackupError(f"pg_restore failed: {_last_line(errors)}")
    if head is not None:
        _copy(cursor, head[0], iter(head[1]))


def _copies_head(statement: str) -> bool:
    return _copies(statement, ChainHead)


def _copies(statement: str, model: type[models.Model]) -> bool:
    return statement.split()[1].split(".")[-1] == model._meta.db_table


def _copy_rows(lines: Iterator[bytes]) -> Iterator[bytes]:
    for line in lines:
        if line == b"\\.\n":
            return
        yield line
    raise BackupError("refused: the database dump ends inside a table")


def _copy(cursor: Any, statement: str, rows: Iterator[bytes]) -> None:
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write(row)


def _load_logical(cursor: Any, dump: Path) -> None:
    """The portable dump, object by object (batched per model). Not ``loaddata``: it would
    take the stored tokens for plaintext. Encrypted fields are written as the tokens they
    are, every other field as Django converts it for this database."""
    batch: list[dict[str, Any]] = []
    head: list[dict[str, Any]] = []
    with dump.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("model") == ChainHead._meta.label_lower:
                head.append(record)
                continue
            if record.get("model") == StageCount._meta.label_lower:
                continue  # counted again from the cases afterwards
            if batch and batch[0]["model"] != record.get("model"):
                _insert(cursor, batch)
                batch = []
            batch.append(record)
    for records in (batch, head):
        if records:
            _insert(cursor, records)
    if connection.vendor == "postgresql":
        tables = list(_model_tables().values())
        for statement in connection.ops.sequence_reset_sql(no_style(), tables):
            cursor.execute(statement)


def _insert(cursor: Any, records: list[dict[str, Any]]) -> None:
    model = apps.get_model(records[0]["model"])
    if model._meta.parents:
        raise BackupError(f"refused: {model._meta.label} inherits a table; not supported")
    objects = list(
        python_serializer.Deserializer(
            [_with_tokens(model, record) for record in records], using=connection.alias
        )
    )
    fields = [f for f in model._meta.local_concrete_fields if not getattr(f, "generated", False)]
    _insert_rows(cursor, model._meta.db_table, fields, [o.object for o in objects])
    for deserialized in objects:
        for name, related in (deserialized.m2m_data or {}).items():
            _insert_links(cursor, model._meta.get_field(name), deserialized.object.pk, related)


def _with_tokens(model: type[models.Model], record: dict[str, Any]) -> dict[str, Any]:
    """Encrypted fields as their tokens (dumpdata wrote them as base64)."""
    values = dict(record.get("fields") or {})
    for encrypted in encrypted_fields(model):
        value = values.get(encrypted.name)
        if value is not None:
            try:
                values[encrypted.name] = Ciphertext(base64.b64decode(value, validate=True))
            except (binascii.Error, TypeError):
                raise BackupError(
                    f"refused: a {model._meta.label_lower} token is not base64"
                ) from None
    return {**record, "fields": values}


def _db_value(model_field: Any, instance: models.Model) -> Any:
    if isinstance(model_field, EncryptedField):
        value = instance.__dict__.get(model_field.attname)  # the token, never decrypted
    else:
        value = getattr(instance, model_field.attname)
    return model_field.get_db_prep_save(value, connection=connection)


def _insert_rows(cursor: Any, table: str, fields: list[Any], instances: list[Any]) -> None:
    columns = ", ".join(_quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_quote(table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    cursor.executemany(sql, [[_db_value(f, instance) for f in fields] for instance in instances])


def _insert_links(cursor: Any, relation: Any, pk: Any, related: list[Any]) -> None:
    through = relation.remote_field.through
    source = through._meta.get_field(relation.m2m_field_name())
    target = through._meta.get_field(relation.m2m_reverse_field_name())
    sql = (
        f"INSERT INTO {_quote(through._meta.db_table)} "  # noqa: S608 - quoted names
        f"({_quote(source.column)}, {_quote(target.column)}) VALUES (%s, %s)"
    )
    rows = [
        [
            source.get_db_prep_save(pk, connection=connection),
            target.get_db_prep_save(other, connection=connection),
        ]
        for other in related
    ]
    if rows:
        cursor.executemany(sql, rows)


class _Copied:
    """Files and folders (or objects) a restore created in the store: removed again if it
    fails."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.files: list[Path] = []
        self.folders: list[Path] = []
        self.objects: list[str] = []

    def folder(self, path: Path) -> None:
        missing = [p for p in [path, *path.parents] if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700)
            self.folders.append(folder)

    def remove(self) -> None:
        for name in reversed(self.objects):
            with suppress(*STORE_ERRORS):  # left behind: the next restore refuses the bucket
                self.storage.delete(name)
        for path in reversed(self.files):
            path.unlink(missing_ok=True)
        for folder in reversed(self.folders):
            with suppress(OSError):  # not empty: something else was put there meanwhile
                folder.rmdir()


def _copy_files(archive: _Archive, storage: Storage, copied: _Copied, meter: MeterFactory) -> int:
    names = [name for name in archive.listed if name.startswith(FILES_PREFIX)]
    progress = meter(sum(archive.listed[name]["size"] for name in names), "copying files")
    store = _folder(storage)
    for name in names:
        if store is None:
            progress.advance(_upload(archive, name, storage, copied))
            continue
        path = store / name[len(FILES_PREFIX) :]
        copied.folder(path.parent)
        with open(path, "xb", opener=_private_opener) as out:  # noqa: PTH123 - the opener
            copied.files.append(path)
            progress.advance(_copy_checked(archive, name, out))
    progress.finish()
    return len(names)


def _upload(archive: _Archive, member: str, storage: Storage, copied: _Copied) -> int:
    """One stored file into the bucket under its own name, its SHA-256 checked before."""
    entry = archive.listed[member]
    content = b"".join(_chunks(archive.tar, archive.members[member]))
    if len(content) != entry["size"] or hashlib.sha256(content).hexdigest() != entry["sha256"]:
        raise BackupError(f"refused: {member} changed while it was being restored")
    name = member[len(FILES_PREFIX) :]
    saved = storage.save(name, ContentFile(content))
    copied.objects.append(saved)
    if saved != name:  # never overwritten (file_overwrite off): it appeared meanwhile
        raise BackupError(f"refused: {name} appeared in the bucket during the restore")
    return len(content)


def _verify_restored(manifest: dict[str, Any]) -> tuple[int, int, int]:
    """What the drill proves before anything is kept: the chain head matches, the audit log
    verifies (as verify_audit does), a sample of every encrypted model and of each purpose's
    stored files decrypts with this installation's keys."""
    entries = _check_chain_head(manifest)
    outcome = verify_and_record()
    if not outcome.ok:
        raise BackupError(
            f"refused: the restored audit log does not verify: {outcome.damage} at sequence "
            f"number {outcome.first_bad}"
        )
    with datakeys.dek_cache():
        records = sum(_decrypt_sample(model) for model in apps.get_models())
        files = sum(_decrypt_files(purpose) for purpose in FILE_PURPOSES)
    return entries, records, files


def _check_chain_head(manifest: dict[str, Any]) -> int:
    head = ChainHead.objects.filter(pk=1).first()
    newest = AuditEvent.objects.order_by("-seq").first()
    expected = (newest.seq, newest.hash) if newest is not None else (0, _GENESIS)
    audit = manifest.get("audit") or {}
    if head is None or (head.seq, head.hash) != expected or head.seq != audit.get("entries"):
        raise BackupError("refused: the restored audit chain head does not match its entries")
    return head.seq


def _decrypt_sample(model: type[models.Model]) -> int:
    fields = encrypted_fields(model)
    if not fields:
        return 0
    decrypted = 0
    for instance in model._base_manager.order_by("?")[:SAMPLE_SIZE]:
        assert isinstance(instance, EncryptedModel)  # every model with encrypted fields is one
        try:
            # The data key first: another installation's key file fails here, with one line.
            datakeys.cipher_for(instance.data_subject_id())
        except datakeys.SubjectErased:
            continue  # crypto-shredded: unreadable on purpose
        except datakeys.OrganisationKeyMissing:
            # Under the organisation's key too (issue 16): only a signed-in member opens it.
            # What this installation must open is the key file's layer.
            _kek_layer_opens(instance.data_subject_id())
            continue
        except DecryptionError:
            raise BackupError(_WRONG_KEYS) from None
        try:
            for encrypted in fields:
                getattr(instance, encrypted.name)
        except DecryptionError:
            raise BackupError(
                f"refused: a restored {model._meta.label_lower} does not decrypt"
            ) from None
        decrypted += 1
    return decrypted


def _kek_layer_opens(subject_id: Any) -> None:
    key = DataKey.objects.filter(subject_id=subject_id).first()
    if key is None or not datakeys.opens_under(keyring(), key):
        raise BackupError(_WRONG_KEYS)


_WRONG_KEYS = (
    "refused: the restored data keys do not open with this installation's key file "
    "(CASEWORK_KEYS_FILE must be the backed-up installation's)"
)


def _decrypt_files(purpose: str) -> int:
    model, name_field, digest_field = FILE_PURPOSES[purpose]
    # An erased person's files were deleted on purpose (their rows keep the names, so that
    # erasing again deletes what a failed deletion left): the archive rightly lacks them.
    rows = model._base_manager.exclude(**{name_field: ""}).filter(applicant__erased_at=None)
    holds = _holder(storages["default"])
    for name in rows.values_list(name_field, flat=True).iterator():
        if not holds(name):
            raise BackupError(f"refused: a restored {purpose} names a file the archive lacks")
    decrypted = 0
    for row in rows.order_by("?")[: FILE_SAMPLE * 3]:
        if decrypted == FILE_SAMPLE:
            break
        try:
            content = read_encrypted(
                getattr(row, name_field),
                purpose=purpose,
                subject_id=row.applicant_id,  # type: ignore[attr-defined]
                organisation_id=row.organisation_id,  # type: ignore[attr-defined]
            )
        except datakeys.SubjectErased:
            continue
        except datakeys.OrganisationKeyMissing:
            _kek_layer_opens(row.applicant_id)  # type: ignore[attr-defined]
            continue
        except DecryptionError:
            raise BackupError(f"refused: a restored {purpose} file does not decrypt") from None
        if hashlib.sha256(content).hexdigest() != getattr(row, digest_field):
            raise BackupError(f"refused: a restored {purpose} file does not match its SHA-256")
        decrypted += 1
    return decrypted


def _holder(storage: Storage) -> Callable[[str], bool]:
    """Whether the store holds a name: a file in the folder, or an object listed (once)."""
    store = _folder(storage)
    if store is not None:
        return lambda name: (store / name).is_file()
    return set(_object_names(storage)).__contains__


# --- messages --------------------------------------------------------------------------------


def _reason(problem: OSError) -> str:
    return problem.strerror or str(problem)


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip().splitlines()
    return text[0][:200] if text else type(problem).__name__


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no message"
    return lines[-1][:200] if lines else "no message"
