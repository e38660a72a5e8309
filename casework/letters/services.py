"""Write paths for letters: request, edit, issue, revoke, correct, download, public check.

Each runs in one transaction with its audit entry. Issuing renders the letter in the worker
process, seals it, encrypts it under the applicant's key and stores it: if any step fails,
the letter stays a draft and nothing half-issued is kept (the stored file is removed too).
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import segno
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import client_prefix, record
from casework.cases.invisible import invisible_characters
from casework.cases.models import Consent, Document, Priority
from casework.cases.services import EditConflict as EditConflict  # one conflict, both editors
from casework.cases.services import case_touch
from casework.cases.services import verification_completed as case_verification_completed
from casework.letters import codes
from casework.letters.labels import LetterDocument
from casework.letters.models import Letter, LetterSequence, VerificationCheck
from casework.letters.rendering import RenderFailed, renderer
from casework.letters.signing import SealUnavailable, ensure_development_seal, seal_pdf
from casework.lib.files import read_encrypted, store_encrypted
from casework.lib.keys import keyring
from crypto import digests_equal, keyed_digest

logger = logging.getLogger(__name__)

EDITABLE = (
    "language",
    "mission",
    "delivery",
    "include_sogi",
    "facts",
    "why_route",
    "urgency",
)


class LetterRefused(Exception):
    """The action cannot be done; ``message`` says why, in one sentence for the user."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


@transaction.atomic
def letter_request(
    *,
    actor: Any,
    case: Any,
    attempt: Any,
    values: dict[str, Any],
    annexes: list[Document],
    request: Any = None,
) -> Letter:
    """A caseworker (or coordinator) asks for a letter for one route attempt: a draft."""
    letter = Letter(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        attempt=attempt,
        kind=attempt.route.request_kind,  # the route says what the letter asks for
        requested_by=actor,
        **{name: values[name] for name in EDITABLE if name in values},
    )
    letter.save()
    letter.annexes.set(annexes)
    case_touch(case_id=case.pk)
    record(
        Action.LETTER_REQUESTED,
        actor=actor,
        target=letter,
        case_id=case.pk,
        request=request,
        kind=letter.kind,
        language=letter.language,
    )
    return letter


@transaction.atomic
def letter_update(
    *,
    actor: Any,
    letter: Letter,
    version: int,
    values: dict[str, Any],
    annexes: list[Document],
    request: Any = None,
) -> None:
    """Edit a draft (optimistic lock: the second of two simultaneous edits is refused)."""
    locked = Letter.objects.select_for_update().get(pk=letter.pk)
    if locked.status != Letter.Status.DRAFT:
        raise LetterRefused(_("Only a draft can be edited; correct an issued letter instead."))
    if locked.version != version:
        raise EditConflict()
    for name in EDITABLE:
        if name in values:
            setattr(locked, name, values[name])
    locked.version += 1
    locked.save()
    locked.annexes.set(annexes)
    case_touch(case_id=locked.case_id)
    record(
        Action.LETTER_UPDATED,
        actor=actor,
        target=locked,
        case_id=locked.case_id,
        request=request,
        fields=sorted(set(values) & set(EDITABLE)),
    )


# --- guards ------------------------------------------------------------------------------


def disclosure_consent(letter: Letter) -> Consent | None:
    """The applicant's live consent to disclosure to this route's authority."""
    return (
        Consent.objects.filter(
            applicant_id=letter.applicant_id,
            purpose=Consent.Purpose.DISCLOSURE,
            route_id=letter.attempt.route_id,
            withdrawn_at__isnull=True,
        )
        .order_by("-given_at")
        .first()
    )


def withdrawn_disclosure(letter: Letter) -> Consent | None:
    """The applicant's latest withdrawn consent to disclosure to this route's authority."""
    return (
        Consent.objects.filter(
            applicant_id=letter.applicant_id,
            purpose=Consent.Purpose.DISCLOSURE,
            route_id=letter.attempt.route_id,
            withdrawn_at__isnull=False,
        )
        .order_by("-withdrawn_at")
        .first()
    )


