"""Retention (R61, DOMAIN.md 4.4), with the clock moved forward: a person's details are
crypto-shredded 12 months after their last case closed and the pseudonymised skeleton stays;
5 years after closure the skeleton goes too, unless a letter may still be relied on. Cases
not due are untouched, a second run changes nothing, an interrupted run is finished by the
next, coordinators and org admins are told 30 days ahead, and a coordinator may keep one
case longer for an audited reason."""

from __future__ import annotations

import datetime
import io
from types import SimpleNamespace

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.audit.models import Action, AuditEvent
from casework.cases import retention, services
from casework.cases.models import (
    Applicant,
    Case,
    CaseStatusChange,
    ErasureCause,
    HoldReason,
    VisaApplication,
)
from casework.keystore.models import DataKey
from casework.letters.models import Letter
from casework.lib import datakeys
from tests.conftest import login_verified, make_user
from tests.test_erasure import (
    CANARIES,
    build,
    ciphertexts,
    issued_codes,  # noqa: F401  (a fixture build needs)
    storage_root,
    stored_files,
)

pytestmark = pytest.mark.django_db

CLOSED = datetime.datetime(2027, 3, 31, 10, 0, tzinfo=datetime.UTC)
HOLD_NOTE = "retention-canary-note: second hearing in Vilnius"


def close(case, at=CLOSED):
    Case.objects.filter(pk=case.pk).update(status="closed", closed_at=at, closure_reason="arrived")


def after(**delta) -> datetime.datetime:
    days = delta.pop("days", 0)
    months = delta.pop("months", 0) + 12 * delta.pop("years", 0)
    return retention.months_after(CLOSED, months) + datetime.timedelta(days=days)


@pytest.fixture
def world(coordinator, caseworker, issued_codes, django_capture_on_commit_callbacks):  # noqa: F811
    made = build(coordinator, caseworker, issued_codes)
    close(made.case)
    made.capture = django_capture_on_commit_callbacks
    return made


@pytest.fixture
def recent(caseworker):
    """Closed last week (relative to the day the test looks at): not due for a year."""
    case = services.case_create(actor=caseworker, applicant_fields={"legal_name_latin": "RECENT"})
    close(case, after(months=12) - datetime.timedelta(days=7))
    return case


@pytest.fixture
def open_case(caseworker):
    return services.case_create(actor=caseworker, applicant_fields={"legal_name_latin": "OPEN"})


def run(now, capture=None, **options):
    out, err = io.StringIO(), io.StringIO()
    with time_machine.travel(now, tick=False):
        if capture is None:
            call_command("apply_retention", stdout=out, stderr=err, **options)
        else:
            with capture(execute=True):
                call_command("apply_retention", stdout=out, stderr=err, **options)
    return SimpleNamespace(out=out.getvalue(), err=err.getvalue())


def snapshot():
    """Everything retention could change, to compare two runs."""
    return (
        list(Applicant.objects.order_by("pk").values_list("pk", "erased_at", "erasure_cause")),
        list(Case.objects.order_by("pk").values_list("pk", "status", "closed_at")),
        AuditEvent.objects.count(),
    )


def test_month_arithmetic_keeps_to_the_calendar():
    end_of_march = datetime.datetime(2027, 3, 31, 10, 0, tzinfo=datetime.UTC)
    assert retention.months_before(end_of_march, 1).date() == datetime.date(2027, 2, 28)
    assert retention.months_before(end_of_march, 13).date() == datetime.date(2026, 2, 28)
    assert retention.months_after(end_of_march, 11).date() == datetime.date(2028, 2, 29)
    assert retention.months_after(end_of_march, 12).date() == datetime.date(2028, 3, 31)
    assert retention.months_before(end_of_march, 0) == end_of_march


def test_nothing_is_due_the_day_before(world, recent, open_case):
    before = snapshot()
    result = run(after(months=12, days=-1), world.capture)
    assert snapshot() == before
    assert "details of 0 person(s) deleted" in result.out
    assert DataKey.objects.get(pk=world.applicant_id).wrapped is not None


