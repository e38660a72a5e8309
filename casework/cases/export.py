"""Subject-access export (GDPR Art. 15 and 20): everything held about one applicant, as one
ZIP file.

Inside, under one folder ``export/`` (a ZIP's member names and sizes are readable without
the passphrase, so they say nothing but numbers):

- ``summary.html``: a readable summary in the applicant's language (the first language they
  speak that the interface has, else English), one section per record;
- ``data.json``: every field of every record, raw values, for a machine (Art. 20);
- ``audit.json``: the audit entries about the person and their cases (who did what, when);
- ``documents/`` the uploaded documents, decrypted, named by number only (01.pdf, ...);
- ``letters/`` the issued letters' sealed PDFs, named by number only.

The ZIP is encrypted with AES-256 (WinZip AE-2, which 7-Zip, ``7z`` and most archive tools
open) under a passphrase of 12 words (120 bits) shown once; an unencrypted ZIP is made only
when asked for explicitly, and the audit entry says so. Nothing is written to disk in the
clear: the archive is built in memory and, for the download, stored encrypted under the
person's data key like their documents (``ExportFile``), for an hour.
"""

from __future__ import annotations

import datetime
import io
import json
import mimetypes
import secrets
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyzipper
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy
from shamir_mnemonic.wordlist import WORDLIST

from casework.audit.labels import action_label
from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.cases import subject_requests
from casework.cases.labels import country_name, language_name, status_label
from casework.cases.models import (
    Applicant,
    Case,
    CaseStatusChange,
    Consent,
    Deadline,
    Document,
    ExportFile,
    HoldReason,
    Note,
    SubjectRequest,
    VisaApplication,
)
from casework.cases.workflow import ClosureReason
from casework.lib.fields import EncryptedField
from casework.lib.files import read_encrypted, store_encrypted

PASSPHRASE_WORDS = 12  # 12 x 10 bits = 120 bits
EXPORT_TTL = datetime.timedelta(hours=1)

# Columns that are the system's bookkeeping, not data about the person: row ids of the
# records they belong to (named by code instead), optimistic-lock counters, storage names,
# keyed digests and blind indexes.
INTERNAL = {
    "organisation",
    "applicant",
    "case",
    "version",
    "storage_name",
    "pdf_storage_name",
    "code_digest",
    "passport_digest",
    "supersedes",
    "automatic",
    "erased_at",
    "erasure_cause",
}

# Names for the columns declared without one (their default would be the column's name).
LABELS = {
    "created_at": gettext_lazy("recorded"),
    "from_status": gettext_lazy("from status"),
    "to_status": gettext_lazy("to status"),
    "by": gettext_lazy("by"),
    "at": gettext_lazy("when"),
    "author": gettext_lazy("written by"),
    "sha256": gettext_lazy("SHA-256 fingerprint"),
    "mime": gettext_lazy("file type"),
    "size": gettext_lazy("size in bytes"),
    "uploaded_by": gettext_lazy("uploaded by"),
    "uploaded_at": gettext_lazy("uploaded"),
    "recorded_by": gettext_lazy("recorded by"),
    "route": gettext_lazy("route"),
    "mission": gettext_lazy("mission"),
    "attempt": gettext_lazy("route attempt"),
    "status": gettext_lazy("status"),
    "requested_by": gettext_lazy("requested by"),
    "requested_at": gettext_lazy("requested"),
    "reference": gettext_lazy("reference"),
    "issued_by": gettext_lazy("issued by"),
    "issued_at": gettext_lazy("issued"),
    "issuer_name": gettext_lazy("issued in the name of"),
    "authority": gettext_lazy("addressed to"),
    "pdf_sha256": gettext_lazy("SHA-256 fingerprint"),
    "pdf_size": gettext_lazy("size in bytes"),
    "revoked_by": gettext_lazy("revoked by"),
    "revoked_at": gettext_lazy("revoked"),
    "coordinator": gettext_lazy("coordinator"),
}


