"""Patterns auditors should look at: bulk case access, denied accesses, raised alerts (R47).

Everything here is computed with a few aggregate queries over the audit log, never by
looping over a user's events; the answers are ids and counts, never case content.
"""

from __future__ import annotations

import logging
import statistics
import uuid
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any, NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.lib.sql import column_value

logger = logging.getLogger(__name__)

BASELINE_DAYS = 30
BASELINE_FACTOR = 3
RECENT_LIMIT = 50


class AlertKind(models.TextChoices):
    """Why an ``alert`` entry was written (its ``kind`` detail)."""

    BULK_ACCESS = "bulk_access", gettext_lazy("many distinct cases viewed in an hour")
    ACCESS_DENIED = "access_denied", gettext_lazy("access to an object was refused")
    DECRYPTION_FAILED = "decryption_failed", gettext_lazy("a record could not be decrypted")
    VERIFICATION_FAILED = "verification_failed", gettext_lazy("audit log verification failed")
    CHECKPOINT_REFUSED = (
        "checkpoint_refused",
        gettext_lazy("the audit log no longer extends its exported checkpoints"),
    )
    DUPLICATE_PROBING = (
        "duplicate_probing",
        gettext_lazy("many possible duplicates found at intake by one user in a day"),
    )


# Kinds an attacker can trigger at will (by guessing URLs or paging through cases) are
# written once an hour per user: every underlying event stays in the log regardless.
_HOURLY = {AlertKind.BULK_ACCESS, AlertKind.ACCESS_DENIED}


def raise_alert(
    kind: AlertKind,
    *,
    organisation_id: uuid.UUID | None,
    actor: Any = None,
    request: HttpRequest | None = None,
    **details: Any,
) -> AuditEvent | None:
    """Write an ``alert`` entry and, once it is committed, tell the organisation's alert
    mailbox that there is something to look at (R47). The mail names the kind and the
    time only: no user, no case, no applicant."""
    actor_id = getattr(actor, "pk", None)
    if organisation_id is None and actor is not None:  # as record() will file it
        organisation_id = getattr(actor, "organisation_id", None)
    if kind in _HOURLY and _raised_within_hour(kind, actor_id, organisation_id):
        return None
    return _write_alert(kind, organisation_id, actor, request, **details)


def _write_alert(
    kind: AlertKind,
    organisation_id: uuid.UUID | None,
    actor: Any,
    request: HttpRequest | None,
    **details: Any,
) -> AuditEvent:
    event = record(
        Action.ALERT,
        actor=actor,
        organisation_id=organisation_id,
        request=request,
        decision="deny",
        kind=kind.value,
        **details,
    )
    transaction.on_commit(lambda: _mail(kind, organisation_id, event.at))
    return event


def _raised_within_hour(kind: AlertKind, actor_id: Any, organisation_id: Any) -> bool:
    # By organisation and time first: the log's index (organisation, at), not a scan of a
    # million entries for the actor.
    return AuditEvent.objects.filter(
        _alerted(kind),
        organisation_id=organisation_id,
        actor_id=actor_id,
        at__gt=timezone.now() - timedelta(hours=1),
    ).exists()


def _alerted(kind: AlertKind) -> Q:
    return Q(action=Action.ALERT, details__kind=kind.value)


def _mail(kind: AlertKind, organisation_id: uuid.UUID | None, at: datetime) -> None:
    from casework.accounts.models import Organisation

    organisations = Organisation.objects.exclude(alert_email="")
    if organisation_id is not None:  # a system-wide alert (a damaged chain) goes to all
        organisations = organisations.filter(pk=organisation_id)
    for organisation in organisations:
        try:
            send_mail(
                _("Safe Passage casework: security alert"),
                _(
                    "A security alert was raised for %(organisation)s at %(time)s UTC: "
                    "%(kind)s.\n\nSign in and open the audit pages to review it. "
                    "This message deliberately carries no names and no case data."
                )
                % {
                    "organisation": organisation.name,
                    "time": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                    "kind": kind.label,
                },
                None,
                [organisation.alert_email],
            )
        except Exception:  # a mail server being down must not hide the alert itself
            logger.exception("alert e-mail to organisation %s not sent", organisation.pk)


