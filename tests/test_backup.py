"""Backups and the restore drill (R59): one signed archive, restored only if it is intact.

The archive is a tar file: the database (SQLite's online backup or ``pg_dump -Fc``), a portable
``dumpdata`` of it, the stored files (ciphertext already), and ``manifest.json`` with every
member's size and SHA-256, signed with the audit key (``manifest.sig``). Restore checks all of
it before it touches anything, loads into an empty database inside one transaction, verifies
the audit log and decrypts a sample of every kind of record before it commits.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import importlib
import io
import json
import os
import secrets
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.apps import apps
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connection

from casework.audit.signing import public_key, signing_key
from casework.cases.models import Case, Route, StageCount
from casework.core import backup
from casework.core.demo import credentials_path, demo_keys, load_passwords
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields
from casework.lib.files import read_encrypted
from casework.lib.keys import create_key_file, keyring
from tests.canaries import find_canaries
from tests.factories import make_case

ROOT = Path(__file__).resolve().parent.parent

# Transactional: backup and restore commit, as they do in production.
pytestmark = pytest.mark.django_db(transaction=True)


# --- the world: a data directory, a little casework, an archive of it -----------------------


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    """A data directory of this test's own (the backup's and restore's staging go there)."""
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    settings.DATA_DIR = folder
    # The demo users' passwords need not cost argon2's 100 MiB here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return folder


def storage_root(settings) -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture
def casework(caseworker):
    """Two cases and a stored document: enough to have every kind of member."""
    from casework.cases.services import document_upload
    from casework.cases.uploads import Kind

    first = make_case(caseworker=caseworker, email="ivan@example.org")
    make_case(
        caseworker=caseworker, legal_name_latin="ANNA SMIRNOVA", legal_name_cyrillic="Анна Смирнова"
    )
    document_upload(
        actor=caseworker,
        case=first,
        content=b"%PDF-1.7\n% a passport scan\n%%EOF\n",
        kind=Kind("application/pdf", "pdf"),
        doc_type="passport",
        title="Passport, first page",
    )
    return first


@pytest.fixture
def archive(data_dir, casework, tmp_path) -> Path:
    path = tmp_path / "backups" / "casework.tar"
    path.parent.mkdir()
    call_command("backup", out=str(path), verbosity=0)
    return path


@pytest.fixture
def empty_target(archive, settings, tmp_path) -> dict[str, int]:
    """A fresh database (emptied, holding only what migrations seed) and a fresh file store,
    with the same key file; returns its row counts."""
    call_command("flush", interactive=False, verbosity=0)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }
    return row_counts()


def row_counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            counts[model._meta.label_lower] = model._base_manager.count()
    return counts


def assert_nothing_written(settings, data_dir: Path, before: dict[str, int]) -> None:
    assert row_counts() == before
    root = storage_root(settings)
    assert not root.exists() or [p for p in root.rglob("*") if not p.is_dir()] == []
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


def read_members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:") as tar:
        return [(info, tar.extractfile(info).read()) for info in tar.getmembers()]


def write_members(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info = tarfile.TarInfo(info.name) if info.name else info
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))


def manifest_of(path: Path) -> dict[str, Any]:
    return json.loads({i.name: d for i, d in read_members(path)}["manifest.json"])


def restore_refused(path: Path) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(path), verbosity=0)
    message = str(refused.value)
    assert "\n" not in message
    return message


# --- the attacker's archive: refused, and nothing is written ----------------------------------


def test_it_refuses_an_archive_with_one_byte_changed(archive, empty_target, settings, data_dir):
    with tarfile.open(archive, "r:") as tar:
        stored = next(i for i in tar.getmembers() if i.name.startswith("files/document/"))
    with archive.open("r+b") as handle:
        handle.seek(stored.offset_data + 40)
        byte = handle.read(1)
        handle.seek(stored.offset_data + 40)
        handle.write(bytes([byte[0] ^ 0x01]))

    message = restore_refused(archive)

    assert stored.name in message and "SHA-256" in message
    assert_nothing_written(settings, data_dir, empty_target)


