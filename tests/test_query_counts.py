"""What each everyday page costs the database (issue 15), asserted as ceilings: a change that
adds a query per row, per form or per role check fails here. Timings are the benchmark's job
(bench/), never asserted in tests.

Every signed-in page begins with three queries: the session, the user with their roles, and
the second-factor device with the session's registration (accounts.backends,
accounts.middleware); a page that shows case content adds the audit entry (two).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.cases import services
from casework.cases.list_views import SORTS
from casework.cases.models import Case, Route
from casework.cases.views import ADD_FORMS
from casework.letters.services import letter_request
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db

# An audit entry is two statements on both engines: the chain head (on PostgreSQL with the
# append lock, in one call: audit.services) and the entry.
AUDIT = 2
LIST_CEILING = 8  # the target, on both engines
CASE_PAGE_CEILING = 12  # the target, on both engines (the audit entry included)
DASHBOARD_CEILING = 18 + AUDIT
SEARCH_CEILING = 6 + AUDIT


def queries(client, url, data=None) -> list[str]:
    client.get(url) if data is None else client.post(url, data)  # warm: sessions, caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url) if data is None else client.post(url, data)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def busy_case(caseworker, coordinator, number: int) -> Case:
    """A case with a bit of everything on it, ``number`` of each kind."""
    case = make_case(caseworker=caseworker)
    route = Route.objects.exclude(status=Route.Status.SUSPENDED).first()
    today = timezone.localdate()
    for index in range(number):
        attempt = services.route_attempt_add(actor=caseworker, case=case, route=route, mission=None)
        services.note_add(actor=caseworker, case=case, text=f"note {index}")
        services.deadline_add(
            actor=caseworker, case=case, kind="check_in", due_on=today + timezone.timedelta(index)
        )
        services.consent_record(
            actor=caseworker,
            case=case,
            purpose="processing",
            route=None,
            counterparty="",
            text_version="2026-01",
            language="ru",
        )
        letter_request(
            actor=caseworker, case=case, attempt=attempt, values={"language": "en"}, annexes=[]
        )
    return case


@pytest.fixture
def cases(caseworker, coordinator):
    return [make_case(caseworker=caseworker) for _ in range(3)]


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{name}" for name in SORTS)])
def test_any_page_of_the_case_list_in_any_sort_is_at_most_eight_queries(
    client, coordinator, caseworker, cases, sort
):
    for user in (coordinator, caseworker):
        login_verified(client, user)
        first = queries(client, reverse("case_list") + f"?sort={sort}")
        later = queries(client, reverse("case_list") + f"?sort={sort}&after={cases[0].pk}")
        earlier = queries(client, reverse("case_list") + f"?sort={sort}&before={cases[-1].pk}")
        for sql in (first, later, earlier):
            assert len(sql) <= LIST_CEILING, "\n".join(sql)
        assert not any("COUNT(" in query for query in first)  # no page needs the cases counted


def test_the_case_list_filtered_costs_no_more(client, coordinator, cases):
    login_verified(client, coordinator)
    filters = "status=new_request&priority=normal&destination=DE&flag=on_hold&mine=1"
    filters += "&unassigned=1&overdue=1&letter_draft=1"
    assert len(queries(client, reverse("case_list") + "?" + filters)) <= LIST_CEILING


def test_the_case_page_costs_the_same_with_one_or_four_of_everything(
    client, caseworker, coordinator
):
    one = busy_case(caseworker, coordinator, 1)
    four = busy_case(caseworker, coordinator, 4)
    for user in (caseworker, coordinator):
        login_verified(client, user)
        few = queries(client, reverse("case_detail", args=[one.pk]))
        many = queries(client, reverse("case_detail", args=[four.pk]))
        assert len(few) <= CASE_PAGE_CEILING, "\n".join(few)
        assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("name", ADD_FORMS)
def test_a_folded_form_opened_costs_its_own_choices_only(client, caseworker, coordinator, name):
    """The routes and missions a form offers are read when it is opened, never for the page."""
    case = busy_case(caseworker, coordinator, 2)
    login_verified(client, coordinator)
    page = queries(client, reverse("case_detail", args=[case.pk]))
    assert not any('FROM "cases_route"' in q or 'FROM "cases_mission"' in q for q in page)
    opened = queries(client, reverse("case_detail", args=[case.pk]) + f"?add={name}")
    assert len(opened) <= len(page) + 2, "\n".join(opened)


@pytest.mark.parametrize(
    ("asked", "more"), [("add=assign", 2), ("show=history", 1), ("show=rights", 1)]
)
def test_what_the_case_page_reads_on_request_costs_its_own_queries_only(
    client, caseworker, coordinator, asked, more
):
    """The assignment form (who may be assigned, who is), the status history and the
    requests of the person are read when asked for, never for the page itself."""
    case = busy_case(caseworker, coordinator, 2)
    login_verified(client, coordinator)
    page = queries(client, reverse("case_detail", args=[case.pk]))
    assert not any('"cases_casestatuschange"' in q or '"cases_subjectrequest"' in q for q in page)
    assert not any('"auth_group"' in q for q in page[3:])  # the user's roles only
    opened = queries(client, reverse("case_detail", args=[case.pk]) + "?" + asked)
    assert len(opened) == len(page) + more, "\n".join(opened)


def test_the_dashboard_costs_the_same_for_three_or_thirty_cases(
    client, coordinator, caseworker, cases
):
    for user in (coordinator, caseworker):
        login_verified(client, user)
        few = queries(client, reverse("home"))
        assert len(few) <= DASHBOARD_CEILING, "\n".join(few)
    for _ in range(27):
        make_case(caseworker=caseworker)
    for user in (coordinator, caseworker):
        login_verified(client, user)
        assert len(queries(client, reverse("home"))) <= DASHBOARD_CEILING


def test_a_search_costs_the_same_for_one_or_many_found(client, coordinator, caseworker):
    login_verified(client, coordinator)
    make_case(caseworker=caseworker, legal_name_latin="OLGA SMIRNOVA")
    one = queries(client, reverse("case_search"), {"kind": "name", "query": "OLGA SMIRNOVA"})
    for _ in range(5):
        make_case(caseworker=caseworker, legal_name_latin="IVAN PETROV")
    many = queries(client, reverse("case_search"), {"kind": "name", "query": "IVAN PETROV"})
    assert len(one) <= SEARCH_CEILING, "\n".join(one)
    assert len(many) == len(one), "\n".join(many)


def test_roles_come_with_the_user_and_the_registration_with_the_device(client, caseworker):
    """The three queries every signed-in page begins with (issue 15)."""
    login_verified(client, caseworker)
    sql = queries(client, reverse("case_list"))
    assert not any(query.startswith('SELECT "auth_group"."name"') for query in sql)
    assert sum("accounts_usersession" in query for query in sql) == 1
    (user_query,) = [query for query in sql if 'FROM "accounts_user" u WHERE' in query]
    assert "auth_group" in user_query
    (device_query,) = [query for query in sql if "accounts_usersession" in query]
    assert "accounts_totpdevice" in device_query


def test_a_search_reads_only_the_columns_it_confirms_candidates_by(client, coordinator, caseworker):
    """A truncated blind index finds a few dozen people at 100,000; none of their other
    encrypted columns is read (issue 15: two milliseconds a search by name)."""
    login_verified(client, coordinator)
    make_case(caseworker=caseworker, legal_name_latin="OLGA SMIRNOVA")
    sql = queries(client, reverse("case_search"), {"kind": "name", "query": "OLGA SMIRNOVA"})
    (candidates,) = [query for query in sql if 'FROM "cases_applicant"' in query]
    assert '"legal_name_latin"' in candidates and '"legal_name_cyrillic"' in candidates
    for column in ("risk_notes", "health_notes", "email", "phone", "date_of_birth"):
        assert f'"cases_applicant"."{column}"' not in candidates, column
