"""SECURITY.md's worked examples, through the application: the AAD each model builds, the
data-key context, a stored token and file read back through the ORM and the file store, the
blind index a save writes, and the letters' digests. tests/crypto/test_worked_examples.py
recomputes the same values from the document's description."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from casework.accounts.models import Organisation
from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.letters import codes
from casework.letters.services import passport_digest
from casework.lib.datakeys import wrap_context
from casework.lib.fields import EncryptedField, index_value
from casework.lib.files import read_encrypted
from casework.lib.keys import key_file_path, keyring
from crypto import KeyRing, decrypt
from tests.crypto.test_worked_examples import EXAMPLES, of_format

pytestmark = pytest.mark.django_db

(WRAPPED,) = (e for e in EXAMPLES if e["format"] == "wrapped data key")
INDEX_KEY = bytes.fromhex(next(e for e in EXAMPLES if "index_key" in e)["index_key"])


@pytest.fixture
def example_keys() -> KeyRing:
    """The key file holds the examples' KEK (version 1) and index key."""
    ring = KeyRing({1: bytes.fromhex(WRAPPED["kek"])}, active=1, index_key=INDEX_KEY)
    key_file_path().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    ring.save(key_file_path())
    return ring


@pytest.fixture
def example_applicant(example_keys) -> Applicant:
    """The examples' organisation and applicant, with the example's wrapped data key."""
    organisation = Organisation.objects.create(
        id=uuid.UUID(WRAPPED["organisation_id"]), name="Example organisation"
    )
    applicant = Applicant(id=uuid.UUID(WRAPPED["subject_id"]), organisation=organisation)
    applicant.save()
    DataKey.objects.create(
        subject_id=applicant.pk,
        subject_type=WRAPPED["subject_type"],
        organisation_id=organisation.pk,
        wrapped=bytes.fromhex(WRAPPED["wrapped"]),
        kek_version=WRAPPED["kek_version"],
    )
    return applicant


def unsaved_record(example: dict[str, Any]) -> Any:
    model = apps.get_model(example["model"])
    record = model(organisation_id=uuid.UUID(example["organisation_id"]))
    # The record id in the AAD: the primary key, or what encryption_record_id() names.
    record_attr = "public_id" if example["model"] == "accounts.totpdevice" else "pk"
    setattr(record, record_attr, uuid.UUID(example["record_id"]))
    setattr(record, model.DATA_SUBJECT_ATTR, uuid.UUID(example["subject_id"]))
    return record


@pytest.mark.parametrize("example", of_format("field token"))
def test_each_model_builds_the_documented_aad(example):
    record = unsaved_record(example)
    field = record._meta.get_field(example["field"])
    assert isinstance(field, EncryptedField)
    assert example["subject_type"] == record.DATA_SUBJECT_TYPE
    assert field.aad(record) == example["aad"].encode("utf-8")
    token = bytes.fromhex(example["token"])
    assert decrypt(bytes.fromhex(example["dek"]), token, field.aad(record)) == (
        example["plaintext"].encode("utf-8")
    )


def test_the_documented_token_decrypts_through_the_orm(example_applicant):
    (example,) = (
        e for e in EXAMPLES if e["format"] == "field token" and e["model"] == "cases.applicant"
    )
    column = Applicant._meta.get_field("legal_name_latin").column
    pk = Applicant._meta.pk.get_db_prep_value(example_applicant.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE cases_applicant SET {column} = %s WHERE id = %s",  # noqa: S608
            [bytes.fromhex(example["token"]), pk],
        )
    assert Applicant.objects.get(pk=example_applicant.pk).legal_name_latin == "IVAN PETROV"


@pytest.mark.parametrize("example", of_format("file token"))
def test_the_documented_file_decrypts_through_the_file_store(example_applicant, example):
    default_storage.save(example["storage_name"], ContentFile(bytes.fromhex(example["token"])))
    content = read_encrypted(
        example["storage_name"],
        purpose=example["purpose"],
        subject_id=uuid.UUID(example["subject_id"]),
        organisation_id=uuid.UUID(example["organisation_id"]),
    )
    assert content == bytes.fromhex(example["content"])


@pytest.mark.parametrize("example", of_format("wrapped data key"))
def test_the_data_key_context_and_unwrap_are_as_documented(example_keys, example):
    key = DataKey(
        subject_type=example["subject_type"],
        subject_id=uuid.UUID(example["subject_id"]),
        organisation_id=uuid.UUID(example["organisation_id"]),
    )
    assert wrap_context(key) == example["context"].encode("utf-8")
    assert keyring().unwrap(bytes.fromhex(example["wrapped"]), wrap_context(key)) == (
        bytes.fromhex(example["dek"])
    )


@pytest.mark.parametrize("example", of_format("blind index"))
def test_a_save_writes_the_documented_blind_index(example_applicant, settings, example):
    settings.CASEWORK_BLIND_INDEX_ROWS = example["rows"]
    field = Applicant._meta.get_field(example["field"])
    organisation_id = uuid.UUID(example["organisation_id"])
    assert index_value(field, organisation_id, example["input"]) == example["value"]

    setattr(example_applicant, example["field"], example["input"])
    example_applicant.save()
    stored = Applicant.objects.values_list(f"{example['field']}_bidx", flat=True)
    assert stored.get(pk=example_applicant.pk) == example["value"]


@pytest.mark.parametrize("example", of_format("verification code digest"))
def test_a_letter_code_is_stored_as_documented(example):
    assert codes.canonical(example["printed"]) == example["code"]
    assert codes.printed(example["code"]) == example["printed"]
    assert codes.digest(example["code"]) == example["sha256"]


@pytest.mark.parametrize("example", of_format("passport match digest"))
def test_a_letter_passport_digest_is_as_documented(example_keys, example):
    organisation_id = uuid.UUID(example["organisation_id"])
    assert passport_digest(organisation_id, example["passport"]) == example["digest"]
