"""The dashboard's short lists: the deadlines of the next two weeks and the overdue, the
letters awaiting review and the unanswered requests of people, each with its case's code.

A coordinator sees every case of their organisation (``visible_cases``), so their rows are
the organisation's own, found by the rows' organisation column as ``of_visible_cases`` finds
them: for them each list is one statement written out, because Django took longer to build
these queries (a join, a condition on the case, the columns picked, the order) than the
database took to answer them (issue 15). Anyone else's rows come through
``of_visible_cases`` and the ORM. Only the models' quoted table and column names go into the
statements; the values are parameters. tests/test_dashboard.py holds each statement to the
ORM's rows.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from django.db import connection, models

from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.cases.access import of_visible_cases
from casework.cases.models import Case, Deadline, SubjectRequest
from casework.cases.subject_requests import open_requests
from casework.cases.workflow import Status
from casework.letters.models import Letter
from casework.lib.sql import ModelT, column, column_value


def upcoming_deadlines(user: Any, *, until: date, limit: int) -> list[Deadline]:
    """The first ``limit`` deadlines not done and due by ``until`` (the overdue too) of the
    open cases ``user`` may see, by date, then by the case's code."""
    if not user.has_role(Role.COORDINATOR):
        upcoming = Deadline.objects.filter(done=False, due_on__lte=until)
        return list(
            of_visible_cases(upcoming, user, open_only=True)
            .select_related("case")
            .only("kind", "due_on", "case__code", "case__id")
            .order_by("due_on", "case__code")[:limit]
        )
    values = [
        column_value(Deadline, "organisation", user.organisation_id),
        column_value(Deadline, "due_on", until),
        Status.CLOSED.value,
        limit,
    ]
    return _with_cases(Deadline.objects.raw(_statements()["deadlines"], values))


def letters_awaiting_review(user: Any, *, limit: int) -> list[Letter]:
    """The first ``limit`` draft letters of the cases ``user`` may see, the oldest request
    first, each with who asked for it."""
    if not user.has_role(Role.COORDINATOR):
        return list(
            drafts(user)
            .select_related("case", "requested_by")
            .only("id", "kind", "requested_at", "case__id", "case__code", "requested_by__username")
            .order_by("requested_at")[:limit]
        )
    values = [
        Letter.Status.DRAFT.value,
        column_value(Letter, "organisation", user.organisation_id),
        limit,
    ]
    letters = _with_cases(Letter.objects.raw(_statements()["letters"], values))
    for letter in letters:
        requester = _loaded(
            User, id=letter.requested_by_id, username=letter.__dict__.pop("requester")
        )
        Letter.requested_by.field.set_cached_value(letter, requester)
    return letters


def open_subject_requests(user: Any, *, limit: int) -> list[SubjectRequest]:
    """The first ``limit`` unanswered requests of people on the cases ``user`` may see, the
    one due first first (``subject_requests.open_requests``)."""
    if not user.has_role(Role.COORDINATOR):
        shown = open_requests(user).only("id", "kind", "due_on", "case__id", "case__code")
        return list(shown[:limit])
    values = [column_value(SubjectRequest, "organisation", user.organisation_id), limit]
    return _with_cases(SubjectRequest.objects.raw(_statements()["requests"], values))


def drafts(user: Any) -> models.QuerySet[Letter]:
    """The draft letters of the cases ``user`` may see, through the ORM."""
    return of_visible_cases(Letter.objects.filter(status=Letter.Status.DRAFT), user)


def _with_cases(rows: Any) -> list[Any]:
    """The rows, each holding its case as read with it: its id and code (``case_code``)."""
    found = list(rows)
    for row in found:
        case = _loaded(Case, id=row.case_id, code=row.__dict__.pop("case_code"))
        type(row).case.field.set_cached_value(row, case)
    return found


def _loaded(model: type[ModelT], **values: Any) -> ModelT:
    """An instance of ``model`` as a query of ``values``' columns alone would give it (the
    others deferred, as with ``only()``)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


@cache
def _statements() -> dict[str, str]:
    quote = connection.ops.quote_name

    def table(model: type[models.Model]) -> str:
        return quote(model._meta.db_table)

    def of_case(alias: str, model: type[models.Model]) -> str:
        """The join to the row's case, whose code is read as ``case_code``."""
        return (
            f" JOIN {table(Case)} c ON {column(Case, 'id', 'c')} = {column(model, 'case', alias)}"
        )

    code = f"{column(Case, 'code', 'c')} AS {quote('case_code')}"
    deadline = {name: column(Deadline, name, "d") for name in ("id", "case", "kind", "due_on")}
    letter = {
        name: column(Letter, name, "l")
        for name in ("id", "case", "kind", "requested_by", "requested_at")
    }
    request = {name: column(SubjectRequest, name, "s") for name in ("id", "case", "kind", "due_on")}
    return {
        "deadlines": (
            f"SELECT {', '.join(deadline.values())}, {code}"  # noqa: S608
            f" FROM {table(Deadline)} d{of_case('d', Deadline)}"
            f" WHERE {column(Deadline, 'organisation', 'd')} = %s"
            f" AND NOT {column(Deadline, 'done', 'd')} AND {deadline['due_on']} <= %s"
            f" AND {column(Case, 'status', 'c')} <> %s"
            f" ORDER BY {deadline['due_on']}, {column(Case, 'code', 'c')} LIMIT %s"
        ),
        "letters": (
            f"SELECT {', '.join(letter.values())}, {code},"  # noqa: S608
            f" {column(User, 'username', 'u')} AS {quote('requester')}"
            f" FROM {table(Letter)} l{of_case('l', Letter)}"
            f" JOIN {table(User)} u ON {column(User, 'id', 'u')} = {letter['requested_by']}"
            f" WHERE {column(Letter, 'status', 'l')} = %s"
            f" AND {column(Letter, 'organisation', 'l')} = %s"
            f" ORDER BY {letter['requested_at']} LIMIT %s"
        ),
        "requests": (
            f"SELECT {', '.join(request.values())}, {code}"  # noqa: S608
            f" FROM {table(SubjectRequest)} s{of_case('s', SubjectRequest)}"
            f" WHERE {column(SubjectRequest, 'completed_at', 's')} IS NULL"
            f" AND {column(SubjectRequest, 'organisation', 's')} = %s"
            f" ORDER BY {request['due_on']}, {column(SubjectRequest, 'recorded_at', 's')}"
            " LIMIT %s"
        ),
    }
