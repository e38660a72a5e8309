"""The planner's statistics are refreshed after every migrate (lib.planner): a database the
planner has no figures for chose a full sort over the right index (issue 15)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import make_case


def counted_rows(table: str) -> int:
    """What the planner's statistics say the table holds."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Each of the table's rows there begins with the table's row count.
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
            row = cursor.fetchone()
            return int(row[0].split()[0]) if row else 0
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_migrate_leaves_the_planner_knowing_the_tables(caseworker):
    for _ in range(3):
        make_case(caseworker=caseworker)
    call_command("migrate", verbosity=0)  # nothing to apply; its post_migrate still runs
    assert counted_rows("cases_case") == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
@pytest.mark.django_db(transaction=True)
def test_a_table_never_written_to_is_not_declared_empty_on_postgresql():
    """Analysed while empty, a table is taken to be empty for good by the plans the first
    rows of a bulk load make (its foreign-key checks scanned the whole referenced table for
    each row: quadratic). Left unanalysed, the planner assumes a few pages and uses the
    index; once written to, the table is analysed like the others."""
    from casework.lib.planner import refresh_statistics

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE planner_probe (id integer PRIMARY KEY)")
    try:
        refresh_statistics()
        assert counted_rows("planner_probe") == -1  # never analysed
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO planner_probe SELECT generate_series(1, 5)")
        refresh_statistics()
        assert counted_rows("planner_probe") == 5
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE planner_probe")
