"""For statements written out (issue 15): a column's name and a value as the column stores
it, the rows a related manager reads, and one row with the row its foreign key points to
(and, for the case lookup, a row no foreign key leads to, a many-to-many's names, and a
queryset the row must be in)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models.sql.compiler import SQLCompiler

from casework.lib.aggregates import SEPARATOR

ModelT = TypeVar("ModelT", bound=models.Model)


@dataclass(frozen=True)
class Beside:
    """For ``row_with``/``rows_with``: the row of ``model`` whose column ``their`` holds the
    value of our column ``ours``, where no foreign key leads to it (a data key, by its
    subject's id), set on the row as ``attribute``; None where there is none."""

    model: type[models.Model]
    their: str
    ours: str
    attribute: str


@dataclass(frozen=True)
class Names:
    """For ``row_with``/``rows_with``: the ``field`` of the rows the many-to-many ``name``
    leads to, joined by ``aggregates.SEPARATOR`` in no order (None for none), set on the
    row as ``attribute``: what the lists show of a case's assignees."""

    name: str
    field: str
    attribute: str


Related = str | Beside | Names


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


def _key(model: type[models.Model], alias: str) -> str:
    key = model._meta.pk
    assert key is not None
    return column(model, key.name, alias)


def _model_order(model: type[models.Model], alias: str = "") -> list[str]:
    """The model's own order (Meta.ordering) as ORDER BY terms."""
    order = []
    for key in model._meta.ordering or ():
        assert isinstance(key, str) and key != "?"  # a column's name, "-" for descending
        direction = "DESC" if key[0] == "-" else "ASC"
        order.append(f"{column(model, key.removeprefix('-'), alias)} {direction}")
    return order


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
    order = _model_order(model)
    columns = ", ".join(column(model, field.name) for field in model._meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {connection.ops.quote_name(model._meta.db_table)}"  # noqa: S608
        f" WHERE {column(model, name)} = %s" + (f" ORDER BY {', '.join(order)}" if order else "")
    )


def row_with(
    model: type[ModelT],
    related: tuple[Related, ...],
    *,
    within: models.QuerySet[ModelT] | None = None,
    **where: Any,
) -> ModelT | None:
    """The row of ``model`` whose columns hold the values ``where`` names (equality, all of
    them) and, given ``within``, that is one of its rows, with the rows of its foreign keys
    ``related`` (and what the ``Beside`` and ``Names`` there name) in the same statement;
    or None. What ``model.objects.select_related(*related).filter(**where).first()``
    reads without its ORDER BY, for the lookup every page of a case makes
    (``cases.access``): Django took longer to build that query, of some seventy columns,
    than the database took to answer it (1.2-1.5 ms against 0.55 written out, PostgreSQL).
    ``within`` is the one part the ORM builds (a caseworker's grants, through guardian):
    its ids, as a subquery. tests/test_sql.py holds it to the ORM's row."""
    found = _joined(_join_plan(model, related, tuple(sorted(where)), ordered=False), where, within)
    return found[0] if found else None


def rows_with(model: type[ModelT], related: tuple[Related, ...], **where: Any) -> list[ModelT]:
    """Every row of ``model`` whose columns hold the values ``where`` names, in the model's
    own order, each with the rows of its foreign keys ``related`` (None where a key that
    may be empty is): what ``model.objects.select_related(*related).filter(**where)``
    reads, for the case page's lists that show a related row's name (issue 15)."""
    return _joined(_join_plan(model, related, tuple(sorted(where)), ordered=True), where)


def _joined(
    plan: _JoinPlan, where: dict[str, Any], within: models.QuerySet[Any] | None = None
) -> list[Any]:
    parameters = [*plan.leading, *(column_value(plan.model, n, where[n]) for n in plan.where)]
    statement = plan.statement
    if within is not None:
        assert not plan.ordered  # the subquery's condition would follow the ORDER BY
        try:
            subquery, more = within.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # within nothing: no row, and nothing to ask
            return []
        statement = f"{statement} AND {_key(plan.model, 'm')} IN ({subquery})"
        parameters += more
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        found = cursor.fetchall()
    if plan.converters:
        found = list(plan.compiler.apply_converters([list(row) for row in found], plan.converters))
    rows = []
    for values in found:
        row = plan.model.from_db(connection.alias, plan.own, values[: len(plan.own)])
        start = len(plan.own)
        for other, names, primary, put in plan.theirs:
            theirs = values[start : start + len(names)]
            start += len(names)
            # A key that may be empty is a LEFT JOIN: no row there is None, as in the ORM.
            if theirs[primary] is None:
                target = None
            else:
                target = other.from_db(connection.alias, names, theirs)
            put(row, target)
        for attribute in plan.names:
            setattr(row, attribute, values[start])
            start += 1
        rows.append(row)
    return rows


class _JoinPlan:
    def __init__(
        self,
        model: type[models.Model],
        related: tuple[Related, ...],
        where: tuple[str, ...],
        ordered: bool,
    ) -> None:
        quote = connection.ops.quote_name
        own_fields = list(model._meta.concrete_fields)
        selected = [column(model, f.name, "m") for f in own_fields]
        fields = list(own_fields)
        joins = []
        self.theirs: list[tuple[type[models.Model], list[str], int, Callable[..., None]]] = []
        named = []
        for number, item in enumerate(related):
            alias = f"r{number}"
            if isinstance(item, Names):
                named.append(item)
                continue
            if isinstance(item, Beside):
                other = item.model
                join, on = "LEFT JOIN", (column(other, item.their, alias), item.ours)
                put = _setter(item.attribute)
            else:
                key = model._meta.get_field(item)
                assert isinstance(key, models.ForeignKey)  # one row at the other end
                other = key.related_model
                join = "LEFT JOIN" if key.null else "JOIN"
                on = (column(other, key.target_field.name, alias), item)
                put = key.set_cached_value
            their_fields = list(other._meta.concrete_fields)  # in order: from_db() needs it
            selected += [column(other, f.name, alias) for f in their_fields]
            fields += their_fields
            joins.append(
                f" {join} {quote(other._meta.db_table)} {alias}"
                f" ON {on[0]} = {column(model, on[1], 'm')}"
            )
            primary = their_fields.index(other._meta.pk)
            self.theirs.append((other, [f.attname for f in their_fields], primary, put))
        # Each Names is a subquery; its separator is a parameter, ahead of the conditions'.
        selected += [_names_sql(model, item) for item in named]
        self.leading = [SEPARATOR] * len(named)
        self.names = [item.attribute for item in named]
        conditions = " AND ".join(f"{column(model, name, 'm')} = %s" for name in where)
        order = _model_order(model, "m") if ordered else []
        self.statement = (
            f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} m"  # noqa: S608
            + "".join(joins)
            + f" WHERE {conditions}"
            + (f" ORDER BY {', '.join(order)}" if order else "")
        )
        self.model = model
        self.where = where
        self.ordered = ordered
        self.own = [f.attname for f in own_fields]
        # Each column's value as the ORM would hand it over (a UUID from SQLite's text, a
        # ciphertext from PostgreSQL's bytea): the converters Django's compiler applies.
        self.compiler = SQLCompiler(
            model._default_manager.none().query, connection, connection.alias
        )
        self.converters = self.compiler.get_converters(
            [f.get_col(f.model._meta.db_table) for f in fields]
        )


