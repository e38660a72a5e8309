"""Key rotation re-wraps data keys only: O(applicants), data columns untouched (R34)."""

from __future__ import annotations

import hashlib
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields
from casework.lib.keys import key_file_path, keyring
from crypto import wrapped_key_version
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def data_column_checksum() -> str:
    columns = ", ".join(f.column for f in encrypted_fields(Applicant))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM cases_applicant ORDER BY id")  # noqa: S608
        rows = cursor.fetchall()
    digest = hashlib.sha256()
    for row in rows:
        for value in row:
            digest.update(b"\x00" if value is None else bytes(value))
    return digest.hexdigest()


def test_rotation_rewraps_every_key_and_leaves_data_columns_alone(organisation, capsys):
    applicants = [make_applicant(organisation) for _ in range(7)]
    before = data_column_checksum()

    call_command("rotate_keys", "--new-kek", "--batch-size", "3")

    assert keyring().active_version == 2
    assert set(DataKey.objects.values_list("kek_version", flat=True)) == {2}
    for key in DataKey.objects.all():
        assert wrapped_key_version(bytes(key.wrapped)) == 2
    assert data_column_checksum() == before
    assert [Applicant.objects.get(pk=a.pk).legal_name_latin for a in applicants] == [
        "IVAN PETROV"
    ] * 7
    assert "Re-wrapped 7 data keys under KEK version 2" in capsys.readouterr().out


def test_old_tokens_still_decrypt_after_rotation(organisation):
    applicant = make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    call_command("rotate_keys", "--new-kek")
    assert Applicant.objects.get(pk=applicant.pk).date_of_birth.year == 1994


def test_rotation_resumes_after_an_interruption(organisation, monkeypatch):
    for _ in range(6):
        make_applicant(organisation)
    real_rewrap = datakeys.rewrap_batch
    calls = {"n": 0}

    def crash_in_third_batch(keys):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_rewrap(keys)

    monkeypatch.setattr(datakeys, "rewrap_batch", crash_in_third_batch)
    with pytest.raises(KeyboardInterrupt):
        call_command("rotate_keys", "--new-kek", "--batch-size", "2")
    versions = list(DataKey.objects.values_list("kek_version", flat=True))
    assert sorted(versions) == [1, 1, 2, 2, 2, 2]

    monkeypatch.setattr(datakeys, "rewrap_batch", real_rewrap)
    call_command("rotate_keys")
    assert set(DataKey.objects.values_list("kek_version", flat=True)) == {2}
    assert all(a.legal_name_latin == "IVAN PETROV" for a in Applicant.objects.all())


def test_rotation_is_idempotent(organisation, capsys):
    make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    capsys.readouterr()
    call_command("rotate_keys")
    assert "Re-wrapped 0 data keys" in capsys.readouterr().out


def test_an_old_kek_cannot_be_retired_while_a_data_key_uses_it(organisation, monkeypatch):
    make_applicant(organisation)
    monkeypatch.setattr(datakeys, "rewrap_batch", lambda keys: 0)  # rotation "forgets" them
    with pytest.raises(CommandError, match="1 of 1 data keys do not open without KEK version 1"):
        call_command("rotate_keys", "--new-kek", "--retire", "1")
    assert keyring().versions == [1, 2]


def test_the_active_kek_cannot_be_retired(db):
    with pytest.raises(CommandError, match="is active"):
        call_command("rotate_keys", "--retire", "1")


def test_the_rotated_key_file_stays_private(organisation):
    make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    assert stat.S_IMODE(key_file_path().stat().st_mode) == 0o600


def test_init_keys_refuses_to_overwrite(db, capsys):
    call_command("init_keys")
    assert "Created key file" in capsys.readouterr().out
    original = key_file_path().read_bytes()
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("init_keys")
    call_command("init_keys", "--if-missing")
    assert key_file_path().read_bytes() == original


def test_a_group_readable_key_file_is_refused(organisation):
    make_applicant(organisation)
    key_file_path().chmod(0o640)
    with pytest.raises(CommandError, match="chmod 600"):
        call_command("rotate_keys")
