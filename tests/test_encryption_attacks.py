"""The database thief's moves, played with raw SQL behind the ORM's back (R31).

Whatever ciphertext an attacker moves, reading it must raise, never show another value.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from casework.accounts.models import Organisation
from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib.fields import EncryptedModel, encrypted_fields
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


# -- two records under the same data key ------------------------------------------------------
# Between two applicants the data keys differ, so a moved value fails even without the record
# id in the AAD. Every record of one applicant (their cases, notes, documents, route attempts,
# letters) and every device of one user share a data key: only the record id tells them apart.


def _two_of(model_label, caseworker, coordinator):
    """Two records of one model under one data key, each with every encrypted field set."""
    from casework.cases.models import Case, CaseStatusChange, Document, Note, Route
    from casework.cases.models import VisaApplication as Attempt
    from casework.cases.services import case_create
    from casework.letters.models import Letter
    from tests.conftest import make_totp

    if model_label == "accounts.totpdevice":
        return make_totp(caseworker)[0], make_totp(caseworker)[0]
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "A B"})
    common = {"organisation": case.organisation, "applicant": case.applicant}

    def make(n):
        if model_label == "cases.case":
            if n == 0:
                case.priority_override_reason, case.narrative, case.safety_plan = "r0", "n0", "s0"
                case.retention_hold_note = "h0"
                case.save()
                return case
            return Case.objects.create(
                **common,
                code="SAME-KEY-2",
                priority_override_reason="r1",
                narrative="n1",
                safety_plan="s1",
                retention_hold_note="h1",
            )
        if model_label == "cases.note":
            return Note.objects.create(**common, case=case, author=caseworker, text=f"note {n}")
        if model_label == "cases.casestatuschange":
            return CaseStatusChange.objects.create(
                **common,
                case=case,
                from_status="a",
                to_status="b",
                by=caseworker,
                reason=f"reason {n}",
            )
        if model_label == "cases.document":
            return Document.objects.create(
                **common,
                case=case,
                doc_type="other",
                title=f"title {n}",
                storage_name=f"x{n}",
                sha256="0" * 64,
                mime="application/pdf",
                size=1,
                uploaded_by=caseworker,
            )
        attempt = Attempt.objects.create(
            **common,
            case=case,
            route=Route.objects.first(),
            authority_file_number=f"afn {n}",
            pre_approval_reference=f"par {n}",
            visa_number=f"vn {n}",
        )
        if model_label == "cases.visaapplication":
            return attempt
        assert model_label == "letters.letter"
        return Letter.objects.create(
            **common,
            case=case,
            attempt=attempt,
            kind="visa",
            language="en",
            requested_by=caseworker,
            facts=f"f {n}",
            why_route=f"w {n}",
            urgency=f"u {n}",
            revoke_reason=f"rr {n}",
        )

    return make(0), make(1)


def _shared_key_models():
    return sorted(
        model._meta.label_lower
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and model.DATA_SUBJECT_ATTR != "id"
    )


SHARED_KEY_FIELDS = [
    (label, field.name)
    for label in _shared_key_models()
    for field in encrypted_fields(apps.get_model(label))
]


def test_every_model_whose_records_share_a_data_key_is_covered_here():
    assert _shared_key_models() == [
        "accounts.totpdevice",
        "cases.case",
        "cases.casestatuschange",
        "cases.document",
        "cases.note",
        "cases.visaapplication",
        "letters.letter",
    ]


@pytest.mark.parametrize(("model_label", "field"), SHARED_KEY_FIELDS)
def test_a_value_copied_to_another_record_under_the_same_data_key_fails(
    caseworker, coordinator, model_label, field
):
    source, target = _two_of(model_label, caseworker, coordinator)
    model = type(target)
    assert source.data_subject_id() == target.data_subject_id()  # one data key for both
    col = model._meta.get_field(field).column
    pk = model._meta.pk
    raw(
        f"UPDATE {model._meta.db_table} SET {col} = (SELECT {col} FROM "  # noqa: S608
        f"{model._meta.db_table} WHERE {pk.column} = %s) WHERE {pk.column} = %s",
        [pk.get_db_prep_value(source.pk, connection), pk.get_db_prep_value(target.pk, connection)],
    )
    with pytest.raises(DecryptionError):
        getattr(model.objects.get(pk=target.pk), field)