def record_case_view(
    actor: Any,
    *,
    target: Any,
    case_id: uuid.UUID,
    request: HttpRequest | None = None,
    **details: Any,
) -> AuditEvent:
    """One ``case_viewed`` entry, then an alert when the user has now viewed more distinct
    cases in the last 60 minutes than CASEWORK_ALERT_CASES_PER_HOUR (31 of 30 is an
    alert), once an hour.

    The entry's own INSERT answers the question (``record(returning=...)``: every view of
    a case asks it, and a statement of its own was a round trip on every case page, issue
    15): whether the hour already holds this user's bulk-access alert and, only if it does
    not, how many distinct cases they viewed in it, on the (actor, action, time) index.
    Past the alert a view costs a lookup, whatever the user has read in the hour; before
    it, the count reads their own case views only, not their colleagues'."""
    now = timezone.now()
    actor_id = column_value(AuditEvent, "actor_id", actor.pk)
    since = column_value(AuditEvent, "at", now - timedelta(hours=1))
    until = column_value(AuditEvent, "at", now)
    organisation_id = column_value(AuditEvent, "organisation_id", actor.organisation_id)
    values = [
        *(actor_id, Action.ALERT.value, since, until, organisation_id),
        AlertKind.BULK_ACCESS.value,
        *(actor_id, Action.CASE_VIEWED.value, since, until, organisation_id),
        column_value(AuditEvent, "case_id", case_id),
    ]
    event = record(
        Action.CASE_VIEWED,
        actor=actor,
        target=target,
        case_id=case_id,
        request=request,
        returning=(_bulk_access_sql(connection.vendor), values),
        **details,
    )
    viewed = event.returned
    if viewed is not None and viewed > settings.CASEWORK_ALERT_CASES_PER_HOUR:
        _write_alert(
            AlertKind.BULK_ACCESS,
            actor.organisation_id,
            actor,
            request,
            cases_viewed=viewed,
        )
    return event