def test_it_refuses_an_archive_with_a_file_removed(archive, empty_target, settings, data_dir):
    members = read_members(archive)
    removed = next(info.name for info, _ in members if info.name.startswith("files/"))
    write_members(archive, [(i, d) for i, d in members if i.name != removed])

    message = restore_refused(archive)

    assert removed in message and "missing" in message
    assert_nothing_written(settings, data_dir, empty_target)


def test_it_refuses_an_archive_with_a_file_added(archive, empty_target, settings, data_dir):
    members = read_members(archive)
    extra = (tarfile.TarInfo("files/document/" + "ab" * 16 + ".enc"), b"\x01" + bytes(40))
    write_members(archive, [*members[:-2], extra, *members[-2:]])

    message = restore_refused(archive)

    assert extra[0].name in message and "not listed" in message
    assert_nothing_written(settings, data_dir, empty_target)


def test_it_refuses_an_edited_manifest(archive, empty_target, settings, data_dir):
    """The strongest edit: a stored file replaced and the manifest made to match it."""
    members = read_members(archive)
    target = next(info.name for info, _ in members if info.name.startswith("files/"))
    forged = b"\x01" + bytes(60)
    manifest = manifest_of(archive)
    for entry in manifest["members"]:
        if entry["name"] == target:
            entry.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())
    edited = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    write_members(
        archive,
        [
            (info, forged if info.name == target else edited if info.name == "manifest.json" else d)
            for info, d in members
        ],
    )

    message = restore_refused(archive)

    assert "signature" in message
    assert_nothing_written(settings, data_dir, empty_target)


def test_it_refuses_a_manifest_signed_by_another_key(archive, empty_target, settings, data_dir):
    members = {info.name: data for info, data in read_members(archive)}
    other = Ed25519PrivateKey.generate()
    signature = other.sign(backup.SIGNATURE_CONTEXT + members["manifest.json"])
    write_members(
        archive,
        [
            (info, signature if info.name == "manifest.sig" else data)
            for info, data in read_members(archive)
        ],
    )

    message = restore_refused(archive)

    assert "signature" in message
    assert_nothing_written(settings, data_dir, empty_target)


@pytest.mark.parametrize(
    "name", ["../outside.enc", "/etc/cron.d/casework", "files/../../keys.json", "files/.hidden"]
)
def test_it_refuses_a_member_that_would_land_elsewhere(
    archive, empty_target, settings, data_dir, name
):
    members = read_members(archive)
    write_members(
        archive, [*members[:-2], (tarfile.TarInfo(name), b"\x01" + bytes(40)), *members[-2:]]
    )

    message = restore_refused(archive)

    assert "refused" in message
    assert_nothing_written(settings, data_dir, empty_target)
    assert not (data_dir.parent / "outside.enc").exists()


# --- the drill: backup, a fresh database and file store, restore, and it all reads back -------


def plaintexts() -> dict[str, dict[str, Any]]:
    """Every encrypted record's fields, decrypted (crypto-shredded subjects left out)."""
    values = {}
    with datakeys.dek_cache():
        for model in apps.get_models():
            fields = encrypted_fields(model)
            for instance in model._base_manager.all() if fields else []:
                try:
                    values[f"{model._meta.label_lower}:{instance.pk}"] = {
                        f.name: getattr(instance, f.name) for f in fields
                    }
                except datakeys.SubjectErased:
                    continue
    return values


def stored_contents() -> dict[str, str]:
    """The SHA-256 of every stored document and letter, decrypted."""
    digests = {}
    for purpose, (model, name_field, _) in backup.FILE_PURPOSES.items():
        for row in model._base_manager.exclude(**{name_field: ""}):
            content = read_encrypted(
                getattr(row, name_field),
                purpose=purpose,
                subject_id=row.applicant_id,
                organisation_id=row.organisation_id,
            )
            digests[getattr(row, name_field)] = hashlib.sha256(content).hexdigest()
    return digests


