"""The case list as a triage tool (issue 11): words for statuses, assignees, the next deadline,
last activity, overdue rows said in words, sorting and filtering by the database, a page
that costs the same however many cases there are, and a table that scrolls on a phone."""

from __future__ import annotations

import dataclasses
import importlib
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases import list_views, services
from casework.cases.list_views import SORTS
from casework.cases.models import STAGES, Case, Route, StageCount
from casework.cases.uploads import sniff
from casework.cases.workflow import CaseFacts, Status
from casework.letters import services as letters
from casework.letters.services import letter_request
from tests.canaries import CANARIES
from tests.conftest import login_verified, make_user
from tests.test_cases import PDF

pytestmark = pytest.mark.django_db
CODE = re.compile(r"SP-\d\d-[A-Z0-9]{4}")


def open_case(actor, **kwargs):
    kwargs.setdefault("applicant_fields", {"legal_name_latin": CANARIES[0]})
    return services.case_create(actor=actor, **kwargs)


def due(case, days, *, actor, done=False):
    deadline = services.deadline_add(
        actor=actor, case=case, kind="check_in", due_on=timezone.localdate() + timedelta(days)
    )
    if done:
        services.deadline_done(actor=actor, case=case, deadline=deadline)
    return deadline


def listing(client, **params):
    response = client.get(reverse("case_list"), params)
    assert response.status_code == 200
    return response.content.decode()


def body(html):
    return html.split("<tbody>")[1].split("</tbody>")[0]


def rows(html):
    """{case code: the row's HTML}, in the order the table shows them."""
    found = re.findall(r"<tr[^>]*>.*?</tr>", body(html), re.S)
    return {CODE.search(row).group(): row for row in found if CODE.search(row)}


def order(html):
    return list(rows(html))


def header(html, column):
    """The <th> of a sortable column, found by its link's sort parameter."""
    for th in re.findall(r"<th [^>]*>.*?</th>", html, re.S):
        if re.search(rf'href="\?[^"]*sort=-?{column}(&amp;|")', th):
            return th
    raise AssertionError(f"no header for {column}")


def href(th):
    return re.search(r'href="([^"]*)"', th).group(1).replace("&amp;", "&")


@pytest.fixture
def bob(organisation):
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="bob")


# --- human words ----------------------------------------------------------------------------


def test_the_list_shows_status_labels_and_never_a_raw_status_code(client, coordinator):
    case = open_case(coordinator)
    Case.objects.filter(pk=case.pk).update(status=Status.LETTER_REVIEW)
    html = listing(login_verified(client, coordinator))
    assert "Letter review" in rows(html)[case.code]
    assert "letter_review" not in body(html)


def test_every_status_reads_as_its_label(client, coordinator):
    cases = {status: open_case(coordinator) for status in Status}
    for status, case in cases.items():
        Case.objects.filter(pk=case.pk).update(status=status)
    html = listing(login_verified(client, coordinator), sort="status")
    for status, case in cases.items():
        assert f"<td>{status.label}</td>" in rows(html)[case.code]
        if "_" in status.value:
            assert status.value not in body(html)


def test_a_row_shows_its_assignees_next_deadline_and_last_activity(
    client, coordinator, caseworker, bob
):
    case = open_case(coordinator)
    services.case_assign(actor=coordinator, case=case, caseworkers=[bob, caseworker])
    due(case, 3, actor=coordinator, done=True)
    due(case, 9, actor=coordinator)
    due(case, 20, actor=coordinator)
    lonely = open_case(coordinator)
    html = listing(login_verified(client, coordinator))
    row = rows(html)[case.code]
    assert "alice, bob" in row
    assert (timezone.localdate() + timedelta(9)).isoformat() in row  # the earliest not done
    assert (timezone.localdate() + timedelta(3)).isoformat() not in row
    assert timezone.localdate().isoformat() in row  # last activity (and opened): today
    assert "<td>nobody</td>" in rows(html)[lonely.code]
    assert "<td>—</td>" in rows(html)[lonely.code]  # no deadline
    for label in ("Assigned to", "Next deadline", "Last activity", "Opened", "Flags"):
        assert f">{label}<" in html or f">{label} <" in html


