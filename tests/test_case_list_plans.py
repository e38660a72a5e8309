"""Every page of the case list is read from an index (issue 15), never sorted. Asserted on
PostgreSQL with sorting switched off: a plan that sorts all the same has no index holding
the order, whatever the table's size or statistics. An order no index gives (deadline
descending with the cases without one last, say) fails here, not only at 100,000 cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.cases import list_views, services
from casework.cases.list_views import SORTS
from tests.conftest import login_verified

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]

ALL_SORTS = [*SORTS, *(f"-{name}" for name in SORTS)]
# The filters, in the default order; "mine" and "letter draft" are ids from their own tables.
# (Which index serves one is the planner's choice by the table's size: on a few rows any
# index in the order will do, so only "no sort" is asserted; bench/ shows them at 100,000.)
FILTERS = [
    {"status": "screening"},
    {"priority": "urgent"},
    {"destination": "DE"},
    {"flag": "on_hold"},
    {"unassigned": "1"},
    {"overdue": "1"},
]


@pytest.fixture
def cases(coordinator):
    """Cases with a deadline and without, so that paging crosses from one kind to the other."""
    found = []
    for index in range(6):
        case = services.case_create(
            actor=coordinator,
            applicant_fields={"legal_name_latin": f"PERSON {index}"},
            priority=["urgent", "normal"][index % 2],
            destination_state="DE",
        )
        if index % 2:
            services.deadline_add(
                actor=coordinator,
                case=case,
                kind="check_in",
                due_on=timezone.localdate() + timedelta(days=index - 3),
            )
        found.append(case)
    return found


def page_plan(client, params: dict[str, str]) -> str:
    """The plan of the query that reads the page's rows, sorting switched off."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("case_list"), params).status_code == 200
    limit = f"LIMIT {list_views.PAGE_SIZE + 1}"
    [sql] = [query["sql"] for query in captured.captured_queries if limit in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        # An incremental sort is a sort too. With table statistics (autoanalyze during a
        # long run) the planner can prefer a one-column index plus an incremental sort to the
        # index that holds the whole order; switched off, it must use that index or sort.
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("sort", ALL_SORTS)
def test_every_sort_both_ways_and_every_page_of_it_walks_an_index(
    client, coordinator, cases, monkeypatch, sort
):
    monkeypatch.setattr(list_views, "PAGE_SIZE", 2)
    login_verified(client, coordinator)
    with_deadline, without = cases[1], cases[0]
    pages: list[dict[str, str]] = [{}] + [
        {direction: str(case.pk)}
        for case in (with_deadline, without)
        for direction in ("after", "before")
    ]
    for page in pages:
        plan = page_plan(client, {"sort": sort} | page)
        assert "Sort" not in plan, f"{sort} {page}:\n{plan}"


@pytest.mark.parametrize("params", FILTERS, ids=lambda params: next(iter(params)))
def test_every_filter_walks_an_index_in_the_default_order(client, coordinator, cases, params):
    login_verified(client, coordinator)
    plan = page_plan(client, params)
    assert "Sort" not in plan, plan
