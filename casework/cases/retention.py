"""Retention (R61, DOMAIN.md 4.4): what is kept how long after a person's last case closed.

Two steps, each per person (a data key belongs to a person, not to a case):

1. **Details.** ``retention_details_months`` after the person's last case closed (none of
   their cases open), their details are crypto-shredded exactly as an erasure on request
   does (``services.applicant_erase``), except that issued letters keep their status on the
   public verification page. What stays is the pseudonymised skeleton: case codes, dates,
   statuses, routes, decisions and the status history, with no name, story or document.
   A coordinator may keep one case's details longer, until a date, for a reason from a fixed
   list (audited); the person's details then wait for the latest such date.
2. **Skeleton.** ``retention_skeleton_years`` after that same closure (or after the erasure
   of a person whose case was still open), the skeleton goes too: the rows themselves. A
   letter keeps the person's skeleton while the letter may be relied on: two years after it
   was issued or after the visa it supported ran out, whichever is later.

``apply`` does both for every organisation, one person per transaction, so a run killed half
way leaves every person either done or untouched, and running it again finishes the job and
then changes nothing. The audit log keeps its entries (they hold ids, never content).
"""

from __future__ import annotations

import calendar
import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from casework.accounts.models import Organisation
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.models import Applicant, Case, Consent, ErasureCause, HoldReason
from casework.cases.services import applicant_erase, lock_case
from casework.lib import datakeys
from casework.lib.sql import column_value

# How far ahead coordinators and org admins are told (R61: a 30-day notice).
NOTICE_DAYS = 30
# A letter's entry in the public registry is kept this long after it was issued or the
# visa it supported ran out (DOMAIN.md 4.4).
LETTER_REGISTRY_YEARS = 2
# A hold is for a reason that will end: at most this far ahead at a time.
LONGEST_HOLD_DAYS = 366

DETAILS_MONTHS_RANGE = (1, 120)
SKELETON_YEARS_RANGE = (1, 30)


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """The same day and time ``months`` calendar months earlier (the last day of the month
    where that day does not exist: 31 March less one month is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def months_after(moment: datetime.datetime, months: int) -> datetime.datetime:
    return months_before(moment, -months)


def _years_before(moment: datetime.datetime, years: int) -> datetime.datetime:
    return months_before(moment, 12 * years)


@dataclass(frozen=True)
class Upcoming:
    """A case whose person's details go within the notice period."""

    case_id: uuid.UUID
    code: str
    due_on: datetime.date


# Typed as Any: django-stubs cannot follow the annotations (last_closed, held_until) out of
# the function that makes them.
def _closed_people(organisation: Organisation) -> models.QuerySet[Any]:
    """The organisation's people not yet shredded whose every case is closed, with the date
    the last one closed and the latest hold on any of them."""
    return (
        Applicant.objects.filter(organisation=organisation, erased_at__isnull=True)
        .annotate(
            open_cases=Count("cases", filter=Q(cases__closed_at__isnull=True)),
            last_closed=Max("cases__closed_at"),
            held_until=Max("cases__retention_hold_until"),
        )
        .filter(open_cases=0, last_closed__isnull=False)
    )


def details_due_on(
    organisation: Organisation, last_closed: datetime.datetime, held: datetime.date | None
) -> datetime.date:
    """The day a person's details go: the schedule's date, or the day after the last hold."""
    due = timezone.localtime(
        months_after(last_closed, organisation.retention_details_months)
    ).date()
    if held is not None and held >= due:
        due = held + datetime.timedelta(days=1)
    return due


def details_due_for(case: Case) -> datetime.date | None:
    """The day the details of this case's person go; None while any of their cases is open."""
    person = _closed_people(case.organisation).filter(pk=case.applicant_id).first()
    if person is None:
        return None
    return details_due_on(case.organisation, person.last_closed, person.held_until)


def details_due(organisation: Organisation, now: datetime.datetime) -> models.QuerySet[Any]:
    """The people whose details are due for shredding at ``now``."""
    cutoff = months_before(now, organisation.retention_details_months)
    today = timezone.localtime(now).date()
    return _closed_people(organisation).filter(
        Q(held_until__isnull=True) | Q(held_until__lt=today), last_closed__lte=cutoff
    )