# --- overdue --------------------------------------------------------------------------------


def test_overdue_rows_are_marked_in_words_not_by_colour_alone(client, coordinator):
    late = open_case(coordinator)
    due(late, -2, actor=coordinator)
    done_late = open_case(coordinator)
    due(done_late, -2, actor=coordinator, done=True)
    due(done_late, 5, actor=coordinator)
    closed = open_case(coordinator)
    due(closed, -2, actor=coordinator)
    Case.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    html = listing(login_verified(client, coordinator))
    shown = rows(html)
    assert 'class="overdue"' in shown[late.code] and "overdue</strong>" in shown[late.code]
    assert "overdue" not in shown[done_late.code]
    assert "overdue" not in shown[closed.code]  # nothing is overdue on a closed case


def test_the_overdue_filter_lists_open_cases_with_a_past_deadline(client, coordinator):
    late = open_case(coordinator)
    due(late, -1, actor=coordinator)
    today = open_case(coordinator)
    due(today, 0, actor=coordinator)  # due today is not overdue yet
    done = open_case(coordinator)
    due(done, -3, actor=coordinator, done=True)
    closed = open_case(coordinator)
    due(closed, -3, actor=coordinator)
    Case.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    html = listing(login_verified(client, coordinator), overdue="1")
    assert order(html) == [late.code]


def test_the_unassigned_filter_lists_open_cases_without_a_caseworker(
    client, coordinator, caseworker
):
    nobodys = open_case(coordinator)
    assigned = open_case(coordinator)
    services.case_assign(actor=coordinator, case=assigned, caseworkers=[caseworker])
    closed = open_case(coordinator)
    Case.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    html = listing(login_verified(client, coordinator), unassigned="1")
    assert order(html) == [nobodys.code]


def test_the_letter_draft_filter_lists_each_case_with_a_draft_once(client, coordinator):
    case = open_case(coordinator)
    other = open_case(coordinator)
    attempt = services.route_attempt_add(
        actor=coordinator,
        case=case,
        route=Route.objects.get(code="de-aufenthg-22-s1"),
        mission=None,
    )
    for _ in range(2):
        request(coordinator, case, attempt)
    login_verified(client, coordinator)
    for sort in ["", *SORTS, *(f"-{name}" for name in SORTS)]:
        html = listing(client, letter_draft="1", sort=sort)
        assert order(html) == [case.code] and other.code not in html
        assert body(html).count(f">{case.code}</a>") == 1  # one row, not one per draft


def test_mine_priority_and_flag_filters_each_narrow_to_their_cases(client, coordinator, caseworker):
    """Written for the indexes since issue 15 (the rank, a partial index per flag, the
    assignments' own table): each still means what its label says."""
    mine = open_case(coordinator, priority="urgent")
    services.case_assign(actor=coordinator, case=mine, caseworkers=[coordinator, caseworker])
    held = open_case(coordinator, priority="urgent")
    Case.objects.filter(pk=held.pk).update(on_hold=True)
    plain = open_case(coordinator, priority="info")
    login_verified(client, coordinator)
    for sort in ["", "-opened", "code"]:
        assert order(listing(client, mine="1", sort=sort)) == [mine.code]
        assert order(listing(client, flag="on_hold", sort=sort)) == [held.code]
        assert set(order(listing(client, priority="urgent", sort=sort))) == {mine.code, held.code}
        assert order(listing(client, priority="info", sort=sort)) == [plain.code]


# --- sorting --------------------------------------------------------------------------------


@pytest.fixture
def deadlines(coordinator):
    """Four urgent cases due in 5, 1 and 9 days and one with nothing due, plus a normal one
    due tomorrow that the priority filter leaves out."""
    cases = {}
    for name, days in (("five", 5), ("one", 1), ("nine", 9), ("none", None)):
        cases[name] = open_case(coordinator, priority="urgent")
        if days is not None:
            due(cases[name], days, actor=coordinator)
    cases["other"] = open_case(coordinator, priority="normal")
    due(cases["other"], 1, actor=coordinator)
    return cases