class ExportRefused(Exception):
    pass


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    passphrase: str | None  # None: not encrypted
    documents: int
    letters: int
    entries: int
    language: str


def new_passphrase() -> str:
    return "-".join(WORDLIST[secrets.randbelow(1024)] for _ in range(PASSPHRASE_WORDS))


def summary_language(applicant: Applicant) -> str:
    """The first language the person speaks that the interface has; English otherwise."""
    available = {code for code, _name in settings.LANGUAGES}
    spoken = applicant.languages if isinstance(applicant.languages, list) else []
    return next((code for code in spoken if code in available), "en")


# Columns whose codes have names the summary shows instead (users see words, never codes).
WORDS: dict[str, Callable[[Any], str]] = {
    "status": status_label,
    "from_status": status_label,
    "to_status": status_label,
    "closure_reason": lambda code: str(dict(ClosureReason.choices).get(code, code)),
    "language": language_name,
    "languages": lambda codes: ", ".join(language_name(code) for code in codes),
    "destination_state": country_name,
    "current_country": country_name,
    "retention_hold_reason": lambda code: str(dict(HoldReason.choices).get(code, code)),
}


def _value(obj: models.Model, field: models.Field[Any, Any]) -> tuple[Any, str]:
    """(the JSON value, the readable value) of one column."""
    if field.is_relation:
        related = getattr(obj, field.name)
        if related is None:
            return None, ""
        if field.related_model is Case:
            return related.code, related.code
        if hasattr(related, "username"):
            return related.username, related.username
        if isinstance(related, VisaApplication):
            return str(related.pk), str(related.route)
        return str(related), str(related)
    value = getattr(obj, field.attname if not isinstance(field, EncryptedField) else field.name)
    if value is None or value == "" or value == []:
        return value if value == [] else None, ""
    if field.name in WORDS and not field.choices:
        shown = str(WORDS[field.name](value))
    elif field.choices:
        shown = str(dict(field.flatchoices).get(value, value))
    elif isinstance(value, bool):
        shown = str(gettext_lazy("yes") if value else gettext_lazy("no"))
    elif isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.UTC).isoformat(timespec="seconds")
        shown = value.replace("T", " ").replace("+00:00", " UTC")
    elif isinstance(value, datetime.date):
        value = value.isoformat()
        shown = value
    elif isinstance(value, list | dict):
        shown = json.dumps(value, ensure_ascii=False)
    else:
        shown = str(value)
    if isinstance(value, uuid.UUID):
        value = str(value)
    return value, shown


def _label(field: models.Field[Any, Any]) -> str:
    if field.name in LABELS:
        return capfirst(str(LABELS[field.name]))
    return capfirst(str(field.verbose_name))