@cache
def _bulk_access_sql(vendor: str) -> str:
    """record_case_view's question, written out: Django took longer to build it (the JSON
    key of the alert's kind, two filtered aggregates) than the database took to answer
    (issue 15). NULL when the hour holds the user's bulk-access alert (the count is then
    not made: CASE evaluates the branch it takes), else the distinct cases they viewed in
    it: the hour's earlier views, up to the moment before this entry, and this entry's
    case (UNION: SQLite's RETURNING sees the row being inserted, PostgreSQL's does not;
    both count this case once). Only the table's quoted name goes into the text; the
    values are parameters. tests/test_audit_alerts.py holds it to its meaning."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    kind = "details ->> 'kind'" if vendor == "postgresql" else "json_extract(details, '$.kind')"
    hour = "actor_id = %s AND action = %s AND at > %s AND at <= %s AND organisation_id = %s"
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE {hour} AND {kind} = %s)"  # noqa: S608
        f" THEN NULL ELSE (SELECT COUNT(v.case_id) FROM"
        f" (SELECT case_id FROM {table} WHERE {hour} UNION SELECT %s) v) END"
    )


class AccessAlert(NamedTuple):
    """A user who viewed more distinct cases than they should have in the window."""

    actor_id: uuid.UUID
    cases_viewed: int


def _case_views(organisation_id: uuid.UUID, start: datetime, end: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        organisation_id=organisation_id,
        action=Action.CASE_VIEWED,
        actor_id__isnull=False,
        case_id__isnull=False,
        at__gt=start,
        at__lte=end,
    )


def _distinct_cases_per_actor(
    organisation_id: uuid.UUID, start: datetime, end: datetime
) -> dict[uuid.UUID, int]:
    rows = (
        _case_views(organisation_id, start, end)
        .values("actor_id")
        .annotate(cases=Count("case_id", distinct=True))
        .order_by()
    )
    return {row["actor_id"]: row["cases"] for row in rows if row["actor_id"] is not None}


def _sorted(alerts: dict[uuid.UUID, int]) -> list[AccessAlert]:
    return sorted(
        (AccessAlert(actor, count) for actor, count in alerts.items()),
        key=lambda alert: (-alert.cases_viewed, str(alert.actor_id)),
    )


def hourly_alerts(organisation_id: uuid.UUID, now: datetime | None = None) -> list[AccessAlert]:
    """Users who viewed more than CASEWORK_ALERT_CASES_PER_HOUR distinct cases in the last
    60 minutes (R47: 31 distinct cases is an alert, 30 is not). One query."""
    now = now or timezone.now()
    limit = settings.CASEWORK_ALERT_CASES_PER_HOUR
    counts = _distinct_cases_per_actor(organisation_id, now - timedelta(hours=1), now)
    return _sorted({actor: n for actor, n in counts.items() if n > limit})


def bulk_access(organisation_id: uuid.UUID, now: datetime | None = None) -> list[AccessAlert]:
    """Users whose distinct cases viewed in the last 24 hours exceed the daily limit
    (CASEWORK_ALERT_CASES_PER_DAY), or three times their own median day (when that median
    is above zero). Two queries.

    The median is taken over the 30 whole UTC days before the last 24 hours began, days
    without any case view counting as zero, so that the window being judged never raises
    its own baseline.
    """
    now = now or timezone.now()
    limit = settings.CASEWORK_ALERT_CASES_PER_DAY
    day_start = now - timedelta(hours=24)
    recent = _distinct_cases_per_actor(organisation_id, day_start, now)
    if not recent:
        return []
    baseline_end = datetime.combine(day_start.astimezone(UTC).date(), time.min, tzinfo=UTC)
    baseline_start = baseline_end - timedelta(days=BASELINE_DAYS)
    daily: dict[uuid.UUID, list[int]] = {actor: [] for actor in recent}
    rows = (
        AuditEvent.objects.filter(
            organisation_id=organisation_id,
            action=Action.CASE_VIEWED,
            actor_id__in=list(recent),
            case_id__isnull=False,
            at__gte=baseline_start,
            at__lt=baseline_end,
        )
        .annotate(day=TruncDate("at", tzinfo=UTC))
        .values("actor_id", "day")
        .annotate(cases=Count("case_id", distinct=True))
        .order_by()
    )
    for row in rows:
        if row["actor_id"] in daily:
            daily[row["actor_id"]].append(row["cases"])
    flagged: dict[uuid.UUID, int] = {}
    for actor, count in recent.items():
        days = daily[actor] + [0] * (BASELINE_DAYS - len(daily[actor]))
        median = statistics.median(days)
        if count > limit or (median > 0 and count > BASELINE_FACTOR * median):
            flagged[actor] = count
    return _sorted(flagged)


def denied_accesses(
    organisation_id: uuid.UUID, now: datetime | None = None, limit: int = RECENT_LIMIT
) -> tuple[list[AuditEvent], int]:
    """The organisation's refused actions of the last 24 hours, newest first (at most
    ``limit`` of them), and how many there were in all."""
    now = now or timezone.now()
    events = (
        AuditEvent.objects.filter(
            organisation_id=organisation_id,
            decision="deny",
            at__gt=now - timedelta(hours=24),
            at__lte=now,
        )
        .exclude(action=Action.ALERT)
        .order_by("-seq")
    )
    return list(events[:limit]), events.count()


def alert_events(organisation_id: uuid.UUID, limit: int = 20) -> list[AuditEvent]:
    """The latest raised alerts: the organisation's own and the system's (a damaged chain
    concerns every organisation; those entries carry sequence numbers, nothing else)."""
    return list(
        AuditEvent.objects.filter(action=Action.ALERT)
        .filter(Q(organisation_id=organisation_id) | Q(organisation_id__isnull=True))
        .order_by("-seq")[:limit]
    )
