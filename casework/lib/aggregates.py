"""An aggregate both engines have under different names."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, CharField

SEPARATOR = "\x1f"  # the unit separator: no username or role name holds it


class JoinedText(Aggregate):
    """Values joined by a separator, in no particular order: STRING_AGG on PostgreSQL,
    GROUP_CONCAT on SQLite. One subquery gives what would otherwise be a query per row, or
    one subquery per value looked for (issue 15)."""

    function = "STRING_AGG"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)
