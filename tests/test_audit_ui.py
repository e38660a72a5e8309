"""The auditors' pages, attacked: who may see them, what they show (ids, never content),
filters, the integrity banner, verification, the CSV export and the access alerts."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.accounts.roles import Role
from casework.audit import alerts
from casework.audit import urls as audit_urls
from casework.audit.models import Action, AuditEvent, Verification
from casework.audit.services import record
from casework.audit.views import csv_cell
from tests.conftest import login_verified, make_user
from tests.factories import make_case

pytestmark = pytest.mark.django_db

LOG = "/audit/"

# Every audit URL, read from the URLconf: a new one is covered without anyone remembering.
SAMPLE = {"case_id": uuid.uuid4()}
AUDIT_ROUTES = sorted(
    (pattern.name, tuple(pattern.pattern.converters))
    for pattern in audit_urls.urlpatterns
    if pattern.name
)
ROUTE_IDS = [name for name, _ in AUDIT_ROUTES]
GET_PAGES = ["audit_log", "audit_case"]


def url_of(name, kwargs=()):
    return reverse(name, kwargs={key: SAMPLE[key] for key in kwargs})


class FakeTarget:
    """Anything with a model label and a primary key can be a target of an entry."""

    class _meta:  # mimics a model's _meta
        label_lower = "cases.document"

    def __init__(self, pk):
        self.pk = pk


def entries_shown(response):
    """Sequence numbers in the main entries table of the log page."""
    html = response.content.decode()
    if 'id="entries"' not in html:
        return set()
    table = html.split('id="entries"', 1)[1].split("</table>", 1)[0]
    return {int(seq) for seq in re.findall(r'<th scope="row">(\d+)</th>', table)}


def alerts_section(response):
    html = response.content.decode()
    return html.split('id="alerts-heading"', 1)[1].split('id="filter-heading"', 1)[0]


def views_of(user, count, *, case_ids=None):
    case_ids = case_ids or [uuid.uuid4() for _ in range(count)]
    for index in range(count):
        record(Action.CASE_VIEWED, actor=user, case_id=case_ids[index % len(case_ids)])


def exported_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# --- who may see the pages ---------------------------------------------------------------------


def test_the_audit_urls_are_all_found():
    assert set(ROUTE_IDS) == {"audit_log", "audit_case", "audit_verify", "audit_export"}


@pytest.mark.parametrize(("name", "kwargs"), AUDIT_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_sign_in(client, name, kwargs, method):
    response = getattr(client, method)(url_of(name, kwargs))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), AUDIT_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_password_only_auditor_is_sent_to_the_second_step(client, auditor, name, kwargs, method):
    client.force_login(auditor)
    response = getattr(client, method)(url_of(name, kwargs))
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("login_verify")


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "org_admin", "outsider"])
@pytest.mark.parametrize(("name", "kwargs"), AUDIT_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_other_role_gets_a_plain_404_on_every_audit_url(
    client, request, persona, name, kwargs, method
):
    login_verified(client, request.getfixturevalue(persona))
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = getattr(client, method)(url_of(name, kwargs))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert Verification.objects.count() == 0
    # Nothing viewed, exported or verified; the refusal itself may be recorded (R28).
    after = AuditEvent.objects.filter(seq__gt=before)
    assert set(after.values_list("decision", flat=True)) <= {"deny"}
    assert not after.filter(
        action__in=[Action.AUDIT_VIEWED, Action.AUDIT_EXPORTED, Action.AUDIT_VERIFIED]
    ).exists()


def test_an_auditor_with_another_role_too_gets_in(client, organisation):
    from django.contrib.auth.models import Group

    both = make_user(organisation=organisation, role=Role.CASEWORKER)
    both.groups.add(Group.objects.get(name=Role.AUDITOR.value))
    login_verified(client, both)
    assert client.get(LOG).status_code == 200


@pytest.mark.parametrize("name", GET_PAGES)
def test_an_auditor_reaches_the_audit_pages(client, auditor, name):
    login_verified(client, auditor)
    kwargs = dict(AUDIT_ROUTES)[name]
    response = client.get(url_of(name, kwargs))
    assert response.status_code == 200
    assert "<script" not in response.content.decode()
    assert "style=" not in response.content.decode()


@pytest.mark.parametrize("name", ["audit_verify", "audit_export"])
def test_the_acting_urls_refuse_get_even_for_an_auditor(client, auditor, name):
    login_verified(client, auditor)
    assert client.get(reverse(name)).status_code == 405
    assert Verification.objects.count() == 0


# --- one organisation only ----------------------------------------------------------------------


def test_an_auditor_never_sees_events_of_another_organisation(
    client, auditor, caseworker, outsider
):
    theirs = uuid.uuid4()
    ours = uuid.uuid4()
    foreign = [
        record(Action.CASE_VIEWED, actor=outsider, case_id=theirs),
        record(Action.OTP_FAILED, actor=outsider, decision="deny"),
    ]
    views_of(outsider, 35)  # enough for an alert, in the other organisation
    own = record(Action.CASE_VIEWED, actor=caseworker, case_id=ours)
    login_verified(client, auditor)
    log = client.get(LOG)
    html = log.content.decode()
    assert own.seq in entries_shown(log)
    assert not {event.seq for event in foreign} & entries_shown(log)
    assert "oscar" not in html
    assert str(theirs) not in html
    assert str(outsider.pk) not in html
    case_page = client.get(reverse("audit_case", args=[theirs]))
    assert case_page.status_code == 200
    assert "oscar" not in case_page.content.decode()
    assert "No entry of your organisation names this case." in case_page.content.decode()


def test_filtering_by_a_user_of_another_organisation_shows_nothing(client, auditor, outsider):
    record(Action.CASE_VIEWED, actor=outsider, case_id=uuid.uuid4())
    login_verified(client, auditor)
    response = client.get(LOG, {"actor": str(outsider.pk)})
    assert response.status_code == 200
    assert entries_shown(response) == set()
    assert "oscar" not in response.content.decode()
    assert response.context["form"].errors["actor"]


def test_the_actor_choices_are_the_users_of_the_auditors_organisation(
    client, auditor, caseworker, outsider
):
    login_verified(client, auditor)
    choices = dict(client.get(LOG).context["form"].fields["actor"].choices)
    assert str(caseworker.pk) in choices and str(auditor.pk) in choices
    assert str(outsider.pk) not in choices


# --- filters ----------------------------------------------------------------------------------


def test_filtering_by_actor_shows_only_their_entries(client, auditor, caseworker, coordinator):
    hers = record(Action.CASE_VIEWED, actor=caseworker, case_id=uuid.uuid4())
    other = record(Action.CASE_VIEWED, actor=coordinator, case_id=uuid.uuid4())
    login_verified(client, auditor)
    shown = entries_shown(client.get(LOG, {"actor": str(caseworker.pk)}))
    assert hers.seq in shown and other.seq not in shown


def test_filtering_by_action_shows_only_that_action(client, auditor, caseworker):
    viewed = record(Action.CASE_VIEWED, actor=caseworker, case_id=uuid.uuid4())
    login = record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    shown = entries_shown(client.get(LOG, {"action": Action.CASE_VIEWED.value}))
    assert viewed.seq in shown and login.seq not in shown


def test_filtering_by_case_shows_only_that_case(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    wanted = record(Action.CASE_UPDATED, actor=caseworker, case_id=case.pk)
    unwanted = record(Action.CASE_UPDATED, actor=caseworker, case_id=uuid.uuid4())
    login_verified(client, auditor)
    shown = entries_shown(client.get(LOG, {"case": case.code}))
    created = AuditEvent.objects.get(action=Action.CASE_CREATED, case_id=case.pk)
    assert shown == {created.seq, wanted.seq}
    assert unwanted.seq not in shown


def test_an_unknown_case_code_keeps_the_input_and_says_why(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.get(LOG, {"case": "not-a-case"})
    assert response.status_code == 200
    assert response.context["form"].errors["case"]
    assert 'value="not-a-case"' in response.content.decode()
    assert entries_shown(response) == set()


def test_a_case_id_is_not_a_case_code(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    login_verified(client, auditor)
    response = client.get(LOG, {"case": str(case.pk)})
    assert response.context["form"].errors["case"]
    assert entries_shown(response) == set()


def test_a_date_range_includes_both_ends_in_utc(client, auditor, caseworker):
    seqs = {}
    for day in (9, 10, 20, 21):
        with time_machine.travel(datetime(2025, 1, day, 12, tzinfo=UTC), tick=False):
            seqs[day] = record(Action.LOGIN, actor=caseworker).seq
    with time_machine.travel(datetime(2025, 1, 20, 23, 59, 59, tzinfo=UTC), tick=False):
        seqs["late"] = record(Action.LOGIN, actor=caseworker).seq
    login_verified(client, auditor)
    shown = entries_shown(client.get(LOG, {"date_from": "2025-01-10", "date_to": "2025-01-20"}))
    assert shown == {seqs[10], seqs[20], seqs["late"]}


def test_a_start_after_the_end_re_renders_with_the_input_and_an_error(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.get(LOG, {"date_from": "2025-03-10", "date_to": "2025-03-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["form"].errors["date_to"] == ["The end date is before the start date."]
    assert 'value="2025-03-10"' in html and 'value="2025-03-01"' in html
    assert entries_shown(response) == set()


def test_pages_keep_the_filters(client, auditor, caseworker):
    for _ in range(55):
        record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    first = client.get(LOG, {"action": "login"})
    assert len(entries_shown(first)) == 50
    assert "?action=login&amp;page=2" in first.content.decode()
    second = client.get(LOG, {"action": "login", "page": 2})
    assert len(entries_shown(second)) == 5
    assert not entries_shown(first) & entries_shown(second)
    assert max(entries_shown(second)) < min(entries_shown(first))  # newest first


# --- looking is recorded ------------------------------------------------------------------------


def test_each_view_of_the_log_records_exactly_one_entry(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    client.get(LOG, {"action": "login"})
    viewed = AuditEvent.objects.filter(action=Action.AUDIT_VIEWED)
    assert viewed.count() == 1
    entry = viewed.get()
    assert entry.actor_id == auditor.pk
    assert entry.organisation_id == auditor.organisation_id
    assert entry.details == {"filters": {"action": "login"}, "count": 2}
    client.get(LOG)
    assert viewed.count() == 2


def test_viewing_who_accessed_a_case_is_recorded_without_marking_the_case(
    client, auditor, caseworker
):
    case = uuid.uuid4()
    record(Action.CASE_VIEWED, actor=caseworker, case_id=case)
    login_verified(client, auditor)
    client.get(reverse("audit_case", args=[case]))
    entry = AuditEvent.objects.get(action=Action.AUDIT_VIEWED)
    assert entry.details == {"filters": {"case": str(case)}, "count": 1}
    assert AuditEvent.objects.filter(case_id=case).count() == 1


def test_the_log_costs_the_same_queries_for_5_or_50_events(
    client, auditor, organisation, settings, django_assert_max_num_queries
):

    def add(count):
        for _ in range(count):
            user = make_user(organisation=organisation, role=Role.CASEWORKER)
            record(Action.CASE_VIEWED, actor=user, case_id=uuid.uuid4())
            record(Action.OTP_FAILED, actor=user, decision="deny")
            record(Action.ALERT, actor=user, decision="deny")

    add(5)
    login_verified(client, auditor)
    client.get(LOG)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        client.get(LOG)
    add(45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LOG)
    assert len(entries_shown(response)) == 50


def test_the_case_page_costs_the_same_queries_for_5_or_50_events(
    client, auditor, organisation, settings, django_assert_max_num_queries
):
    case = uuid.uuid4()

    def add(count):
        for _ in range(count):
            user = make_user(organisation=organisation, role=Role.CASEWORKER)
            record(Action.CASE_VIEWED, actor=user, case_id=case)

    add(5)
    login_verified(client, auditor)
    client.get(reverse("audit_case", args=[case]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audit_case", args=[case]))
    add(45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("audit_case", args=[case]))


def test_the_case_page_groups_the_accesses_by_user(client, auditor, caseworker, coordinator):
    case = uuid.uuid4()
    views_of(caseworker, 3, case_ids=[case])
    record(Action.CASE_UPDATED, actor=caseworker, case_id=case)
    record(Action.CASE_VIEWED, actor=coordinator, case_id=case)
    login_verified(client, auditor)
    response = client.get(reverse("audit_case", args=[case]))
    groups = {group["actor"]: group["actions"] for group in response.context["groups"]}
    assert {row["action"]: row["times"] for row in groups["alice"]} == {
        "case_viewed": 3,
        "case_updated": 1,
    }
    assert [row["times"] for row in groups["carol"]] == [1]
    html = response.content.decode()
    assert '<th scope="rowgroup" rowspan="2">alice</th>' in html


# --- integrity banner and verification ----------------------------------------------------------


def test_the_banner_turns_red_with_the_first_bad_position(client, auditor):
    Verification.objects.create(ok=True, checked=3)
    Verification.objects.create(ok=False, checked=9, first_bad=7, damage="altered")
    login_verified(client, auditor)
    for url in (LOG, reverse("audit_case", args=[uuid.uuid4()])):
        html = client.get(url).content.decode()
        assert "integrity-bad" in html
        assert re.search(r'<p role="alert"><strong>DAMAGED: altered at sequence number 7\.', html)
        assert "integrity-ok" not in html


def test_the_banner_says_intact_with_the_count_and_time(client, auditor):
    Verification.objects.create(ok=True, checked=1234)
    login_verified(client, auditor)
    html = client.get(LOG).content.decode()
    assert "integrity-ok" in html and "Intact: 1234 entries, verified at" in html
    assert "integrity-bad" not in html


def test_the_banner_warns_when_the_daily_verification_has_not_run(client, auditor):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        Verification.objects.create(ok=True, checked=10)
    with time_machine.travel(start + timedelta(hours=24), tick=False):
        login_verified(client, auditor)
        assert "daily verification may have stopped" not in client.get(LOG).content.decode()
    with time_machine.travel(start + timedelta(hours=26), tick=False):
        html = login_verified(Client(), auditor).get(LOG).content.decode()
    assert "the scheduled daily verification may have stopped" in html


def test_the_banner_says_when_the_log_was_never_verified(client, auditor):
    login_verified(client, auditor)
    html = client.get(LOG).content.decode()
    assert "The audit log has never been verified." in html
    assert "integrity-ok" not in html and "integrity-bad" not in html


def test_verifying_with_a_fresh_second_factor_records_a_verification(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.post(reverse("audit_verify"), {"next": f"{LOG}?action=login"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOG}?action=login"
    outcome = Verification.objects.get()
    assert outcome.ok and outcome.checked >= 1
    assert AuditEvent.objects.filter(action=Action.AUDIT_VERIFIED).count() == 1
    assert "integrity-ok" in client.get(LOG).content.decode()


def test_verifying_refuses_to_redirect_off_site(client, auditor):
    login_verified(client, auditor)
    response = client.post(reverse("audit_verify"), {"next": "https://evil.example/"})
    assert response.headers["Location"] == LOG


def test_verifying_with_a_stale_second_factor_asks_for_it_again(client, auditor):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login_verified(client, auditor)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = client.post(reverse("audit_verify"), {"next": LOG})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("reauth"))
    assert Verification.objects.count() == 0


def test_a_tampered_entry_turns_the_banner_red_after_verifying(client, auditor, caseworker):
    events = [record(Action.LOGIN, actor=caseworker) for _ in range(4)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_auditevent SET decision = 'deny' WHERE seq = %s", [events[2].seq]
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    login_verified(client, auditor)
    response = client.post(reverse("audit_verify"), {"next": LOG}, follow=True)
    html = response.content.decode()
    assert "integrity-bad" in html
    assert f"DAMAGED: altered at sequence number {events[2].seq}." in html
    assert "The audit log is damaged." in html
    assert "Latest raised alerts" in alerts_section(response)


# --- CSV export -------------------------------------------------------------------------------


def test_the_export_is_a_csv_attachment_of_the_own_organisation_only(
    client, auditor, caseworker, outsider, organisation
):
    own = [record(Action.LOGIN, actor=caseworker), record(Action.LOGOUT, actor=caseworker)]
    record(Action.LOGIN, actor=outsider)
    login_verified(client, auditor)
    response = client.post(reverse("audit_export"), {"next": LOG})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv"
    today = timezone.now().strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="audit-{organisation.pk.hex[:8]}-{today}.csv"'
    )
    assert re.fullmatch(
        r'attachment; filename="audit-[0-9a-f]{8}-\d{8}\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = exported_rows(response)
    assert [int(row["seq"]) for row in rows] == [event.seq for event in own]
    assert {row["actor"] for row in rows} == {"alice"}
    assert "oscar" not in str(rows)
    assert list(rows[0]) == [
        "seq",
        "at",
        "actor",
        "action",
        "decision",
        "target_type",
        "target_id",
        "case_id",
        "case_code",
        "client",
        "hash",
    ]
    assert rows[0]["hash"] == own[0].hash


def test_the_export_applies_the_filters(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    logout = record(Action.LOGOUT, actor=caseworker)
    login_verified(client, auditor)
    rows = exported_rows(client.post(reverse("audit_export"), {"action": "logout"}))
    assert [int(row["seq"]) for row in rows] == [logout.seq]


def test_the_export_escapes_cells_a_spreadsheet_would_run(client, auditor, organisation):
    plus = make_user(organisation=organisation, role=Role.CASEWORKER, username="+lead")
    record(Action.DOCUMENT_DOWNLOADED, actor=plus, target=FakeTarget("=1+1"))
    record(Action.DOCUMENT_DOWNLOADED, actor=plus, target=FakeTarget("@SUM(A1)"))
    login_verified(client, auditor)
    rows = exported_rows(client.post(reverse("audit_export"), {"actor": str(plus.pk)}))
    assert [row["target_id"] for row in rows] == ["'=1+1", "'@SUM(A1)"]
    assert {row["actor"] for row in rows} == {"'+lead"}


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("a=b", "a=b"), (12, "12")],
)
def test_formula_cells_get_a_leading_apostrophe(value, cell):
    assert csv_cell(value) == cell


def test_the_export_is_recorded_once_with_its_filters_and_count(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.post(reverse("audit_export"), {"action": "login"})
    assert len(exported_rows(response)) == 2
    exported = AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED)
    assert exported.count() == 1
    entry = exported.get()
    assert entry.actor_id == auditor.pk
    assert entry.details == {"filters": {"action": "login"}, "count": 2}


def test_the_export_needs_a_fresh_second_factor(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login_verified(client, auditor)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = client.post(reverse("audit_export"), {"next": LOG})
    assert response.headers["Location"].startswith(reverse("reauth"))
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


def test_an_export_with_bad_filters_exports_nothing(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.post(reverse("audit_export"), {"case": "=cmd"})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


# --- alerts -----------------------------------------------------------------------------------


def test_31_distinct_cases_in_an_hour_raise_an_hourly_alert(client, auditor, caseworker):
    views_of(caseworker, 31)
    assert alerts.hourly_alerts(caseworker.organisation_id) == [(caseworker.pk, 31)]
    login_verified(client, auditor)
    section = alerts_section(client.get(LOG))
    assert "Users who viewed more than 30 different cases in the last 60 minutes" in section
    assert '<th scope="row">alice</th><td>31</td>' in section


def test_30_distinct_cases_in_an_hour_raise_nothing(client, auditor, caseworker):
    views_of(caseworker, 30)
    assert alerts.hourly_alerts(caseworker.organisation_id) == []
    login_verified(client, auditor)
    assert "alice" not in alerts_section(client.get(LOG))


def test_the_same_case_viewed_often_is_not_bulk_access(caseworker):
    views_of(caseworker, 60, case_ids=[uuid.uuid4()])
    assert alerts.hourly_alerts(caseworker.organisation_id) == []
    assert alerts.bulk_access(caseworker.organisation_id) == []


def test_views_older_than_an_hour_do_not_count_for_the_hourly_alert(caseworker):
    now = timezone.now()
    with time_machine.travel(now - timedelta(minutes=61), tick=False):
        views_of(caseworker, 20)
    with time_machine.travel(now - timedelta(minutes=59), tick=False):
        views_of(caseworker, 20)
    assert alerts.hourly_alerts(caseworker.organisation_id, now=now) == []
    assert alerts.bulk_access(caseworker.organisation_id, now=now) == []


def test_51_distinct_cases_in_a_day_are_bulk_access(client, auditor, caseworker, coordinator):
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        views_of(caseworker, 51)
        views_of(coordinator, 50)
    organisation_id = caseworker.organisation_id
    assert alerts.bulk_access(organisation_id, now=now) == [(caseworker.pk, 51)]
    assert alerts.hourly_alerts(organisation_id, now=now) == []
    login_verified(client, auditor)
    section = alerts_section(client.get(LOG))
    assert '<th scope="row">alice</th><td>51</td>' in section
    assert "carol" not in section


def test_three_times_the_usual_day_is_bulk_access(caseworker, coordinator):
    now = datetime(2025, 6, 30, 15, tzinfo=UTC)
    for days_back in range(2, 32):  # the 30 whole days before the last 24 hours
        with time_machine.travel(now - timedelta(days=days_back), tick=False):
            views_of(caseworker, 4)
            views_of(coordinator, 4)
    with time_machine.travel(now - timedelta(hours=2), tick=False):
        views_of(caseworker, 13)  # more than 3 x 4
        views_of(coordinator, 12)  # exactly 3 x 4
    assert alerts.bulk_access(caseworker.organisation_id, now=now) == [(caseworker.pk, 13)]


def test_a_usual_day_of_zero_sets_no_relative_limit(caseworker):
    now = datetime(2025, 6, 30, 15, tzinfo=UTC)
    for days_back in range(2, 12):  # ten busy days out of thirty: the median day is zero
        with time_machine.travel(now - timedelta(days=days_back), tick=False):
            views_of(caseworker, 4)
    with time_machine.travel(now - timedelta(hours=2), tick=False):
        views_of(caseworker, 40)
    assert alerts.bulk_access(caseworker.organisation_id, now=now) == []


def test_a_denied_access_shows_in_the_alerts(client, auditor, caseworker, outsider):
    record(Action.OTP_FAILED, actor=caseworker, decision="deny")
    record(Action.OTP_FAILED, actor=outsider, decision="deny")
    login_verified(client, auditor)
    section = alerts_section(client.get(LOG))
    assert "1 denied access." in section
    assert "second factor failed" in section and "alice" in section
    assert "oscar" not in section


def test_denied_accesses_older_than_a_day_are_not_listed(client, auditor, caseworker):
    with time_machine.travel(timezone.now() - timedelta(hours=25), tick=False):
        record(Action.OTP_FAILED, actor=caseworker, decision="deny")
    login_verified(client, auditor)
    assert "No access was denied in the last 24 hours." in alerts_section(client.get(LOG))


def test_raised_alerts_are_listed(client, auditor):
    record(Action.ALERT, decision="deny", damage="altered", first_bad=3)
    login_verified(client, auditor)
    section = alerts_section(client.get(LOG))
    assert "Latest raised alerts" in section
    assert "No alert has been raised." not in section


# --- never case content -----------------------------------------------------------------------


def test_the_audit_pages_and_export_carry_no_case_content(
    client, auditor, caseworker, organisation
):
    case = make_case(caseworker=caseworker, legal_name_latin="CANARYxyz")
    applicant = case.applicant
    record(Action.CASE_VIEWED, actor=caseworker, target=applicant, case_id=case.pk)
    record(Action.FIELD_REVEALED, actor=caseworker, target=case, case_id=case.pk, field="x.y")
    login_verified(client, auditor)
    pages = [
        client.get(LOG).content,
        client.get(LOG, {"action": "case_viewed"}).content,
        client.get(reverse("audit_case", args=[case.pk])).content,
        b"".join(client.post(reverse("audit_export")).streaming_content),
    ]
    assert case.code.encode() in pages[0]  # the entries are there, by the case's code
    for page in pages:
        assert b"CANARYxyz" not in page
        assert b"IVAN PETROV" not in page


def test_a_date_at_the_end_of_the_calendar_is_refused_not_a_server_error(client, auditor):
    """/audit/?date_to=9999-12-31 added a day past the last date Python knows: a 500."""
    login_verified(client, auditor)
    response = client.get(LOG, {"date_to": "9999-12-31", "date_from": "9999-12-31"})
    assert response.status_code == 200
    assert "9999" in response.content.decode()
