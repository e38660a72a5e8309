"""The auditors' pages: the log of their organisation, who accessed a case, the chain's
integrity, a CSV export and the alerts.

Auditors read words, never case content: users by name, cases by their pseudonymous
code, actions, decisions, statuses and fields by their translated names (labels.py), and
truncated networks. Every view here is for the auditor role only and for the auditor's own
organisation; anyone else gets 404, like a page that does not exist. Looking at the log is
itself logged.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts.decorators import role_required, safe_next, step_up_required
from casework.accounts.roles import Role
from casework.audit import alerts, labels, lookups, services, verification
from casework.audit.forms import AuditFilterForm
from casework.audit.models import Action, AuditEvent, Verification

PER_PAGE = 50
# Outermost on every view: anyone else gets 404 whatever the method, never a 405 that
# would confirm the page exists.
auditor_only = role_required(Role.AUDITOR)
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _filtered(organisation_id: uuid.UUID, filters: dict[str, str]) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(organisation_id=organisation_id)
    if "actor" in filters:
        events = events.filter(actor_id=filters["actor"])
    if "action" in filters:
        events = events.filter(action=filters["action"])
    if "case" in filters:
        events = events.filter(case_id=filters["case"])
    if "date_from" in filters:
        events = events.filter(at__gte=_midnight(date.fromisoformat(filters["date_from"])))
    last = date.fromisoformat(filters["date_to"]) if "date_to" in filters else date.max
    if last < date.max:  # the day after 9999-12-31 does not exist: no upper bound then
        events = events.filter(at__lt=_midnight(last + timedelta(days=1)))
    return events


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def latest_verification() -> Verification | None:
    """The chain is global, so is its latest check."""
    return Verification.objects.order_by("-at", "-pk").first()


def _integrity() -> dict[str, Any]:
    """The banner's facts: the latest verification and its damage in words."""
    verification = latest_verification()
    damage = labels.damage_label(verification.damage) if verification else ""
    return {"verification": verification, "damage": damage}


def _organisation_id(request: HttpRequest) -> uuid.UUID:
    user: Any = request.user
    organisation_id: uuid.UUID = user.organisation_id
    return organisation_id


@auditor_only
@require_http_methods(["GET"])
def audit_log(request: HttpRequest) -> HttpResponse:
    organisation_id = _organisation_id(request)
    form = AuditFilterForm(request.GET or None, organisation_id=organisation_id)
    valid = not form.is_bound or form.is_valid()
    filters = form.applied()
    page = None
    if valid:
        events = _filtered(organisation_id, filters).order_by("-seq")
        page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
    else:
        rows = []
    hourly = alerts.hourly_alerts(organisation_id)
    bulk = alerts.bulk_access(organisation_id)
    denied, denied_total = alerts.denied_accesses(organisation_id)
    raised = alerts.alert_events(organisation_id)
    known = _known(
        organisation_id,
        [*rows, *denied, *raised],
        more_users=[a.actor_id for a in [*hourly, *bulk]],
    )
    count = page.paginator.count if page is not None else 0
    details: dict[str, Any] = {"filters": filters, "count": count}
    if not valid:
        details["rejected"] = sorted(form.errors)
    services.record(Action.AUDIT_VIEWED, actor=request.user, request=request, **details)
    context = {
        "form": form,
        "page": page,
        "events": _rows(rows, known),
        "export_filters": form.resubmitted(),
        **_integrity(),
        "hourly": _named(hourly, known),
        "bulk": _named(bulk, known),
        "denied": _rows(denied, known),
        "denied_total": denied_total,
        "raised": _rows(raised, known),
        "hour_limit": settings.CASEWORK_ALERT_CASES_PER_HOUR,
        "day_limit": settings.CASEWORK_ALERT_CASES_PER_DAY,
    }
    return render(request, "audit/log.html", context)


