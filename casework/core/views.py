from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from casework.accounts.decorators import safe_next
from casework.accounts.middleware import PUBLIC_VIEWS
from casework.accounts.roles import Role
from casework.accounts.views import login_notice

logger = logging.getLogger(__name__)


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"notice": login_notice(request)}
    user: Any = request.user
    if user.has_role(Role.CASEWORKER) or user.has_role(Role.COORDINATOR):
        context |= _dashboard(request, user)
    return render(request, "core/home.html", context)


def _dashboard(request: HttpRequest, user: Any) -> dict[str, object]:
    """My cases by priority and the counts by status: codes and plaintext metadata only."""
    from casework.audit.models import Action
    from casework.audit.services import record
    from casework.cases.access import visible_cases
    from casework.cases.models import PRIORITY_ORDER, Deadline
    from casework.cases.workflow import Status

    cases = visible_cases(user).exclude(status=Status.CLOSED)
    mine = sorted(
        cases.only("id", "code", "priority", "status", "organisation_id", "applicant_id"),
        key=lambda case: (PRIORITY_ORDER[case.priority], case.code),
    )
    counts = {row["status"]: row["n"] for row in cases.values("status").annotate(n=Count("id"))}
    by_status = [(Status(value).label, counts[value]) for value in Status.values if value in counts]
    soon = timezone.localdate() + timedelta(days=14)
    deadlines = (
        Deadline.objects.filter(case__in=cases, done=False, due_on__lte=soon)
        .select_related("case")
        .only("kind", "due_on", "case__code", "case__id")[:50]
    )
    record(Action.CASE_LISTED, actor=user, request=request, count=len(mine), page="dashboard")
    return {
        "my_cases": mine[:25],
        "open_count": len(mine),
        "by_status": by_status,
        "deadlines": deadlines,
        "today": timezone.localdate(),
    }


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
