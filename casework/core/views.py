from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from casework.accounts.decorators import safe_next
from casework.accounts.middleware import PUBLIC_VIEWS
from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role
from casework.accounts.views import dashboard_context, login_notice
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases import retention, subject_requests
from casework.cases.access import of_visible_cases, visible_cases
from casework.cases.list_views import case_rows, open_rows, unassigned
from casework.cases.models import STAGES, Case, Deadline, StageCount
from casework.cases.workflow import Status
from casework.core.queues import (
    drafts,
    letters_awaiting_review,
    open_subject_requests,
    upcoming_deadlines,
)
from casework.lib.sql import rows_of

logger = logging.getLogger(__name__)


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"notice": login_notice(request)}
    context |= dashboard_context(request)
    user: Any = request.user
    # The organisation (its name, its retention schedule) in one statement written out,
    # rather than built by the ORM when first asked for (issue 15).
    (organisation,) = rows_of(Organisation, "id", user.organisation_id)
    User.organisation.field.set_cached_value(user, organisation)
    roles = set(user.roles)  # one query for the page's role checks
    if Role.CASEWORKER in roles or Role.COORDINATOR in roles:
        context |= _dashboard(request, user, coordinator=Role.COORDINATOR in roles)
    # R61: thirty days' notice of deletions under the retention schedule. Coordinators see
    # it (every case of their organisation is theirs to see: visible_cases) and may keep one
    # longer; org admins see it too (codes and dates, which they see elsewhere too) and ask a
    # coordinator.
    if Role.COORDINATOR in roles or Role.ORG_ADMIN in roles:
        context["retention"] = retention.upcoming(user.organisation, timezone.now())
        context["retention_may_hold"] = Role.COORDINATOR in roles
    return render(request, "core/home.html", context)


def _dashboard(request: HttpRequest, user: Any, *, coordinator: bool) -> dict[str, object]:
    """Open cases by priority, deadlines, counts by status and, for coordinators, the triage
    queues. Codes and plaintext metadata only; every query is scoped by ``visible_cases``
    and bounded, so the page costs the same with 10 or 100,000 cases."""
    today = timezone.localdate()
    visible = visible_cases(user)
    mine = open_rows(user, limit=25)
    counts = _stage_counts(user, visible, coordinator=coordinator)
    by_status = [
        (Status(value).label, counts[stage])
        for value, stage in STAGES.items()
        if stage in counts and value != Status.CLOSED
    ]
    open_count = sum(n for _label, n in by_status)
    soon = today + timedelta(days=14)
    deadlines = upcoming_deadlines(user, until=soon, limit=DEADLINE_ROWS)
    context: dict[str, object] = {
        "my_cases": case_rows(mine, today),
        "open_count": open_count,
        "by_status": by_status,
        "deadlines": deadlines,
        "today": today,
    }
    if coordinator:
        context["queues"] = _queues(user, visible, today, deadlines)
        first = open_subject_requests(user, limit=QUEUE_ROWS)
        context["subject_requests"] = first
        context["subject_requests_count"] = _count(
            first, lambda: subject_requests.open_requests(user)
        )
    record(Action.CASE_LISTED, actor=user, request=request, count=open_count, page="dashboard")
    return context


QUEUE_ROWS = 10
DEADLINE_ROWS = 50


def _stage_counts(user: Any, visible: QuerySet[Case], *, coordinator: bool) -> dict[int, int]:
    """Cases by stored stage. A coordinator sees every case of the organisation: their counts
    are the ones the database keeps (StageCount), instead of counting up to 100,000 cases on
    each visit (issue 15); anyone else's cases, through their assignments, are counted."""
    if coordinator:
        # One row per stage: read whole, in one statement written out (lib.sql).
        kept = rows_of(StageCount, "organisation", user.organisation_id)
        return {row.stage: row.cases for row in kept if row.cases > 0}
    return {row["stage"]: row["n"] for row in visible.values("stage").annotate(n=Count("*"))}