def test_sorting_by_next_deadline_orders_rows_both_ways_and_keeps_filters(
    client, coordinator, deadlines
):
    login_verified(client, coordinator)
    codes = {name: case.code for name, case in deadlines.items()}
    up = listing(client, priority="urgent", sort="deadline")
    assert order(up) == [codes["one"], codes["five"], codes["nine"], codes["none"]]
    down = listing(client, priority="urgent", sort="-deadline")
    # Cases with nothing due come last either way.
    assert order(down) == [codes["nine"], codes["five"], codes["one"], codes["none"]]
    th = header(up, "deadline")
    assert 'aria-sort="ascending"' in th
    assert href(th) == "?priority=urgent&sort=-deadline"  # the other way, filter kept
    assert 'aria-sort="descending"' in header(down, "deadline")
    assert href(header(down, "deadline")) == "?priority=urgent&sort=deadline"
    assert 'name="sort" value="-deadline"' in down  # the filter form keeps the sort too


def test_a_header_link_keeps_the_filters_and_starts_again_at_page_one(client, coordinator):
    for _ in range(30):
        open_case(coordinator, priority="urgent", destination_state="DE")
    login_verified(client, coordinator)
    html = listing(client, priority="urgent", destination="de", page="2", sort="-opened")
    link = href(header(html, "code"))
    assert link == "?priority=urgent&destination=DE&sort=code"
    assert "page=" not in link
    assert 'aria-sort="descending"' in header(html, "opened")
    assert "aria-sort" not in header(html, "code")


@pytest.mark.parametrize("column", sorted(SORTS))
def test_every_sortable_column_sorts_both_ways(client, coordinator, column):
    first = open_case(coordinator, priority="emergency", destination_state="AT")
    second = open_case(coordinator, priority="info", destination_state="SE")
    due(first, 1, actor=coordinator)
    due(second, 2, actor=coordinator)
    earlier = timezone.now() - timedelta(days=9)
    Case.objects.filter(pk=first.pk).update(
        code="SP-00-AAAA", status=Status.SCREENING, opened_at=earlier, last_activity_at=earlier
    )
    Case.objects.filter(pk=second.pk).update(code="SP-00-ZZZZ", status=Status.LODGED)
    login_verified(client, coordinator)
    up = listing(client, sort=column)
    assert order(up) == ["SP-00-AAAA", "SP-00-ZZZZ"]
    assert 'aria-sort="ascending"' in header(up, column)
    down = listing(client, sort=f"-{column}")
    assert order(down) == ["SP-00-ZZZZ", "SP-00-AAAA"]
    assert 'aria-sort="descending"' in header(down, column)


@pytest.mark.parametrize("sort", ["", "name", "--code", "priority;drop", "-", "rank"])
def test_an_unknown_sort_falls_back_to_priority_then_code(client, coordinator, sort):
    normal = open_case(coordinator, priority="normal")
    emergency = open_case(coordinator, priority="emergency")
    urgent = [open_case(coordinator, priority="urgent") for _ in range(2)]
    html = listing(login_verified(client, coordinator), sort=sort)
    expected = [emergency.code, *sorted(c.code for c in urgent), normal.code]
    assert order(html) == expected
    assert 'aria-sort="ascending"' in header(html, "priority")
    assert 'name="sort"' not in html
    linked = set(re.findall(r"(?:\?|&amp;)sort=([^&\"]*)", html))
    assert linked <= set(SORTS) | {f"-{name}" for name in SORTS}


