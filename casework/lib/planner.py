"""Statistics for the query planner.

Without them SQLite guesses, and at 100,000 cases it guesses wrong: it walks the whole
organisation's index rather than look up a handful of applicants or assignments (issue 15:
search 52 ms, "assigned to me" 519 ms). ANALYZE with a sampling limit takes milliseconds and
is run after migrations, after bulk loading and by the daily retention job. PostgreSQL's
autovacuum keeps its own statistics where it is on, but not right after a bulk load, nor on a
server where it was turned off: there ANALYZE (which samples too) runs at the same moments.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

SAMPLE_ROWS = 1000  # PRAGMA analysis_limit: rows sampled per index (0 would read them all)


def refresh_statistics(using: str = "default", **_signal: Any) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SAMPLE_ROWS}")
        cursor.execute("ANALYZE")