def test_details_go_a_year_after_closure_and_the_skeleton_stays(world, recent, open_case):
    before = ciphertexts(world.applicant_id)
    files = stored_files(world.applicant_id)
    assert before and len(files) == 3
    attempts = list(
        VisaApplication.objects.filter(case=world.case).values_list("route_id", "created_at")
    )
    history = CaseStatusChange.objects.filter(case=world.case).count()

    result = run(after(months=12, days=1), world.capture)

    assert "details of 1 person(s) deleted (1 case(s), 3 file(s))" in result.out
    person = Applicant.objects.get(pk=world.applicant_id)
    assert person.is_erased and person.erasure_cause == ErasureCause.RETENTION
    # Crypto-shredded: no key, no ciphertext, no file.
    assert ciphertexts(world.applicant_id) == []
    with pytest.raises(datakeys.SubjectErased):
        datakeys.cipher_for(world.applicant_id)
    assert not any((storage_root() / name).exists() for name in files)
    # The skeleton: code, dates, status, route attempts, status history.
    skeleton = Case.objects.get(pk=world.case.pk)
    assert (skeleton.code, skeleton.status, skeleton.closed_at) == (
        world.case.code,
        "closed",
        CLOSED,
    )
    assert skeleton.opened_at == world.case.opened_at
    assert (
        list(VisaApplication.objects.filter(case=world.case).values_list("route_id", "created_at"))
        == attempts
    )
    assert CaseStatusChange.objects.filter(case=world.case).count() == history
    # The issued letter keeps its place in the public registry; the draft is gone for good.
    assert Letter.objects.get(pk=world.letter.pk).status == Letter.Status.ISSUED
    assert Letter.objects.get(pk=world.draft.pk).status == Letter.Status.REVOKED
    assert Letter.objects.get(pk=world.letter.pk).passport_digest == ""
    # The others are untouched.
    for case in (recent, open_case):
        assert not Applicant.objects.get(pk=case.applicant_id).is_erased
        assert DataKey.objects.get(pk=case.applicant_id).wrapped is not None
    entry = AuditEvent.objects.filter(action=Action.ERASURE).get()
    assert entry.actor_id is None and entry.details["cause"] == "retention"
    assert not any(canary in str(entry.details) for canary in CANARIES)


def test_a_second_run_changes_nothing(world, recent, open_case):
    run(after(months=12, days=1), world.capture)
    before = snapshot()
    result = run(after(months=12, days=2), world.capture)
    assert snapshot() == before
    assert "details of 0 person(s) deleted" in result.out


def test_a_person_with_one_case_still_open_keeps_everything(world, caseworker):
    services.case_create(actor=caseworker, applicant_fields={"legal_name_latin": "SIBLING"})
    second = Case.objects.exclude(pk=world.case.pk).get()
    Case.objects.filter(pk=second.pk).update(applicant_id=world.applicant_id)
    run(after(years=3), world.capture)
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased


def test_a_case_reopened_after_the_plan_is_skipped(world, coordinator, monkeypatch):
    real = retention.plan

    def plan_then_reopen(now):
        planned = real(now)
        Case.objects.filter(pk=world.case.pk).update(status="screening", closed_at=None)
        return planned

    monkeypatch.setattr(retention, "plan", plan_then_reopen)
    result = run(after(months=13), world.capture)
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased
    assert "details of 0 person(s) deleted" in result.out


def test_dry_run_says_what_is_due_and_changes_nothing(world, recent, open_case):
    before = snapshot()
    result = run(after(months=12, days=1), world.capture, dry_run=True)
    assert snapshot() == before
    assert "Dry run: details of 1 person(s) (1 case(s)) would be deleted" in result.out
    assert "Nothing was changed." in result.out