def link(html, rel):
    found = re.search(rf'<a href="\?([^"]*)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_filters_and_sort_survive_paging(client, coordinator):
    cases = [open_case(coordinator, priority="urgent") for _ in range(27)]
    for index, case in enumerate(cases):
        due(case, index + 1, actor=coordinator)
    open_case(coordinator, priority="normal")
    login_verified(client, coordinator)
    first = listing(client, priority="urgent", sort="-deadline")
    assert order(first) == [c.code for c in reversed(cases)][:25]
    assert link(first, "prev") is None
    following = link(first, "next")
    assert following == f"priority=urgent&sort=-deadline&after={cases[2].pk}"
    second = client.get(reverse("case_list") + "?" + following).content.decode()
    assert order(second) == [cases[1].code, cases[0].code]
    assert link(second, "next") is None
    back = link(second, "prev")
    assert back == f"priority=urgent&sort=-deadline&before={cases[1].pk}"
    again = client.get(reverse("case_list") + "?" + back).content.decode()
    assert order(again) == order(first)
    assert link(again, "prev") is None and link(again, "next") == following


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{name}" for name in SORTS)])
def test_every_page_of_every_sort_forward_and_back_shows_each_case_once_in_order(
    client, coordinator, monkeypatch, sort
):
    """Paging by key (issue 15): ties (several cases of one priority, status, day) and cases
    without a value (no deadline) must neither repeat nor vanish at a page's edge."""
    monkeypatch.setattr(list_views, "PAGE_SIZE", 3)
    statuses = [Status.NEW_REQUEST, Status.SCREENING]
    with time_machine.travel(timezone.now(), tick=False):  # opened and active at one time
        for index in range(11):
            case = open_case(
                coordinator,
                priority=["urgent", "normal", "emergency"][index % 3],
                destination_state=["DE", "FR", ""][index % 3],
            )
            if index % 4 == 1:
                case.status = statuses[1]
                case.save()  # stored sort key included
            if index % 2:
                due(case, index % 3, actor=coordinator)  # several cases share a day
    column = SORTS[sort.removeprefix("-")][0]
    expected = [case.code for case in Case.objects.order_by(*list_views.ordering(sort))]
    keys = [getattr(case, column) for case in Case.objects.order_by(*list_views.ordering(sort))]
    assert column == "code" or len(set(keys)) < len(keys)  # ties to break
    login_verified(client, coordinator)
    seen, pages, html = [], [], listing(client, sort=sort)
    while True:
        pages.append(order(html))
        seen += order(html)
        following = link(html, "next")
        if following is None:
            break
        html = client.get(reverse("case_list") + "?" + following).content.decode()
    assert seen == expected
    assert all(len(page) == 3 for page in pages[:-1])
    backwards: list[str] = []
    while True:
        backwards = order(html) + backwards
        previous = link(html, "prev")
        if previous is None:
            break
        html = client.get(reverse("case_list") + "?" + previous).content.decode()
    assert backwards == expected


def test_a_cursor_from_elsewhere_or_made_up_starts_at_the_first_page(
    client, coordinator, outsider, monkeypatch
):
    monkeypatch.setattr(list_views, "PAGE_SIZE", 2)
    for _ in range(3):
        open_case(coordinator)
    theirs = open_case(outsider)
    login_verified(client, coordinator)
    first = order(listing(client, sort="code"))
    assert len(first) == 2
    for cursor in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "';--", theirs.pk):
        assert order(listing(client, sort="code", after=cursor)) == first
        assert order(listing(client, sort="code", before=cursor)) == first


def test_nothing_typed_travels_on_in_links_or_the_audit_log(client, coordinator):
    open_case(coordinator)
    html = listing(
        login_verified(client, coordinator),
        destination=CANARIES[1],
        status=CANARIES[2],
        q=CANARIES[3],
        sort=CANARIES[4],
        unassigned="yes",
    )
    for canary in CANARIES[1:5]:
        assert canary not in html
    entry = AuditEvent.objects.filter(action=Action.CASE_LISTED).latest("seq")
    assert set(entry.details["filters"].values()) <= {""}
    listing(client, unassigned="1", overdue="1", flag="on_hold")
    entry = AuditEvent.objects.filter(action=Action.CASE_LISTED).latest("seq")
    assert {k: v for k, v in entry.details["filters"].items() if v} == {
        "flag": "on_hold",
        "unassigned": "1",
        "overdue": "1",
    }


