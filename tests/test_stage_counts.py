"""The number of cases at each stage per organisation (cases.models.StageCount) is kept by
database triggers, so the coordinator's dashboard reads a few rows instead of counting every
case (issue 15). Whatever changes the cases, the counts are what counting them gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count

from casework.cases.models import Case, StageCount
from casework.core.demo import seed_accounts, seed_bulk, seed_cases
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def kept() -> dict[tuple[str, int], int]:
    rows = StageCount.objects.exclude(cases=0).values_list("organisation_id", "stage", "cases")
    return {(str(org), stage): n for org, stage, n in rows}


def counted() -> dict[tuple[str, int], int]:
    rows = Case.objects.values("organisation_id", "stage").annotate(n=Count("*")).order_by()
    return {(str(r["organisation_id"]), r["stage"]): r["n"] for r in rows}


def test_cases_opened_moved_closed_and_deleted_are_counted_where_they_are(caseworker):
    cases = [make_case(caseworker=caseworker) for _ in range(6)]
    assert kept() == counted() and sum(kept().values()) == 6
    cases[0].status = "screening"
    cases[0].save()  # the stage follows the status (Case.set_sort_keys)
    assert kept() == counted()
    Case.objects.filter(pk=cases[1].pk).update(status="closed", stage=99)  # no save()
    assert kept() == counted()
    Case.objects.filter(pk=cases[2].pk).update(priority="urgent")  # the stage unchanged
    assert kept() == counted()
    Case.objects.filter(pk=cases[3].pk).delete()
    assert kept() == counted() and sum(kept().values()) == 5
    Case.objects.filter(pk__in=[cases[4].pk, cases[5].pk]).delete()  # one statement, two cases
    assert kept() == counted() and sum(kept().values()) == 3


def test_a_save_that_keeps_the_stage_touches_no_count(caseworker):
    case = make_case(caseworker=caseworker)
    before = list(StageCount.objects.values_list("id", "stage", "cases"))
    case.save()
    assert list(StageCount.objects.values_list("id", "stage", "cases")) == before


def test_a_bulk_load_is_counted(settings):
    seed_accounts(settings.DATA_DIR)
    seed_cases()
    seed_bulk(30)
    assert kept() == counted() and sum(kept().values()) == Case.objects.count()


def test_recount_gives_the_same_counts(caseworker):
    for _ in range(3):
        make_case(caseworker=caseworker)
    StageCount.objects.update(cases=0)
    StageCount.recount()
    assert kept() == counted()


@pytest.mark.parametrize("trigger", ["in", "out", "again"])
def test_without_any_one_trigger_the_counts_go_wrong(caseworker, trigger):
    """The triggers are what keeps the counts (a migration that rebuilt the cases table on
    SQLite would drop them silently): each one removed, the counts stop matching."""
    with connection.cursor() as cursor:
        on = " ON cases_case" if connection.vendor == "postgresql" else ""
        cursor.execute(f"DROP TRIGGER cases_case_counted_{trigger}{on}")
    case = make_case(caseworker=caseworker)
    case.status = "screening"
    case.save()
    Case.objects.filter(pk=case.pk).delete()
    make_case(caseworker=caseworker)
    assert kept() != counted()