def test_an_interrupted_run_keeps_what_it_did_and_the_next_finishes(
    world, coordinator, caseworker, monkeypatch
):
    second = services.case_create(actor=caseworker, applicant_fields={"legal_name_latin": "TWO"})
    close(second, CLOSED + datetime.timedelta(hours=1))
    real = retention.applicant_erase
    calls = []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["applicant_id"])
        if len(calls) == 2:
            raise DatabaseError("disk I/O error")
        return real(**kwargs)

    monkeypatch.setattr(retention, "applicant_erase", dies_on_the_second)
    with pytest.raises(CommandError) as stopped:
        run(after(months=13), world.capture)
    assert str(stopped.value) == (
        "retention stopped (DatabaseError); what was done is kept, run it again to finish."
    )
    assert Applicant.objects.get(pk=world.applicant_id).is_erased
    assert not Applicant.objects.get(pk=second.applicant_id).is_erased
    assert DataKey.objects.get(pk=second.applicant_id).wrapped is not None

    monkeypatch.setattr(retention, "applicant_erase", real)
    result = run(after(months=13), world.capture)
    assert "details of 1 person(s) deleted" in result.out
    assert Applicant.objects.get(pk=second.applicant_id).is_erased


def test_the_skeleton_goes_five_years_after_closure(world, recent):
    run(after(months=12, days=1), world.capture)
    run(after(years=5, days=-1), world.capture)
    assert Case.objects.filter(pk=world.case.pk).exists()

    result = run(after(years=5, days=1), world.capture)

    assert "1 skeleton(s) removed (1 case(s))" in result.out
    assert not Case.objects.filter(pk=world.case.pk).exists()
    assert not Applicant.objects.filter(pk=world.applicant_id).exists()
    assert not Letter.objects.filter(applicant_id=world.applicant_id).exists()
    assert not VisaApplication.objects.filter(case_id=world.case.pk).exists()
    entry = AuditEvent.objects.filter(action=Action.SKELETON_DELETED).get()
    assert entry.target_id == str(world.applicant_id)
    assert entry.details == {"cases": [str(world.case.pk)], "letters_deleted": 2}
    # The recent case's person was shredded on its own schedule and their skeleton stays.
    assert Case.objects.filter(pk=recent.pk).exists()
    assert Applicant.objects.get(pk=recent.applicant_id).is_erased
    # Earlier entries about the deleted case remain, and the chain still verifies.
    assert AuditEvent.objects.filter(case_id=world.case.pk).exists()
    call_command("verify_audit", stdout=io.StringIO())


def test_a_letter_still_relied_on_keeps_the_skeleton(world):
    VisaApplication.objects.filter(pk=world.attempt.pk).update(
        decision="issued", valid_until=after(years=4).date()
    )
    run(after(months=12, days=1), world.capture)
    run(after(years=5, days=1), world.capture)
    assert Case.objects.filter(pk=world.case.pk).exists()  # the visa ran out 1 year ago
    run(after(years=6, days=1), world.capture)
    assert not Case.objects.filter(pk=world.case.pk).exists()


def test_an_organisations_own_schedule_applies(world):
    organisation = world.case.organisation
    organisation.retention_details_months = 24
    organisation.save()
    run(after(months=13), world.capture)
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased
    run(after(months=24, days=1), world.capture)
    assert Applicant.objects.get(pk=world.applicant_id).is_erased


# --- the notice and the hold -----------------------------------------------------------------


def test_coordinators_and_org_admins_see_deletions_30_days_ahead(world, coordinator, org_admin):
    with time_machine.travel(after(months=12, days=-31), tick=False):
        page = login_verified(Client(), coordinator).get(reverse("home")).content.decode()
    assert 'id="retention-notice"' not in page

    with time_machine.travel(after(months=12, days=-29), tick=False):
        page = login_verified(Client(), coordinator).get(reverse("home")).content.decode()
        admin_page = login_verified(Client(), org_admin).get(reverse("home")).content.decode()
    notice = page.split('id="retention-notice"', 1)[1].split("</section>", 1)[0]
    assert world.case.code in notice and "2028-03-31" in notice
    assert reverse("case_retention", args=[world.case.pk]) in notice
    admin_notice = admin_page.split('id="retention-notice"', 1)[1].split("</section>", 1)[0]
    assert world.case.code in admin_notice and "2028-03-31" in admin_notice