def _record(obj: models.Model) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Every column of a record but the bookkeeping: (for data.json, for the summary)."""
    data: dict[str, Any] = {}
    rows: list[tuple[str, str]] = []
    blind = {
        getattr(f, "index_field_name", "")
        for f in obj._meta.concrete_fields
        if getattr(f, "blind_index", "")
    }
    for field in obj._meta.concrete_fields:
        if field.name in INTERNAL or field.name in blind or field.attname in blind:
            continue
        raw, shown = _value(obj, field)
        if field.name == "id":
            data["id"] = raw
            continue
        data[field.name] = raw
        if shown:
            rows.append((_label(field), shown))
    return data, rows


def _audit_entries(applicant: Applicant, cases: list[Case]) -> list[dict[str, Any]]:
    from casework.accounts.models import User

    entries = AuditEvent.objects.filter(
        Q(case_id__in=[case.pk for case in cases]) | Q(target_id=str(applicant.pk))
    ).order_by("seq")
    codes = {case.pk: case.code for case in cases}
    names = dict(
        User.objects.filter(pk__in={e.actor_id for e in entries if e.actor_id}).values_list(
            "pk", "username"
        )
    )
    return [
        {
            "seq": entry.seq,
            "at": entry.at.astimezone(datetime.UTC).isoformat(timespec="seconds"),
            "case": codes.get(entry.case_id, "") if entry.case_id else "",
            "action": entry.action,
            "what": str(action_label(entry.action)),
            "who": names.get(entry.actor_id, "") if entry.actor_id else "",
            "decision": entry.decision,
            "details": entry.details,
        }
        for entry in entries
    ]


def _extension(mime: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(
        mime, mimetypes.guess_extension(mime) or ".bin"
    )


def build(*, applicant: Applicant, encrypt: bool) -> Export:
    """The export of one person (not audited: ``export_applicant`` is the audited path)."""
    from casework.letters.models import Letter  # letters build on cases, not the reverse

    if applicant.is_erased:
        raise ExportRefused("erased")
    language = summary_language(applicant)
    cases = list(Case.objects.filter(applicant=applicant).order_by("opened_at", "pk"))
    folder = "export"  # member names are readable without the passphrase: nothing in them
    files: list[tuple[str, bytes]] = []
    with translation.override(language):
        person_data, person_rows = _record(applicant)
        data: dict[str, Any] = {"applicant": person_data, "cases": []}
        sections = []
        documents = letters = 0
        for case in cases:
            case_data, case_rows = _record(case)
            case_data["caseworkers"] = sorted(u.username for u in case.caseworkers.all())
            parts: dict[str, list[tuple[dict[str, Any], list[tuple[str, str]]]]] = {}
            related = {
                "status_changes": CaseStatusChange.objects.filter(case=case).select_related("by"),
                "notes": Note.objects.filter(case=case).select_related("author"),
                "route_attempts": VisaApplication.objects.filter(case=case).select_related(
                    "route", "mission"
                ),
                "deadlines": Deadline.objects.filter(case=case),
                "documents": Document.objects.filter(case=case).select_related(
                    "uploaded_by", "verified_by"
                ),
                "letters": Letter.objects.filter(case=case).select_related(
                    "attempt__route", "mission", "requested_by", "issued_by", "revoked_by"
                ),
            }
            for name, queryset in related.items():
                parts[name] = []
                for obj in queryset:
                    record_data, rows = _record(obj)
                    if isinstance(obj, Document):
                        documents += 1
                        # ZIP member names are not encrypted: a number, never the type.
                        path = f"documents/{documents:02d}{_extension(obj.mime)}"
                        files.append((path, _stored(obj, obj.storage_name, "document")))
                        record_data["file"] = path
                        rows.append((capfirst(str(gettext_lazy("file in this export"))), path))
                    elif isinstance(obj, Letter) and obj.pdf_storage_name:
                        letters += 1
                        path = f"letters/{letters:02d}.pdf"
                        files.append((path, _stored(obj, obj.pdf_storage_name, "letter")))
                        record_data["file"] = path
                        rows.append((capfirst(str(gettext_lazy("file in this export"))), path))
                    parts[name].append((record_data, rows))
            for name, items in parts.items():
                case_data[name] = [item for item, _rows in items]
            data["cases"].append(case_data)
            sections.append({"code": case.code, "rows": case_rows, "parts": parts})
        consents = [_record(c) for c in Consent.objects.filter(applicant=applicant)]
        data["consents"] = [item for item, _rows in consents]
        entries = _audit_entries(applicant, cases)
        summary = render_to_string(
            "cases/export/summary.html",
            {
                "language": language,
                "made_at": timezone.now(),
                "person": person_rows,
                "cases": sections,
                "consents": consents,
                "entries": [(e["at"][:16].replace("T", " "), e["what"], e["who"]) for e in entries],
                "part_titles": PART_TITLES,
            },
        )
    data["exported_at"] = timezone.now().astimezone(datetime.UTC).isoformat(timespec="seconds")
    members = [
        ("summary.html", summary.encode()),
        ("data.json", json.dumps(data, ensure_ascii=False, indent=2).encode()),
        ("audit.json", json.dumps(entries, ensure_ascii=False, indent=2).encode()),
        *files,
    ]
    passphrase = new_passphrase() if encrypt else None
    return Export(
        content=_zip(folder, members, passphrase),
        filename=f"{cases[0].code if cases else 'applicant'}-export.zip",
        passphrase=passphrase,
        documents=documents,
        letters=letters,
        entries=len(entries),
        language=language,
    )


PART_TITLES = {
    "status_changes": gettext_lazy("Status changes"),
    "notes": gettext_lazy("Notes"),
    "route_attempts": gettext_lazy("Route attempts"),
    "deadlines": gettext_lazy("Deadlines"),
    "documents": gettext_lazy("Documents"),
    "letters": gettext_lazy("Letters"),
}


def _stored(record: Any, name: str, purpose: str) -> bytes:
    """A stored file of the person's, decrypted (a document's or a sealed letter's)."""
    return read_encrypted(
        name,
        purpose=purpose,
        subject_id=record.applicant_id,
        organisation_id=record.organisation_id,
    )