def upcoming(organisation: Organisation, now: datetime.datetime) -> list[Upcoming]:
    """The closed cases whose details go within ``NOTICE_DAYS`` (due ones included: a run
    that has not happened yet), soonest first: the cases of the people ``details_due``
    would name at the end of the notice period.

    One statement written out (``_upcoming_sql``): it runs on every dashboard of a
    coordinator or an org admin, and Django took longer to build the grouped query and the
    cases' than the database took to answer both (issue 15). tests/test_retention.py holds
    it to ``details_due``."""
    horizon = now + datetime.timedelta(days=NOTICE_DAYS)
    cutoff = months_before(horizon, organisation.retention_details_months)
    values = [
        column_value(Case, "organisation", organisation.pk),
        column_value(Case, "closed_at", cutoff),
        column_value(Applicant, "organisation", organisation.pk),
        column_value(Case, "closed_at", cutoff),
        column_value(Case, "retention_hold_until", timezone.localtime(horizon).date()),
    ]
    # Ids, codes and dates only: no person's row (and encrypted fields) is read for a notice.
    # Every case of these people is closed, so each person's last closure and latest hold
    # are the greatest of their rows.
    rows = list(Case.objects.raw(_upcoming_sql(), values))
    closed: dict[uuid.UUID, datetime.datetime] = {}
    held: dict[uuid.UUID, datetime.date] = {}
    for case in rows:
        person = case.applicant_id
        assert case.closed_at is not None  # the statement reads people with every case closed
        closed[person] = max(closed.get(person, case.closed_at), case.closed_at)
        hold = case.retention_hold_until
        if hold is not None:
            held[person] = max(held.get(person, hold), hold)
    found = [
        Upcoming(
            case.pk,
            case.code,
            details_due_on(organisation, closed[case.applicant_id], held.get(case.applicant_id)),
        )
        for case in rows
    ]
    return sorted(found, key=lambda row: (row.due_on, row.code))


@cache
def _upcoming_sql() -> str:
    """The cases of the people not shredded whose every case is closed, the last before the
    cutoff, and not held past the horizon (``details_due``'s conditions at the horizon).
    The people are found through the index on (organisation, closed_at) first, so the
    dashboard does not group every person of the organisation. Only the tables' quoted
    names go into the text; the values are parameters."""
    quote = connection.ops.quote_name
    cases, people = quote(Case._meta.db_table), quote(Applicant._meta.db_table)
    return (
        "SELECT c.id, c.code, c.applicant_id, c.closed_at, c.retention_hold_until"  # noqa: S608
        f" FROM {cases} c WHERE c.applicant_id IN ("
        f"SELECT k.applicant_id FROM {cases} k JOIN {people} a ON a.id = k.applicant_id"
        f" WHERE k.applicant_id IN (SELECT applicant_id FROM {cases}"
        " WHERE organisation_id = %s AND closed_at <= %s)"
        " AND a.organisation_id = %s AND a.erased_at IS NULL"
        " GROUP BY k.applicant_id"
        " HAVING COUNT(k.closed_at) = COUNT(*) AND MAX(k.closed_at) <= %s"
        " AND (MAX(k.retention_hold_until) IS NULL OR MAX(k.retention_hold_until) < %s))"
    )


def skeleton_due(organisation: Organisation, now: datetime.datetime) -> list[uuid.UUID]:
    """The shredded people whose skeleton is due for deletion at ``now``."""
    from casework.letters.models import Letter  # letters build on cases, not the reverse

    cutoff = _years_before(now, organisation.retention_skeleton_years)
    registry = _years_before(now, LETTER_REGISTRY_YEARS)
    relied_on = Letter.objects.filter(
        Q(issued_at__gt=registry) | Q(attempt__valid_until__gt=registry.date()),
        organisation=organisation,
        issued_at__isnull=False,
    ).values("applicant_id")
    people = (
        Applicant.objects.filter(organisation=organisation, erased_at__isnull=False)
        .annotate(
            open_cases=Count("cases", filter=Q(cases__closed_at__isnull=True)),
            last_closed=Max("cases__closed_at"),
        )
        # From the last closure; a person erased while a case was open, from the erasure.
        .filter(
            Q(open_cases=0, last_closed__lte=cutoff)
            | Q(Q(open_cases__gt=0) | Q(last_closed__isnull=True), erased_at__lte=cutoff)
        )
        .exclude(pk__in=relied_on)
        .order_by("erased_at", "pk")
    )
    return list(people.values_list("pk", flat=True))


@transaction.atomic
def skeleton_delete(*, applicant_id: uuid.UUID) -> int:
    """Delete what is left of a shredded person: their letters' registry entries, their cases
    with everything under them, their consents and the person's row. Returns the number of
    cases. The audit entry names ids only (they point at nothing any more)."""
    from casework.letters.models import Letter

    applicant = (
        Applicant.objects.select_for_update()
        .filter(pk=applicant_id, erased_at__isnull=False)
        .first()
    )
    if applicant is None:  # gone already, or not shredded: nothing to do
        return 0
    case_ids = [
        str(pk) for pk in Case.objects.filter(applicant=applicant).values_list("pk", flat=True)
    ]
    letters = Letter.objects.filter(applicant=applicant)
    record(
        Action.SKELETON_DELETED,
        organisation_id=applicant.organisation_id,
        target=applicant,
        cases=case_ids,
        letters_deleted=letters.count(),
    )
    letters.delete()
    Case.objects.filter(applicant=applicant).delete()
    Consent.objects.filter(applicant=applicant).delete()
    applicant.delete()
    return len(case_ids)