def reference_data() -> None:
    """The routes and missions that migrations seed, which the flush after every
    transactional test removes: the migrations' own seeding, run again (it gives the same
    rows)."""
    if Route.objects.exists():
        return
    for name in ("0003_reference_routes_and_missions", "0014_seed_letter_names"):
        importlib.import_module(f"casework.cases.migrations.{name}").seed(apps, None)


@pytest.fixture
def demo(data_dir):
    """The demo installation: every kind of record, documents and sealed letters, a signed
    audit checkpoint."""
    reference_data()
    call_command("seed_demo", stdout=io.StringIO())
    call_command("audit_checkpoint", stdout=io.StringIO())


def stage_counts() -> dict[tuple[str, int], int]:
    rows = StageCount.objects.exclude(cases=0).values_list("organisation_id", "stage", "cases")
    return {(str(org), stage): n for org, stage, n in rows}


@pytest.mark.parametrize("logical", [False, True], ids=["native", "logical"])
def test_a_restored_backup_decrypts_with_the_same_keys_and_verifies(
    demo, settings, tmp_path, logical
):
    passwords = load_passwords(credentials_path(settings.DATA_DIR))
    with demo_keys(passwords):  # read as the demo's coordinators, signed in (issue 16)
        before = plaintexts()
        files = stored_contents()
    counts = row_counts()
    stages = stage_counts()
    assert sum(stages.values()) == Case.objects.count() > 0
    assert any(key.startswith("cases.applicant:") for key in before)
    assert {name.split("/")[0] for name in files} == {"document", "letter"}
    out = tmp_path / "casework.tar"
    call_command("backup", out=str(out), verbosity=0)

    call_command("flush", interactive=False, verbosity=0)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }
    settings.DATA_DIR = tmp_path / "restored-data"
    settings.DATA_DIR.mkdir(mode=0o700)
    output = io.StringIO()
    call_command("restore", str(out), logical=logical, stdout=output, verbosity=0)

    assert ("logical" if logical else "native") in output.getvalue()
    with demo_keys(passwords):  # the restored grants, opened with the same passwords
        assert plaintexts() == before
        assert stored_contents() == files
    # The same rows, but for the verification the restore ran (one entry, one result) and
    # the entry that says it was restored.
    restored = row_counts()
    assert restored.pop("audit.auditevent") == counts.pop("audit.auditevent") + 2
    assert restored.pop("audit.verification") == counts.pop("audit.verification") + 1
    assert restored == counts
    # The triggers counted the cases as they were loaded; the archive's counts were not added.
    assert stage_counts() == stages
    verified = io.StringIO()
    call_command("verify_audit", stdout=verified, stderr=io.StringIO())
    assert "Audit log intact" in verified.getvalue()


