"""Write paths for applicants. Each runs in one transaction."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from casework.accounts.roles import Role
from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.cases.models import (
    Applicant,
    Case,
    CaseStatusChange,
    Consent,
    Deadline,
    Document,
    Mission,
    Note,
    Priority,
    Route,
    VisaApplication,
)
from casework.cases.workflow import VERIFIED_STEP, CaseFacts, Status, check_transition
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields
from casework.lib.files import read_encrypted, store_encrypted


class ApplicantNotFound(Exception):
    pass


@transaction.atomic
def applicant_erase(*, applicant_id: uuid.UUID, actor: Any = None) -> bool:
    """Crypto-shred one applicant: destroy the data key, clear ciphertexts and blind
    indexes, keep a PII-free tombstone (id, organisation, erased_at).

    Every field, document and letter encrypted under that key becomes unreadable at once,
    including copies in backups once their wrapped key can no longer be unwrapped (SECURITY.md).
    Returns False when the applicant was already erased.
    """
    applicant = Applicant.objects.select_for_update().filter(pk=applicant_id).first()
    if applicant is None:
        raise ApplicantNotFound(str(applicant_id))
    destroyed = datakeys.destroy_data_key(applicant.pk)
    cleared: dict[str, None] = {}
    for field in encrypted_fields(Applicant):
        cleared[field.attname] = None
        if field.blind_index:
            cleared[field.index_field_name] = None
    Applicant.objects.filter(pk=applicant.pk).update(
        **cleared, birth_year=None, erased_at=applicant.erased_at or timezone.now()
    )
    record(
        Action.ERASURE,
        actor=actor,
        organisation_id=applicant.organisation_id,
        target=applicant,
        key_destroyed=destroyed,
    )
    return destroyed or applicant.erased_at is None


# --- cases ---------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_case_code() -> str:
    """Pseudonymous code shown in every list (e.g. SP-26-7F3K): no name, ever."""
    year = timezone.now().strftime("%y")
    while True:
        code = f"SP-{year}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if not Case.objects.filter(code=code).exists():
            return code


@transaction.atomic
def case_create(
    *,
    actor: Any,
    applicant_fields: dict[str, Any],
    priority: str = Priority.NORMAL,
    destination_state: str = "",
    narrative: str | None = None,
    safety_plan: str | None = None,
    possible_duplicate: str | None = None,
    request: Any = None,
) -> Case:
    """Intake: the applicant (with a data key of their own) and their case, in one go.

    A caseworker who opens a case is assigned to it; a coordinator becomes its coordinator.
    ``possible_duplicate`` names the kind of identifier intake found in the organisation
    already ("passport", "email", "name"): the case opens flagged for a coordinator's review.
    """
    applicant = Applicant(organisation_id=actor.organisation_id, **applicant_fields)
    applicant.save()
    case = Case(
        organisation_id=actor.organisation_id,
        applicant=applicant,
        code=new_case_code(),
        priority=priority,
        destination_state=destination_state,
        narrative=narrative,
        safety_plan=safety_plan,
        duplicate_review=possible_duplicate is not None,
    )
    if actor.has_role(Role.COORDINATOR):
        case.coordinator = actor
    case.save()
    deadlines_refresh(case)  # e.g. the passport expiry given at intake
    if actor.has_role(Role.CASEWORKER):
        _grant(actor, case)
    record(Action.CASE_CREATED, actor=actor, target=case, case_id=case.pk, request=request)
    if possible_duplicate is not None:
        _possible_duplicate_found(actor, case, possible_duplicate, request)
    return case


# More positive duplicate checks than this by one user in 24 hours raise an alert: someone
# may be using intake to learn who the organisation's clients are (issue 12, finding 10).
DUPLICATE_ALERT_AFTER = 3


def _possible_duplicate_found(actor: Any, case: Case, identifier: str, request: Any) -> None:
    """Audit the positive check (who, which kind of identifier, never the value), and alert
    once a day per user when they pile up."""
    record(
        Action.POSSIBLE_DUPLICATE,
        actor=actor,
        target=case,
        case_id=case.pk,
        request=request,
        identifier=identifier,
    )
    since = timezone.now() - datetime.timedelta(hours=24)
    mine = AuditEvent.objects.filter(actor_id=actor.pk, at__gt=since)
    found = mine.filter(action=Action.POSSIBLE_DUPLICATE).count()
    alerted = mine.filter(action=Action.ALERT, details__kind=AlertKind.DUPLICATE_PROBING.value)
    if found > DUPLICATE_ALERT_AFTER and not alerted.exists():
        raise_alert(
            AlertKind.DUPLICATE_PROBING,
            organisation_id=actor.organisation_id,
            actor=actor,
            request=request,
            duplicates_found=found,
        )


@transaction.atomic
def case_duplicate_reviewed(*, actor: Any, case: Case, request: Any = None) -> None:
    """A coordinator has looked at a possible duplicate (and closed the case if it was one)."""
    Case.objects.filter(pk=case.pk).update(duplicate_review=False)
    case_touch(case_id=case.pk)
    record(Action.DUPLICATE_REVIEWED, actor=actor, target=case, case_id=case.pk, request=request)


def _grant(user: Any, case: Case) -> None:
    case.caseworkers.add(user)
    assign_perm("cases.view_case", user, case)
    assign_perm("cases.change_case", user, case)


def _revoke(user: Any, case: Case) -> None:
    case.caseworkers.remove(user)
    remove_perm("cases.view_case", user, case)
    remove_perm("cases.change_case", user, case)


def case_touch(*, case_id: uuid.UUID) -> None:
    """Someone changed the case or something on it: its "last activity" is now.

    Called by every write path of cases and letters, inside the caller's transaction; it
    does not bump ``version``, so a note added meanwhile does not turn an open edit form
    into a conflict.
    """
    Case.objects.filter(pk=case_id).update(last_activity_at=timezone.now())


@transaction.atomic
def case_assign(*, actor: Any, case: Case, caseworkers: list[Any], request: Any = None) -> None:
    """Set exactly these caseworkers (of the case's organisation) on the case."""
    wanted = {u.pk: u for u in caseworkers if u.organisation_id == case.organisation_id}
    current = {u.pk: u for u in case.caseworkers.all()}
    for pk in current.keys() - wanted.keys():
        _revoke(current[pk], case)
    for pk in wanted.keys() - current.keys():
        _grant(wanted[pk], case)
    case_touch(case_id=case.pk)
    record(
        Action.CASE_ASSIGNED,
        actor=actor,
        target=case,
        case_id=case.pk,
        request=request,
        caseworkers=sorted(str(pk) for pk in wanted),
    )


@transaction.atomic
def case_transition(
    *, actor: Any, case: Case, target: str, facts: CaseFacts, reason: str = "", request: Any = None
) -> None:
    """Move a case through the workflow table, checking its guards; audited, with history."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    check_transition(Status(locked.status), Status(target), facts)
    CaseStatusChange(
        organisation_id=locked.organisation_id,
        applicant_id=locked.applicant_id,
        case=locked,
        from_status=locked.status,
        to_status=target,
        by=actor,
        reason=reason or None,
    ).save()
    changes: dict[str, Any] = {"status": target, "version": locked.version + 1}
    if target == Status.CLOSED:
        changes |= {"closed_at": timezone.now(), "closure_reason": facts.closure_reason or ""}
    elif locked.status == Status.CLOSED:
        changes |= {"closed_at": None, "closure_reason": ""}
    Case.objects.filter(pk=locked.pk).update(**changes)
    case_touch(case_id=locked.pk)
    record(
        Action.STATUS_CHANGED,
        actor=actor,
        target=locked,
        case_id=locked.pk,
        request=request,
        from_status=locked.status,
        to_status=target,
    )


class EditConflict(Exception):
    """Someone saved the case after this form was loaded."""


@transaction.atomic
def case_update(
    *,
    actor: Any,
    case: Case,
    version: int,
    case_fields: dict[str, Any],
    applicant_fields: dict[str, Any],
    request: Any = None,
) -> None:
    """Save an edit unless the case changed since the form was loaded (optimistic lock)."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if locked.version != version:
        raise EditConflict()
    applicant = locked.applicant
    # Field names only, never values; and only the fields whose value really changed.
    changed = sorted(
        [n for n, v in case_fields.items() if getattr(locked, n) != v]
        + [n for n, v in applicant_fields.items() if getattr(applicant, n) != v]
    )
    for name, value in case_fields.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.save()
    for name, value in applicant_fields.items():
        setattr(applicant, name, value)
    applicant.save()
    deadlines_refresh(locked)
    case_touch(case_id=locked.pk)
    record(
        Action.CASE_UPDATED,
        actor=actor,
        target=locked,
        case_id=locked.pk,
        request=request,
        fields=changed,
    )


@transaction.atomic
def narrative_append(
    *,
    actor: Any,
    case: Case,
    text: str,
    happened_on: datetime.date | None = None,
    request: Any = None,
) -> None:
    """Add an entry to the end of the narrative and incident timeline, dated and signed,
    without retyping (or seeing) what is there. It counts as an edit of the case: a form
    loaded before it reports a conflict instead of overwriting the new entry."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    heading = f"— {timezone.localdate().isoformat()} · {actor.username} —"
    event = f"{happened_on.isoformat()}: " if happened_on else ""
    entry = f"{heading}\n{event}{text.strip()}"
    locked.narrative = f"{locked.narrative.rstrip()}\n\n{entry}" if locked.narrative else entry
    locked.version += 1
    locked.save()
    case_touch(case_id=locked.pk)
    record(
        Action.CASE_UPDATED,
        actor=actor,
        target=locked,
        case_id=locked.pk,
        request=request,
        fields=["narrative"],
        appended=True,
    )


@transaction.atomic
def note_add(*, actor: Any, case: Case, text: str, request: Any = None) -> Note:
    note = Note(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        author=actor,
        text=text,
    )
    note.save()
    case_touch(case_id=case.pk)
    record(Action.NOTE_ADDED, actor=actor, target=note, case_id=case.pk, request=request)
    return note


@transaction.atomic
def document_upload(
    *,
    actor: Any,
    case: Case,
    content: bytes,
    kind: Any,
    doc_type: str,
    title: str | None,
    details: dict[str, Any] | None = None,
    request: Any = None,
) -> Document:
    """Encrypt the file under the applicant's key, store it under a random name, record it."""
    name = store_encrypted(
        content,
        purpose="document",
        subject_id=case.applicant_id,
        organisation_id=case.organisation_id,
    )
    document = Document(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        doc_type=doc_type,
        title=title,
        storage_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        mime=kind.mime,
        size=len(content),
        uploaded_by=actor,
        **(details or {}),
    )
    document.save()
    case_touch(case_id=case.pk)
    record(
        Action.DOCUMENT_UPLOADED,
        actor=actor,
        target=document,
        case_id=case.pk,
        request=request,
        doc_type=doc_type,
        size=len(content),
    )
    return document


DOCUMENT_DETAILS = ("title", "language", "translation_status", "expires_at")


@transaction.atomic
def document_update(
    *, actor: Any, case: Case, document: Document, values: dict[str, Any], request: Any = None
) -> None:
    """Title, language, translation status and expiry; the file itself never changes."""
    for name in DOCUMENT_DETAILS:
        if name in values:
            setattr(document, name, values[name])
    document.save()
    case_touch(case_id=case.pk)
    record(
        Action.DOCUMENT_UPDATED,
        actor=actor,
        target=document,
        case_id=case.pk,
        request=request,
        fields=sorted(set(values) & set(DOCUMENT_DETAILS)),
    )


class VerificationRefused(Exception):
    """Whoever uploaded a document cannot verify it (two-person rule)."""


@transaction.atomic
def document_verify(
    *,
    actor: Any,
    case: Case,
    document: Document,
    status: str,
    method: str,
    request: Any = None,
) -> None:
    """Record that a second person checked the document (or rejected it), and how."""
    if document.uploaded_by_id == actor.pk:
        raise VerificationRefused()
    Document.objects.filter(pk=document.pk).update(
        verification_status=status,
        verification_method=method if status == Document.Verification.VERIFIED else "",
        verified_by=actor,
        verified_at=timezone.now(),
    )
    case_touch(case_id=case.pk)
    record(
        Action.DOCUMENT_VERIFIED,
        actor=actor,
        target=document,
        case_id=case.pk,
        request=request,
        status=status,
        method=method,
    )


def document_read(*, actor: Any, document: Document, request: Any = None) -> bytes:
    content = read_encrypted(
        document.storage_name,
        purpose="document",
        subject_id=document.applicant_id,
        organisation_id=document.organisation_id,
    )
    record(
        Action.DOCUMENT_DOWNLOADED,
        actor=actor,
        target=document,
        case_id=document.case_id,
        request=request,
    )
    return content


@transaction.atomic
def route_attempt_add(
    *, actor: Any, case: Case, route: Route, mission: Mission | None, request: Any = None
) -> VisaApplication:
    """A new attempt; earlier ones are kept (a refused case may be re-routed)."""
    attempt = VisaApplication(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        route=route,
        mission=mission,
    )
    attempt.save()
    Case.objects.filter(pk=case.pk).update(destination_state=route.destination_state)
    deadlines_refresh(case)
    case_touch(case_id=case.pk)
    record(
        Action.ROUTE_ATTEMPT_ADDED,
        actor=actor,
        target=attempt,
        case_id=case.pk,
        request=request,
        route=route.code,
    )
    return attempt


@transaction.atomic
def consent_record(
    *,
    actor: Any,
    case: Case,
    purpose: str,
    route: Route | None,
    counterparty: str,
    text_version: str,
    language: str,
    includes_sogi: bool = False,
    request: Any = None,
) -> Consent:
    consent = Consent.objects.create(
        includes_sogi=includes_sogi,
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        purpose=purpose,
        route=route,
        counterparty=counterparty,
        text_version=text_version,
        language=language,
        given_at=timezone.now(),
        recorded_by=actor,
    )
    case_touch(case_id=case.pk)
    record(
        Action.CONSENT_RECORDED,
        actor=actor,
        target=consent,
        case_id=case.pk,
        request=request,
        purpose=purpose,
        includes_sogi=includes_sogi,
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: Any, case: Case, consent: Consent, request: Any = None) -> int:
    """Record the withdrawal; returns how many draft letters to that authority it leaves
    without a live disclosure consent (the pre-issue check then blocks them)."""
    from casework.letters.models import Letter  # letters build on cases

    Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    blocked = 0
    route_id = consent.route_id
    if consent.purpose == Consent.Purpose.DISCLOSURE and route_id is not None:
        live = Consent.objects.filter(
            applicant_id=case.applicant_id,
            purpose=Consent.Purpose.DISCLOSURE,
            route_id=route_id,
            withdrawn_at__isnull=True,
        )
        if not live.exists():
            blocked = Letter.objects.filter(
                applicant_id=case.applicant_id,
                status=Letter.Status.DRAFT,
                attempt__route_id=route_id,
            ).count()
    case_touch(case_id=case.pk)
    record(
        Action.CONSENT_WITHDRAWN,
        actor=actor,
        target=consent,
        case_id=case.pk,
        request=request,
        purpose=consent.purpose,
        drafts_blocked=blocked,
    )
    return blocked


def current_attempt(case: Case) -> VisaApplication | None:
    return case.visa_applications.select_related("route").order_by("-created_at").first()


def issued_letter_for(attempt: VisaApplication | None) -> bool:
    """An issued, current letter for this route attempt (the guard before submission)."""
    if attempt is None:
        return False
    return bool(attempt.letters.filter(status="issued").exists())


def verification_completed(case: Case) -> bool:
    """Whether the case's verification was completed: at some point it moved on from
    verification to route planning (``workflow.VERIFIED_STEP``). Leaving verification by
    closing the case is not verifying. The one definition the status guards and the
    letters' guard share (DOMAIN.md section 8)."""
    source, outcome = VERIFIED_STEP
    return bool(case.history.filter(from_status=source, to_status=outcome).exists())


def disclosure_consent_for(case: Case, attempt: VisaApplication | None) -> bool:
    """Consent to disclose to the authority of the current route attempt, not withdrawn."""
    if attempt is None:
        return False
    return Consent.objects.filter(
        applicant_id=case.applicant_id,
        purpose=Consent.Purpose.DISCLOSURE,
        route_id=attempt.route_id,
        withdrawn_at__isnull=True,
    ).exists()


def deadlines_refresh(case: Case) -> None:
    """Re-derive the automatic deadlines from the applicant's and the route attempts' dates;
    hand-made ones and those already done are kept."""
    applicant = case.applicant
    wanted: set[tuple[str, Any]] = set()
    if applicant.legal_stay_until:
        wanted.add((Deadline.Kind.LEGAL_STAY_ENDS, applicant.legal_stay_until))
    if applicant.passport_expiry:
        wanted.add((Deadline.Kind.PASSPORT_EXPIRES, applicant.passport_expiry))
    for attempt in case.visa_applications.all():
        if attempt.appointment_at:
            wanted.add((Deadline.Kind.APPOINTMENT, attempt.appointment_at))
        if attempt.appeal_deadline:
            wanted.add((Deadline.Kind.APPEAL_DEADLINE, attempt.appeal_deadline))
    existing = {(d.kind, d.due_on): d for d in case.deadlines.filter(automatic=True)}
    for key, deadline in existing.items():
        if key not in wanted and not deadline.done:
            deadline.delete()
    for kind, due_on in wanted - existing.keys():
        Deadline.objects.create(
            organisation_id=case.organisation_id,
            case=case,
            kind=kind,
            due_on=due_on,
            automatic=True,
        )


@transaction.atomic
def deadline_add(
    *, actor: Any, case: Case, kind: str, due_on: Any, request: Any = None
) -> Deadline:
    deadline = Deadline.objects.create(
        organisation_id=case.organisation_id, case=case, kind=kind, due_on=due_on
    )
    case_touch(case_id=case.pk)
    record(Action.DEADLINE_CHANGED, actor=actor, target=deadline, case_id=case.pk, request=request)
    return deadline


@transaction.atomic
def deadline_done(*, actor: Any, case: Case, deadline: Deadline, request: Any = None) -> None:
    Deadline.objects.filter(pk=deadline.pk).update(done=True)
    case_touch(case_id=case.pk)
    record(
        Action.DEADLINE_CHANGED,
        actor=actor,
        target=deadline,
        case_id=case.pk,
        request=request,
        done=True,
    )


@transaction.atomic
def attempt_update(
    *, actor: Any, case: Case, attempt: VisaApplication, values: dict[str, Any], request: Any = None
) -> None:
    for name, value in values.items():
        setattr(attempt, name, value)
    attempt.save()
    deadlines_refresh(case)
    case_touch(case_id=case.pk)
    record(
        Action.ROUTE_ATTEMPT_UPDATED,
        actor=actor,
        target=attempt,
        case_id=case.pk,
        request=request,
        fields=sorted(values),
    )
