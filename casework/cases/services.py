"""Write paths for applicants. Each runs in one transaction."""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, remove_perm

from casework.accounts.roles import Role
from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.cases import journal, subject_requests
from casework.cases.models import (
    STAGES,
    Applicant,
    Case,
    CaseGroupObjectPermission,
    CaseStatusChange,
    CaseUserObjectPermission,
    Consent,
    Deadline,
    Document,
    ErasureCause,
    ExportFile,
    Mission,
    Note,
    Priority,
    Route,
    SubjectRequest,
    VisaApplication,
)
from casework.cases.workflow import VERIFIED_STEP, CaseFacts, Status, check_transition
from casework.lib import datakeys
from casework.lib.fields import EncryptedModel, encrypted_fields
from casework.lib.files import STORE_ERRORS, read_encrypted, store_encrypted

logger = logging.getLogger(__name__)


class ApplicantNotFound(Exception):
    pass


@dataclass(frozen=True)
class Erasure:
    """What one run of ``applicant_erase`` did (ids and counts only)."""

    first_time: bool  # False: the person had been erased before, and this run swept again
    erased_at: datetime.datetime
    case_ids: list[uuid.UUID]
    records_cleared: int
    files_deleted: int
    letters_revoked: int
    grants_removed: int


@transaction.atomic
def applicant_erase(
    *,
    applicant_id: uuid.UUID,
    actor: Any = None,
    request: Any = None,
    cause: ErasureCause = ErasureCause.REQUEST,
    replayed: bool = False,
) -> Erasure:
    """Erase one person (R36, R62), in one transaction with its audit entry.

    Destroys their data key and sets to NULL every ciphertext column encrypted under it
    (``applicant_records``), with the blind indexes; clears the plaintext that could still
    single them out; removes every object grant on their cases; revokes every letter of
    theirs (the public page then says so); and, once committed, deletes their stored files.
    What remains is a tombstone: ids, the case codes, statuses and dates, the letters'
    verification registry, and the audit log (docs: SECURITY.md, "Erasure").

    Running it again on an erased person sweeps once more (files a failed deletion left,
    records an older version of this function did not clear) and says it was not the first
    time. The interface and ``manage.py erase_applicant`` both call this, and
    ``restore`` with ``replayed`` for each person the erasure journal names (cases.journal),
    and ``manage.py apply_retention`` with the cause ``RETENTION`` (R61): the same, except that
    the letters keep their status on the public page (the registry outlives the details,
    DOMAIN.md 4.4; an authority checking an old letter is not told it was withdrawn).
    """
    applicant = Applicant.objects.select_for_update().filter(pk=applicant_id).first()
    if applicant is None:
        raise ApplicantNotFound(str(applicant_id))
    erased_at = applicant.erased_at or timezone.now()
    key_destroyed = datakeys.destroy_data_key(applicant.pk)
    case_ids = list(
        Case.objects.filter(applicant_id=applicant.pk)
        .order_by("opened_at", "pk")
        .values_list("pk", flat=True)
    )
    files = _stored_files(applicant.pk)
    records = _clear_ciphertexts(applicant.pk)
    _clear_plaintext(applicant.pk, case_ids, erased_at)
    ExportFile.objects.filter(applicant_id=applicant.pk).delete()  # its file goes below
    if applicant.erased_at is None:
        Applicant.objects.filter(pk=applicant.pk).update(erasure_cause=cause)
    grants = _remove_grants(case_ids)
    revoked = _revoke_letters(applicant.pk, actor, erased_at, revoke=cause == ErasureCause.REQUEST)
    replay: dict[str, Any] = {"replayed": True} if replayed else {}
    answered = subject_requests.complete(
        applicant_id=applicant.pk, outcome=SubjectRequest.Outcome.ERASED
    )
    record(
        Action.ERASURE,
        actor=actor,
        organisation_id=applicant.organisation_id,
        target=applicant,
        case_id=case_ids[0] if case_ids else None,
        request=request,
        key_destroyed=key_destroyed,
        cause=str(cause),
        cases=[str(pk) for pk in case_ids],
        records_cleared=records,
        files_deleted=len(files),
        letters_revoked=revoked,
        grants_removed=grants,
        requests_answered=answered,
        **replay,
    )
    # Files cannot be rolled back: they go once the erasure is committed. Should deleting
    # one fail, it stays encrypted under a key that no longer exists, and its name stays in
    # its row so that erasing again deletes it.
    transaction.on_commit(lambda: _delete_files(files))
    if applicant.erased_at is None and not replayed:
        # Outside the database, so that a restored backup cannot forget it (cases.journal).
        transaction.on_commit(lambda: journal.append(applicant.pk, str(cause), erased_at))
    return Erasure(
        first_time=applicant.erased_at is None,
        erased_at=erased_at,
        case_ids=case_ids,
        records_cleared=records,
        files_deleted=len(files),
        letters_revoked=revoked,
        grants_removed=grants,
    )