def test_the_manifest_lists_every_member_and_is_signed_by_the_audit_key(archive):
    members = read_members(archive)
    names = [info.name for info, _ in members]
    manifest = manifest_of(archive)

    assert names[-2:] == ["manifest.json", "manifest.sig"]
    assert [entry["name"] for entry in manifest["members"]] == names[:-2]
    for (info, data), entry in zip(members, manifest["members"], strict=False):
        assert entry == {
            "name": info.name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["database"]["native"] in names and "data/dumpdata.jsonl" in names
    assert "audit.0015_chain_head_advanced_by_trigger" in manifest["database"]["migrations"]
    assert manifest["application"]["version"] and manifest["created"].endswith("Z")
    assert manifest["files"] == len([n for n in names if n.startswith("files/")]) == 1
    contents = {info.name: data for info, data in members}
    Ed25519PublicKey.from_public_bytes(public_key()).verify(
        contents["manifest.sig"], backup.SIGNATURE_CONTEXT + contents["manifest.json"]
    )
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert all(info.mode == 0o600 and info.isreg() for info, _ in members)


# --- what an archive never holds: plaintext and keys -------------------------------------------


def test_the_archive_holds_no_canary_and_no_key(data_dir, organisation, settings, tmp_path):
    from tests.test_canary_dump import seed_canaries

    seed_canaries(organisation)
    seal = Path(settings.CASEWORK_SEAL_DIR) / f"{organisation.pk}.p12"
    seal.parent.mkdir(mode=0o700, exist_ok=True)
    seal.write_bytes(secrets.token_bytes(64))
    out = tmp_path / "casework.tar"
    call_command("backup", out=str(out), verbosity=0)

    blob = out.read_bytes()
    assert b"cases.applicant" in blob and b"cases_applicant" in blob  # the data is really in it
    with tarfile.open(out) as tar:
        assert len([n for n in tar.getnames() if n.startswith("files/")]) == 5
    assert find_canaries(blob) == []
    ring = keyring()
    secrets_ = [ring._keks[v] for v in ring.versions] + [ring.index_key, signing_key()]
    for key in secrets_:
        for form in (key, key.hex().encode(), base64.b64encode(key)):
            assert form not in blob
    for path in (Path(settings.CASEWORK_KEYS_FILE), Path(settings.CASEWORK_AUDIT_KEY_FILE), seal):
        assert path.read_bytes().strip() not in blob
    assert settings.SECRET_KEY.encode() not in blob


def _refused_backup(out: Path) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("backup", out=str(out), verbosity=0)
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()
    assert "\n" not in str(refused.value)
    return str(refused.value)


def test_it_refuses_to_archive_seals_kept_in_the_file_store(casework, data_dir, settings, tmp_path):
    settings.CASEWORK_SEAL_DIR = storage_root(settings) / "seals"
    settings.CASEWORK_SEAL_DIR.mkdir(mode=0o700)
    (settings.CASEWORK_SEAL_DIR / "seal.p12").write_bytes(b"\x01" + secrets.token_bytes(64))

    message = _refused_backup(tmp_path / "casework.tar")

    assert "refused" in message and "keys" in message


def test_it_refuses_to_archive_the_key_file_kept_in_the_file_store(
    casework, data_dir, settings, tmp_path
):
    moved = storage_root(settings) / "keys.json"
    moved.write_bytes(Path(settings.CASEWORK_KEYS_FILE).read_bytes())
    moved.chmod(0o600)
    settings.CASEWORK_KEYS_FILE = moved

    assert "keys" in _refused_backup(tmp_path / "casework.tar")


def test_it_refuses_a_link_from_the_file_store_to_a_key(casework, data_dir, settings, tmp_path):
    (storage_root(settings) / "document" / "link.enc").symlink_to(settings.CASEWORK_KEYS_FILE)

    assert "refused" in _refused_backup(tmp_path / "casework.tar")


def test_it_refuses_a_plaintext_file_in_the_file_store(casework, data_dir, settings, tmp_path):
    (storage_root(settings) / "document" / "scan.pdf").write_bytes(b"%PDF-1.7 plaintext")

    assert "not an encrypted file" in _refused_backup(tmp_path / "casework.tar")


# --- a full disk: one line, a non-zero exit, no file -------------------------------------------


def test_a_full_disk_ends_with_one_line_and_leaves_no_file(
    casework, data_dir, tmp_path, monkeypatch, capsys
):
    real_write = backup._Sink.write

    def full_disk(self, data):
        if self.position > 64 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, data)

    monkeypatch.setattr(backup._Sink, "write", full_disk)
    out = tmp_path / "casework.tar"
    signing_key()  # made beforehand: making the development key says so on stderr
    capsys.readouterr()

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "backup", "--out", str(out), "-v", "0"]).execute()

    assert exited.value.code != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0]
    assert list(tmp_path.glob("casework.tar*")) == []
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


# --- restore refuses a target that is not empty, or keys that are not the installation's -------


def test_it_refuses_to_restore_over_existing_data(archive, settings, tmp_path, data_dir):
    counts = row_counts()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }

    assert "holds data" in restore_refused(archive)
    assert_nothing_written(settings, data_dir, counts)


def test_it_refuses_to_restore_into_a_file_store_that_is_not_empty(
    archive, empty_target, settings, data_dir
):
    stray = storage_root(settings) / "document" / ("cd" * 16 + ".enc")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"\x01" + bytes(40))

    assert "not empty" in restore_refused(archive)
    stray.unlink()
    assert_nothing_written(settings, data_dir, empty_target)


