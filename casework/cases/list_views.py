"""The case list: plaintext operational fields only (codes, status, priority, assignees, dates,
flags), filtered, sorted and paged by the database. No names: those are encrypted.

The dashboard (core.views) shows the same rows: ``triage_rows`` computes the columns,
``case_rows`` turns a page of cases into what the templates print.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import OrderBy
from django.db.models.lookups import IsNull
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required
from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.access import visible_cases
from casework.cases.labels import country_name
from casework.cases.models import PRIORITY_ORDER, Applicant, Case, Priority
from casework.cases.workflow import Status
from casework.lib.aggregates import SEPARATOR, JoinedText
from casework.lib.sql import column, column_value

case_roles = role_required(Role.CASEWORKER, Role.COORDINATOR)
PAGE_SIZE = 25


@require_http_methods(["GET"])
@case_roles
def case_list(request: HttpRequest) -> HttpResponse:
    """Plaintext operational fields only: codes, status, priority, dates, flags. No names."""
    user: Any = request.user
    today = timezone.localdate()
    # Filters and sort take enumerated values only (no names), so a GET form is safe here.
    filters = Filters.from_query(request.GET)
    sort = request.GET.get("sort", "")
    if sort.removeprefix("-") not in SORTS:
        sort = DEFAULT_SORT
    cases = filters.apply(visible_cases(user), user, today)
    page = page_of(
        cases,
        sort,
        after=_case_id(request.GET.get("after")),
        before=_case_id(request.GET.get("before")),
    )
    record(
        Action.CASE_LISTED,
        actor=user,
        request=request,
        count=len(page.cases),
        filters=filters.audited(),
    )
    kept = filters.params() | ({} if sort == DEFAULT_SORT else {"sort": sort})
    context = {
        "page": page,
        "rows": case_rows(page.cases, today),
        "headers": headers(filters.params(), sort),
        "sort": "" if sort == DEFAULT_SORT else sort,
        "caption": sort_description(sort),
        "kept": urlencode(kept),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "flags": list(FLAGS.items()),
        "filters": filters,
    }
    return render(request, "cases/list.html", context)


def _case_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


FLAGS = {
    "on_hold": gettext_lazy("on hold"),
    "lost_contact": gettext_lazy("lost contact"),
    "emergency_protection": gettext_lazy("emergency protection"),
    "family_case": gettext_lazy("family case"),
    "duplicate_review": gettext_lazy("possible duplicate to review"),
}

ERASED = gettext_lazy("erased")
NOBODY = gettext_lazy("nobody")  # the assignees' cell of a case nobody is assigned to

LIST_COLUMNS = (
    "id",
    "code",
    "status",
    "priority",
    "destination_state",
    "on_hold",
    "lost_contact",
    "emergency_protection",
    "family_case",
    "duplicate_review",
    "opened_at",
    "last_activity_at",
    "organisation_id",
    "applicant_id",
    "priority_rank",
    "stage",
    "next_deadline_on",
)

# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Filters:
    """What the list is narrowed to; each value is one of a known set, anything else is
    dropped, so nothing a person typed travels on in links or the audit log."""

    status: str = ""
    priority: str = ""
    destination: str = ""
    flag: str = ""
    mine: bool = False
    unassigned: bool = False
    overdue: bool = False
    letter_draft: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        destination = query.get("destination", "")
        return cls(
            status=_one_of(query.get("status", ""), Status.values),
            priority=_one_of(query.get("priority", ""), Priority.values),
            destination=destination.upper() if _is_country(destination) else "",
            flag=_one_of(query.get("flag", ""), FLAGS),
            mine=query.get("mine") == "1",
            unassigned=query.get("unassigned") == "1",
            overdue=query.get("overdue") == "1",
            letter_draft=query.get("letter_draft") == "1",
        )

    def apply(self, cases: QuerySet[Case], user: Any, today: datetime.date) -> QuerySet[Case]:
        if self.status:
            cases = cases.filter(status=self.status)
        # Each filter is written so that an index serves it at 100,000 cases (issue 15): the
        # stored rank (the priority sort's own index), a flag through its partial index (of
        # the few flagged cases, in priority order), and "mine" and "letter draft" as the
        # ids their own tables give, not a join of every case.
        if self.priority:
            cases = cases.filter(priority_rank=PRIORITY_ORDER[self.priority])
        if self.destination:
            cases = cases.filter(destination_state=self.destination)
        if self.flag:
            cases = cases.filter(**{self.flag: True})  # as the flag's partial index says
        if self.mine:
            assigned = Case.caseworkers.through.objects.filter(user_id=user.pk)
            cases = cases.filter(pk__in=assigned.values("case_id"))
        if self.unassigned:
            cases = unassigned(cases)
        if self.overdue:
            cases = overdue(cases, today)
        if self.letter_draft:
            cases = with_letter_draft(cases)
        return cases

    def params(self) -> dict[str, str]:
        """The filters in use, as the list's GET parameters (for links that keep them)."""
        values = {name: _as_param(value) for name, value in vars(self).items()}
        return {name: value for name, value in values.items() if value}

    def audited(self) -> dict[str, str]:
        return {name: _as_param(value) for name, value in vars(self).items()}


