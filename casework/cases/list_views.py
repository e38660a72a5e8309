"""The case list: plaintext operational fields only (codes, status, priority, flags, dates),
sorted, filtered and paged by the database. No names: those are encrypted."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case as Case_
from django.db.models import Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.access import visible_cases
from casework.cases.models import PRIORITY_ORDER, Priority
from casework.cases.workflow import Status

case_roles = role_required(Role.CASEWORKER, Role.COORDINATOR)


@require_http_methods(["GET"])
@case_roles
def case_list(request: HttpRequest) -> HttpResponse:
    """Plaintext operational fields only: codes, status, priority, flags. No names."""
    user: Any = request.user
    cases = visible_cases(user)
    # Filters take enumerated values only (no names), so a GET form is safe here.
    status = request.GET.get("status", "")
    priority = request.GET.get("priority", "")
    destination = request.GET.get("destination", "")
    flag = request.GET.get("flag", "")
    if status in Status.values:
        cases = cases.filter(status=status)
    if priority in Priority.values:
        cases = cases.filter(priority=priority)
    if len(destination) == 2 and destination.isalpha():
        cases = cases.filter(destination_state=destination.upper())
    if flag in FLAGS:
        cases = cases.filter(**{flag: True})
    if request.GET.get("mine") == "1":
        cases = cases.filter(caseworkers=user)
    # Sorted and paged by the database: a page costs the same with 50 or 100,000 cases.
    rank = Case_(*[When(priority=p, then=Value(n)) for p, n in PRIORITY_ORDER.items()])
    rows = cases.only(*LIST_COLUMNS).annotate(rank=rank).order_by("rank", "code")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    filters = {"status": status, "priority": priority, "destination": destination, "flag": flag}
    record(
        Action.CASE_LISTED,
        actor=user,
        request=request,
        count=page.paginator.count,
        filters=filters,
    )
    context = {
        "page": page,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "flags": list(FLAGS.items()),
        "mine": request.GET.get("mine") == "1",
        **filters,
    }
    return render(request, "cases/list.html", context)


FLAGS = {
    "on_hold": gettext_lazy("on hold"),
    "lost_contact": gettext_lazy("lost contact"),
    "emergency_protection": gettext_lazy("emergency protection"),
    "family_case": gettext_lazy("family case"),
}

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
    "opened_at",
    "organisation_id",
    "applicant_id",
)
