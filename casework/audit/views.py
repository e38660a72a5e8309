"""The auditors' pages: the log of their organisation, who accessed a case, the chain's
integrity, a CSV export and the alerts.

Auditors see ids, names of actions and truncated networks, never case content. Every
view here is for the auditor role only and for the auditor's own organisation; anyone
else gets 404, like a page that does not exist. Looking at the log is itself logged.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts.decorators import role_required, safe_next, step_up_required
from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.audit import alerts, services
from casework.audit.models import Action, AuditEvent, Verification

PER_PAGE = 50
# Outermost on every view: anyone else gets 404 whatever the method, never a 405 that
# would confirm the page exists.
auditor_only = role_required(Role.AUDITOR)
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    """Filters of the log. Values are ids, action names and dates: nothing sensitive."""

    actor = forms.ChoiceField(label=gettext_lazy("User"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    case = forms.UUIDField(
        label=gettext_lazy("Case id"),
        required=False,
        error_messages={"invalid": gettext_lazy("Enter a case id such as 3f2b…, in full.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_from = forms.DateField(
        label=gettext_lazy("From (UTC date)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To (UTC date, included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, organisation_id: uuid.UUID, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = User.objects.filter(organisation_id=organisation_id).order_by("username")
        actor: Any = self.fields["actor"]
        actor.choices = [
            ("", _("Anyone")),
            *((str(pk), name) for pk, name in users.values_list("pk", "username")),
        ]
        action: Any = self.fields["action"]
        action.choices = [("", _("Any action")), *Action.choices]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def applied(self) -> dict[str, str]:
        """The filters in use, as plain strings (for the audit entry and the export form)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: value.isoformat() if isinstance(value, date) else str(value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


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
    if "date_to" in filters:
        end = date.fromisoformat(filters["date_to"]) + timedelta(days=1)
        events = events.filter(at__lt=_midnight(end))
    return events


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def usernames(organisation_id: uuid.UUID, actor_ids: Iterable[Any]) -> dict[Any, str]:
    """Usernames of the given actors, in one query, within the organisation only."""
    wanted = {actor for actor in actor_ids if actor is not None}
    if not wanted:
        return {}
    users = User.objects.filter(organisation_id=organisation_id, pk__in=wanted)
    return dict(users.values_list("pk", "username"))


def latest_verification() -> Verification | None:
    """The chain is global, so is its latest check."""
    return Verification.objects.order_by("-at", "-pk").first()


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
    names = usernames(
        organisation_id,
        [e.actor_id for e in [*rows, *denied, *raised]] + [a.actor_id for a in [*hourly, *bulk]],
    )
    count = page.paginator.count if page is not None else 0
    details: dict[str, Any] = {"filters": filters, "count": count}
    if not valid:
        details["rejected"] = sorted(form.errors)
    services.record(Action.AUDIT_VIEWED, actor=request.user, request=request, **details)
    context = {
        "form": form,
        "page": page,
        "events": _rows(rows, names),
        "filters": filters,
        "verification": latest_verification(),
        "hourly": _named(hourly, names),
        "bulk": _named(bulk, names),
        "denied": _rows(denied, names),
        "denied_total": denied_total,
        "raised": _rows(raised, names),
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
    names = usernames(organisation_id, [row["actor_id"] for row in summary])
    labels = dict(Action.choices)
    groups: dict[Any, dict[str, Any]] = {}
    for row in summary:
        group = groups.setdefault(
            row["actor_id"], {"actor": _name(row["actor_id"], names), "actions": []}
        )
        group["actions"].append({**row, "label": labels.get(row["action"], row["action"])})
    services.record(
        Action.AUDIT_VIEWED,
        actor=request.user,
        request=request,
        filters={"case": str(case_id)},
        count=page.paginator.count,
    )
    context = {
        "case_id": case_id,
        "groups": sorted(groups.values(), key=lambda group: str(group["actor"]).lower()),
        "page": page,
        "events": _rows(rows, names),
        "verification": latest_verification(),
    }
    return render(request, "audit/case.html", context)


@auditor_only
@require_POST
@step_up_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    outcome = services.verify_and_record(actor=request.user, request=request)
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
    names = usernames(
        organisation_id, events.exclude(actor_id=None).values_list("actor_id", flat=True).distinct()
    )
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d")
    filename = f"audit-{organisation_id.hex[:8]}-{stamp}.csv"
    response = StreamingHttpResponse(_csv_lines(events, names), content_type="text/csv")
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
    "client",
    "hash",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(events: QuerySet[AuditEvent], names: dict[Any, str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        cells = [
            event.seq,
            event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            names.get(event.actor_id, str(event.actor_id or "")),
            event.action,
            event.decision,
            event.target_type,
            event.target_id,
            str(event.case_id or ""),
            event.client,
            event.hash,
        ]
        yield writer.writerow([csv_cell(cell) for cell in cells])


def csv_cell(value: Any) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would run it."""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _name(actor_id: Any, names: dict[Any, str]) -> str:
    if actor_id is None:
        return _("(the system)")
    return names.get(actor_id) or _("unknown user %(id)s") % {"id": str(actor_id)[:8]}


def _rows(events: Iterable[AuditEvent], names: dict[Any, str]) -> list[dict[str, Any]]:
    return [{"event": event, "actor": _name(event.actor_id, names)} for event in events]


def _named(found: Iterable[alerts.AccessAlert], names: dict[Any, str]) -> list[dict[str, Any]]:
    return [
        {"actor": _name(alert.actor_id, names), "cases": alert.cases_viewed, "id": alert.actor_id}
        for alert in found
    ]
