"""Every page that shows case content is one audit entry of the right action (issue 5 meta-test),
and every refused object access is audited. Generated from the URLconf: a new route without
an expectation here fails the test."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from casework.audit.models import Action, AuditEvent
from casework.cases import services
from casework.cases import urls as case_urls
from casework.cases.models import Route
from tests.test_cases import upload

# What a GET by an authorised coordinator writes: one entry of this action, or none (a blank
# form, or a route that takes POST only and answers 405).
GET_WRITES = {
    "case_list": Action.CASE_LISTED,
    "case_create": None,
    "case_erase": None,  # the confirmation page shows the code only; erasing is audited
    "case_retention": None,  # the hold form: dates and the reason's code; holding is audited
    "case_export": None,  # the form; the export itself is audited as such
    "case_subject_request": None,  # the form; recording is audited
    "case_search": None,  # the form; results come by POST and are audited as a search
    "case_detail": Action.CASE_VIEWED,
    "case_edit": Action.CASE_VIEWED,
    "attempt_edit": Action.CASE_VIEWED,
    "document_download": Action.DOCUMENT_DOWNLOADED,
    "document_edit": Action.CASE_VIEWED,
    "document_verify": None,
    "case_assign": None,
    "case_reveal": None,
    "case_note": None,
    "case_narrative_append": None,
    "document_upload": None,
    "route_attempt_add": None,
    "consent_add": None,
    "deadline_add": None,
    "deadline_done": None,
    "consent_withdraw": None,
    "case_transition": None,
    "case_duplicate_reviewed": None,
    "letter_request": None,
    "letter_detail": Action.CASE_VIEWED,
    "letter_preview": Action.CASE_VIEWED,
    "letter_issue": None,
    "letter_revoke": None,
    "letter_correct": None,
    "letter_download": None,  # a draft has no PDF yet (404); issued ones: tests/test_letters.py
    "case_export_download": Action.EXPORT_DOWNLOADED,
}
OTHER_GETS = {"home": Action.CASE_LISTED}  # the dashboard lists the user's cases


@pytest.fixture
def world(client, coordinator):
    case = services.case_create(actor=coordinator, applicant_fields={"legal_name_latin": "X Y"})
    route = Route.objects.get(code="de-aufenthg-22-s1")
    attempt = services.route_attempt_add(actor=coordinator, case=case, route=route, mission=None)
    consent = services.consent_record(
        actor=coordinator,
        case=case,
        purpose="processing",
        route=None,
        counterparty="",
        text_version="v1",
        language="en",
    )
    deadline = services.deadline_add(
        actor=coordinator, case=case, kind="check_in", due_on="2030-01-01"
    )
    from casework.letters.services import letter_request
    from tests.conftest import login_verified

    letter = letter_request(
        actor=coordinator,
        case=case,
        attempt=attempt,
        values={"language": "en", "facts": "A fact."},
        annexes=[],
    )
    login_verified(client, coordinator)
    assert upload(client, case).status_code == 302
    from casework.cases import export

    made = export.export_applicant(applicant_id=case.applicant_id, actor=coordinator, encrypt=True)
    stored = export.keep_for_download(
        export=made, applicant=case.applicant, case=case, actor=coordinator
    )
    return {
        "export_id": stored.pk,
        "letter_id": letter.pk,
        "case_id": case.pk,
        "attempt_id": attempt.pk,
        "consent_id": consent.pk,
        "deadline_id": deadline.pk,
        "document_id": case.documents.get().pk,
    }


def kwargs_for(pattern, world):
    return {name: world[name] for name in pattern.pattern.converters}


def test_every_case_route_has_an_expectation():
    assert {p.name for p in case_urls.urlpatterns} == set(GET_WRITES)


@pytest.mark.parametrize("pattern", case_urls.urlpatterns, ids=lambda p: p.name)
def test_a_get_writes_exactly_the_expected_entry(client, world, pattern):
    before = AuditEvent.objects.count()
    response = client.get(reverse(pattern.name, kwargs=kwargs_for(pattern, world)))
    new = list(AuditEvent.objects.filter(seq__gt=before))
    expected = GET_WRITES[pattern.name]
    if expected is None:
        assert [e.action for e in new] == []
    else:
        assert response.status_code == 200
        assert [e.action for e in new] == [expected]
        assert new[0].decision == "allow"
        if "case_id" in pattern.pattern.converters:
            assert new[0].case_id == world["case_id"]


@pytest.mark.parametrize("name", OTHER_GETS)
def test_the_dashboard_writes_one_list_entry(client, world, name):
    before = AuditEvent.objects.count()
    assert client.get(reverse(name)).status_code == 200
    assert [e.action for e in AuditEvent.objects.filter(seq__gt=before)] == [OTHER_GETS[name]]


CHILD_ROUTES = [p for p in case_urls.urlpatterns if len(p.pattern.converters) == 2]


@pytest.mark.parametrize("pattern", CHILD_ROUTES, ids=lambda p: p.name)
def test_a_guessed_child_id_under_a_reachable_case_is_an_audited_404(client, world, pattern):
    kwargs = kwargs_for(pattern, world)
    child = next(name for name in kwargs if name != "case_id")
    kwargs[child] = uuid.uuid4()
    before = AuditEvent.objects.count()
    assert client.get(reverse(pattern.name, kwargs=kwargs)).status_code == 404
    denied = AuditEvent.objects.get(seq__gt=before, action=Action.ACCESS_DENIED)
    assert denied.decision == "deny"
    assert denied.details["requested"] == str(kwargs[child])
