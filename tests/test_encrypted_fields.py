"""Encrypted model fields: round trips, lazy decryption, and the ORM paths that must refuse."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core import serializers
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection, transaction

from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib import datakeys
from casework.lib.fields import Ciphertext
from crypto import DecryptionError
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def test_values_round_trip_through_the_database(organisation):
    applicant = make_applicant(
        organisation,
        preferred_name="Sasha 🌈",
        contact_channels={"signal": "+7 900 000-00-00", "telegram": "@nobody"},
        date_of_birth=datetime.date(2001, 12, 31),
    )
    loaded = Applicant.objects.get(pk=applicant.pk)
    assert loaded.legal_name_cyrillic == "Иван Петров"
    assert loaded.preferred_name == "Sasha 🌈"
    assert loaded.date_of_birth == datetime.date(2001, 12, 31)
    assert loaded.contact_channels == {"signal": "+7 900 000-00-00", "telegram": "@nobody"}
    assert loaded.health_notes is None


def test_the_database_holds_ciphertext_not_plaintext(organisation):
    applicant = make_applicant(organisation)
    column = Applicant._meta.get_field("legal_name_latin").column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM cases_applicant")  # noqa: S608
        (stored,) = cursor.fetchone()
    assert b"IVAN" not in bytes(stored)
    assert bytes(stored)[0] == 1  # token version byte
    assert applicant.legal_name_latin == "IVAN PETROV"


def test_decryption_is_lazy(organisation, django_assert_num_queries):
    make_applicant(organisation)
    loaded = Applicant.objects.get()
    assert isinstance(loaded.__dict__["legal_name_latin"], Ciphertext)
    with django_assert_num_queries(1):  # the DataKey, once
        assert loaded.legal_name_latin == "IVAN PETROV"


def test_each_applicant_has_a_data_key_of_their_own(organisation):
    first = make_applicant(organisation)
    second = make_applicant(organisation)
    assert DataKey.objects.count() == 2
    token = Applicant.objects.get(pk=first.pk).__dict__["legal_name_latin"]
    aad = Applicant._meta.get_field("legal_name_latin").aad(first)
    assert datakeys.cipher_for(first.pk).decrypt(token, aad) == b"IVAN PETROV"
    with pytest.raises(DecryptionError):
        datakeys.cipher_for(second.pk).decrypt(token, aad)


def test_a_list_unwraps_each_data_key_once(organisation, django_assert_max_num_queries):
    for _ in range(5):
        make_applicant(organisation)
    with datakeys.dek_cache(), django_assert_max_num_queries(2):
        applicants = list(Applicant.objects.all())
        datakeys.preload(a.pk for a in applicants)
        names = [a.legal_name_latin for a in applicants]
    assert names == ["IVAN PETROV"] * 5


def test_saving_unchanged_values_does_not_re_encrypt(organisation):
    applicant = make_applicant(organisation)
    before = DataKey.objects.get(pk=applicant.pk).encryptions
    loaded = Applicant.objects.get(pk=applicant.pk)
    loaded.legal_name_latin  # noqa: B018 - decrypt, then save unchanged
    loaded.save()
    assert DataKey.objects.get(pk=applicant.pk).encryptions == before


def test_changing_a_value_updates_its_blind_index(organisation):
    applicant = make_applicant(organisation)
    old_index = applicant.legal_name_latin_bidx
    applicant.legal_name_latin = "MARIA IVANOVA"
    applicant.save(update_fields=["legal_name_latin"])
    stored = Applicant.objects.values_list("legal_name_latin_bidx", flat=True).get()
    assert stored != old_index
    assert Applicant.objects.get().legal_name_latin == "MARIA IVANOVA"


def test_clearing_a_value_clears_its_blind_index(organisation):
    applicant = make_applicant(organisation)
    applicant.legal_name_latin = None
    applicant.save()
    assert Applicant.objects.values_list("legal_name_latin_bidx", flat=True).get() is None


def test_encryptions_are_counted_per_data_key(organisation):
    applicant = make_applicant(organisation, preferred_name="Sasha")
    # legal names (2), date of birth, passport, preferred name
    assert DataKey.objects.get(pk=applicant.pk).encryptions == 5


def test_a_data_key_at_its_encryption_limit_refuses_more_writes(organisation, monkeypatch):
    applicant = make_applicant(organisation)
    used = DataKey.objects.get(pk=applicant.pk).encryptions
    monkeypatch.setattr(datakeys, "MAX_ENCRYPTIONS", used + 1)
    applicant.pronouns = "she/her"
    applicant.save()  # the last encryption the key may do
    applicant.risk_notes = "anything"
    with pytest.raises(datakeys.TooManyEncryptions):
        applicant.save()
    assert Applicant.objects.get().risk_notes is None


def test_queryset_update_with_plaintext_is_refused(organisation):
    make_applicant(organisation)
    with pytest.raises(FieldError, match="encrypted"), transaction.atomic():
        Applicant.objects.update(legal_name_latin="PLAINTEXT")
    assert Applicant.objects.get().legal_name_latin == "IVAN PETROV"


def test_bulk_update_is_refused(organisation):
    applicant = make_applicant(organisation)
    applicant.legal_name_latin = "PLAINTEXT"
    with pytest.raises(FieldError, match="encrypted"), transaction.atomic():
        Applicant.objects.bulk_update([applicant], ["legal_name_latin"])


@pytest.mark.parametrize(
    "lookup", ["", "__exact", "__iexact", "__contains", "__startswith", "__in"]
)
def test_lookups_other_than_isnull_are_refused(organisation, lookup):
    value = ["IVAN PETROV"] if lookup == "__in" else "IVAN PETROV"
    with pytest.raises(FieldError):
        Applicant.objects.filter(**{f"legal_name_latin{lookup}": value}).count()


def test_isnull_is_allowed(organisation):
    make_applicant(organisation)
    assert Applicant.objects.filter(health_notes__isnull=True).count() == 1


def test_values_returns_ciphertext(organisation):
    make_applicant(organisation)
    (value,) = Applicant.objects.values_list("legal_name_latin", flat=True)
    assert isinstance(value, Ciphertext)
    assert b"IVAN" not in value


def test_serializers_and_dumpdata_emit_ciphertext(organisation, capsys):
    make_applicant(organisation)
    serialised = serializers.serialize("json", Applicant.objects.all())
    call_command("dumpdata", "cases", "keystore")
    dumped = capsys.readouterr().out
    for text in (serialised, dumped):
        assert "IVAN" not in text and "Иван" not in text and "\\u0418" not in text
        assert json.loads(text)[0]["fields"]["legal_name_latin"]  # present, as base64


def test_assigning_raw_bytes_is_refused(organisation):
    applicant = make_applicant(organisation)
    with pytest.raises(TypeError):
        applicant.legal_name_latin = b"\x01forged"


def test_a_datetime_is_not_a_date(organisation):
    with pytest.raises(TypeError):
        Applicant(organisation=organisation, date_of_birth=datetime.datetime(2000, 1, 1))  # noqa: DTZ001


def test_a_value_that_fails_to_decrypt_raises_and_is_logged_without_the_value(organisation, caplog):
    applicant = make_applicant(organisation)
    column = Applicant._meta.get_field("legal_name_latin").column
    pk = Applicant._meta.pk.get_db_prep_value(applicant.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM cases_applicant WHERE id = %s", [pk])  # noqa: S608
        stored = bytearray(bytes(cursor.fetchone()[0]))
        stored[-1] ^= 0x01
        cursor.execute(
            f"UPDATE cases_applicant SET {column} = %s WHERE id = %s",  # noqa: S608
            [bytes(stored), pk],
        )
    loaded = Applicant.objects.get(pk=applicant.pk)
    with pytest.raises(DecryptionError):
        loaded.legal_name_latin  # noqa: B018
    assert "decryption failed: cases.applicant.legal_name_latin" in caplog.text
    assert "IVAN" not in caplog.text
    assert loaded.legal_name_cyrillic == "Иван Петров"  # other fields are unaffected


def test_a_blind_index_on_a_field_with_choices_fails_the_system_check(monkeypatch):
    from casework.lib.checks import check_blind_index_keyspace

    assert check_blind_index_keyspace() == []
    field = Applicant._meta.get_field("email")
    monkeypatch.setattr(field, "choices", [("a", "A"), ("b", "B")])
    errors = check_blind_index_keyspace()
    assert [error.id for error in errors] == ["casework.E001"]


def test_an_active_superuser_fails_the_production_deploy_check(organisation, settings):
    from casework.lib.checks import check_no_active_superuser
    from tests.conftest import make_user

    settings.PROD = True
    assert check_no_active_superuser() == []
    make_user(organisation=organisation, is_superuser=True)
    assert [e.id for e in check_no_active_superuser()] == ["casework.E002"]
    settings.PROD = False
    assert check_no_active_superuser() == []