def _one_of(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else ""


def _is_country(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha()


def _as_param(value: str | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return value


def unassigned(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Open cases no caseworker is assigned to: the coordinator's queue."""
    # Compared with a value, not filter(has_caseworker=False): Django writes that as
    # "NOT has_caseworker", which no index serves.
    return cases.exclude(status=Status.CLOSED).filter(has_caseworker=Value(False))


def overdue(cases: QuerySet[Case], today: datetime.date) -> QuerySet[Case]:
    """Open cases with a deadline not done and already past (the rows marked overdue): those
    whose earliest deadline not done is past."""
    return cases.exclude(status=Status.CLOSED).filter(next_deadline_on__lt=today)


def with_letter_draft(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases with a letter still a draft, i.e. waiting for a coordinator to issue it."""
    # By the reverse relation's model, so the list imports nothing from the letters app;
    # "draft" is Letter.Status.DRAFT.
    letters = Case.letters.rel.related_model._default_manager
    return cases.filter(pk__in=letters.filter(status="draft").values("case_id"))


# --- columns and rows ---------------------------------------------------------------------


def triage_rows(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The columns of the lists (the sort keys are stored on the case), the assignees'
    usernames included, computed for the rows shown only: one query for a page."""
    names = (
        User.objects.filter(assigned_cases=OuterRef("pk"))
        .order_by()
        .values("assigned_cases")
        .annotate(names=JoinedText(F("username"), Value(SEPARATOR)))
        .values("names")
    )
    return cases.only(*LIST_COLUMNS).annotate(
        erased_at=F("applicant__erased_at"), assignee_names=Subquery(names)
    )


def open_rows(user: Any, *, limit: int, unassigned_only: bool = False) -> list[Case]:
    """The first ``limit`` open cases ``user`` may see (with ``unassigned_only``, those
    nobody is assigned to), in the default order, with the columns triage_rows() gives: the
    dashboard's open cases and its queue of unassigned ones.

    A coordinator sees every case of their organisation (visible_cases): for them this is one
    statement written out, scoped by the organisation's column as visible_cases() scopes
    theirs. Django took longer to build the query (the assignees' subquery, the person's
    erasure, the order) than the database took to answer it (issue 15). Anyone else's cases
    come through visible_cases() and the ORM. tests/test_dashboard.py holds the two to the
    same rows."""
    if not user.has_role(Role.COORDINATOR):
        cases = visible_cases(user).exclude(status=Status.CLOSED)
        if unassigned_only:
            cases = unassigned(cases)
        return list(triage_rows(cases).order_by(*ordering(DEFAULT_SORT))[:limit])
    values = [
        SEPARATOR,
        column_value(Case, "organisation", user.organisation_id),
        Status.CLOSED.value,
    ]
    if unassigned_only:
        values.append(column_value(Case, "has_caseworker", False))
    statement = _open_rows_sql(connection.vendor, unassigned_only=unassigned_only)
    return list(Case.objects.raw(statement, [*values, limit]))


@cache
def _open_rows_sql(vendor: str, *, unassigned_only: bool) -> str:
    """open_rows()'s statement: the default order is (priority rank, code), as ordering()
    gives it. Only the models' quoted table and column names go into the text; the values
    are parameters."""
    quote = connection.ops.quote_name

    def case(name: str) -> str:
        return column(Case, name, "c")

    memberships = Case.caseworkers.through
    joined = "STRING_AGG" if vendor == "postgresql" else "GROUP_CONCAT"
    unassigned_condition = f" AND {case('has_caseworker')} = %s" if unassigned_only else ""
    return (
        f"SELECT {', '.join(case(name) for name in LIST_COLUMNS)},"  # noqa: S608
        f" {column(Applicant, 'erased_at', 'a')} AS {quote('erased_at')},"
        f" (SELECT {joined}({column(User, 'username', 'u')}, %s)"
        f" FROM {quote(User._meta.db_table)} u"
        f" JOIN {quote(memberships._meta.db_table)} m"
        f" ON {column(memberships, 'user', 'm')} = {column(User, 'id', 'u')}"
        f" WHERE {column(memberships, 'case', 'm')} = {case('id')}) AS {quote('assignee_names')}"
        f" FROM {quote(Case._meta.db_table)} c"
        f" JOIN {quote(Applicant._meta.db_table)} a"
        f" ON {column(Applicant, 'id', 'a')} = {case('applicant')}"
        f" WHERE {case('organisation')} = %s AND {case('status')} <> %s"
        f"{unassigned_condition}"
        f" ORDER BY {case('priority_rank')}, {case('code')} LIMIT %s"
    )


@dataclass(frozen=True)
class Row:
    """One case as a list prints it: words instead of codes, dates as the lists write them,
    and whether it is overdue. Each cell is text made here, once, so the template only prints
    attributes: per-row tags and filters were most of the list's rendering (issue 15)."""

    case: Case
    url: str
    priority: str
    status: str
    destination: str
    assigned: str  # the usernames, or that nobody is
    deadline: str  # the next deadline not done, or a dash
    overdue: bool
    last_activity: str
    opened: str
    flags: str


# The list's flag column, shorter than FLAGS (the case page's) and without the duplicate review.
LIST_FLAGS = {
    "on_hold": gettext_lazy("on hold"),
    "lost_contact": gettext_lazy("lost contact"),
    "emergency_protection": gettext_lazy("emergency protection"),
    "family_case": gettext_lazy("family"),
}


def case_address() -> str:
    """The case page's address with ``{}`` for the case's id: reversed once for a list, and
    filled in for each row."""
    blank = uuid.UUID(int=0)
    return reverse("case_detail", args=[blank]).replace(str(blank), "{}")


def case_links(cases: Iterable[Any]) -> list[tuple[str, str, str]]:
    """Each case's address, code and priority in words (search results): made here, once a
    row, as ``case_rows`` makes the lists' cells."""
    address = case_address()
    priorities = {value: str(label) for value, label in Priority.choices}
    return [
        (address.format(case.pk), case.code, priorities.get(case.priority, case.priority))
        for case in cases
    ]


def case_rows(cases: Iterable[Any], today: datetime.date) -> list[Row]:
    """``cases`` come from ``triage_rows``: no query is made here. Every word (priority,
    status, country, flag) and the time zone are looked up once for the list, not once a
    row: each lookup of the active language or zone costs a context-local read (issue 15)."""
    address = case_address()
    priorities = {value: str(label) for value, label in Priority.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    flags = {name: str(label) for name, label in LIST_FLAGS.items()}
    erased = str(ERASED)
    nobody = str(NOBODY)
    zone = timezone.get_current_timezone()
    countries: dict[str, str] = {}

    def country(code: str) -> str:
        if code not in countries:
            countries[code] = country_name(code) or "—"
        return countries[code]

    return [
        Row(
            case=case,
            url=address.format(case.pk),
            priority=priorities.get(case.priority, case.priority),
            # An erased person's case keeps its code and dates; the list says so.
            status=erased if case.erased_at else statuses.get(case.status, case.status),
            destination=country(case.destination_state),
            assigned=(
                ", ".join(sorted(case.assignee_names.split(SEPARATOR)))
                if case.assignee_names
                else nobody
            ),
            deadline=case.next_deadline_on.isoformat() if case.next_deadline_on else "—",
            overdue=case.next_deadline_on is not None
            and case.next_deadline_on < today
            and case.status != Status.CLOSED,
            last_activity=case.last_activity_at.astimezone(zone).date().isoformat(),
            opened=case.opened_at.astimezone(zone).date().isoformat(),
            flags=" ".join(label for name, label in flags.items() if getattr(case, name)),
        )
        for case in cases
    ]


# --- sorting ------------------------------------------------------------------------------

# Each sortable column: the stored field it sorts by (each has an index, models.Case.Meta),
# and its header. The case code always breaks ties, so paging is stable.
SORTS = {
    "code": ("code", gettext_lazy("Case")),
    "priority": ("priority_rank", gettext_lazy("Priority")),
    "status": ("stage", gettext_lazy("Status")),
    "destination": ("destination_state", gettext_lazy("Destination")),
    "deadline": ("next_deadline_on", gettext_lazy("Next deadline")),
    "activity": ("last_activity_at", gettext_lazy("Last activity")),
    "opened": ("opened_at", gettext_lazy("Opened")),
}
DEFAULT_SORT = "priority"  # most urgent first, then by code

# The table's columns in order; None: not sortable.
COLUMNS: list[tuple[str | None, Any]] = [
    ("code", SORTS["code"][1]),
    ("priority", SORTS["priority"][1]),
    ("status", SORTS["status"][1]),
    ("destination", SORTS["destination"][1]),
    (None, gettext_lazy("Assigned to")),
    ("deadline", SORTS["deadline"][1]),
    ("activity", SORTS["activity"][1]),
    (None, gettext_lazy("Flags")),
    ("opened", SORTS["opened"][1]),
]


def ordering(sort: str) -> list[OrderBy]:
    """Ascending ``name`` or descending ``-name``, the code breaking ties the same way; cases
    without the value (no deadline pending) come last either way."""
    return _order(SORTS[sort.removeprefix("-")][0], ascending=not sort.startswith("-"))


def _order(column: str, *, ascending: bool, nulls_last: bool | None = True) -> list[OrderBy]:
    """The order (column, code), both ascending or both descending, with the cases without a
    value last, or first; ``nulls_last`` None: the cases ordered are all of one kind (all with
    a value, or all without), so nothing need place them."""
    if column == "code":
        return [F("code").asc() if ascending else F("code").desc()]
    code = F("code").asc() if ascending else F("code").desc()
    value = F(column).asc() if ascending else F(column).desc()
    # Nulls placed only where there are any: PostgreSQL will not walk an ascending index
    # backwards for DESC NULLS LAST, even on a column that is never null (issue 15).
    if nulls_last is None or not Case._meta.get_field(column).null:
        return [value, code]
    if nulls_last == ascending:  # ASC NULLS LAST or DESC NULLS FIRST: an index read either way
        return [
            F(column).asc(nulls_last=True) if ascending else F(column).desc(nulls_first=True),
            code,
        ]
    # DESC NULLS LAST (ASC NULLS FIRST going back) is no order of a PostgreSQL index read
    # either way, and SQLite cannot index it: whether there is a value comes first, then the
    # value and the code, all one way, as the index case_list_deadline_desc holds them.
    present = has_value(column)
    return [present.asc() if ascending else present.desc(), value, code]


def has_value(column: str) -> IsNull:
    """``column IS NOT NULL``, a sort key of its own (the same expression as in Case.Meta)."""
    return IsNull(F(column), False)


# --- paging ---------------------------------------------------------------------------------
#
# By key, not by offset: a page is the 25 cases after (or before) a given case in the
# sort's order, found by walking the sort's index from that case on, so page 2,000 costs
# what page 1 costs and no page needs the cases counted. The links carry the case's id
# (already in every case link), never its code or a value of a column.


@dataclass(frozen=True)
class Page:
    cases: list[Case]
    has_previous: bool
    has_next: bool

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_id(self) -> str:
        return str(self.cases[0].pk) if self.cases else ""

    @property
    def next_id(self) -> str:
        return str(self.cases[-1].pk) if self.cases else ""


def page_of(
    cases: QuerySet[Case],
    sort: str,
    *,
    after: uuid.UUID | None = None,
    before: uuid.UUID | None = None,
) -> Page:
    """The page of ``cases`` in the order of ``sort`` that follows the case ``after``, or
    precedes the case ``before``; the first page when neither is one of ``cases``."""
    column = SORTS[sort.removeprefix("-")][0]
    ascending = not sort.startswith("-")
    edge = before or after
    boundary = cases.filter(pk=edge).values(column, "code").first() if edge else None
    backwards = boundary is not None and before is not None
    # Going back is going forward in the opposite order (nulls then come first).
    forward = ascending != backwards
    nulls_last: bool | None = not backwards
    if boundary is not None and (boundary[column] is None) == nulls_last:
        # Only cases of the boundary's kind are left, all with a value or all without: their
        # walk along (column, code) needs no key for where the nulls go.
        nulls_last = None
    rows = triage_rows(cases).order_by(*_order(column, ascending=forward, nulls_last=nulls_last))
    if boundary is not None:
        rows = rows.filter(
            _beyond(column, boundary[column], boundary["code"], forward, nulls_last=nulls_last)
        )
    found = list(rows[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    if backwards:
        found.reverse()
        return Page(found, has_previous=more, has_next=True)
    return Page(found, has_previous=boundary is not None, has_next=more)


def _beyond(column: str, value: Any, code: str, ascending: bool, *, nulls_last: bool | None) -> Q:
    """The cases after (``value``, ``code``) in the order ``_order`` gives for the same
    arguments."""
    sign = ">" if ascending else "<"
    if column == "code":
        return Q(_RowCompare([F("code")], sign, [Value(code)]))
    field: Any = Case._meta.get_field(column)
    if value is None:  # among the cases without a value
        rest = Q(_RowCompare([F("code")], sign, [Value(code)]), **{f"{column}__isnull": True})
        return rest if nulls_last is None else rest | Q(**{f"{column}__isnull": False})
    later = Q(
        _RowCompare([F(column), F("code")], sign, [Value(value, output_field=field), Value(code)])
    )
    return later | Q(**{f"{column}__isnull": True}) if nulls_last and field.null else later


class _RowCompare(Func):
    """``(a, b) > (x, y)``: a row-value comparison, which SQLite (3.15 and later) and
    PostgreSQL both answer by walking an index on (a, b) from (x, y) on. (Django's own
    tuple lookups expand it into ORs on SQLite, which no index serves.)"""

    output_field = BooleanField()

    def __init__(self, left: list[Any], operator: str, right: list[Any]) -> None:
        super().__init__(*left, *right)
        self.operator = operator

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            sql, more = compiler.compile(expression)
            parts.append(sql)
            params.extend(more)
        half = len(parts) // 2
        return f"({', '.join(parts[:half])}) {self.operator} ({', '.join(parts[half:])})", params


@dataclass(frozen=True)
class Header:
    label: Any
    href: str = ""  # empty: the column is not sortable
    sorted: str = ""  # "ascending", "descending" or "" (the value of aria-sort)


def headers(params: dict[str, str], sort: str) -> list[Header]:
    """Column headers; a sortable one links to itself ascending, or descending when it is
    sorted ascending already. Filters are kept, the page starts again at 1."""
    shown = []
    for name, label in COLUMNS:
        if name is None:
            shown.append(Header(label))
            continue
        state = {name: "ascending", f"-{name}": "descending"}.get(sort, "")
        target = f"-{name}" if sort == name else name
        href = "?" + urlencode(params | {"sort": target})
        shown.append(Header(label, href=href, sorted=state))
    return shown


def sort_description(sort: str) -> str:
    """The table's caption, saying how it is sorted (aria-sort says it on the header too)."""
    label = SORTS[sort.removeprefix("-")][1]
    if sort.startswith("-"):
        return gettext("Cases you can see, sorted by {column} (descending)").format(column=label)
    return gettext("Cases you can see, sorted by {column} (ascending)").format(column=label)