def notice_by_the_orm(organisation, now):
    """What the notice names, by the definition: the cases of the people ``details_due``
    names at the end of the notice period, each with its person's day."""
    horizon = now + datetime.timedelta(days=retention.NOTICE_DAYS)
    people = {
        person.pk: retention.details_due_on(organisation, person.last_closed, person.held_until)
        for person in retention.details_due(organisation, horizon)
    }
    cases = Case.objects.filter(applicant_id__in=people).values_list("pk", "code", "applicant_id")
    found = [retention.Upcoming(pk, code, people[person]) for pk, code, person in cases]
    return sorted(found, key=lambda row: (row.due_on, row.code))


def test_the_notice_written_out_names_what_details_due_will(caseworker, outsider):
    """upcoming() is one statement written out (issue 15): held to details_due() for people
    whose cases close at different times, are held, open, erased, or of another
    organisation, on days before, in and after their notice periods."""

    def person(name, *closures, actor=caseworker, hold=None):
        cases = [
            services.case_create(actor=actor, applicant_fields={"legal_name_latin": name})
            for _ in closures
        ]
        for case, closed_at in zip(cases, closures, strict=True):
            Case.objects.filter(pk=case.pk).update(applicant_id=cases[0].applicant_id)
            if closed_at is not None:
                close(case, closed_at)
        if hold is not None:
            Case.objects.filter(pk=cases[-1].pk).update(retention_hold_until=hold)
        return cases

    later = CLOSED + datetime.timedelta(days=20)
    named_by_someone = {
        *person("ONE CLOSED", CLOSED),
        *person("TWO CLOSED", CLOSED, later),
        *person("CLOSED LATER", CLOSED + datetime.timedelta(days=200)),
        *person("HELD BRIEFLY", CLOSED, hold=after(months=12, days=10).date()),
        *person("HELD LONG", CLOSED, later, hold=after(months=15).date()),
    }
    never = {*person("ONE STILL OPEN", CLOSED, None), *person("ELSEWHERE", CLOSED, actor=outsider)}
    erased = person("ERASED", CLOSED)
    Applicant.objects.filter(pk=erased[0].applicant_id).update(erased_at=CLOSED)
    never |= set(erased)
    organisation = caseworker.organisation

    named = set()
    for moment in (
        after(months=12, days=-31),
        after(months=12, days=-30),  # the period ends the very moment ONE CLOSED is due
        after(months=12, days=-29),
        after(months=12, days=-20),  # HELD BRIEFLY's hold ends on the period's last day
        after(months=12, days=5),
        after(months=13),
        after(months=15, days=10),
        after(years=3),
    ):
        expected = notice_by_the_orm(organisation, moment)
        assert retention.upcoming(organisation, moment) == expected, moment
        named |= {row.code for row in expected}
    assert named == {case.code for case in named_by_someone}  # on one of those days
    assert not named & {case.code for case in never}


def test_a_caseworker_sees_no_notice(world, caseworker):
    with time_machine.travel(after(months=12, days=-10), tick=False):
        page = login_verified(Client(), caseworker).get(reverse("home")).content.decode()
    assert 'id="retention-notice"' not in page


def hold(client, case, **data):
    values = {"until": after(months=18).date().isoformat(), "reason": "appeal", "note": HOLD_NOTE}
    return client.post(reverse("case_retention", args=[case.pk]), values | data)


def test_a_coordinator_keeps_one_case_longer_for_an_audited_reason(world, coordinator):
    with time_machine.travel(after(months=12, days=-10), tick=False):
        response = hold(login_verified(Client(), coordinator), world.case)
    assert response.status_code == 302
    case = Case.objects.get(pk=world.case.pk)
    assert case.retention_hold_until == after(months=18).date()
    assert case.retention_hold_reason == HoldReason.APPEAL
    assert case.retention_hold_note == HOLD_NOTE  # encrypted under the person's key
    entry = AuditEvent.objects.filter(action=Action.RETENTION_HELD).get()
    assert entry.details == {"until": after(months=18).date().isoformat(), "hold_reason": "appeal"}
    assert HOLD_NOTE not in str(entry.details)

    run(after(months=12, days=1), world.capture)
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased
    with time_machine.travel(after(months=18, days=-20), tick=False):
        page = login_verified(Client(), coordinator).get(reverse("home")).content.decode()
    assert "2028-10-01" in page.split('id="retention-notice"', 1)[1]  # the day after the hold
    run(after(months=18, days=1), world.capture)
    assert Applicant.objects.get(pk=world.applicant_id).is_erased


