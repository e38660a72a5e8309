"""For statements written out (issue 15): a column's name and a value as the column stores
it, and the rows a related manager reads."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

ModelT = TypeVar("ModelT", bound=models.Model)


def column(model: type[models.Model], name: str, alias: str = "") -> str:
    """``model``'s column for the field ``name`` as a statement writes it: quoted, after
    ``alias.`` when the statement names the table by an alias."""
    quoted = connection.ops.quote_name(_field(model, name).column)
    return f"{alias}.{quoted}" if alias else quoted


def column_value(model: type[models.Model], name: str, value: Any) -> Any:
    """``value`` as the database stores ``model``'s column ``name`` (a UUID as SQLite's 32
    hex digits, a datetime in the connection's format), for use as a query parameter."""
    return _field(model, name).get_db_prep_value(value, connection)


def _field(model: type[models.Model], name: str) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column  # a column, not a reverse relation
    return field


def rows_of(model: type[ModelT], name: str, value: Any) -> list[ModelT]:
    """Every row of ``model`` whose column ``name`` holds ``value``, every column, in the
    model's own order: what a related manager's ``all()`` reads (``case.deadlines.all()`` is
    ``rows_of(Deadline, "case", case.pk)``), as one statement written out, for pages that
    read several such lists on every visit (the case page, issue 15). tests/test_sql.py holds
    it to the related managers' rows."""
    statement = _rows_of_sql(model, name)
    return list(model._default_manager.raw(statement, [column_value(model, name, value)]))


@cache
def _rows_of_sql(model: type[models.Model], name: str) -> str:
    order = []
    for key in model._meta.ordering or ():
        assert isinstance(key, str) and key != "?"  # a column's name, "-" for descending
        direction = "DESC" if key[0] == "-" else "ASC"
        order.append(f"{column(model, key.removeprefix('-'))} {direction}")
    columns = ", ".join(column(model, field.name) for field in model._meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {connection.ops.quote_name(model._meta.db_table)}"  # noqa: S608
        f" WHERE {column(model, name)} = %s" + (f" ORDER BY {', '.join(order)}" if order else "")
    )