# --- access ---------------------------------------------------------------------------------


def test_a_caseworker_never_sees_another_caseworkers_case_whatever_the_filter_or_sort(
    client, coordinator, caseworker, bob
):
    mine = open_case(coordinator)
    services.case_assign(actor=coordinator, case=mine, caseworkers=[caseworker])
    theirs = open_case(coordinator)
    services.case_assign(actor=coordinator, case=theirs, caseworkers=[bob])
    nobodys = open_case(coordinator)
    for case in (mine, theirs, nobodys):
        due(case, -1, actor=coordinator)
    attempt = services.route_attempt_add(
        actor=coordinator,
        case=theirs,
        route=Route.objects.get(code="de-aufenthg-22-s1"),
        mission=None,
    )
    request(coordinator, theirs, attempt)
    login_verified(client, caseworker)
    queries = [{}, {"overdue": "1"}, {"unassigned": "1"}, {"letter_draft": "1"}, {"mine": "1"}]
    queries += [{"sort": name} for name in SORTS] + [{"sort": f"-{name}"} for name in SORTS]
    for params in queries:
        html = listing(client, **params)
        assert theirs.code not in html and nobodys.code not in html, params
        assert "bob" not in html
    assert order(listing(client, overdue="1")) == [mine.code]


def test_another_organisation_sees_none_of_it(client, coordinator, outsider):
    case = open_case(coordinator)
    due(case, -1, actor=coordinator)
    html = listing(login_verified(client, outsider), overdue="1")
    assert case.code not in html and "No cases to show." in html


# --- cost -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["priority", "-deadline", "activity"])
def test_the_list_costs_the_same_queries_for_5_and_60_cases(
    client, coordinator, caseworker, bob, django_assert_max_num_queries, sort
):
    def add(count):
        for index in range(count):
            case = open_case(coordinator)
            services.case_assign(actor=coordinator, case=case, caseworkers=[caseworker, bob])
            due(case, index - 2, actor=coordinator)
            due(case, index + 10, actor=coordinator)

    clients = {user: login_verified(client.__class__(), user) for user in (coordinator, caseworker)}
    add(5)
    few = {}
    for user, their_client in clients.items():
        with django_assert_max_num_queries(25) as counted:
            listing(their_client, sort=sort)
        few[user] = len(counted.captured_queries)
    add(55)
    for user, their_client in clients.items():
        with django_assert_max_num_queries(few[user]):
            html = listing(their_client, sort=sort)
        assert len(rows(html)) == 25
        with django_assert_max_num_queries(few[user] + 1):  # the filter adds no query per row
            listing(their_client, sort=sort, overdue="1", unassigned="1", letter_draft="1")


# --- last activity --------------------------------------------------------------------------


@pytest.fixture
def old_case(coordinator):
    """A case opened and last worked on ten days ago."""
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        return open_case(coordinator)


def activity(case):
    return Case.objects.values_list("last_activity_at", flat=True).get(pk=case.pk)


def test_a_new_case_was_last_active_when_it_was_opened(old_case):
    assert activity(old_case) == old_case.opened_at


def test_adding_a_note_moves_last_activity(old_case, coordinator):
    before = activity(old_case)
    services.note_add(actor=coordinator, case=old_case, text="Called back.")
    assert activity(old_case) > before + timedelta(days=9)
    case = Case.objects.get(pk=old_case.pk)
    assert case.version == old_case.version  # an open edit form does not become a conflict


def test_requesting_a_letter_moves_last_activity(old_case, coordinator):
    route = Route.objects.get(code="de-aufenthg-22-s1")
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        attempt = services.route_attempt_add(
            actor=coordinator, case=old_case, route=route, mission=None
        )
    middle = activity(old_case)
    assert middle > old_case.opened_at
    request(coordinator, old_case, attempt)
    assert activity(old_case) > middle + timedelta(days=4)