def test_it_refuses_a_file_store_whose_folder_leads_elsewhere(
    archive, empty_target, settings, data_dir, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    storage_root(settings).mkdir()
    (storage_root(settings) / "document").symlink_to(elsewhere, target_is_directory=True)

    assert "not empty" in restore_refused(archive)
    assert list(elsewhere.iterdir()) == []


def test_it_refuses_without_the_key_file_and_does_not_make_one(
    archive, empty_target, settings, data_dir, tmp_path
):
    settings.CASEWORK_KEYS_FILE = tmp_path / "elsewhere" / "keys.json"

    assert "key file" in restore_refused(archive)
    assert not settings.CASEWORK_KEYS_FILE.exists()
    assert_nothing_written(settings, data_dir, empty_target)


def test_with_another_installations_keys_nothing_is_kept(
    archive, empty_target, settings, data_dir, tmp_path
):
    """Everything loads and the audit log verifies, but the records do not decrypt: the
    transaction is rolled back and the copied files removed."""
    settings.CASEWORK_KEYS_FILE = tmp_path / "other" / "keys.json"
    create_key_file(settings.CASEWORK_KEYS_FILE)

    assert "do not open with this installation's key file" in restore_refused(archive)
    assert_nothing_written(settings, data_dir, empty_target)


# --- a SQLite backup restored into PostgreSQL ----------------------------------------------------

# As the demo's coordinators read, signed in (issue 16): their passwords (the demo's file,
# DEMO_LOGINS below) unlock their organisations' keys.
DECRYPT_ALL = """
import json
from pathlib import Path
from django.apps import apps
from casework.core.demo import demo_keys, load_passwords
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields
values = {}
with demo_keys(load_passwords(Path("DEMO_LOGINS"))), datakeys.dek_cache():
    for model in apps.get_models():
        fields = encrypted_fields(model)
        for row in model._base_manager.all() if fields else []:
            try:
                values[f"{model._meta.label_lower}:{row.pk}"] = {
                    f.name: getattr(row, f.name) for f in fields
                }
            except datakeys.SubjectErased:
                pass
print(json.dumps(values, default=str, sort_keys=True))
"""


def postgresql_admin_url() -> str | None:
    """The PostgreSQL server of this run (DATABASE_URL's), or the local one if it answers."""
    import psycopg

    base = os.environ.get("DATABASE_URL")
    url = (
        urlunsplit(urlsplit(base)._replace(path="/postgres"))
        if base
        else "postgres://postgres@127.0.0.1:5432/postgres"
    )
    try:
        psycopg.connect(url, connect_timeout=3, autocommit=True).close()
    except psycopg.OperationalError:
        if base:
            raise
        return None
    return url


@pytest.fixture
def scratch_postgresql():
    import psycopg

    admin = postgresql_admin_url()
    if admin is None:
        pytest.skip(
            "PostgreSQL is not reachable at 127.0.0.1:5432; the PostgreSQL CI run has it (R66)"
        )
    name = f"casework_backup_test_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def test_a_sqlite_backup_restores_into_postgresql(scratch_postgresql, tmp_path):
    keys = {
        "CASEWORK_ENV": "dev",
        "CASEWORK_KEYS_FILE": str(tmp_path / "keys" / "keys.json"),
        "CASEWORK_AUDIT_KEY_FILE": str(tmp_path / "audit" / "audit-signing.key"),
        "CASEWORK_SEAL_DIR": str(tmp_path / "seals"),
    }
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CASEWORK_KEYS")}
    base.pop("CASEWORK_AUDIT_PUBLIC_KEY", None)
    source = {**base, **keys, "CASEWORK_DATA_DIR": str(tmp_path / "sqlite-instance")}
    target = {
        **base,
        **keys,
        "CASEWORK_DATA_DIR": str(tmp_path / "postgresql-instance"),
        "DATABASE_URL": scratch_postgresql,
    }
    out = tmp_path / "casework.tar"
    manage(source, "migrate", "-v", "0")
    manage(source, "seed_demo")
    manage(source, "audit_checkpoint")
    decrypt_all = DECRYPT_ALL.replace(
        "DEMO_LOGINS", str(credentials_path(tmp_path / "sqlite-instance"))
    )
    before = json.loads(manage(source, "shell", "-v", "0", "-c", decrypt_all).splitlines()[-1])
    manage(source, "backup", "--out", str(out), "-v", "0")
    assert manifest_of(out)["database"]["vendor"] == "sqlite"

    restored = manage(target, "restore", str(out), "-v", "0")

    assert "logical dump" in restored
    after = json.loads(manage(target, "shell", "-v", "0", "-c", decrypt_all).splitlines()[-1])
    assert any(key.startswith("cases.applicant:") for key in before)
    assert after == before
    assert "Audit log intact" in manage(target, "verify_audit")


# --- the operator's commands, into a fresh data directory -----------------------------------------


def restore_in_a_fresh_instance(archive: Path, instance: Path, keys_file, settings):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CASEWORK_KEYS")}
    env.update(
        CASEWORK_ENV="dev",
        CASEWORK_DATA_DIR=str(instance),
        CASEWORK_KEYS_FILE=str(keys_file),
        CASEWORK_AUDIT_KEY_FILE=str(settings.CASEWORK_AUDIT_KEY_FILE),
        CASEWORK_SEAL_DIR=str(instance / "seals"),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "restore", str(archive), "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, env


def test_a_failed_restore_into_a_fresh_data_directory_leaves_no_database(
    archive, settings, tmp_path
):
    other_keys = tmp_path / "other" / "keys.json"
    create_key_file(other_keys)
    instance = tmp_path / "fresh-instance"

    done, _ = restore_in_a_fresh_instance(archive, instance, other_keys, settings)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CommandError: refused: the restored data keys do not open with this installation's key "
        "file (CASEWORK_KEYS_FILE must be the backed-up installation's)"
    ]
    assert sorted(p.name for p in instance.iterdir()) == ["secret_key"]


def test_the_restore_command_rebuilds_a_fresh_data_directory(archive, settings, tmp_path):
    """From this run's database (SQLite, or PostgreSQL: then through the logical dump)
    into a new SQLite instance, migrated first."""
    instance = tmp_path / "fresh-instance"

    done, env = restore_in_a_fresh_instance(
        archive, instance, settings.CASEWORK_KEYS_FILE, settings
    )

    assert done.returncode == 0, done.stderr
    assert "Restored" in done.stdout and "1 stored files" in done.stdout
    assert (instance / "casework.sqlite3").exists()
    assert len(list((instance / "files" / "document").iterdir())) == 1
    assert "Audit log intact" in manage(env, "verify_audit")


def test_a_backup_made_after_an_erasure_restores_without_the_erased_files(
    data_dir, casework, caseworker, settings, tmp_path
):
    """An erased person's document rows keep their storage names but the files are gone:
    restore used to refuse every such backup ("names a file the archive lacks")."""
    from casework.cases.models import Applicant, Document
    from casework.cases.services import applicant_erase, document_upload
    from casework.cases.uploads import Kind

    gone = make_case(caseworker=caseworker, legal_name_latin="PAVEL ORLOV")
    document_upload(
        actor=caseworker,
        case=gone,
        content=b"%PDF-1.7\n% a scan of someone erased\n%%EOF\n",
        kind=Kind("application/pdf", "pdf"),
        doc_type="passport",
        title=None,
    )
    applicant_erase(applicant_id=gone.applicant_id, actor=caseworker)
    kept = set(
        Document.objects.exclude(applicant_id=gone.applicant_id).values_list(
            "storage_name", flat=True
        )
    )
    path = tmp_path / "after-erasure.tar"
    call_command("backup", out=str(path), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }
    call_command("restore", str(path), verbosity=0)
    restored = tmp_path / "restored-files"
    assert {str(p.relative_to(restored)) for p in restored.rglob("*.enc")} == kept
    assert Applicant.objects.get(pk=gone.applicant_id).erased_at is not None
