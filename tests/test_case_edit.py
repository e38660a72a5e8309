"""Editing a case and its applicant: every field a caseworker needs, masked fields kept masked."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from casework.audit.models import Action, AuditEvent
from casework.cases.models import Case
from casework.cases.services import case_assign, case_create
from tests.canaries import CANARIES
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(coordinator, caseworker):
    case = case_create(
        actor=coordinator,
        applicant_fields={
            "legal_name_latin": "IVANOVA MARIA",
            "email": "maria@example.org",
            "gender_identity": CANARIES[1],
            "health_notes": CANARIES[2],
        },
        narrative=CANARIES[3],
    )
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def alice(client, caseworker):
    return login_verified(client, caseworker)


def loaded(alice, case):
    """What the browser would post back unchanged: the form's initial values."""
    form = alice.get(reverse("case_edit", args=[case.pk])).context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value in (None, False) or name.startswith("clear_"):
            continue
        data[name] = value.isoformat() if isinstance(value, datetime.date) else value
    return data


def save(alice, case, **changes):
    data = loaded(alice, case) | changes
    return alice.post(reverse("case_edit", args=[case.pk]), data)


def fresh(case):
    return Case.objects.select_related("applicant").get(pk=case.pk)


def test_the_form_shows_contact_fields_but_never_the_masked_ones(alice, case):
    html = alice.get(reverse("case_edit", args=[case.pk])).content.decode()
    assert "maria@example.org" in html
    for masked in CANARIES[1:4]:
        assert masked not in html
    assert "Type to replace; leave empty to keep." in html


def test_contact_location_and_languages_are_saved(alice, case):
    response = save(
        alice,
        case,
        phone="+374 00 000000",
        current_country="AM",
        current_city="Yerevan",
        languages=["ru", "en"],
        safe_contact_instructions="Signal only",
        date_of_birth="1995-04-03",
    )
    assert response.status_code == 302
    applicant = fresh(case).applicant
    assert (applicant.phone, applicant.current_country) == ("+374 00 000000", "AM")
    assert applicant.languages == ["ru", "en"] and applicant.birth_year == 1995
    assert applicant.safe_contact_instructions == "Signal only"


def test_masked_fields_are_kept_when_left_empty(alice, case):
    assert save(alice, case, pronouns="she/her").status_code == 302
    current = fresh(case)
    assert current.applicant.gender_identity == CANARIES[1]
    assert current.narrative == CANARIES[3]


def test_a_masked_field_is_replaced_or_cleared_and_audited_by_name(alice, case):
    response = save(alice, case, sexual_orientation=CANARIES[4], clear_health_notes="on")
    assert response.status_code == 302
    applicant = fresh(case).applicant
    assert applicant.sexual_orientation == CANARIES[4] and applicant.health_notes is None
    entry = AuditEvent.objects.filter(action=Action.CASE_UPDATED).get()
    assert entry.details["fields"] == ["health_notes", "sexual_orientation"]
    assert CANARIES[4] not in str(entry.details)


def test_replace_and_clear_together_is_refused_with_the_input_kept(alice, case):
    response = save(alice, case, narrative="new story", clear_narrative="on", pronouns="they")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Either replace or clear, not both." in html and "new story" in html
    assert fresh(case).narrative == CANARIES[3]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"legal_name_latin": "", "legal_name_cyrillic": ""}, "Give the legal name"),
        ({"date_of_birth": "2999-01-01"}, "cannot be in the future"),
        ({"current_country": "Armenia"}, "two-letter ISO country code"),
        ({"languages": ["xx"]}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(alice, case, changes, message):
    response = save(alice, case, pronouns="kept input", **changes)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and 'value="kept input"' in html
    assert fresh(case).applicant.pronouns is None
    assert not AuditEvent.objects.filter(action=Action.CASE_UPDATED).exists()


def test_only_changed_fields_are_named_in_the_audit(alice, case):
    assert save(alice, case, pronouns="she/her").status_code == 302
    entry = AuditEvent.objects.filter(action=Action.CASE_UPDATED).get()
    assert entry.details["fields"] == ["pronouns"]


def test_intake_warns_of_a_duplicate_e_mail(alice, case):
    data = {"legal_name_latin": "SOMEONE ELSE", "priority": "normal"}
    data |= {"email": "maria@example.org"}
    response = alice.post(reverse("case_create"), data, follow=True)
    assert response.status_code == 200
    assert "may duplicate another case" in response.content.decode()
