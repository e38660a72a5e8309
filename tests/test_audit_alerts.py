"""Insider alerts (R47): alert entries written as things happen, and a mail to the
organisation's alert mailbox that says only that there is something to look at."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.accounts.roles import Role
from casework.audit import services as audit_services
from casework.audit import verification
from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Case
from casework.cases.services import case_create
from tests.canaries import CANARIES
from tests.conftest import login_verified, make_user
from tests.test_audit_log import behind_the_orms_back

MAILBOX = "security@alpha.example"


@pytest.fixture
def mailbox(organisation):
    organisation.alert_email = MAILBOX
    organisation.save()
    return MAILBOX


def open_cases(coordinator, count):
    return [
        case_create(actor=coordinator, applicant_fields={"legal_name_latin": f"PERSON {n}"})
        for n in range(count)
    ]


def alerts(kind):
    return AuditEvent.objects.filter(action=Action.ALERT, details__kind=kind.value)


def view_all(client, cases):
    for case in cases:
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def test_the_31st_distinct_case_viewed_within_an_hour_raises_one_alert(client, coordinator):
    cases = open_cases(coordinator, 31)
    login_verified(client, coordinator)
    view_all(client, cases[:30])
    assert not alerts(AlertKind.BULK_ACCESS).exists()
    view_all(client, cases[30:])
    alert = alerts(AlertKind.BULK_ACCESS).get()
    assert alert.actor_id == coordinator.pk
    assert alert.organisation_id == coordinator.organisation_id
    assert alert.details["cases_viewed"] == 31
    assert alert.case_id is None  # which cases is in the log; the alert names none


def test_bulk_access_is_alerted_once_an_hour_not_on_every_further_view(client, coordinator):
    cases = open_cases(coordinator, 33)
    login_verified(client, coordinator)
    view_all(client, cases)
    assert alerts(AlertKind.BULK_ACCESS).count() == 1
    assert AuditEvent.objects.filter(action=Action.CASE_VIEWED).count() == 33


def test_a_view_past_the_alert_costs_what_a_view_before_it_costs(client, coordinator):
    """The count of cases and the hour's alert come in one query (issue 15): someone past
    the threshold does not pay a second one on every further case."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cases = open_cases(coordinator, 33)
    login_verified(client, coordinator)
    view_all(client, cases[:29])
    with CaptureQueriesContext(connection) as before:
        view_all(client, cases[29:30])
    view_all(client, cases[30:32])
    assert alerts(AlertKind.BULK_ACCESS).count() == 1
    with CaptureQueriesContext(connection) as after:
        view_all(client, cases[32:])
    assert len(after.captured_queries) == len(before.captured_queries)


def test_two_people_viewing_16_cases_each_raise_nothing(client, coordinator, organisation):
    """The threshold is each person's own: one colleague's views never count toward another's."""
    cases = open_cases(coordinator, 32)
    colleague = make_user(organisation=organisation, role=Role.COORDINATOR, username="cora")
    view_all(login_verified(client, coordinator), cases[:16])
    view_all(login_verified(client, colleague), cases[16:])
    assert not alerts(AlertKind.BULK_ACCESS).exists()


def test_another_kind_of_alert_in_the_hour_does_not_silence_bulk_access(client, coordinator):
    """Only a bulk-access alert in the last hour stops another: a denied access alerted
    just before is another matter."""
    cases = open_cases(coordinator, 31)
    login_verified(client, coordinator)
    assert client.get(reverse("case_detail", args=[uuid.uuid4()])).status_code == 404
    assert alerts(AlertKind.ACCESS_DENIED).count() == 1
    view_all(client, cases)
    assert alerts(AlertKind.BULK_ACCESS).count() == 1


def test_a_bulk_access_alert_over_an_hour_old_does_not_silence_a_new_one(client, coordinator):
    cases = open_cases(coordinator, 62)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        view_all(login_verified(client, coordinator), cases[:31])
    assert alerts(AlertKind.BULK_ACCESS).count() == 1
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        view_all(login_verified(Client(), coordinator), cases[31:])
    assert alerts(AlertKind.BULK_ACCESS).count() == 2


def test_a_colleagues_bulk_access_alert_does_not_silence_mine(client, coordinator, organisation):
    cases = open_cases(coordinator, 31)
    colleague = make_user(organisation=organisation, role=Role.COORDINATOR, username="cora")
    view_all(login_verified(client, colleague), cases)
    view_all(login_verified(client, coordinator), cases)
    alerted = {alert.actor_id for alert in alerts(AlertKind.BULK_ACCESS)}
    assert alerted == {colleague.pk, coordinator.pk}


def test_the_same_case_viewed_40_times_raises_nothing(client, coordinator):
    [case] = open_cases(coordinator, 1)
    login_verified(client, coordinator)
    view_all(client, [case] * 40)
    assert not alerts(AlertKind.BULK_ACCESS).exists()


def test_a_denied_object_access_raises_an_alert(client, caseworker, coordinator):
    [case] = open_cases(coordinator, 1)  # not assigned to the caseworker
    login_verified(client, caseworker)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    alert = alerts(AlertKind.ACCESS_DENIED).get()
    assert alert.actor_id == caseworker.pk
    assert alert.decision == "deny"
    assert alert.details["requested"] == str(case.pk)


def test_guessing_many_urls_is_one_alert_an_hour_and_every_denial_logged(client, caseworker):
    login_verified(client, caseworker)
    for _ in range(5):
        assert client.get(reverse("case_detail", args=[uuid.uuid4()])).status_code == 404
    assert alerts(AlertKind.ACCESS_DENIED).count() == 1
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() == 5


