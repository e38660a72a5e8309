"""Verification is completed only by its explicit outcome (issue 12, finding 8).

The attack: screening -> verification -> closed -> re-opened -> the emergency fast path ->
a letter issued and the case submitted for a person nobody ever verified. Leaving
verification by closing the case is not verifying; only moving it on to route planning is.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case, Consent, Route
from casework.cases.services import (
    case_create,
    case_transition,
    consent_record,
    route_attempt_add,
    verification_completed,
)
from casework.cases.views import _facts
from casework.letters import services as letters
from casework.letters.models import Letter
from tests.conftest import login_verified
from tests.test_letters import facts, request_letter

pytestmark = pytest.mark.django_db
ACCEPT = {"accept_warnings": "yes"}  # the fixture letter warns of Cyrillic in its facts

REOPENED_WITHOUT_VERIFYING = [
    ("screening", {}),
    ("verification", {}),
    ("closed", {"closure_reason": "withdrawn"}),
    ("screening", {"reason": "the person got back in touch"}),
    ("route_planning", {}),  # the emergency fast path
    ("documents", {}),
    ("letter_drafting", {}),
    ("letter_review", {}),
]


def walk(coordinator, case, steps):
    for target, changes in steps:
        case_transition(
            actor=coordinator,
            case=case,
            target=target,
            facts=facts(verification_completed=False, emergency=True, **changes),
            reason=changes.get("reason", ""),
        )
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def closed_from_verification(coordinator):
    """An emergency case that left verification by being closed, then went on."""
    coordinator.organisation.legal_name = "Alpha Aid e.V."
    coordinator.organisation.save()
    case = case_create(
        actor=coordinator,
        applicant_fields={"legal_name_latin": "NEVER VERIFIED", "international_passport_no": "X1"},
        priority="emergency",
    )
    route = Route.objects.get(code="lt-national-humanitarian")
    attempt = route_attempt_add(actor=coordinator, case=case, route=route, mission=None)
    consent_record(
        actor=coordinator,
        case=case,
        purpose=Consent.Purpose.DISCLOSURE,
        route=route,
        counterparty="",
        text_version="disclosure-v2",
        language="ru",
    )
    return walk(coordinator, case, REOPENED_WITHOUT_VERIFYING), attempt


def test_closing_from_verification_does_not_count_as_verified(closed_from_verification):
    case, _attempt = closed_from_verification
    assert case.history.filter(from_status="verification").exists()  # the old guard's fact
    assert verification_completed(case) is False
    assert _facts(case.coordinator, case, {}).verification_completed is False


def test_a_letter_for_a_person_never_verified_is_refused(
    client, coordinator, closed_from_verification
):
    case, attempt = closed_from_verification
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt)
    response = client.post(reverse("letter_issue", args=[case.pk, letter.pk]), ACCEPT, follow=True)
    assert "verification has not been completed" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DRAFT and letter.reference == ""


def test_submitting_a_case_never_verified_is_refused(coordinator, closed_from_verification):
    case, attempt = closed_from_verification
    # Even with an issued letter in hand (made here behind the guard's back), submitting
    # asks for the verification itself.
    Letter.objects.create(
        organisation=case.organisation,
        applicant=case.applicant,
        case=case,
        attempt=attempt,
        kind="visa",
        language="en",
        requested_by=coordinator,
        status=Letter.Status.ISSUED,
    )
    carol = login_verified(Client(), coordinator)
    url = reverse("case_transition", args=[case.pk])
    response = carol.post(url, {"target": "submitted", "version": case.version})
    assert response.status_code == 400
    assert "verification to be completed" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == "letter_review"


def test_moving_on_from_verification_to_route_planning_completes_it(coordinator):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "VERIFIED"})
    case = walk(coordinator, case, [("screening", {}), ("verification", {})])
    assert verification_completed(case) is False
    case = walk(coordinator, case, [("route_planning", {})])
    assert verification_completed(case) is True
    assert _facts(coordinator, case, {}).verification_completed is True
    # ...and it stays completed when the case is closed and re-opened later.
    steps = [("closed", {"closure_reason": "withdrawn"}), ("screening", {"reason": "back"})]
    case = walk(coordinator, case, steps)
    assert verification_completed(case) is True


def test_the_letters_guard_and_the_workflow_use_the_same_definition(closed_from_verification):
    case, attempt = closed_from_verification
    letter = Letter(case=case, attempt=attempt)
    assert letters.verification_completed(letter) is verification_completed(case) is False
