"""Backups encrypted as a whole (R59): with CASEWORK_BACKUP_RECIPIENT set, the archive is
sealed to that age public key, so whoever takes a backup learns nothing, not even user
names, case codes or the audit log, without the identity kept offline. Production refuses to
write one without a recipient; restore opens it only with the right identity, and a wrong
identity or a changed byte is refused before anything is written."""

from __future__ import annotations

import io
from pathlib import Path

import pyrage
import pytest
from django.core.management import CommandError, call_command

from casework.audit.models import AuditEvent
from tests.test_backup import (  # noqa: F401  (fixtures)
    assert_nothing_written,
    casework,
    data_dir,
    plaintexts,
    row_counts,
    storage_root,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def identity(tmp_path, settings) -> Path:
    path = tmp_path / "offline" / "backup-identity.txt"
    path.parent.mkdir()
    out = io.StringIO()
    call_command("backup_identity", out=str(path), stdout=out)
    recipient = out.getvalue().split("CASEWORK_BACKUP_RECIPIENT=", 1)[1].strip()
    settings.CASEWORK_BACKUP_RECIPIENT = recipient
    return path


@pytest.fixture
def sealed(identity, casework, tmp_path) -> Path:  # noqa: F811
    path = tmp_path / "backups" / "casework.tar.age"
    path.parent.mkdir()
    call_command("backup", out=str(path), verbosity=0)
    return path


def empty_again(settings, tmp_path) -> dict[str, int]:
    call_command("flush", interactive=False, verbosity=0)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }
    return row_counts()


def test_the_sealed_archive_shows_nothing_to_whoever_holds_it(sealed, casework, caseworker):  # noqa: F811
    content = sealed.read_bytes()
    assert content.startswith(b"age-encryption.org/v1\n")
    for visible in (casework.code, caseworker.username, "manifest.json", "dumpdata", "ustar"):
        assert visible.encode() not in content, visible
    assert oct(sealed.stat().st_mode & 0o777) == "0o600"
    assert not sealed.with_name(sealed.name + ".partial").exists()


def test_the_identity_file_is_private_and_never_overwritten(identity):
    assert oct(identity.stat().st_mode & 0o777) == "0o600"
    before = identity.read_text()
    assert before.startswith("# created: ") and "AGE-SECRET-KEY-1" in before
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup_identity", out=str(identity), stdout=io.StringIO())
    assert identity.read_text() == before


def test_it_restores_with_the_identity(sealed, identity, settings, tmp_path, data_dir):  # noqa: F811
    before = plaintexts()
    empty_again(settings, tmp_path)
    out = io.StringIO()
    call_command("restore", str(sealed), identity=str(identity), stdout=out, verbosity=0)
    assert "Restored" in out.getvalue()
    assert plaintexts() == before
    # The decrypted tar lived in a private staging folder that is gone.
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


def refused(sealed: Path, **options) -> str:
    with pytest.raises(CommandError) as error:
        call_command("restore", str(sealed), verbosity=0, **options)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_without_the_identity_or_with_another_nothing_is_written(
    sealed,
    identity,
    settings,
    tmp_path,
    data_dir,  # noqa: F811
):
    counts = empty_again(settings, tmp_path)
    assert "is encrypted; give the backup identity with --identity" in refused(sealed)
    other = tmp_path / "other-identity.txt"
    other.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    assert "cannot be decrypted with" in refused(sealed, identity=str(other))
    assert_nothing_written(settings, data_dir, counts)


def test_a_changed_byte_is_refused_and_nothing_is_written(
    sealed,
    identity,
    settings,
    tmp_path,
    data_dir,  # noqa: F811
):
    damaged = bytearray(sealed.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    sealed.write_bytes(bytes(damaged))
    counts = empty_again(settings, tmp_path)
    assert "is damaged (a changed byte or a cut-off end)" in refused(sealed, identity=str(identity))
    assert_nothing_written(settings, data_dir, counts)
    assert AuditEvent.objects.count() == counts["audit.auditevent"]


def test_production_refuses_an_unencrypted_backup(casework, settings, tmp_path):  # noqa: F811
    settings.PROD = True
    settings.CASEWORK_BACKUP_RECIPIENT = ""
    out = tmp_path / "casework.tar"
    with pytest.raises(CommandError, match="CASEWORK_BACKUP_RECIPIENT is not set"):
        call_command("backup", out=str(out), verbosity=0)
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()


def test_a_recipient_that_is_not_an_age_key_is_refused(casework, settings, tmp_path):  # noqa: F811
    settings.CASEWORK_BACKUP_RECIPIENT = "ssh-ed25519 AAAA not-an-age-key"
    with pytest.raises(CommandError, match="not an age public key"):
        call_command("backup", out=str(tmp_path / "x.tar"), verbosity=0)
