"""Crypto-shredding: after erase_applicant nothing of that person can be decrypted, even
by someone holding the KEK and an old copy of the ciphertexts."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command

from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields, search
from casework.lib.files import read_encrypted, store_encrypted
from casework.lib.keys import keyring
from crypto import DecryptionError, decrypt
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def test_erasure_makes_every_field_and_file_unreadable_even_with_the_kek(organisation):
    applicant = make_applicant(organisation, health_notes="HIV+")
    name = store_encrypted(
        b"passport scan",
        purpose="document",
        subject_id=applicant.pk,
        organisation_id=organisation.pk,
    )

    call_command("erase_applicant", str(applicant.pk))

    # The row left behind is a tombstone.
    tombstone = Applicant.objects.get(pk=applicant.pk)
    assert tombstone.is_erased
    assert all(getattr(tombstone, f.name) is None for f in encrypted_fields(Applicant))
    assert tombstone.legal_name_latin_bidx is None and tombstone.birth_year is None
    key_row = DataKey.objects.get(pk=applicant.pk)
    assert key_row.wrapped is None and key_row.destroyed_at is not None

    # An attacker with the KEK and the old ciphertexts: the DEK is gone, nothing unwraps.
    with pytest.raises(datakeys.SubjectErased):
        datakeys.cipher_for(applicant.pk)
    with pytest.raises(DecryptionError):
        read_encrypted(
            name, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
        )


def test_a_backup_from_before_the_erasure_stops_working_once_the_old_kek_is_retired(
    organisation,
):
    """SECURITY.md: backups keep old wrapped DEKs; rotating and retiring the KEK ends that."""
    applicant = make_applicant(organisation)
    column_token = bytes(Applicant.objects.get(pk=applicant.pk).__dict__["legal_name_latin"])
    backup_row = DataKey.objects.get(pk=applicant.pk)  # as an old backup holds it
    aad = Applicant._meta.get_field("legal_name_latin").aad(applicant)
    call_command("erase_applicant", str(applicant.pk))

    # Restored from the old backup, with today's key file, the data is still readable...
    old_dek = keyring().unwrap(bytes(backup_row.wrapped), datakeys.wrap_context(backup_row))
    assert decrypt(old_dek, column_token, aad) == b"IVAN PETROV"

    # ...until the KEK it was wrapped under is rotated away and retired.
    call_command("rotate_keys", "--new-kek", "--retire", "1")
    with pytest.raises(DecryptionError):
        keyring().unwrap(bytes(backup_row.wrapped), datakeys.wrap_context(backup_row))


def test_an_erased_applicant_is_no_longer_found_by_search(organisation):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    found = search(Applicant.objects.all(), Applicant.NAME_FIELDS, organisation.pk, "IVAN PETROV")
    assert found == []


def test_an_erased_applicant_cannot_be_given_new_data(organisation):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    tombstone = Applicant.objects.get(pk=applicant.pk)
    tombstone.preferred_name = "back again"
    with pytest.raises(datakeys.SubjectErased):
        tombstone.save()


def test_erasing_twice_says_so(organisation, capsys):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    call_command("erase_applicant", str(applicant.pk))
    assert "already erased" in capsys.readouterr().out


def test_other_applicants_are_untouched(organisation):
    erased = make_applicant(organisation)
    kept = make_applicant(organisation, legal_name_latin="MARIA IVANOVA")
    call_command("erase_applicant", str(erased.pk))
    assert Applicant.objects.get(pk=kept.pk).legal_name_latin == "MARIA IVANOVA"


@pytest.mark.parametrize(
    ("argument", "message"),
    [("not-a-uuid", "applicant_id must be a UUID."), (str(uuid.uuid4()), "no applicant")],
)
def test_erase_applicant_rejects_bad_input_with_one_line(db, argument, message):
    with pytest.raises(CommandError, match=message):
        call_command("erase_applicant", argument)