def test_an_hourly_alert_given_no_organisation_is_still_raised_once(caseworker):
    """The hour's earlier alert is looked for where record() filed it: under the actor's
    organisation when the caller named none."""
    for _ in range(3):
        raise_alert(AlertKind.ACCESS_DENIED, organisation_id=None, actor=caseworker)
    assert alerts(AlertKind.ACCESS_DENIED).count() == 1
    assert alerts(AlertKind.ACCESS_DENIED).get().organisation_id == caseworker.organisation_id


def test_the_alert_mailbox_is_told_without_names_or_ids(
    client, caseworker, coordinator, mailbox, django_capture_on_commit_callbacks
):
    [case] = open_cases(coordinator, 1)
    login_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("case_detail", args=[case.pk]))
    [message] = mail.outbox
    assert message.to == [MAILBOX]
    assert "Alpha Aid (test)" in message.body
    assert str(AlertKind.ACCESS_DENIED.label) in message.body
    text = f"{message.subject} {message.body}"
    for secret in (caseworker.username, str(caseworker.pk), str(case.pk), case.code, "PERSON"):
        assert secret not in text


def test_an_organisation_without_a_mailbox_gets_no_mail(
    client, caseworker, django_capture_on_commit_callbacks
):
    login_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("case_detail", args=[uuid.uuid4()]))
    assert alerts(AlertKind.ACCESS_DENIED).exists()
    assert mail.outbox == []


def test_another_organisations_mailbox_hears_nothing_of_ours(
    client, caseworker, other_organisation, django_capture_on_commit_callbacks
):
    other_organisation.alert_email = "security@beta.example"
    other_organisation.save()
    login_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("case_detail", args=[uuid.uuid4()]))
    assert mail.outbox == []


def test_a_failed_verification_is_mailed_to_every_organisation(
    organisation, other_organisation, mailbox, django_capture_on_commit_callbacks
):
    other_organisation.alert_email = "security@beta.example"
    other_organisation.save()
    audit_services.record(Action.LOGIN, organisation_id=organisation.pk)
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'logout' WHERE seq = 1")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = verification.verify_and_record()
    assert not outcome.ok
    assert alerts(AlertKind.VERIFICATION_FAILED).get().details["first_bad"] == 1
    assert sorted(m.to[0] for m in mail.outbox) == [MAILBOX, "security@beta.example"]


def test_a_mail_server_that_is_down_does_not_hide_the_alert(
    organisation, mailbox, settings, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("casework.audit.alerts.send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(AlertKind.DECRYPTION_FAILED, organisation_id=organisation.pk)
    assert alerts(AlertKind.DECRYPTION_FAILED).exists()
    assert "alert e-mail" in caplog.text


# --- fail closed (R44) ------------------------------------------------------------------------


def broken_insert(cursor, event, returning):
    raise DatabaseError("audit storage is full")


def test_a_case_view_whose_audit_entry_fails_is_a_503_without_content(
    client, coordinator, monkeypatch
):
    case = case_create(
        actor=coordinator,
        applicant_fields={"legal_name_latin": CANARIES[0], "legal_name_cyrillic": CANARIES[10]},
    )
    login_verified(client, coordinator)
    monkeypatch.setattr(audit_services, "_insert", broken_insert)
    response = client.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 503
    body = response.content.decode()
    assert CANARIES[0] not in body and CANARIES[10] not in body
    assert "Traceback" not in body


def test_a_case_edit_whose_audit_entry_fails_changes_nothing(client, coordinator, monkeypatch):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "BEFORE"})
    login_verified(client, coordinator)
    form = client.get(reverse("case_edit", args=[case.pk])).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"legal_name_latin": "AFTER", "priority": "urgent", "version": case.version}
    monkeypatch.setattr(audit_services, "_insert", broken_insert)
    response = client.post(reverse("case_edit", args=[case.pk]), data)
    assert response.status_code == 503
    fresh = Case.objects.select_related("applicant").get(pk=case.pk)
    assert fresh.applicant.legal_name_latin == "BEFORE"
    assert fresh.priority == "normal"
    assert fresh.version == case.version


def test_an_org_admin_sets_the_alert_mailbox_with_a_fresh_second_factor(client, organisation):
    admin = make_user(organisation=organisation, role=Role.ORG_ADMIN)
    login_verified(client, admin)
    response = client.post(reverse("admin_alert_mailbox"), {"alert_email": "sec@alpha.example"})
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.alert_email == "sec@alpha.example"
    entry = AuditEvent.objects.get(action=Action.ORGANISATION_UPDATED)
    assert entry.details == {"fields": ["alert_email"]}
    assert "sec@alpha" not in str(entry.details)


def test_a_malformed_mailbox_is_refused_with_the_input_kept(client, organisation):
    admin = make_user(organisation=organisation, role=Role.ORG_ADMIN)
    login_verified(client, admin)
    response = client.post(reverse("admin_alert_mailbox"), {"alert_email": "not an address"})
    assert response.status_code == 400
    assert 'value="not an address"' in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.alert_email == ""


def test_only_org_admins_reach_the_mailbox_setting(client, coordinator, organisation):
    login_verified(client, coordinator)
    response = client.post(reverse("admin_alert_mailbox"), {"alert_email": "evil@example.org"})
    assert response.status_code == 404
    organisation.refresh_from_db()
    assert organisation.alert_email == ""
