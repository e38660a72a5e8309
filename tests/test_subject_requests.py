"""Requests of the person (R62: Art. 17 within the month of Art. 12(3); Art. 15 likewise): a
coordinator records one with the day it arrived; it is due one calendar month later and
waits on the coordinators' dashboard, marked overdue after that, until the export answers a
request for a copy or the erasure a request for erasure. The record outlives the erasure as
its proof and holds nothing about the person."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from casework.audit.models import Action, AuditEvent
from casework.cases import export, services, subject_requests
from casework.cases.models import SubjectRequest
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db

RECEIVED = datetime.date(2027, 1, 31)
NOW = datetime.datetime(2027, 2, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def case(caseworker):
    return make_case(caseworker=caseworker, legal_name_latin="RIGHTS CANARY")


def record_in_ui(coordinator, case, **data):
    values = {"kind": "erasure", "received_on": RECEIVED.isoformat()} | data
    with time_machine.travel(NOW, tick=False):
        client = login_verified(Client(), coordinator)
        return client.post(reverse("case_subject_request", args=[case.pk]), values)


def dashboard(user, at):
    with time_machine.travel(at, tick=False):
        page = login_verified(Client(), user).get(reverse("home")).content.decode()
    return page.split('id="queue-subject-requests"', 1)[1].split("</section>", 1)[0]


def test_a_month_ends_on_the_last_day_of_a_shorter_month():
    assert subject_requests.due_on(datetime.date(2027, 1, 31)) == datetime.date(2027, 2, 28)
    assert subject_requests.due_on(datetime.date(2028, 1, 31)) == datetime.date(2028, 2, 29)
    assert subject_requests.due_on(datetime.date(2027, 3, 15)) == datetime.date(2027, 4, 15)


def test_a_recorded_request_waits_on_the_dashboard_with_its_due_date(case, coordinator):
    response = record_in_ui(coordinator, case)
    assert response.status_code == 302 and response["Location"].endswith("?show=rights#rights")
    with time_machine.travel(NOW, tick=False):
        page = login_verified(Client(), coordinator).get(response["Location"]).content.decode()
    rights = page.split('<section id="rights"', 1)[1].split("</section>", 1)[0]
    assert "erasure of their data (Article 17)" in rights and "answer due by 2027-02-28" in rights
    recorded = SubjectRequest.objects.get()
    assert (recorded.kind, recorded.received_on, recorded.due_on) == (
        "erasure",
        RECEIVED,
        datetime.date(2027, 2, 28),
    )
    entry = AuditEvent.objects.filter(action=Action.SUBJECT_REQUEST_RECORDED).get()
    assert entry.details == {"request_kind": "erasure", "due_on": "2027-02-28"}
    assert entry.case_id == case.pk and "RIGHTS" not in str(entry.details)

    queue = dashboard(coordinator, NOW)
    assert case.code in queue and "answer due by 2027-02-28" in queue
    assert "overdue" not in queue
    # To the case page with its requests shown (they are read there on request).
    assert f'href="{reverse("case_detail", args=[case.pk])}?show=rights#rights"' in queue
    late = dashboard(coordinator, datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC))
    assert case.code in late and "overdue" in late


def test_the_erasure_answers_the_request_and_the_record_remains(
    case, coordinator, django_capture_on_commit_callbacks
):
    record_in_ui(coordinator, case)
    with django_capture_on_commit_callbacks(execute=True):
        services.applicant_erase(applicant_id=case.applicant_id, actor=coordinator)
    recorded = SubjectRequest.objects.get()
    assert recorded.outcome == "erased" and recorded.completed_at is not None
    entry = AuditEvent.objects.filter(action=Action.ERASURE).get()
    assert entry.details["requests_answered"] == 1
    assert case.code not in dashboard(coordinator, NOW)
    # The proof: received and answered dates stay, beside the erasure's entry naming who.
    assert (recorded.received_on, recorded.due_on) == (RECEIVED, datetime.date(2027, 2, 28))
    assert entry.actor_id == coordinator.pk


def test_the_export_answers_a_request_for_a_copy_and_not_one_for_erasure(case, coordinator):
    record_in_ui(coordinator, case, kind="access")
    record_in_ui(coordinator, case, kind="erasure")
    export.export_applicant(applicant_id=case.applicant_id, actor=coordinator, encrypt=True)
    answered = dict(SubjectRequest.objects.values_list("kind", "outcome"))
    assert answered == {"access": "exported", "erasure": ""}
    entry = AuditEvent.objects.filter(action=Action.EXPORT).get()
    assert entry.details["requests_answered"] == 1


def test_a_request_from_the_future_or_long_ago_is_refused_with_the_input_kept(case, coordinator):
    future = record_in_ui(coordinator, case, received_on="2027-02-03")
    old = record_in_ui(coordinator, case, received_on="2025-01-01")
    nothing = record_in_ui(coordinator, case, kind="")
    assert [r.status_code for r in (future, old, nothing)] == [400, 400, 400]
    assert "Choose today or an earlier day." in future.content.decode()
    assert 'value="2027-02-03"' in future.content.decode()
    assert "Choose a day within the last year." in old.content.decode()
    assert not SubjectRequest.objects.exists()


def test_only_a_coordinator_of_the_case_records_one(case, caseworker, outsider):
    for user in (caseworker, outsider):
        with time_machine.travel(NOW, tick=False):
            client = login_verified(Client(), user)
            url = reverse("case_subject_request", args=[case.pk])
            assert (
                client.post(url, {"kind": "access", "received_on": "2027-02-01"}).status_code == 404
            )
    assert not SubjectRequest.objects.exists()


def test_the_case_page_lists_them_for_coordinators(case, coordinator):
    record_in_ui(coordinator, case, kind="access")
    with time_machine.travel(NOW, tick=False):
        page = login_verified(Client(), coordinator).get(
            reverse("case_detail", args=[case.pk]), {"show": "rights"}
        )
    section = page.content.decode().split('id="rights"', 1)[1].split("</section>", 1)[0]
    assert "a copy of their data (Article 15)" in section
    assert "received 2027-01-31" in section and "answer due by 2027-02-28" in section