@auditor_only
@require_http_methods(["GET"])
def audit_case(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    organisation_id = _organisation_id(request)
    events = AuditEvent.objects.filter(organisation_id=organisation_id, case_id=case_id)
    summary = list(
        events.values("actor_id", "action")
        .annotate(times=Count("pk"), first=Min("at"), last=Max("at"))
        .order_by("actor_id", "action")
    )
    page = Paginator(events.order_by("-seq"), PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    known = _known(
        organisation_id,
        rows,
        more_users=[row["actor_id"] for row in summary],
        more_cases=[case_id],
    )
    groups: dict[Any, dict[str, Any]] = {}
    for row in summary:
        group = groups.setdefault(
            row["actor_id"], {"actor": known.user(row["actor_id"]), "actions": []}
        )
        group["actions"].append({**row, "label": labels.action_label(row["action"])})
    for group in groups.values():
        group["actions"].sort(key=lambda action: action["label"].lower())
    services.record(
        Action.AUDIT_VIEWED,
        actor=request.user,
        request=request,
        filters={"case": str(case_id)},
        count=page.paginator.count,
    )
    context = {
        "case_id": case_id,
        "case_code": known.code(case_id),
        "groups": sorted(groups.values(), key=lambda group: str(group["actor"]).lower()),
        "page": page,
        "events": _rows(rows, known),
        **_integrity(),
    }
    return render(request, "audit/case.html", context)


def _known(
    organisation_id: uuid.UUID,
    events: Iterable[AuditEvent],
    *,
    more_users: Iterable[Any] = (),
    more_cases: Iterable[Any] = (),
) -> labels.Known:
    """The users and cases a page names: two queries for the whole page, whatever its size."""
    users, cases = labels.ids_named(events)
    return labels.Known(
        names=lookups.usernames(organisation_id, [*users, *more_users]),
        codes=lookups.case_codes(organisation_id, [*cases, *more_cases]),
    )


@auditor_only
@require_POST
@step_up_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    outcome = verification.verify_and_record(actor=request.user, request=request)
    if outcome.ok:
        messages.success(
            request,
            _("The audit log is intact: %(checked)d entries checked.")
            % {"checked": outcome.checked},
        )
    else:
        messages.error(request, _("The audit log is damaged. See the banner for where."))
    return redirect(safe_next(request, request.POST.get("next"), default=reverse("audit_log")))


@auditor_only
@require_POST
@step_up_required
def audit_export(request: HttpRequest) -> HttpResponse:
    organisation_id = _organisation_id(request)
    form = AuditFilterForm(request.POST, organisation_id=organisation_id)
    if not form.is_valid():
        messages.error(
            request, _("The filters of the export were not valid; nothing was exported.")
        )
        return redirect("audit_log")
    filters = form.applied()
    # The log only grows: everything up to the current last entry is a fixed snapshot, so
    # the recorded count is exactly what the file holds.
    last = AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0
    events = _filtered(organisation_id, filters).filter(seq__lte=last).order_by("seq")
    count = events.count()
    services.record(
        Action.AUDIT_EXPORTED, actor=request.user, request=request, filters=filters, count=count
    )
    known = labels.Known(
        names=lookups.usernames(
            organisation_id,
            events.exclude(actor_id=None).values_list("actor_id", flat=True).distinct(),
        ),
        codes=lookups.case_codes_of_events(organisation_id, events),
    )
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d")
    filename = f"audit-{organisation_id.hex[:8]}-{stamp}.csv"
    response = StreamingHttpResponse(_csv_lines(events, known), content_type="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    # Streamed, so a long log never sits in memory; the decorators only pass it through.
    return cast(HttpResponse, response)


CSV_HEADER = [
    "seq",
    "at",
    "actor",
    "action",
    "decision",
    "target_type",
    "target_id",
    "case_id",
    "case_code",
    "client",
    "hash",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(events: QuerySet[AuditEvent], known: labels.Known) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        cells = [
            event.seq,
            event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            known.name(event.actor_id) or str(event.actor_id or ""),
            event.action,
            event.decision,
            event.target_type,
            event.target_id,
            str(event.case_id or ""),
            known.code(event.case_id) or "",
            event.client,
            event.hash,
        ]
        yield writer.writerow([csv_cell(cell) for cell in cells])


def csv_cell(value: Any) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would run it."""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _rows(events: Iterable[AuditEvent], known: labels.Known) -> list[dict[str, Any]]:
    return [labels.entry(event, known) for event in events]


def _named(found: Iterable[alerts.AccessAlert], known: labels.Known) -> list[dict[str, Any]]:
    return [
        {"actor": known.user(alert.actor_id), "cases": alert.cases_viewed, "id": alert.actor_id}
        for alert in found
    ]