def test_every_change_to_a_case_or_its_parts_moves_last_activity(old_case, coordinator, caseworker):
    """One step per write path of the cases app, a day apart: each moves the date."""
    case, route = old_case, Route.objects.get(code="de-aufenthg-22-s1")
    state: dict[str, Any] = {}
    steps = {
        "case_assign": lambda: services.case_assign(
            actor=coordinator, case=case, caseworkers=[caseworker]
        ),
        "case_transition": lambda: services.case_transition(
            actor=coordinator, case=case, target="screening", facts=permissive()
        ),
        "case_update": lambda: services.case_update(
            actor=coordinator,
            case=case,
            version=Case.objects.get(pk=case.pk).version,
            case_fields={"family_case": True},
            applicant_fields={},
        ),
        "route_attempt_add": lambda: state.setdefault(
            "attempt",
            services.route_attempt_add(actor=coordinator, case=case, route=route, mission=None),
        ),
        "attempt_update": lambda: services.attempt_update(
            actor=coordinator,
            case=case,
            attempt=state["attempt"],
            values={"submitted_at": timezone.localdate()},
        ),
        "consent_record": lambda: state.setdefault(
            "consent",
            services.consent_record(
                actor=coordinator,
                case=case,
                purpose="processing",
                route=None,
                counterparty="",
                text_version="v1",
                language="en",
            ),
        ),
        "consent_withdraw": lambda: services.consent_withdraw(
            actor=coordinator, case=case, consent=state["consent"]
        ),
        "deadline_add": lambda: state.setdefault("deadline", due(case, 30, actor=coordinator)),
        "deadline_done": lambda: services.deadline_done(
            actor=coordinator, case=case, deadline=state["deadline"]
        ),
        "document_upload": lambda: state.setdefault(
            "document",
            services.document_upload(
                actor=coordinator,
                case=case,
                content=PDF,
                kind=sniff(PDF),
                doc_type="passport_intl",
                title=None,
            ),
        ),
        "document_update": lambda: services.document_update(
            actor=coordinator, case=case, document=state["document"], values={"language": "ru"}
        ),
        "document_verify": lambda: services.document_verify(
            actor=caseworker,
            case=case,
            document=state["document"],
            status="verified",
            method="original_seen",
        ),
        "note_add": lambda: services.note_add(actor=coordinator, case=case, text="Called."),
        "narrative_append": lambda: services.narrative_append(
            actor=coordinator, case=case, text="Moved to a safer flat."
        ),
    }
    start = timezone.now() - timedelta(days=10)
    for day, (name, step) in enumerate(steps.items(), start=1):
        before = activity(case)
        with time_machine.travel(start + timedelta(days=day / 2), tick=False):
            step()
        assert activity(case) > before, name


def test_letters_move_last_activity_at_every_step(client, coordinator, caseworker):
    """Request, edit, issue, revoke and correct: each is work on the case."""
    from tests.test_letters import make_case

    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        case, attempt = make_case(coordinator, caseworker)
    start = timezone.now() - timedelta(days=9)

    def at(day, action):
        before = activity(case)
        with time_machine.travel(start + timedelta(days=day), tick=False):
            result = action()
        assert activity(case) > before
        return result

    letter = at(1, lambda: request(coordinator, case, attempt, facts="Facts.", why_route="Why."))
    at(
        2,
        lambda: letters.letter_update(
            actor=coordinator,
            letter=letter,
            version=letter.version,
            values={},
            annexes=list(case.documents.all()),
        ),
    )
    issued = at(
        3, lambda: letters.letter_issue(actor=coordinator, letter=letter, accept_warnings=True)
    )
    at(4, lambda: letters.letter_correct(actor=coordinator, letter=issued))
    at(5, lambda: letters.letter_revoke(actor=coordinator, letter=issued, reason="Mistake."))


def request(actor, case, attempt, **values):
    return letter_request(
        actor=actor,
        case=case,
        attempt=attempt,
        values={"language": "en"} | values,
        annexes=[],
    )