def verification_completed(letter: Letter) -> bool:
    """The case's verification was completed, as the status guards define it."""
    return case_verification_completed(letter.case)


def issue_refusal(letter: Letter, actor: Any) -> Any:
    """Why this coordinator cannot issue this letter at all, or None; what the letter
    itself still lacks is the pre-issue check's (casework.letters.checks)."""
    if letter.status != Letter.Status.DRAFT:
        return _("This letter is not a draft; it has been issued already.")
    if not actor.has_role(Role.COORDINATOR) or actor.organisation_id != letter.organisation_id:
        return _("Only a coordinator of the organisation issues its letters.")
    return None


def invisible_refusal(label: Any) -> Any:
    """The refusal names the field, never its value (which may be a name)."""
    return format_lazy(
        _(
            "“{field}” holds invisible characters (text-direction controls, zero-width "
            "spaces or the like) that would make the letter read differently from what was "
            "typed: correct it before issuing."
        ),
        field=label,
    )


def field_label(obj: Any, name: str) -> Any:
    """ "Applicant: legal name (Latin)": the model's name and the field's, both translated."""
    meta = obj._meta
    return format_lazy(
        "{model}: {field}",
        model=capfirst(meta.verbose_name),
        field=meta.get_field(name).verbose_name,
    )


def printed_fields(letter: Letter) -> list[tuple[Any, str | None]]:
    """(label, value) of everything a person typed that this letter prints: the letterhead,
    the applicant's particulars, the route's and mission's names in the letter's language,
    the attempt, the annexes' titles, the signatory and the free text (SECURITY.md
    "Letters"). The rendered letter is checked once more."""
    organisation, applicant, attempt = letter.organisation, letter.applicant, letter.attempt
    named = "legal_name" if organisation.legal_name else "name"
    fields: list[tuple[Any, Any]] = [
        (organisation, named),
        *((organisation, n) for n in LETTERHEAD),
    ]
    fields += [(applicant, "legal_name_latin"), (applicant, "international_passport_no")]
    if letter.include_sogi:
        fields += [(applicant, "sexual_orientation"), (applicant, "gender_identity")]
    fields += [(attempt, "authority_file_number")]
    fields += [(document, "title") for document in letter.annexes.all()]
    fields += [(letter, name) for name in ("facts", "why_route", "urgency")]
    printed = [(field_label(obj, name), getattr(obj, name)) for obj, name in fields]
    route, language = attempt.route, letter.language
    printed += [
        (field_label(route, "letter_names"), route.printed(language, part))
        for part in route.PRINTED_PARTS
    ]
    if letter.mission is not None:
        mission = letter.mission
        printed.append((field_label(mission, "letter_names"), mission.printed(language)))
    name, title = signatory(letter)
    printed += [
        (field_label(organisation, "signatory_names"), name),
        (field_label(organisation, "signatory_titles"), title),
        (field_label(organisation, "about"), about_text(letter)),
    ]
    return printed


LETTERHEAD = (
    "registration",
    "address",
    "website",
    "letter_contact",
    "verification_contact",
)


# --- issuing -----------------------------------------------------------------------------


class LetterBlocked(LetterRefused):
    """The pre-issue check found problems: ``problems`` lists every one of them."""

    def __init__(self, message: Any, problems: list[Any]) -> None:
        super().__init__(message)
        self.problems = problems


