"""The database thief's moves, played with raw SQL behind the ORM's back (R31).

Whatever ciphertext an attacker moves, reading it must raise, never show another value.
"""

from __future__ import annotations

import pytest
from django.db import connection

from casework.accounts.models import Organisation
from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib.fields import encrypted_fields
from crypto import DecryptionError
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db

FIELD_VALUES = {
    "legal_name_cyrillic": "Иван Петров",
    "legal_name_latin": "IVAN PETROV",
    "preferred_name": "Vanya",
    "pronouns": "he/him",
    "internal_passport_no": "45 01 123456",
    "international_passport_no": "75 1234567",
    "email": "ivan@example.org",
    "phone": "+7 900 000 00 00",
    "contact_channels": {"signal": "+7 900"},
    "safe_contact_instructions": "never call",
    "current_city": "Kazan",
    "gender_identity": "man",
    "sexual_orientation": "gay",
    "health_notes": "none",
    "risk_notes": "summons",
}
ENCRYPTED = [f.name for f in encrypted_fields(Applicant)]


def db_pk(applicant):
    return Applicant._meta.pk.get_db_prep_value(applicant.pk, connection)


def column(name):
    return Applicant._meta.get_field(name).column


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def full_applicant(organisation, **overrides):
    values = {**FIELD_VALUES, **overrides}
    return make_applicant(organisation, **values)


def test_every_encrypted_field_is_covered_here():
    assert set(ENCRYPTED) - {"date_of_birth"} == set(FIELD_VALUES)


@pytest.mark.parametrize("field", ENCRYPTED)
def test_a_value_copied_from_another_applicant_fails_to_decrypt(organisation, field):
    victim = full_applicant(organisation)
    target = full_applicant(organisation, legal_name_latin="OTHER PERSON")
    col = column(field)
    raw(
        f"UPDATE cases_applicant SET {col} = (SELECT {col} FROM cases_applicant "  # noqa: S608
        f"WHERE id = %s) WHERE id = %s",
        [db_pk(victim), db_pk(target)],
    )
    with pytest.raises(DecryptionError):
        getattr(Applicant.objects.get(pk=target.pk), field)


@pytest.mark.parametrize("field", ENCRYPTED)
def test_a_value_moved_to_another_field_of_the_same_row_fails(organisation, field):
    applicant = full_applicant(organisation)
    other = "preferred_name" if field != "preferred_name" else "pronouns"
    raw(
        f"UPDATE cases_applicant SET {column(other)} = {column(field)} WHERE id = %s",  # noqa: S608
        [db_pk(applicant)],
    )
    with pytest.raises(DecryptionError):
        getattr(Applicant.objects.get(pk=applicant.pk), other)


def test_a_value_copied_across_organisations_fails(organisation, other_organisation):
    ours = full_applicant(organisation)
    theirs = full_applicant(other_organisation)
    col = column("legal_name_latin")
    raw(
        f"UPDATE cases_applicant SET {col} = (SELECT {col} FROM cases_applicant "  # noqa: S608
        f"WHERE id = %s) WHERE id = %s",
        [db_pk(theirs), db_pk(ours)],
    )
    with pytest.raises(DecryptionError):
        Applicant.objects.get(pk=ours.pk).legal_name_latin  # noqa: B018


def test_moving_a_row_to_another_organisation_makes_it_unreadable(organisation, other_organisation):
    applicant = full_applicant(organisation)
    org_pk = Organisation._meta.pk.get_db_prep_value(other_organisation.pk, connection)
    raw("UPDATE cases_applicant SET organisation_id = %s WHERE id = %s", [org_pk, db_pk(applicant)])
    with pytest.raises(DecryptionError):
        Applicant.objects.get(pk=applicant.pk).legal_name_latin  # noqa: B018


def test_a_wrapped_data_key_copied_to_another_subject_fails_to_unwrap(organisation):
    victim = full_applicant(organisation)
    target = full_applicant(organisation)
    victim_key = DataKey.objects.get(pk=victim.pk)
    DataKey.objects.filter(pk=target.pk).update(wrapped=victim_key.wrapped)
    with pytest.raises(DecryptionError):
        Applicant.objects.get(pk=target.pk).legal_name_latin  # noqa: B018


def test_swapping_a_whole_row_identity_fails(organisation):
    """Give row B the id-independent ciphertexts of row A for every field at once."""
    victim = full_applicant(organisation)
    target = full_applicant(organisation, legal_name_latin="OTHER")
    sets = ", ".join(
        f"{column(f)} = (SELECT {column(f)} FROM cases_applicant WHERE id = %s)"  # noqa: S608
        for f in ENCRYPTED
    )
    raw(
        f"UPDATE cases_applicant SET {sets} WHERE id = %s",  # noqa: S608
        [db_pk(victim)] * len(ENCRYPTED) + [db_pk(target)],
    )
    loaded = Applicant.objects.get(pk=target.pk)
    for field in ENCRYPTED:
        with pytest.raises(DecryptionError):
            getattr(loaded, field)