@dataclass(frozen=True)
class ErasureScope:
    """What erasing a person would touch, for the confirmation page (counts only)."""

    documents: int
    live_letters: int  # issued or superseded: their public page will say "revoked"


def erasure_scope(*, applicant_id: uuid.UUID) -> ErasureScope:
    from casework.letters.models import Letter  # letters build on cases, not the reverse

    live = (Letter.Status.ISSUED, Letter.Status.SUPERSEDED)
    return ErasureScope(
        documents=Document.objects.filter(applicant_id=applicant_id).count(),
        live_letters=Letter.objects.filter(applicant_id=applicant_id, status__in=live).count(),
    )


def applicant_records() -> list[type[EncryptedModel]]:
    """Every model whose fields are encrypted under an applicant's data key, found in the
    model registry: a model added later is erased without anyone listing it here."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and model.DATA_SUBJECT_TYPE == "applicant"
    ]


def _clear_ciphertexts(applicant_id: uuid.UUID) -> int:
    """NULL in every ciphertext and blind-index column of the person's records; returns
    how many records were cleared. (An update with None writes no plaintext, so the
    encrypted fields' guard lets it through.)"""
    cleared = 0
    for model in applicant_records():
        columns: dict[str, None] = {}
        for field in encrypted_fields(model):
            columns[field.attname] = None
            if field.blind_index:
                columns[field.index_field_name] = None
        records = model._default_manager.filter(**{model.DATA_SUBJECT_ATTR: applicant_id})
        cleared += records.update(**columns)
    return cleared


def _clear_plaintext(
    applicant_id: uuid.UUID, case_ids: list[uuid.UUID], erased_at: datetime.datetime
) -> None:
    """The plaintext that could still single the person out: dates about them and their
    papers (and the deadlines made from those dates), where they are, the languages they
    speak, the fingerprints of their documents and of their passport number, the partner
    named in a consent."""
    Applicant.objects.filter(pk=applicant_id).update(
        birth_year=None,
        current_country="",
        passport_expiry=None,
        legal_stay_until=None,
        languages=[],
        erased_at=erased_at,
    )
    Deadline.objects.filter(case_id__in=case_ids).delete()
    Case.objects.filter(pk__in=case_ids).update(next_deadline_on=None)
    Document.objects.filter(applicant_id=applicant_id).update(sha256="", expires_at=None)
    Consent.objects.filter(applicant_id=applicant_id).update(counterparty="")


def _remove_grants(case_ids: list[uuid.UUID]) -> int:
    """Every django-guardian grant on the cases, to users and to groups; guardian's generic
    tables too, should a grant ever have been written there."""
    removed = 0
    for direct in (CaseUserObjectPermission, CaseGroupObjectPermission):
        removed += direct.objects.filter(content_object_id__in=case_ids).delete()[0]
    generic = {
        "content_type": ContentType.objects.get_for_model(Case),
        "object_pk__in": [str(pk) for pk in case_ids],
    }
    removed += UserObjectPermission.objects.filter(**generic).delete()[0]
    removed += GroupObjectPermission.objects.filter(**generic).delete()[0]
    return removed


def _revoke_letters(
    applicant_id: uuid.UUID, actor: Any, at: datetime.datetime, *, revoke: bool
) -> int:
    """Every letter not revoked yet is revoked, without a reason: the public verification
    page says "revoked" (issued and superseded ones), and a draft leaves the coordinators'
    queue for good. With ``revoke`` false (retention), only the drafts go that way and issued
    letters keep their status. Either way the passport digest, a keyed fingerprint of the
    person's number, goes."""
    from casework.letters.models import Letter  # letters build on cases, not the reverse

    letters = Letter.objects.filter(applicant_id=applicant_id)
    pending = letters.exclude(status=Letter.Status.REVOKED)
    if not revoke:
        pending = pending.filter(status=Letter.Status.DRAFT)
    revoked = pending.update(status=Letter.Status.REVOKED, revoked_at=at, revoked_by=actor)
    letters.update(passport_digest="")
    return revoked


def _stored_files(applicant_id: uuid.UUID) -> list[str]:
    """The storage names of the person's documents and sealed letters still stored (an
    erasure run again finds only what an earlier deletion left behind)."""
    from casework.letters.models import Letter

    names = Document.objects.filter(applicant_id=applicant_id).values_list("storage_name")
    pdfs = Letter.objects.filter(applicant_id=applicant_id).values_list("pdf_storage_name")
    exports = ExportFile.objects.filter(applicant_id=applicant_id).values_list("storage_name")
    found = sorted(name for (name,) in [*names, *pdfs, *exports] if name)
    try:
        return [name for name in found if default_storage.exists(name)]
    except STORE_ERRORS:
        # The store cannot say (an object store out of reach): the erasure goes on, since
        # destroying the key is what makes the files unreadable, and every name counts as
        # stored, to be deleted once committed or by erasing again.
        return found


def _delete_files(names: list[str]) -> None:
    for done, name in enumerate(names):
        try:
            default_storage.delete(name)
        except STORE_ERRORS:
            # The name is random and the content unreadable without the destroyed key. The
            # rest wait too: a store that failed once (out of reach, read-only) would make
            # each of them wait for its timeouts in turn.
            left = len(names) - done - 1
            logger.exception(
                "erasure: stored file %s not deleted, nor the %d after it; erase again", name, left
            )
            return


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
    Case.objects.filter(pk=case.pk).update(has_caseworker=True)
    case.has_caseworker = True


def _revoke(user: Any, case: Case) -> None:
    case.caseworkers.remove(user)
    remove_perm("cases.view_case", user, case)
    remove_perm("cases.change_case", user, case)
    assigned = Case.caseworkers.through.objects.filter(case_id=OuterRef("pk"))
    Case.objects.filter(pk=case.pk).update(has_caseworker=Exists(assigned))
    case.has_caseworker = case.caseworkers.exists()


def case_touch(*, case_id: uuid.UUID) -> None:
    """Someone changed the case or something on it: its "last activity" is now.

    Called by every write path of cases and letters, inside the caller's transaction; it
    does not bump ``version``, so a note added meanwhile does not turn an open edit form
    into a conflict.
    """
    Case.objects.filter(pk=case_id).update(
        last_activity_at=timezone.now(), next_deadline_on=_earliest_open_deadline()
    )


def refresh_next_deadline(case_id: uuid.UUID) -> None:
    """Store the case's earliest deadline not done, the list's "Next deadline" (issue 15)."""
    Case.objects.filter(pk=case_id).update(next_deadline_on=_earliest_open_deadline())


def _earliest_open_deadline() -> Subquery:
    earliest = Deadline.objects.filter(case_id=OuterRef("pk"), done=False).order_by("due_on")
    return Subquery(earliest.values("due_on")[:1])


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


def lock_case(case: Case) -> Case:
    """The case's row, locked until the transaction ends, taken after its person's data key
    row. Every write that encrypts locks the data key's row (its encryption count) before the
    case's (case_touch comes last); a path that locked the case first and then encrypted
    deadlocked with them on PostgreSQL (an edit saved while a colleague uploaded to the same
    case: the load test's 503). One order everywhere: the data key, then the case."""
    datakeys.lock_data_key(case.applicant_id)
    return Case.objects.select_for_update().get(pk=case.pk)


@transaction.atomic
def case_transition(
    *, actor: Any, case: Case, target: str, facts: CaseFacts, reason: str = "", request: Any = None
) -> None:
    """Move a case through the workflow table, checking its guards; audited, with history."""
    locked = lock_case(case)
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
    # update() skips Case.save: the stored stage (the list's sort, the dashboard's counts) is
    # written here too.
    changes: dict[str, Any] = {
        "status": target,
        "stage": STAGES[target],
        "version": locked.version + 1,
    }
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
    locked = lock_case(case)
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
    locked = lock_case(case)
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
    refresh_next_deadline(case.pk)


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