def letter_issue(
    *, actor: Any, letter: Letter, accept_warnings: bool = False, request: Any = None
) -> Letter:
    """Render, seal, encrypt and store the letter; it is issued only if all of it worked,
    the pre-issue check found no blocker, and any warnings were accepted."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            issued = _issue(actor, letter, stored, request, accept_warnings=accept_warnings)
    except BaseException:
        for name in stored:  # the transaction rolled back: leave no orphaned file behind
            default_storage.delete(name)
        raise
    return issued


def _issue(
    actor: Any, letter: Letter, stored: list[str], request: Any, *, accept_warnings: bool
) -> Letter:
    from casework.letters import checks  # it reads this module's guards

    locked = Letter.objects.select_for_update().select_related("attempt__route").get(pk=letter.pk)
    refusal = issue_refusal(locked, actor)
    if refusal is not None:
        raise LetterRefused(refusal)

    def pre_issue_check() -> None:
        # Run while the worker renders (on the other core); reads the draft's content only.
        # Its refusals name the field; the check of the whole HTML comes after them.
        found = checks.problems(locked)
        if checks.blockers(found):
            raise LetterBlocked(
                _("The letter was not issued; the pre-issue check lists what is missing."), found
            )
        if checks.warnings(found) and not accept_warnings:
            raise LetterBlocked(
                _("The letter was not issued: read the warnings and tick that you accept them."),
                checks.warnings(found),
            )
        if invisible_characters(html):  # whatever printed_fields() may have missed
            raise LetterRefused(
                _(
                    "The letter would print invisible characters (text-direction controls, "
                    "zero-width spaces or the like); nothing was issued. Tell an administrator."
                )
            )

    organisation = locked.organisation
    locked.kind = locked.attempt.route.request_kind  # what it asks for, as printed
    ensure_development_seal(organisation)
    now = timezone.now()
    code = codes.new_code()
    locked.reference = _next_reference(organisation, now.year)
    locked.issued_at, locked.issued_by = now, actor
    locked.issuer_name = organisation.letter_name  # printed and shown as verified: a snapshot
    locked.authority = addressee_authority(locked)
    html = letter_html(locked, code=code)
    try:
        # The QR code is made while the worker starts on the HTML, and the pre-issue check
        # runs while it renders: a blocked letter is refused once the render is dropped.
        late = {"qr.svg": lambda: qr_svg(verify_url(code))}
        rendered = renderer().render(html, late=late, meanwhile=pre_issue_check)
        pdf = seal_pdf(rendered.pdf, organisation)
    except SealUnavailable as problem:
        logger.error("letter seal unavailable for organisation %s: %s", organisation.pk, problem)
        raise LetterRefused(
            _("The organisation's letter seal is not installed or not usable; tell an operator.")
        ) from None
    except RenderFailed as problem:
        raise LetterRefused(problem.message) from None
    name = store_encrypted(
        pdf,
        purpose="letter",
        subject_id=locked.applicant_id,
        organisation_id=locked.organisation_id,
    )
    stored.append(name)
    locked.pdf_storage_name = name
    locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    locked.pdf_size = len(pdf)
    locked.code_digest = codes.digest(code)
    locked.passport_digest = passport_digest(
        locked.organisation_id, locked.applicant.international_passport_no
    )
    locked.status = Letter.Status.ISSUED
    locked.save()
    if locked.supersedes_id is not None:
        Letter.objects.filter(pk=locked.supersedes_id, status=Letter.Status.ISSUED).update(
            status=Letter.Status.SUPERSEDED
        )
    case_touch(case_id=locked.case_id)
    record(
        Action.LETTER_ISSUED,
        actor=actor,
        target=locked,
        case_id=locked.case_id,
        request=request,
        reference=locked.reference,
        sha256=locked.pdf_sha256,
        supersedes=str(locked.supersedes_id) if locked.supersedes_id else None,
    )
    return locked


def _next_reference(organisation: Any, year: int) -> str:
    """LTR-<year>-<6 digits>, per organisation and year; the row lock serialises issuers."""
    sequence, _created = LetterSequence.objects.get_or_create(organisation=organisation, year=year)
    locked = LetterSequence.objects.select_for_update().get(pk=sequence.pk)
    locked.last += 1
    locked.save(update_fields=["last"])
    return f"LTR-{year}-{locked.last:06d}"


def addressee_authority(letter: Letter) -> str:
    """The deciding authority's official name in the letter's language ("" if missing)."""
    return letter.attempt.route.printed(letter.language, "authority")[:300]


def letter_kind(letter: Letter) -> str:
    """What the letter asks for: as issued, or as its route says while it is a draft."""
    if letter.status == Letter.Status.DRAFT:
        return str(letter.attempt.route.request_kind)
    return str(letter.kind)


def signatory(letter: Letter) -> tuple[str, str]:
    """The signatory's name and function as a letter in this language prints them."""
    organisation, language = letter.organisation, letter.language
    names = organisation.signatory_names if isinstance(organisation.signatory_names, dict) else {}
    titles = organisation.signatory_titles
    titles = titles if isinstance(titles, dict) else {}
    name = str(names.get(language, "")).strip() or organisation.signatory_name.strip()
    return name, str(titles.get(language, "")).strip()