def _queues(
    user: Any, visible: QuerySet[Case], today: date, deadlines: list[Deadline]
) -> dict[str, object]:
    """What waits for a coordinator: letters to review, open cases nobody works on, and
    overdue deadlines; each the first rows, how many there are, and the full list.
    ``deadlines`` are the page's own list (the next two weeks' and the overdue, by date)."""
    first_letters = letters_awaiting_review(user, limit=QUEUE_ROWS)
    first_waiting = open_rows(user, limit=QUEUE_ROWS, unassigned_only=True)
    # The overdue are the first of the page's deadlines, in the same order and scope: read
    # from that list, and from the database only if it holds nothing but overdue ones (then
    # there may be more than it shows).
    overdue = [deadline for deadline in deadlines if deadline.due_on < today]
    whole = len(deadlines) < DEADLINE_ROWS or len(overdue) < len(deadlines)
    first_late = overdue[:QUEUE_ROWS]
    overdue_count = len(overdue)
    if not whole:
        overdue_count = _count(first_late, lambda: _late_deadlines(user, today))
    list_url = reverse("case_list")
    return {
        "letters": first_letters,
        "letters_count": _count(first_letters, lambda: drafts(user)),
        "letters_url": f"{list_url}?letter_draft=1",
        "unassigned": case_rows(first_waiting, today),
        "unassigned_count": _count(first_waiting, lambda: unassigned(visible)),
        "unassigned_url": f"{list_url}?unassigned=1",
        "overdue": first_late,
        "overdue_count": overdue_count,
        "overdue_url": f"{list_url}?overdue=1",
    }


def _count(first: list[Any], rows: Callable[[], QuerySet[Any]]) -> int:
    """How many ``rows()`` there are, ``first`` being the first QUEUE_ROWS of them: counted
    only when the queue is full (an ordinary day's short queue neither builds the query nor
    costs a COUNT)."""
    return len(first) if len(first) < QUEUE_ROWS else rows().count()


def _late_deadlines(user: Any, today: date) -> QuerySet[Deadline]:
    """The deadlines not done and past of the open cases ``user`` may see."""
    overdue = Deadline.objects.filter(done=False, due_on__lt=today)
    return of_visible_cases(overdue, user, open_only=True)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: "ok" and whether the database answers, nothing more."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("healthz: database did not answer")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request: no context processor may touch a broken database or
    # session, and nothing about the failure reaches the page.
    return HttpResponseServerError(loader.get_template("500.html").render())


# What a person types again rather than finding it written back into a page.
SECRET_FIELDS = frozenset(
    {
        "csrfmiddlewaretoken",
        "password",
        "current_password",
        "new_password",
        "new_password_again",
        "code",
        "passphrase",
    }
)


@requires_csrf_token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The form was refused by the CSRF check (settings.CSRF_FAILURE_VIEW).

    A form of our own with an expired token (signed in or out in another tab) keeps what was
    typed: the page offers to send it again with a fresh token. A request from anywhere else
    gets the explanation only; nothing it carried is written back into the page.
    """
    context = {
        "kept": _resendable(request),
        "action": request.path,
        "back": _same_origin_referer(request),
        "signed_out": not _may_post_here(request),
    }
    return render(request, "errors/csrf_failure.html", context, status=403)


def _resendable(request: HttpRequest) -> list[tuple[str, str]] | None:
    if request.method != "POST" or request.FILES or not _from_our_own_page(request):
        return None
    if not _may_post_here(request) or SECRET_FIELDS.intersection(request.POST) - {
        "csrfmiddlewaretoken"
    }:
        return None
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in SECRET_FIELDS
        for value in values
    ]


def _from_our_own_page(request: HttpRequest) -> bool:
    """The browser says so itself: a page of another origin cannot set these headers."""
    if request.headers.get("Sec-Fetch-Site") != "same-origin":
        return False
    try:
        ours = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        return False
    return request.headers.get("Origin") == ours


def _may_post_here(request: HttpRequest) -> bool:
    user: Any = request.user
    if user.is_authenticated and user.is_verified():
        return True
    try:
        return resolve(request.path_info).url_name in PUBLIC_VIEWS
    except Resolver404:
        return False


def _same_origin_referer(request: HttpRequest) -> str:
    """The page the form was on (our referrer policy sends it to us only), else home."""
    referer = request.headers.get("Referer", "")
    try:
        return safe_next(request, referer, default="/")
    except DisallowedHost:
        return "/"