def _zip(folder: str, members: list[tuple[str, bytes]], passphrase: str | None) -> bytes:
    buffer = io.BytesIO()
    archive: zipfile.ZipFile
    if passphrase is None:
        archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)
    else:
        aes = pyzipper.AESZipFile(
            buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        )
        aes.setpassword(passphrase.encode())
        aes.setencryption(pyzipper.WZ_AES, nbits=256)
        archive = aes
    with archive:
        for name, content in members:
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def export_applicant(
    *, applicant_id: uuid.UUID, actor: Any, encrypt: bool, request: Any = None, via: str = "page"
) -> Export:
    """Build the export and write its audit entry (in one transaction: no entry, no export)."""
    with transaction.atomic():
        applicant = Applicant.objects.filter(pk=applicant_id).first()
        if applicant is None:
            raise ExportRefused("missing")
        export = build(applicant=applicant, encrypt=encrypt)
        answered = subject_requests.complete(
            applicant_id=applicant.pk,
            outcome=SubjectRequest.Outcome.EXPORTED,
            kinds=[SubjectRequest.Kind.ACCESS],
        )
        first_case = Case.objects.filter(applicant=applicant).order_by("opened_at").first()
        record(
            Action.EXPORT,
            actor=actor,
            organisation_id=applicant.organisation_id,
            target=applicant,
            case_id=first_case.pk if first_case else None,
            request=request,
            encrypted=encrypt,
            documents=export.documents,
            letters=export.letters,
            entries=export.entries,
            summary_language=export.language,
            via=via,
            requests_answered=answered,
        )
    return export


def keep_for_download(
    *, export: Export, applicant: Applicant, case: Case, actor: Any
) -> ExportFile:
    """Store the archive encrypted under the person's data key for ``EXPORT_TTL``, for its
    maker to download once the passphrase has been shown."""
    sweep()
    name = store_encrypted(
        export.content,
        purpose="export",
        subject_id=applicant.pk,
        organisation_id=applicant.organisation_id,
    )
    return ExportFile.objects.create(
        organisation_id=applicant.organisation_id,
        applicant=applicant,
        case=case,
        created_by=actor,
        encrypted=export.passphrase is not None,
        filename=export.filename,
        storage_name=name,
        size=len(export.content),
        expires_at=timezone.now() + EXPORT_TTL,
    )


def read_for_download(stored: ExportFile) -> bytes:
    return _stored(stored, stored.storage_name, "export")


def sweep(now: datetime.datetime | None = None) -> int:
    """Delete expired exports, files and rows; returns how many."""
    from django.core.files.storage import default_storage

    expired = ExportFile.objects.filter(expires_at__lte=now or timezone.now())
    count = 0
    for stored in expired:
        if default_storage.exists(stored.storage_name):
            default_storage.delete(stored.storage_name)
        stored.delete()
        count += 1
    return count