@dataclass
class Summary:
    """What one run did (or, dry, would do), per step."""

    details: list[uuid.UUID] = field(default_factory=list)
    skeletons: list[uuid.UUID] = field(default_factory=list)
    cases_shredded: int = 0
    cases_deleted: int = 0
    files_deleted: int = 0


@dataclass(frozen=True)
class Planned:
    organisation: Organisation
    details: list[uuid.UUID]
    skeletons: list[uuid.UUID]


def plan(now: datetime.datetime) -> list[Planned]:
    """Per organisation, the people whose details and whose skeletons are due."""
    return [
        Planned(
            organisation,
            list(
                details_due(organisation, now)
                .order_by("last_closed", "pk")
                .values_list("pk", flat=True)
            ),
            skeleton_due(organisation, now),
        )
        for organisation in Organisation.objects.order_by("name")
    ]


def apply(
    now: datetime.datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    planned: list[Planned] | None = None,
) -> Summary:
    """Shred the details due and delete the skeletons due at ``now``; ``progress`` is told
    after each person. Each person is one transaction: an interrupted run keeps what it did,
    and the next run picks up the rest. A person whose case was reopened or held between the
    plan and their turn is checked again first, and skipped."""
    now = now or timezone.now()
    summary = Summary()
    for due in plan(now) if planned is None else planned:
        for applicant_id in due.details:
            if dry_run:
                summary.cases_shredded += Case.objects.filter(applicant_id=applicant_id).count()
                summary.details.append(applicant_id)
            elif erasure := _shred(due.organisation, applicant_id, now):
                summary.cases_shredded += len(erasure.case_ids)
                summary.files_deleted += erasure.files_deleted
                summary.details.append(applicant_id)
            if progress:
                progress(1)
        for applicant_id in due.skeletons:
            if dry_run:
                summary.cases_deleted += Case.objects.filter(applicant_id=applicant_id).count()
            else:
                summary.cases_deleted += skeleton_delete(applicant_id=applicant_id)
            summary.skeletons.append(applicant_id)
            if progress:
                progress(1)
    return summary


@transaction.atomic
def _shred(organisation: Organisation, applicant_id: uuid.UUID, now: datetime.datetime) -> Any:
    """Shred one person's details if they are still due once their cases are locked (a
    coordinator may have reopened or held one since the plan was made): the Erasure, or None."""
    datakeys.lock_data_key(applicant_id)  # the data key's row first, as every write takes it
    list(Case.objects.select_for_update().filter(applicant_id=applicant_id).values_list("pk"))
    if not details_due(organisation, now).filter(pk=applicant_id).exists():
        return None
    return applicant_erase(applicant_id=applicant_id, cause=ErasureCause.RETENTION)


@transaction.atomic
def hold(
    *,
    actor: Any,
    case: Case,
    until: datetime.date,
    reason: HoldReason,
    note: str = "",
    request: Any = None,
) -> None:
    """Keep a closed case's details until ``until`` (R61): the reason as a code (audited),
    the explanation encrypted under the person's key like the rest of the story."""
    locked = lock_case(case)
    locked.retention_hold_until = until
    locked.retention_hold_reason = reason
    locked.retention_hold_note = note or None
    locked.save(
        update_fields=["retention_hold_until", "retention_hold_reason", "retention_hold_note"]
    )
    record(
        Action.RETENTION_HELD,
        actor=actor,
        target=locked,
        case_id=locked.pk,
        request=request,
        until=until.isoformat(),
        hold_reason=str(reason),
    )


@transaction.atomic
def set_schedule(
    *,
    admin: Any,
    details_months: int,
    skeleton_years: int,
    request: Any = None,
) -> None:
    """The organisation's retention schedule (R61); audited with the new values, which are
    no secret (the DPIA states them)."""
    organisation = Organisation.objects.select_for_update().get(pk=admin.organisation_id)
    organisation.retention_details_months = details_months
    organisation.retention_skeleton_years = skeleton_years
    organisation.save(update_fields=["retention_details_months", "retention_skeleton_years"])
    record(
        Action.RETENTION_CHANGED,
        actor=admin,
        target=organisation,
        request=request,
        details_months=details_months,
        skeleton_years=skeleton_years,
    )