def about_text(letter: Letter) -> str:
    about = letter.organisation.about
    return str(about.get(letter.language, "") if isinstance(about, dict) else "").strip()


def verify_url(code: str) -> str:
    return settings.CASEWORK_VERIFY_BASE_URL + reverse("letter_verify", args=[code])


def qr_svg(url: str) -> str:
    """A vector QR code of the verification URL (no personal data in it)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, scale=4, border=2)
    return out.getvalue().decode()


def passport_digest(organisation_id: uuid.UUID, passport: str | None) -> str:
    """Keyed digest of the normalised passport number, for the match check only."""
    normalised = "".join(ch for ch in (passport or "").upper() if ch.isalnum())
    if not normalised:
        return ""
    key = keyring().index_key
    return keyed_digest(key, f"letter-passport:{organisation_id}", normalised.encode()).hex()


def letter_html(letter: Letter, *, code: str | None = None) -> str:
    """The letter as HTML, from its language's template (autoescaped: free text is text)."""
    context = letter_context(letter, code=code)
    with translation.override(letter.language):
        return render_to_string(f"letters/{letter.language}/{context['kind']}.html", context)


def letter_context(letter: Letter, *, code: str | None) -> dict[str, Any]:
    case, applicant, attempt = letter.case, letter.applicant, letter.attempt
    consent = disclosure_consent(letter)
    language = letter.language
    verified = list(case.documents.filter(verification_status="verified").order_by("verified_at"))
    verified_on = verified[-1].verified_at if verified else None
    sogi = None
    if letter.include_sogi and consent is not None and consent.includes_sogi:
        sogi = {
            "orientation": applicant.sexual_orientation,
            "gender_identity": applicant.gender_identity,
        }
    route = attempt.route
    signatory_name, signatory_title = signatory(letter)
    return {
        "letter": letter,
        "kind": letter_kind(letter),
        "org": letter.organisation,
        "issuer": letter.issuer_name or letter.organisation.letter_name,
        "about": about_text(letter),
        "signatory_name": signatory_name,
        "signatory_title": signatory_title,
        "applicant": applicant,
        "case": case,
        "attempt": attempt,
        # Only these names of the route and mission are printed, in the letter's language:
        # never the staff's legal_basis, deciding_authority, name or notes.
        "names": {part: route.printed(language, part) for part in route.PRINTED_PARTS},
        "mission_name": letter.mission.printed(language) if letter.mission else "",
        "authority": letter.authority or addressee_authority(letter),
        "issued_on": letter.issued_at or timezone.now(),
        "code_words": codes.printed(code) if code else "—",
        "verify_page": settings.CASEWORK_VERIFY_BASE_URL + reverse("verify_form"),
        "qr_src": "app:qr.svg" if code else "",
        "sogi": sogi,
        "consent": consent,
        "verified_documents": [LetterDocument.of(d, language) for d in verified],
        "verified_on": verified_on,
        "annexes": [LetterDocument.of(d, language) for d in letter.annexes.all()],
        "urgent": case.priority in (Priority.EMERGENCY, Priority.URGENT)
        and bool((letter.urgency or "").strip()),
    }


# --- after issue ------------------------------------------------------------------------


