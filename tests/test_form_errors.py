"""Forms tell a tired person exactly what is wrong: a summary at the top linking to each
field, specific messages, and a question (not a refusal) for dates that are merely unlikely.
Intake asks for what a caseworker has at first contact and starts at a neutral priority."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from casework.cases.models import Applicant, Case, Deadline, Priority
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db

YESTERDAY = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
NEXT_YEAR = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()


@pytest.fixture
def worker(client, caseworker):
    return login_verified(client, caseworker)


def test_intake_starts_at_a_neutral_priority(worker):
    html = worker.get(reverse("case_create")).content.decode()
    selected = html.split('name="priority"')[1].split("</select>")[0]
    assert '<option value="normal" selected>' in selected
    assert 'value="emergency" selected' not in selected


def test_intake_takes_what_a_caseworker_has_at_first_contact(worker):
    response = worker.post(
        reverse("case_create"),
        {
            "legal_name_latin": "ARTYOM K",
            "priority": "normal",
            "passport_expiry": NEXT_YEAR,
            "safe_contact_instructions": "Signal only, after 20:00",
            "gender_identity": "canary-gi",
            "health_notes": "canary-health",
            "safety_plan": "canary-plan",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    applicant = case.applicant
    assert applicant.passport_expiry.isoformat() == NEXT_YEAR
    assert applicant.safe_contact_instructions == "Signal only, after 20:00"
    assert applicant.gender_identity == "canary-gi" and applicant.health_notes == "canary-health"
    assert case.safety_plan == "canary-plan"
    assert case.deadlines.filter(kind=Deadline.Kind.PASSPORT_EXPIRES).exists()
    page = worker.get(response["Location"]).content.decode()
    for canary in ("canary-gi", "canary-health", "canary-plan"):
        assert canary not in page  # masked until asked for


def test_the_sensitive_intake_fields_are_never_remembered_by_the_browser(worker):
    html = worker.get(reverse("case_create")).content.decode()
    for name in ("gender_identity", "sexual_orientation", "health_notes", "safety_plan"):
        tag = html.split(f'name="{name}"')[0].rsplit("<", 1)[1] + html.split(f'name="{name}"')[1]
        assert 'autocomplete="off"' in tag.split(">")[0], name


def test_an_error_summary_links_to_each_field_and_takes_the_focus(worker):
    response = worker.post(
        reverse("case_create"), {"priority": "normal", "destination_state": "germany"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert "autofocus" in summary.split(">")[0]
    assert 'href="#id_legal_name_latin"' in summary
    assert 'href="#id_destination_state"' in summary
    assert "Give the legal name in Latin or Cyrillic letters." in summary
    # What was typed stays in the form.
    assert 'value="germany"' in html


def test_messages_say_what_is_expected_not_just_that_it_is_wrong(worker):
    html = worker.post(
        reverse("case_create"),
        {
            "legal_name_latin": "X",
            "priority": "normal",
            "destination_state": "de",
            "date_of_birth": "31/12/1990",
        },
    ).content.decode()
    assert "Enter a valid value." not in html and "Enter a valid date." not in html
    assert "two-letter ISO code in capitals, e.g. DE" in html
    assert "year-month-day, e.g. 2027-03-31" in html


def test_an_expired_passport_is_questioned_then_saved_when_confirmed(worker):
    data = {"legal_name_latin": "X", "priority": "normal", "passport_expiry": YESTERDAY}
    asked = worker.post(reverse("case_create"), data)
    assert asked.status_code == 200 and not Case.objects.exists()
    html = asked.content.decode()
    assert "This passport has expired already. Is the date right?" in html
    assert "Check before saving" in html
    assert 'type="checkbox" name="confirm_dates"' in html
    assert f'value="{YESTERDAY}"' in html
    saved = worker.post(reverse("case_create"), {**data, "confirm_dates": "on"})
    assert saved.status_code == 302
    assert Applicant.objects.get().passport_expiry.isoformat() == YESTERDAY


def test_a_deadline_in_the_past_is_questioned(worker, caseworker):
    case = make_case(caseworker=caseworker)
    url = reverse("deadline_add", args=[case.pk])
    asked = worker.post(url, {"kind": "check_in", "due_on": YESTERDAY})
    assert asked.status_code == 400 and not case.deadlines.exists()
    assert "This date has passed already. Is it right?" in asked.content.decode()
    saved = worker.post(url, {"kind": "check_in", "due_on": YESTERDAY, "confirm_dates": "on"})
    assert saved.status_code == 302 and case.deadlines.count() == 1


def test_a_decision_before_the_submission_is_questioned(worker, caseworker):
    from casework.cases import services
    from casework.cases.models import Route

    case = make_case(caseworker=caseworker)
    attempt = services.route_attempt_add(
        actor=caseworker, case=case, route=Route.objects.first(), mission=None
    )
    url = reverse("attempt_edit", args=[case.pk, attempt.pk])
    data = {"submitted_at": "2026-10-10", "decision_at": "2026-09-01", "decision": "refused"}
    asked = worker.post(url, data)
    assert asked.status_code == 400
    assert "This is before the date “Submitted”. Is it right?" in asked.content.decode()
    assert worker.post(url, {**data, "confirm_dates": "on"}).status_code == 302
    attempt.refresh_from_db()
    assert attempt.decision_at.isoformat() == "2026-09-01"


def test_an_impossible_date_is_still_refused_whatever_is_ticked(worker):
    response = worker.post(
        reverse("case_create"),
        {
            "legal_name_latin": "X",
            "priority": Priority.NORMAL,
            "date_of_birth": "2999-01-01",
            "confirm_dates": "on",
        },
    )
    assert response.status_code == 200 and not Case.objects.exists()
    assert "A date of birth cannot be in the future." in response.content.decode()


def test_checkboxes_come_before_their_labels_and_choices_sit_in_a_fieldset(worker, caseworker):
    html = worker.get(reverse("case_create")).content.decode()
    languages = html.split('<fieldset class="field field-choices" id="id_languages">')[1]
    assert languages.startswith("\n  <legend>Languages spoken</legend>")
    assert '<label class="choice" for="id_languages_0"><input type="checkbox"' in languages
    case = make_case(caseworker=caseworker)
    edit = worker.get(reverse("case_edit", args=[case.pk])).content.decode()
    assert '<p class="field field-check">\n  <input type="checkbox" name="on_hold"' in edit