def _setter(attribute: str) -> Callable[..., None]:
    def put(row: models.Model, value: Any) -> None:
        setattr(row, attribute, value)

    return put


def _names_sql(model: type[models.Model], names: Names) -> str:
    """``names``' subquery: the other rows' ``field`` joined, by our row's key."""
    quote = connection.ops.quote_name
    relation = model._meta.get_field(names.name)
    assert isinstance(relation, models.ManyToManyField)
    through: type[models.Model] = relation.remote_field.through  # type: ignore[assignment]
    other: type[models.Model] = relation.related_model
    ours, theirs = relation.m2m_field_name(), relation.m2m_reverse_field_name()
    joined = "STRING_AGG" if connection.vendor == "postgresql" else "GROUP_CONCAT"
    return (
        f"(SELECT {joined}({column(other, names.field, 'o')}, %s)"  # noqa: S608
        f" FROM {quote(through._meta.db_table)} t"
        f" JOIN {quote(other._meta.db_table)} o"
        f" ON {_key(other, 'o')} = {column(through, theirs, 't')}"
        f" WHERE {column(through, ours, 't')} = {_key(model, 'm')})"
        f" AS {quote(names.attribute)}"
    )


@cache
def _join_plan(
    model: type[models.Model], related: tuple[Related, ...], where: tuple[str, ...], ordered: bool
) -> _JoinPlan:
    return _JoinPlan(model, related, where, ordered)