@transaction.atomic
def letter_revoke(*, actor: Any, letter: Letter, reason: str, request: Any = None) -> None:
    locked = Letter.objects.select_for_update().get(pk=letter.pk)
    if locked.status != Letter.Status.ISSUED:
        raise LetterRefused(_("Only an issued, current letter can be revoked."))
    if not reason.strip():
        raise LetterRefused(_("Say why the letter is revoked."))
    locked.status = Letter.Status.REVOKED
    locked.revoked_at, locked.revoked_by, locked.revoke_reason = timezone.now(), actor, reason
    locked.save()
    case_touch(case_id=locked.case_id)
    record(
        Action.LETTER_REVOKED, actor=actor, target=locked, case_id=locked.case_id, request=request
    )


@transaction.atomic
def letter_correct(*, actor: Any, letter: Letter, request: Any = None) -> Letter:
    """A new draft with the same content, which supersedes this letter once it is issued."""
    if letter.status != Letter.Status.ISSUED:
        raise LetterRefused(_("Only an issued, current letter can be corrected."))
    if Letter.objects.filter(supersedes=letter).exists():
        raise LetterRefused(_("A correction of this letter exists already; edit that one."))
    values = {name: getattr(letter, name) for name in EDITABLE}
    draft = letter_request(
        actor=actor,
        case=letter.case,
        attempt=letter.attempt,
        values=values,
        annexes=list(letter.annexes.all()),
        request=request,
    )
    Letter.objects.filter(pk=draft.pk).update(supersedes=letter)
    draft.supersedes = letter
    return draft


def letter_read(*, actor: Any, letter: Letter, request: Any = None) -> bytes:
    """The issued PDF, decrypted; its SHA-256 must be the one recorded at issue."""
    content = read_encrypted(
        letter.pdf_storage_name,
        purpose="letter",
        subject_id=letter.applicant_id,
        organisation_id=letter.organisation_id,
    )
    if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
        raise LetterRefused(_("The stored letter does not match its recorded fingerprint."))
    record(
        Action.LETTER_DOWNLOADED,
        actor=actor,
        target=letter,
        case_id=letter.case_id,
        request=request,
    )
    return content


# --- the public check ---------------------------------------------------------------------


class TooManyChecks(Exception):
    pass


@dataclass(frozen=True)
class CheckResult:
    letter: Letter | None
    passport_matches: bool | None = None  # None: not asked


def letter_check(*, typed: str, request: Any, passport: str | None = None) -> CheckResult:
    """Look a code up for the public page: rate limited per client network, audited
    without the code or the passport number."""
    client = _client_digest(request)
    window = timezone.now() - timedelta(hours=1)
    recent = VerificationCheck.objects.filter(client_digest=client, at__gt=window).count()
    if recent >= settings.CASEWORK_VERIFY_CHECKS_PER_HOUR:
        record(Action.LETTER_CHECKED, request=request, decision="deny", throttled=True)
        raise TooManyChecks()
    code = codes.canonical(typed)
    letter = None
    if code is not None:
        found = Letter.objects.select_related("organisation")
        letter = found.filter(code_digest=codes.digest(code)).first()
    matches = None
    # Erasing the person took the passport digest with them (cases.services.applicant_erase):
    # a revoked letter without one answers no passport question, not "does not match".
    erased = letter is not None and letter.status == Letter.Status.REVOKED
    if letter is not None and passport is not None and not (erased and not letter.passport_digest):
        wanted = passport_digest(letter.organisation_id, passport)
        # Constant time: the comparison's duration says nothing of how much matched.
        matches = bool(wanted) and digests_equal(wanted.encode(), letter.passport_digest.encode())
    with transaction.atomic():
        VerificationCheck.objects.create(client_digest=client)
        record(
            Action.LETTER_CHECKED,
            organisation_id=letter.organisation_id if letter else None,
            target=letter,
            case_id=letter.case_id if letter else None,  # on the case's audit page too
            request=request,
            found=letter is not None,
            passport_checked=passport is not None,
        )
    return CheckResult(letter, matches)


def _client_digest(request: Any) -> bytes:
    network = client_prefix(request) or "unknown"
    return keyed_digest(keyring().index_key, "letter-verify-client", network.encode())
