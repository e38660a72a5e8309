"""The case list: plaintext operational fields only (codes, status, priority, assignees, dates,
flags), filtered, sorted and paged by the database. No names: those are encrypted.

The dashboard (core.views) shows the same rows: ``triage_rows`` computes the columns,
``case_rows`` turns a page of cases into what the templates print.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case as Case_
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
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
from casework.cases.labels import status_label
from casework.cases.models import PRIORITY_ORDER, Case, Deadline, Priority
from casework.cases.workflow import Status

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
    # Sorted and paged by the database: a page costs the same with 50 or 100,000 cases.
    rows = triage_rows(cases).order_by(*ordering(sort))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    record(
        Action.CASE_LISTED,
        actor=user,
        request=request,
        count=page.paginator.count,
        filters=filters.audited(),
    )
    kept = filters.params() | ({} if sort == DEFAULT_SORT else {"sort": sort})
    context = {
        "page": page,
        "rows": case_rows(page, today),
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


FLAGS = {
    "on_hold": gettext_lazy("on hold"),
    "lost_contact": gettext_lazy("lost contact"),
    "emergency_protection": gettext_lazy("emergency protection"),
    "family_case": gettext_lazy("family case"),
    "duplicate_review": gettext_lazy("possible duplicate to review"),
}

ERASED = gettext_lazy("erased")

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
        if self.priority:
            cases = cases.filter(priority=self.priority)
        if self.destination:
            cases = cases.filter(destination_state=self.destination)
        if self.flag:
            cases = cases.filter(**{self.flag: True})
        if self.mine:
            cases = cases.filter(caseworkers=user)
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
    return cases.exclude(status=Status.CLOSED).filter(caseworkers__isnull=True)


def overdue(cases: QuerySet[Case], today: datetime.date) -> QuerySet[Case]:
    """Open cases with a deadline not done and already past (the rows marked overdue)."""
    past = Deadline.objects.filter(case_id=OuterRef("pk"), done=False, due_on__lt=today)
    return cases.exclude(status=Status.CLOSED).filter(Exists(past))


def with_letter_draft(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases with a letter still a draft, i.e. waiting for a coordinator to issue it."""
    # By the reverse relation, so the list needs nothing from the letters app; "draft" is
    # Letter.Status.DRAFT. Distinct: a case may have a draft and a correction in draft.
    return cases.filter(letters__status="draft").distinct()


# --- columns and rows ---------------------------------------------------------------------


def triage_rows(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The columns of the lists, computed by the database: priority and workflow order, the
    earliest deadline not done, and the assignees, fetched for the rows shown only."""
    next_deadline = (
        Deadline.objects.filter(case_id=OuterRef("pk"), done=False)
        .order_by("due_on")
        .values("due_on")[:1]
    )
    assignees = User.objects.only("id", "username").order_by("username")
    return (
        cases.only(*LIST_COLUMNS)
        .annotate(
            rank=Case_(*[When(priority=p, then=Value(n)) for p, n in PRIORITY_ORDER.items()]),
            stage=Case_(*[When(status=s, then=Value(n)) for n, s in enumerate(Status.values)]),
            next_deadline=Subquery(next_deadline),
            erased_at=F("applicant__erased_at"),
        )
        .prefetch_related(Prefetch("caseworkers", queryset=assignees, to_attr="assignees"))
    )


@dataclass(frozen=True)
class Row:
    """One case as a list prints it: words instead of codes, and whether it is overdue."""

    case: Case
    status: str
    assignees: list[str]
    next_deadline: datetime.date | None
    overdue: bool


def case_rows(cases: Iterable[Any], today: datetime.date) -> list[Row]:
    """``cases`` come from ``triage_rows``: no query is made here."""
    return [
        Row(
            case=case,
            # An erased person's case keeps its code and dates; the list says so.
            status=str(ERASED) if case.erased_at else status_label(case.status),
            assignees=[user.username for user in case.assignees],
            next_deadline=case.next_deadline,
            overdue=case.next_deadline is not None
            and case.next_deadline < today
            and case.status != Status.CLOSED,
        )
        for case in cases
    ]


# --- sorting ------------------------------------------------------------------------------

# Each sortable column: the annotation or field it sorts by, and its header. The case code
# always breaks ties, so paging is stable.
SORTS = {
    "code": ("code", gettext_lazy("Case")),
    "priority": ("rank", gettext_lazy("Priority")),
    "status": ("stage", gettext_lazy("Status")),
    "destination": ("destination_state", gettext_lazy("Destination")),
    "deadline": ("next_deadline", gettext_lazy("Next deadline")),
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
    """Ascending ``name`` or descending ``-name``; cases without the value (no deadline
    pending) come last either way."""
    column = F(SORTS[sort.removeprefix("-")][0])
    key = column.desc(nulls_last=True) if sort.startswith("-") else column.asc(nulls_last=True)
    return [key, F("code").asc()]


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
