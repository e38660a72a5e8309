"""Withdrawing a disclosure consent (issue 14, part 5): it blocks new letters to that
authority, marks the drafts waiting for it, is recorded, and the case page shows the state
of every consent per purpose with its dates."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from casework.audit.models import Action, AuditEvent
from casework.cases.models import Consent
from casework.cases.services import consent_record
from casework.letters import checks, services
from casework.letters.models import Letter
from tests.conftest import login_verified
from tests.test_letters import issue, make_case, request_letter

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, facts="2024-02-10: attacked (Annex 1).")
    assert checks.problems(letter) == []
    return letter


def withdraw(client, letter):
    consent = Consent.objects.get(
        applicant_id=letter.applicant_id, purpose="disclosure", route_id=letter.attempt.route_id
    )
    url = reverse("consent_withdraw", args=[letter.case_id, consent.pk])
    return client.post(url, follow=True)


def test_withdrawing_blocks_the_draft_and_says_so(client, draft):
    page = withdraw(client, draft).content.decode()
    assert "1 draft letter to this authority cannot be issued now." in page
    today = timezone.now().date().isoformat()
    entry = AuditEvent.objects.filter(action=Action.CONSENT_WITHDRAWN).get()
    assert entry.details["drafts_blocked"] == 1 and entry.case_id == draft.case_id
    [problem] = checks.problems(draft)
    assert problem.blocker
    assert str(problem).startswith(
        f"The applicant withdrew their consent to disclosure to this route's authority on {today}"
    )
    assert issue(client, draft).status_code == 302
    draft.refresh_from_db()
    assert draft.status == Letter.Status.DRAFT


def test_the_case_page_shows_the_state_per_purpose_and_marks_the_draft(client, draft):
    withdraw(client, draft)
    html = client.get(reverse("case_detail", args=[draft.case_id])).content.decode()
    state = html.split('<dl class="facts consent-status">', 1)[1].split("</dl>", 1)[0]
    today = timezone.now().date().isoformat()
    assert "Disclosure to a named authority" in state and f"withdrawn {today}" in state
    letters = html.split('id="letters"', 1)[1].split("</ul>", 1)[0]
    assert "disclosure consent withdrawn: cannot be issued" in letters


def test_a_consent_given_again_lifts_the_block(client, coordinator, draft):
    withdraw(client, draft)
    consent_record(
        actor=coordinator,
        case=draft.case,
        purpose=Consent.Purpose.DISCLOSURE,
        route=draft.attempt.route,
        counterparty="",
        text_version="disclosure-v3",
        language="ru",
        includes_sogi=False,
    )
    assert checks.problems(draft) == []
    html = client.get(reverse("case_detail", args=[draft.case_id])).content.decode()
    state = html.split('<dl class="facts consent-status">', 1)[1].split("</dl>", 1)[0]
    assert "withdrawn" not in state and "given" in state
    assert "cannot be issued" not in html.split('id="letters"', 1)[1].split("</ul>", 1)[0]
    services.letter_issue(actor=coordinator, letter=draft)
    draft.refresh_from_db()
    assert draft.status == Letter.Status.ISSUED


def test_withdrawing_another_purpose_blocks_no_letter(client, coordinator, draft):
    consent_record(
        actor=coordinator,
        case=draft.case,
        purpose=Consent.Purpose.PROCESSING,
        route=None,
        counterparty="",
        text_version="processing-v1",
        language="ru",
        includes_sogi=False,
    )
    other = Consent.objects.get(applicant_id=draft.applicant_id, purpose="processing")
    client.post(reverse("consent_withdraw", args=[draft.case_id, other.pk]))
    entry = AuditEvent.objects.filter(action=Action.CONSENT_WITHDRAWN).get()
    assert entry.details["drafts_blocked"] == 0
    assert checks.problems(draft) == []
