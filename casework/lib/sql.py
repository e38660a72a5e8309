"""For statements written out (issue 15): a value as its column stores it."""

from __future__ import annotations

from typing import Any

from django.db import connection, models


def column_value(model: type[models.Model], name: str, value: Any) -> Any:
    """``value`` as the database stores ``model``'s column ``name`` (a UUID as SQLite's 32
    hex digits, a datetime in the connection's format), for use as a query parameter."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # a column, not a reverse relation
    return field.get_db_prep_value(value, connection)
