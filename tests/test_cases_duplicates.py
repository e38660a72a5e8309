"""Intake's duplicate check is no silent membership oracle (issue 12, finding 10).

The attack: a caseworker with no cases types a passport number or an e-mail address into
intake and learns from the "possible duplicate" warning whether that person is a client of
the organisation, without opening a case and without a trace. Now every positive check is
audited (who, which kind of identifier, never the value), repeated ones raise an alert, and
the caseworker is told only that a coordinator will look: the case opens, flagged for a
coordinator's review.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from casework.audit.alerts import AlertKind
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Case
from casework.cases.services import DUPLICATE_ALERT_AFTER, case_create
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

PASSPORT = "75 7654321"
EMAIL = "anna.client@example.org"
NAME = "ANNA SMIRNOVA"


@pytest.fixture
def client_of_the_organisation(coordinator):
    """Someone the organisation helps; the probing caseworker has no case at all."""
    return case_create(
        actor=coordinator,
        applicant_fields={
            "legal_name_latin": NAME,
            "international_passport_no": PASSPORT,
            "email": EMAIL,
            "date_of_birth": datetime.date(1990, 5, 1),
            "birth_year": 1990,
        },
    )


def probe(client, **typed):
    data = {"legal_name_latin": "PROBE PERSON", "priority": "normal"} | typed
    return client.post(reverse("case_create"), data, follow=True)


def matches():
    return AuditEvent.objects.filter(action=Action.POSSIBLE_DUPLICATE)


@pytest.mark.parametrize(
    ("typed", "identifier"),
    [
        ({"international_passport_no": "757654321"}, "passport"),
        ({"email": EMAIL.upper()}, "email"),
        ({"legal_name_latin": NAME, "date_of_birth": "1990-05-01"}, "name"),
    ],
)
def test_a_positive_check_is_audited_by_kind_never_by_value(
    client, caseworker, client_of_the_organisation, typed, identifier
):
    login_verified(client, caseworker)
    response = probe(client, **typed)
    entry = matches().get()
    assert entry.actor_id == caseworker.pk and entry.details == {"identifier": identifier}
    opened = Case.objects.exclude(pk=client_of_the_organisation.pk).get()
    assert entry.case_id == opened.pk and entry.target_id == str(opened.pk)
    text = repr(entry.details) + entry.target_id + entry.client
    for value in (PASSPORT, "757654321", EMAIL, EMAIL.upper(), NAME, "1990"):
        assert value not in text
    html = response.content.decode()
    assert client_of_the_organisation.code not in html


def test_the_caseworker_learns_only_that_a_coordinator_will_look(
    client, caseworker, client_of_the_organisation
):
    login_verified(client, caseworker)
    response = probe(client, international_passport_no=PASSPORT)
    html = response.content.decode()
    opened = Case.objects.exclude(pk=client_of_the_organisation.pk).get()
    assert response.redirect_chain[-1][0] == reverse("case_detail", args=[opened.pk])
    assert "a coordinator will look at it" in html
    assert "open it anyway" not in html and 'name="open_anyway"' not in html
    assert opened.duplicate_review is True
    assert opened.caseworkers.get() == caseworker


def test_no_match_leaves_no_flag_and_no_entry(client, caseworker, client_of_the_organisation):
    login_verified(client, caseworker)
    response = probe(client, international_passport_no="99 0000000")
    opened = Case.objects.exclude(pk=client_of_the_organisation.pk).get()
    assert opened.duplicate_review is False and not matches().exists()
    assert "a coordinator will look at it" not in response.content.decode()


def test_repeated_matches_raise_an_alert(client, caseworker, client_of_the_organisation):
    login_verified(client, caseworker)
    for _ in range(DUPLICATE_ALERT_AFTER):
        probe(client, international_passport_no=PASSPORT)
    alerts = AuditEvent.objects.filter(action=Action.ALERT)
    assert not alerts.filter(details__kind=AlertKind.DUPLICATE_PROBING).exists()
    probe(client, email=EMAIL)
    alert = alerts.get(details__kind=AlertKind.DUPLICATE_PROBING)
    assert alert.actor_id == caseworker.pk and alert.organisation_id == caseworker.organisation_id
    assert alert.details["duplicates_found"] == DUPLICATE_ALERT_AFTER + 1
    probe(client, email=EMAIL)  # one alert a day per user; every match stays in the log
    assert alerts.filter(details__kind=AlertKind.DUPLICATE_PROBING).count() == 1
    assert matches().count() == DUPLICATE_ALERT_AFTER + 2


def test_a_coordinator_finds_the_flagged_case_and_clears_the_flag(
    client, caseworker, coordinator, client_of_the_organisation
):
    login_verified(client, caseworker)
    probe(client, international_passport_no=PASSPORT)
    opened = Case.objects.get(duplicate_review=True)
    carol = login_verified(client.__class__(), coordinator)
    listed = carol.get(reverse("case_list"), {"flag": "duplicate_review"}).content.decode()
    assert opened.code in listed and client_of_the_organisation.code not in listed
    page = carol.get(reverse("case_detail", args=[opened.pk])).content.decode()
    assert "possible duplicate" in page
    url = reverse("case_duplicate_reviewed", args=[opened.pk])
    assert client.post(url).status_code == 404  # the caseworker may not clear it
    assert Case.objects.get(pk=opened.pk).duplicate_review is True
    assert carol.post(url).status_code == 302
    assert Case.objects.get(pk=opened.pk).duplicate_review is False
    entry = AuditEvent.objects.get(action=Action.DUPLICATE_REVIEWED)
    assert entry.actor_id == coordinator.pk and entry.case_id == opened.pk


def test_another_organisations_client_is_no_match(client, outsider, client_of_the_organisation):
    login_verified(client, outsider)
    probe(client, international_passport_no=PASSPORT)
    assert not Case.objects.filter(duplicate_review=True).exists() and not matches().exists()