def permissive():
    return CaseFacts(
        verification_completed=True,
        approved_letter=True,
        disclosure_consent_for_authority=True,
        visa_validity_recorded=True,
        closure_reason=None,
        reason=None,
        actor_is_coordinator=True,
        emergency=False,
    )


# --- the migration --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_dates_existing_cases_by_their_latest_activity(organisation):
    """0010 fills last_activity_at from the opening, status changes, notes and uploads."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from casework.accounts.models import User
    from casework.cases.models import CaseStatusChange, Document, Note
    from tests.factories import make_applicant

    user = User.objects.create_user("mig", organisation=organisation)
    now = timezone.now()
    ago = {days: now - timedelta(days=days) for days in (2, 3, 5, 6, 8, 10)}

    def case(code, opened):
        applicant = make_applicant(organisation)
        made = Case(organisation=organisation, applicant=applicant, code=code)
        made.save()
        Case.objects.filter(pk=made.pk).update(opened_at=ago[opened])
        return made

    def part(model, days, column, **fields):
        made = model(organisation=organisation, applicant_id=fields["case"].applicant_id, **fields)
        made.save()
        model.objects.filter(pk=made.pk).update(**{column: ago[days]})

    noted, uploaded = case("SP-00-AAAA", 10), case("SP-00-BBBB", 8)
    case("SP-00-CCCC", 6)  # nothing happened since it was opened
    part(CaseStatusChange, 5, "at", case=noted, from_status="a", to_status="b", by=user)
    part(Note, 3, "created_at", case=noted, author=user, text="x")
    part(CaseStatusChange, 6, "at", case=uploaded, from_status="a", to_status="b", by=user)
    document = {"storage_name": "x", "sha256": "0" * 64, "mime": "application/pdf", "size": 1}
    part(Document, 2, "uploaded_at", case=uploaded, uploaded_by=user, doc_type="other", **document)

    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("cases", "0009_applicant_languages")])
        executor.loader.build_graph()
        executor.migrate([("cases", "0010_case_last_activity")])
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)
    dates = dict(Case.objects.values_list("code", "last_activity_at"))
    assert dates == {"SP-00-AAAA": ago[3], "SP-00-BBBB": ago[2], "SP-00-CCCC": ago[6]}


# --- stored sort keys -----------------------------------------------------------------------


def test_the_stored_next_deadline_follows_every_change_of_the_deadlines(coordinator):
    """The list sorts and filters by a stored earliest open deadline (issue 15); it must be
    what the deadlines say after each way they change."""
    today = timezone.localdate()

    def stored(case):
        return Case.objects.get(pk=case.pk).next_deadline_on

    case = open_case(
        coordinator,
        applicant_fields={
            "legal_name_latin": CANARIES[0],
            "passport_expiry": today + timedelta(40),
        },
    )
    assert stored(case) == today + timedelta(40)  # made automatically at intake
    later = due(case, 5, actor=coordinator)
    assert stored(case) == today + timedelta(5)
    sooner = due(case, 2, actor=coordinator)
    assert stored(case) == today + timedelta(2)
    services.deadline_done(actor=coordinator, case=case, deadline=sooner)
    assert stored(case) == today + timedelta(5)
    services.deadline_done(actor=coordinator, case=case, deadline=later)
    assert stored(case) == today + timedelta(40)
    services.applicant_erase(applicant_id=case.applicant_id, actor=coordinator)
    assert stored(case) is None


def test_the_stored_ranks_follow_priority_and_status(coordinator):
    case = open_case(coordinator, priority="info")
    assert (case.priority_rank, case.stage) == (3, 0)
    case.priority, case.status = "emergency", Status.SCREENING
    case.save(update_fields=["priority", "status"])
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.priority_rank, fresh.stage) == (0, 1)


def test_the_stored_stage_follows_the_workflow(coordinator):
    """A status change goes through case_transition, which writes the case with update():
    the stage it stores for the list's sort and the dashboard's counts must follow."""
    case = open_case(coordinator)
    for target in (Status.SCREENING, Status.VERIFICATION, Status.CLOSED):
        facts = permissive()
        if target == Status.CLOSED:
            facts = dataclasses.replace(facts, closure_reason="withdrawn")
        services.case_transition(actor=coordinator, case=case, target=target, facts=facts)
        fresh = Case.objects.get(pk=case.pk)
        assert (fresh.status, fresh.stage) == (target, STAGES[target])
    counts = StageCount.objects.filter(organisation_id=case.organisation_id, cases__gt=0)
    assert dict(counts.values_list("stage", "cases")) == {STAGES[Status.CLOSED]: 1}


def test_the_migration_corrects_the_stages_transitions_left_behind(coordinator):
    from django.apps import apps

    migration = importlib.import_module("casework.cases.migrations.0022_stages_after_transitions")
    moved, stayed = open_case(coordinator), open_case(coordinator)
    Case.objects.filter(pk=moved.pk).update(status=Status.SCREENING)  # as transitions did
    assert Case.objects.get(pk=moved.pk).stage == STAGES[Status.NEW_REQUEST]
    migration.forwards(apps, None)
    assert Case.objects.get(pk=moved.pk).stage == STAGES[Status.SCREENING]
    assert Case.objects.get(pk=stayed.pk).stage == STAGES[Status.NEW_REQUEST]
    counts = StageCount.objects.filter(organisation_id=moved.organisation_id, cases__gt=0)
    expected = {STAGES[Status.SCREENING]: 1, STAGES[Status.NEW_REQUEST]: 1}
    assert dict(counts.values_list("stage", "cases")) == expected


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_cases_their_sort_keys(organisation):
    """0018 fills the stored sort keys of cases that existed before it (issue 15)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from casework.cases.models import Deadline
    from tests.factories import make_applicant

    soon = timezone.localdate() + timedelta(days=3)
    urgent = Case(
        organisation=organisation, applicant=make_applicant(organisation), code="SP-00-AAAA"
    )
    urgent.save()
    plain = Case(
        organisation=organisation, applicant=make_applicant(organisation), code="SP-00-BBBB"
    )
    plain.save()
    Deadline.objects.create(organisation=organisation, case=urgent, kind="check_in", due_on=soon)
    Deadline.objects.create(
        organisation=organisation,
        case=urgent,
        kind="check_in",
        due_on=soon - timedelta(9),
        done=True,
    )
    from casework.accounts.models import User

    worker = User.objects.create_user("mig-worker", organisation=organisation)
    Case.caseworkers.through.objects.create(case_id=urgent.pk, user_id=worker.pk)
    # As a case row looked before 0018: none of its sort keys kept.
    Case.objects.filter(pk=urgent.pk).update(
        priority="urgent", status="screening", has_caseworker=False
    )
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("cases", "0017_subject_request")])
        executor.loader.build_graph()
        executor.migrate([("cases", "0018_case_list_sort_keys")])
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)
    keys = {
        code: (rank, stage, due, assigned)
        for code, rank, stage, due, assigned in Case.objects.values_list(
            "code", "priority_rank", "stage", "next_deadline_on", "has_caseworker"
        )
    }
    assert keys == {"SP-00-AAAA": (1, 1, soon, True), "SP-00-BBBB": (2, 0, None, False)}


def test_the_stored_assignment_follows_every_change(coordinator, caseworker, bob):
    """The unassigned queue reads a stored flag (issue 15); it must say what the assignments
    say after each change."""

    def assigned(case):
        return Case.objects.get(pk=case.pk).has_caseworker

    case = open_case(coordinator)
    assert not assigned(case)
    services.case_assign(actor=coordinator, case=case, caseworkers=[caseworker, bob])
    assert assigned(case)
    services.case_assign(actor=coordinator, case=case, caseworkers=[bob])
    assert assigned(case)
    services.case_assign(actor=coordinator, case=case, caseworkers=[])
    assert not assigned(case)
    own = open_case(caseworker)  # opened by a caseworker: assigned to them
    assert assigned(own)
