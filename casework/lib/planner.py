"""Statistics for the query planner.

Without them SQLite guesses, and at 100,000 cases it guesses wrong: it walks the whole
organisation's index rather than look up a handful of applicants or assignments (issue 15:
search 52 ms, "assigned to me" 519 ms). ANALYZE with a sampling limit takes milliseconds and
is run after migrations, after bulk loading and by the daily retention job. PostgreSQL's
autovacuum keeps its own statistics where it is on, but not right after a bulk load, nor on a
server where it was turned off: there ANALYZE (which samples too) runs at the same moments.

On PostgreSQL a table nothing was ever written to is left unanalysed. Analysed, it counts as
known to be empty, and a bulk load into it (a restore, ``seed_demo --applicants``) then
checks each row's foreign keys with a plan made for an empty table, a full scan of the
referenced table that grows with every row: 100,000 applicants had read 1.5 billion rows
and slowed to a few dozen a second. Unanalysed, the planner assumes ten pages and looks the
keys up by index.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

SAMPLE_ROWS = 1000  # PRAGMA analysis_limit: rows sampled per index (0 would read them all)

# The project's tables that hold or once held rows (a table's file keeps its pages until a
# vacuum truncates it): the ones PostgreSQL's planner may be told about.
_WRITTEN_TABLES = """
SELECT c.oid::regclass::text FROM pg_class c
WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
  AND pg_relation_size(c.oid) > 0
ORDER BY 1
"""


def refresh_statistics(using: str = "default", **_signal: Any) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SAMPLE_ROWS}")
            cursor.execute("ANALYZE")
            return
        cursor.execute(_WRITTEN_TABLES)
        tables = [name for (name,) in cursor.fetchall()]
        if tables:
            cursor.execute(f"ANALYZE {', '.join(tables)}")