def test_a_hold_needs_a_reason_a_future_date_and_at_most_a_year(world, coordinator):
    with time_machine.travel(after(months=12, days=-10), tick=False):
        client = login_verified(Client(), coordinator)
        no_reason = hold(client, world.case, reason="")
        past = hold(client, world.case, until="2027-01-01")
        too_far = hold(client, world.case, until=after(months=26).date().isoformat())
    for response in (no_reason, past, too_far):
        assert response.status_code == 400
        assert HOLD_NOTE in response.content.decode()  # the input is kept
    assert "Choose why the details are kept." in no_reason.content.decode()
    assert "Choose a date after today." in past.content.decode()
    assert "at most a year from today" in too_far.content.decode()
    assert not AuditEvent.objects.filter(action=Action.RETENTION_HELD).exists()
    assert Case.objects.get(pk=world.case.pk).retention_hold_until is None


def test_only_a_coordinator_of_the_case_may_hold_it(world, caseworker, outsider):
    for user in (caseworker, outsider):
        with time_machine.travel(after(months=12, days=-10), tick=False):
            assert hold(login_verified(Client(), user), world.case).status_code == 404
    assert Case.objects.get(pk=world.case.pk).retention_hold_until is None


def test_an_open_case_cannot_be_held(world, open_case, coordinator):
    with time_machine.travel(after(months=12, days=-10), tick=False):
        response = hold(login_verified(Client(), coordinator), open_case)
    assert response.status_code == 400
    assert "Only a closed case" in response.content.decode()


def test_the_erased_page_says_the_schedule_deleted_the_details(world, coordinator):
    run(after(months=12, days=1), world.capture)
    with time_machine.travel(after(months=12, days=2), tick=False):
        client = login_verified(Client(), coordinator)
        response = client.get(reverse("case_detail", args=[world.case.pk]))
    assert response.status_code == 410
    page = response.content.decode()
    assert "deleted on 2028-04-01 under the organisation's retention schedule" in page


# --- the schedule, set by the org admin ------------------------------------------------------


def test_the_org_admin_sets_the_schedule_and_it_is_audited(org_admin):
    client = login_verified(Client(), org_admin)
    url = reverse("admin_retention")
    assert "12" in client.get(url).content.decode()
    response = client.post(url, {"details_months": "18", "skeleton_years": "4"})
    assert response.status_code == 302
    organisation = type(org_admin.organisation).objects.get(pk=org_admin.organisation_id)
    assert (organisation.retention_details_months, organisation.retention_skeleton_years) == (
        18,
        4,
    )
    entry = AuditEvent.objects.filter(action=Action.RETENTION_CHANGED).get()
    assert entry.details == {"details_months": 18, "skeleton_years": 4}


def test_the_skeleton_cannot_go_before_the_details(org_admin):
    client = login_verified(Client(), org_admin)
    response = client.post(
        reverse("admin_retention"), {"details_months": "36", "skeleton_years": "2"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The skeleton must be kept longer than the details" in page
    assert 'value="36"' in page
    assert not AuditEvent.objects.filter(action=Action.RETENTION_CHANGED).exists()


def test_only_the_org_admin_sets_the_schedule(coordinator):
    client = login_verified(Client(), coordinator)
    assert client.get(reverse("admin_retention")).status_code in (403, 404)


def test_a_run_with_nothing_to_do_says_so(organisation):
    make_user(organisation=organisation)
    assert "details of 0 person(s) deleted" in run(timezone.now()).out
