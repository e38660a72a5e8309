"""Retiring a KEK never destroys a data key (issue 12, finding 4).

The ``kek_version`` column is a convenience for people reading the table; only the header
inside each wrapped key is authenticated. Whoever can write the database (or a bug) can make
the column lie, so retirement proves by unwrapping that every wrapped key opens without the
KEK it removes.
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from casework.audit.models import Action, AuditEvent
from casework.cases.models import Applicant
from casework.keystore.management.commands import rotate_keys
from casework.keystore.models import DataKey
from casework.lib import datakeys
from casework.lib.keys import keyring, save_keyring
from crypto import KeyRing, wrapped_key_version
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def add_kek_without_rewrapping() -> None:
    """What `rotate_keys --new-kek` does before its re-wrap pass (as if interrupted there)."""
    ring = keyring()
    ring.activate(ring.add())
    save_keyring(ring)


def column_says(version: int, applicant: Applicant | None = None) -> None:
    """The attacker's move: rewrite the unauthenticated column with raw SQL."""
    table = DataKey._meta.db_table
    with connection.cursor() as cursor:
        if applicant is None:
            cursor.execute(f"UPDATE {table} SET kek_version = %s", [version])  # noqa: S608
        else:
            cursor.execute(
                f"UPDATE {table} SET kek_version = %s WHERE subject_id = %s",  # noqa: S608
                [version, applicant.pk.hex if connection.vendor == "sqlite" else applicant.pk],
            )


def read_name(applicant: Applicant) -> str:
    datakeys.forget(applicant.pk)
    return Applicant.objects.get(pk=applicant.pk).legal_name_latin


def forget_rewrapping(monkeypatch) -> None:
    """A rotation that (through a bug) re-wraps nothing."""
    monkeypatch.setattr(datakeys, "rewrap_batch", lambda keys: 0)


def test_a_lying_version_column_cannot_make_retirement_destroy_a_key(organisation):
    applicant = make_applicant(organisation)
    add_kek_without_rewrapping()
    column_says(2)  # the header still says KEK 1

    # Refusing is as good as re-wrapping first; losing the key is not.
    with contextlib.suppress(CommandError):
        call_command("rotate_keys", "--retire", "1")

    assert read_name(applicant) == "IVAN PETROV"


def test_rotation_rewraps_a_key_whose_column_claims_the_active_version(organisation):
    applicant = make_applicant(organisation)
    add_kek_without_rewrapping()
    column_says(2)

    call_command("rotate_keys")

    key = DataKey.objects.get(subject_id=applicant.pk)
    assert wrapped_key_version(bytes(key.wrapped)) == 2
    assert key.kek_version == 2


def test_rotation_corrects_a_column_that_names_an_old_version(organisation, capsys):
    applicant = make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    column_says(1, applicant)
    capsys.readouterr()

    call_command("rotate_keys")

    assert DataKey.objects.get(subject_id=applicant.pk).kek_version == 2
    assert "Re-wrapped 0 data keys" in capsys.readouterr().out


def test_retirement_refuses_while_a_key_opens_only_under_that_kek(organisation, monkeypatch):
    applicant = make_applicant(organisation)
    add_kek_without_rewrapping()
    column_says(2)
    forget_rewrapping(monkeypatch)

    with pytest.raises(CommandError) as refusal:
        call_command("rotate_keys", "--retire", "1")

    message = str(refusal.value)
    assert message == (
        "1 of 1 data keys do not open without KEK version 1; not retired. "
        "Run rotate_keys to re-wrap them, then retire again."
    )
    assert keyring().versions == [1, 2]
    assert read_name(applicant) == "IVAN PETROV"


def test_the_proof_reaches_a_lying_key_in_the_last_batch(organisation, monkeypatch):
    applicants = [make_applicant(organisation) for _ in range(5)]
    call_command("rotate_keys", "--new-kek")
    liar = max(applicants, key=lambda a: a.pk)  # the last key of the walk by primary key
    # Put the liar back under KEK 1 (as a restored backup row would be), column saying 2.
    old_ring = KeyRing.from_json(keyring().to_json())  # a copy: the cached ring stays as is
    old_ring.activate(1)
    key = DataKey.objects.get(subject_id=liar.pk)
    context = datakeys.wrap_context(key)
    old = old_ring.wrap(old_ring.unwrap(bytes(key.wrapped), context), context)
    DataKey.objects.filter(pk=key.pk).update(wrapped=old)
    forget_rewrapping(monkeypatch)

    with pytest.raises(CommandError, match="^1 of 5 data keys do not open"):
        call_command("rotate_keys", "--retire", "1", "--batch-size", "2")
    assert keyring().versions == [1, 2]


def test_a_key_that_opens_under_no_kek_blocks_retirement_too(organisation):
    applicant = make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    key = DataKey.objects.get(subject_id=applicant.pk)
    damaged = bytearray(bytes(key.wrapped))
    damaged[-1] ^= 1
    DataKey.objects.filter(pk=key.pk).update(wrapped=bytes(damaged))

    with pytest.raises(CommandError, match="^1 of 1 data keys do not open without KEK version 1"):
        call_command("rotate_keys", "--retire", "1")
    assert keyring().versions == [1, 2]


def test_a_refused_retirement_is_one_line_and_a_non_zero_exit(organisation, monkeypatch, capsys):
    make_applicant(organisation)
    add_kek_without_rewrapping()
    column_says(2)
    forget_rewrapping(monkeypatch)
    # run_from_argv closes the connections on its way out; the test's transaction needs its own.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_:
        rotate_keys.Command().run_from_argv(["manage.py", "rotate_keys", "--retire", "1"])

    assert exit_.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "Error" in line]
    assert errors == [
        "CommandError: 1 of 1 data keys do not open without KEK version 1; not retired. "
        "Run rotate_keys to re-wrap them, then retire again."
    ]


def test_retirement_proves_every_key_and_shows_its_progress(organisation, capsys):
    for _ in range(3):
        make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")
    capsys.readouterr()

    call_command("rotate_keys", "--retire", "1", "--batch-size", "2")

    out, err = capsys.readouterr()
    assert "checking that data keys open without KEK version 1: 3/3 (100%)" in err
    assert "Retired KEK version 1: all 3 data keys open without it." in out
    assert keyring().versions == [2]
    assert all(a.legal_name_latin == "IVAN PETROV" for a in Applicant.objects.all())


def test_retirement_is_its_own_audit_entry(organisation):
    make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")

    call_command("rotate_keys", "--retire", "1")

    entry = AuditEvent.objects.filter(action=Action.KEK_RETIRED).get()
    assert entry.details == {"kek_version": 1, "keys_checked": 1}
    assert entry.decision == "allow"


def test_a_refused_retirement_is_audited_as_denied(organisation, monkeypatch):
    make_applicant(organisation)
    add_kek_without_rewrapping()
    column_says(2)
    forget_rewrapping(monkeypatch)

    with pytest.raises(CommandError):
        call_command("rotate_keys", "--retire", "1")

    entry = AuditEvent.objects.filter(action=Action.KEK_RETIRED).get()
    assert entry.details == {"kek_version": 1, "keys_checked": 1, "keys_blocking": 1}
    assert entry.decision == "deny"


def test_erased_keys_do_not_block_retirement(organisation):
    erased = make_applicant(organisation)
    datakeys.destroy_data_key(erased.pk)
    make_applicant(organisation)
    call_command("rotate_keys", "--new-kek")

    call_command("rotate_keys", "--retire", "1")

    assert keyring().versions == [2]
