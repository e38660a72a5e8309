"""Encrypted file storage: random names, ciphertext on disk, bound to owner and purpose."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from casework.lib.files import read_encrypted, store_encrypted
from crypto import DecryptionError
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7 passport of Ivan Petrov"


@pytest.fixture
def stored(organisation):
    applicant = make_applicant(organisation)
    name = store_encrypted(
        PDF, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
    )
    return applicant, name


def test_a_file_round_trips_and_is_ciphertext_on_disk(stored, organisation):
    applicant, name = stored
    with default_storage.open(name, "rb") as handle:
        on_disk = handle.read()
    assert b"Ivan" not in on_disk and b"%PDF" not in on_disk
    assert on_disk[0] == 1
    assert (
        read_encrypted(
            name, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
        )
        == PDF
    )


def test_stored_names_are_random_and_carry_no_user_input(stored):
    _, name = stored
    folder, filename = name.split("/")
    assert folder == "document"
    assert len(filename) == len("0" * 32 + ".enc")


def test_a_file_read_as_another_subject_fails(stored, organisation):
    _, name = stored
    other = make_applicant(organisation)
    with pytest.raises(DecryptionError):
        read_encrypted(
            name, purpose="document", subject_id=other.pk, organisation_id=organisation.pk
        )


def test_a_file_moved_to_another_name_or_purpose_fails(stored, organisation):
    applicant, name = stored
    with default_storage.open(name, "rb") as handle:
        token = handle.read()
    moved = default_storage.save("document/" + "f" * 32 + ".enc", ContentFile(token))
    for candidate, purpose in ((moved, "document"), (name, "letter")):
        with pytest.raises(DecryptionError):
            read_encrypted(
                candidate, purpose=purpose, subject_id=applicant.pk, organisation_id=organisation.pk
            )
