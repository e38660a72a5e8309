"""Requests of the person under the GDPR (R62): recorded with the day they were received,
due one calendar month later (Art. 12(3)), answered by the export (access) or the erasure
(erasure, and whatever else the person still had open), and listed for coordinators until
then, overdue ones first."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.models import Case, SubjectRequest


def due_on(received_on: datetime.date) -> datetime.date:
    """One calendar month after receipt (the last day of a shorter month: 31 January is
    due on 28 or 29 February)."""
    from casework.cases.retention import months_after

    moment = datetime.datetime.combine(received_on, datetime.time(12), tzinfo=datetime.UTC)
    return months_after(moment, 1).date()


@transaction.atomic
def request_record(
    *,
    actor: Any,
    case: Case,
    kind: SubjectRequest.Kind,
    received_on: datetime.date,
    request: Any = None,
) -> SubjectRequest:
    subject_request = SubjectRequest.objects.create(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        kind=kind,
        received_on=received_on,
        due_on=due_on(received_on),
        recorded_by=actor,
    )
    record(
        Action.SUBJECT_REQUEST_RECORDED,
        actor=actor,
        target=case,
        case_id=case.pk,
        request=request,
        request_kind=str(kind),
        due_on=subject_request.due_on.isoformat(),
    )
    return subject_request


def complete(
    *, applicant_id: uuid.UUID, outcome: SubjectRequest.Outcome, kinds: list[str] | None = None
) -> int:
    """Mark the person's open requests (of ``kinds``, or all) answered now; how many. The
    caller's audit entry (export, erasure) says how many it answered."""
    open_requests = SubjectRequest.objects.filter(
        applicant_id=applicant_id, completed_at__isnull=True
    )
    if kinds is not None:
        open_requests = open_requests.filter(kind__in=kinds)
    return open_requests.update(completed_at=timezone.now(), outcome=outcome)


def open_requests(user: Any) -> models.QuerySet[SubjectRequest]:
    """The unanswered requests on the cases ``user`` may see, the one due first first."""
    from casework.cases.access import of_visible_cases

    waiting = SubjectRequest.objects.filter(completed_at__isnull=True)
    return of_visible_cases(waiting, user).select_related("case").order_by("due_on", "recorded_at")
