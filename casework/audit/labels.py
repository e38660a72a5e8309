"""Words for what the audit log stores as machine values, for the auditors' pages.

An entry keeps codes (``status_changed``, ``deny``, ``letter_review``, ``case.narrative``,
``cases.document``) and ids, because the hash chain must be recomputable byte for byte.
An auditor reads words: the action's name, allowed or denied, the status's label, the
field's label, the user's name and the case's code, all in the reader's language. Ids are
shown only where no word exists (which document), and shortened.

Users and cases are looked up once for a whole page (``Known``), within the auditor's
organisation only: anything else reads as unknown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.incident import Reason as CompromiseReason
from casework.accounts.roles import Role
from casework.audit.alerts import AlertKind
from casework.audit.lookups import as_uuid
from casework.audit.models import Action, AuditEvent
from casework.cases.forms import SearchForm
from casework.cases.labels import DUPLICATE_IDENTIFIERS
from casework.cases.models import (
    LETTER_LANGUAGES,
    Consent,
    Document,
    DocumentType,
    ErasureCause,
    HoldReason,
    Priority,
    SubjectRequest,
)
from casework.cases.workflow import Status
from casework.keystore.members import REMOVAL_REASONS
from casework.letters.models import Letter
from casework.lib.vocabulary import masked_field_label

SHORT_ID = 8


def short_id(value: Any) -> str:
    """The start of an id: enough to tell two apart on one page; the CSV has them whole."""
    return str(value)[:SHORT_ID]


def _word(choices: Iterable[tuple[Any, Any]], value: Any) -> str:
    """The label of ``value`` among ``choices``; the value itself only if it has none."""
    try:
        return str(dict(choices).get(value, value))
    except TypeError:  # a list or a dict where a single value was expected
        return str(value)


def action_label(action: str) -> str:
    return _word(Action.choices, action)


DECISIONS = {"allow": gettext_lazy("allowed"), "deny": gettext_lazy("denied")}


def decision_label(decision: str) -> str:
    return str(DECISIONS.get(decision, decision))


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def kind_of_object(model_label: str) -> str:
    """``cases.visaapplication`` as "Route attempt": the model's own translated name."""
    model = _model(model_label)
    if model is None:
        return _("Object of an unknown kind")
    return str(capfirst(model._meta.verbose_name))


def field_label(model_label: str, name: str) -> str:
    """The label of a field of the model, or of a model it points to (a case's applicant)."""
    model = _model(model_label)
    if model is not None:
        linked = [f.related_model for f in model._meta.fields if f.many_to_one]
        for candidate in [model, *linked]:
            try:
                found = candidate._meta.get_field(name)  # type: ignore[union-attr]
            except (FieldDoesNotExist, AttributeError):
                continue
            return str(capfirst(getattr(found, "verbose_name", name)))
    return name.replace("_", " ")


def stored_field_label(stored: str) -> str:
    """A field named as ``app.model.field`` (the decryption-failure alert)."""
    model_label, _dot, name = stored.rpartition(".")
    return field_label(model_label, name) if model_label else _("an unknown field")


@dataclass(frozen=True)
class Known:
    """The users and cases a page names, each looked up once for the page (lookups.py)."""

    names: Mapping[uuid.UUID, str] = field(default_factory=dict)
    codes: Mapping[uuid.UUID, str] = field(default_factory=dict)

    def name(self, user_id: Any) -> str | None:
        found = as_uuid(user_id)
        return self.names.get(found) if found is not None else None

    def user(self, user_id: Any) -> str:
        if user_id is None:
            return _("(the system)")
        return self.name(user_id) or _("unknown user %(id)s") % {"id": short_id(user_id)}

    def code(self, case_id: Any) -> str | None:
        found = as_uuid(case_id)
        return self.codes.get(found) if found is not None else None

    def case(self, case_id: Any) -> str:
        return self.code(case_id) or _("unknown case")


def ids_named(events: Iterable[AuditEvent]) -> tuple[set[Any], set[Any]]:
    """The users and the cases the entries name, in columns and in details."""
    users: set[Any] = set()
    cases: set[Any] = set()
    for event in events:
        users.add(event.actor_id)
        cases.add(event.case_id)
        if event.target_type == "accounts.user":
            users.add(event.target_id)
        if event.target_type == "cases.case":
            cases.add(event.target_id)
        details = event.details if isinstance(event.details, dict) else {}
        users.update(_as_list(details.get("caseworkers")))
        cases.add(details.get("requested"))  # a refused case, if it is one of ours
        filters = details.get("filters")
        if isinstance(filters, dict):
            users.add(filters.get("actor"))
            cases.add(filters.get("case"))
    return users - {None}, cases - {None}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# --- details -----------------------------------------------------------------------------------

Format = Callable[[Any, AuditEvent, Known], str | None]

YES_NO = {True: gettext_lazy("yes"), False: gettext_lazy("no")}


def _yes_no(value: Any, event: AuditEvent, known: Known) -> str:
    return str(YES_NO.get(bool(value)))


def _as_is(value: Any, event: AuditEvent, known: Known) -> str | None:
    if value in (None, "", [], {}):
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _an_id(value: Any, event: AuditEvent, known: Known) -> str | None:
    return short_id(value) if value else None


def _revealed(value: Any, event: AuditEvent, known: Known) -> str:
    if event.action != Action.FIELD_REVEALED:
        return stored_field_label(str(value))
    label = masked_field_label(str(value))
    return str(label) if label is not None else _("an unknown field")


def _fields(value: Any, event: AuditEvent, known: Known) -> str:
    names = _as_list(value)
    if not names:
        return _("none")
    return ", ".join(field_label(event.target_type, str(name)) for name in names)


def _status(value: Any, event: AuditEvent, known: Known) -> str:
    if event.action == Action.DOCUMENT_VERIFIED:
        return _word(Document.Verification.choices, value)
    return _word(Status.choices, value)


def _role(value: Any, event: AuditEvent, known: Known) -> str:
    try:
        return Role(value).label
    except ValueError:
        return str(value)


OTHER_KINDS = {
    "code": gettext_lazy("a one-time code where only a passkey is allowed"),
    "passkey": gettext_lazy("passkey"),
}


def _kind(value: Any, event: AuditEvent, known: Known) -> str:
    by_action: dict[str, Iterable[tuple[Any, Any]]] = {
        Action.ALERT: AlertKind.choices,
        Action.LETTER_REQUESTED: Letter.Kind.choices,
        Action.CASE_SEARCHED: SearchForm.KINDS,
    }
    return _word(by_action.get(event.action, OTHER_KINDS.items()), value)


def _users(value: Any, event: AuditEvent, known: Known) -> str:
    return ", ".join(known.user(user_id) for user_id in _as_list(value)) or _("nobody")


def _requested(value: Any, event: AuditEvent, known: Known) -> str | None:
    code = known.code(value)
    if code is not None:
        return _("case %(code)s") % {"code": code}
    return short_id(value) if value else None


PAGES = {
    "dashboard": gettext_lazy("dashboard"),
    "edit": gettext_lazy("edit form"),
    "document": gettext_lazy("document page"),
    "route_attempt": gettext_lazy("route attempt page"),
    "letter": gettext_lazy("letter page"),
    "letter_preview": gettext_lazy("letter preview"),
}

DAMAGE = {
    "altered": gettext_lazy("altered"),
    "missing": gettext_lazy("missing"),
    "truncated": gettext_lazy("truncated"),
    "inconsistent": gettext_lazy("not an extension of the exported checkpoint"),
    "reordered": gettext_lazy("reordered"),
    "bad checkpoint": gettext_lazy("bad checkpoint"),
    "bad checkpoint signature": gettext_lazy("bad checkpoint signature"),
    "equivocation": gettext_lazy("equivocation"),
    "pruned early": gettext_lazy("pruned before its time"),
    "pruned out of order": gettext_lazy("pruned out of order"),
}


def damage_label(damage: str) -> str:
    return str(DAMAGE.get(damage, damage))


RESTORE_METHODS = [
    ("native", gettext_lazy("the database's own dump")),
    ("logical", gettext_lazy("the portable dump")),
]
EXPORT_VIA = [
    ("page", gettext_lazy("the case page")),
    ("command", gettext_lazy("the command line")),
]
BY = {"create_organisation": gettext_lazy("an operator, on the command line")}


def _choice(choices: Iterable[tuple[Any, Any]]) -> Format:
    listed = list(choices)
    return lambda value, event, known: _word(listed, value) if value else None


def _filters(value: Any, event: AuditEvent, known: Known) -> str:
    used = value if isinstance(value, dict) else {}
    shown = []
    for name, chosen in used.items():
        if chosen in (None, ""):
            continue
        label, word = FILTERS.get(name, (name.replace("_", " "), _as_is))
        shown.append(f"{label}: {word(chosen, event, known)}")
    return "; ".join(shown) or _("none")


def _rejected(value: Any, event: AuditEvent, known: Known) -> str:
    return ", ".join(str(FILTERS.get(name, (name, None))[0]) for name in _as_list(value))


# The filters of the auditors' log and of the case list, as their entries keep them.
FILTERS: dict[str, tuple[Any, Format]] = {
    "actor": (gettext_lazy("User"), lambda value, event, known: known.user(value)),
    "action": (gettext_lazy("Action"), lambda value, event, known: action_label(value)),
    "case": (gettext_lazy("Case"), lambda value, event, known: known.case(value)),
    "date_from": (gettext_lazy("From"), _as_is),
    "date_to": (gettext_lazy("To"), _as_is),
    "status": (gettext_lazy("Status"), _choice(Status.choices)),
    "priority": (gettext_lazy("Priority"), _choice(Priority.choices)),
    "destination": (gettext_lazy("Destination"), _as_is),
    "flag": (
        gettext_lazy("Flag"),
        lambda value, event, known: field_label("cases.case", str(value)),
    ),
    # The case list's tick boxes, kept as "1" when ticked.
    "mine": (gettext_lazy("Assigned to me"), lambda value, event, known: _("yes")),
    "unassigned": (gettext_lazy("Open and unassigned"), lambda value, event, known: _("yes")),
    "overdue": (
        gettext_lazy("Open with an overdue deadline"),
        lambda value, event, known: _("yes"),
    ),
    "letter_draft": (
        gettext_lazy("Letter awaiting review"),
        lambda value, event, known: _("yes"),
    ),
}

# Every detail any entry carries: its label and how its value reads. A test walks the code
# base for the details it writes and fails when one is missing here.
DETAILS: dict[str, tuple[Any, Format]] = {
    "field": (gettext_lazy("Field"), _revealed),
    "fields": (gettext_lazy("Fields changed"), _fields),
    "from_status": (gettext_lazy("From status"), _status),
    "to_status": (gettext_lazy("To status"), _status),
    "status": (gettext_lazy("Result"), _status),
    "method": (gettext_lazy("Checked by"), _choice(Document.Method.choices)),
    "role": (gettext_lazy("Role"), _role),
    "caseworkers": (gettext_lazy("Caseworkers now"), _users),
    "doc_type": (gettext_lazy("Type of document"), _choice(DocumentType.choices)),
    "size": (gettext_lazy("Size"), lambda value, event, known: str(filesizeformat(value))),
    "purpose": (gettext_lazy("Purpose"), _choice(Consent.Purpose.choices)),
    "drafts_blocked": (gettext_lazy("Draft letters it blocks"), _as_is),
    "includes_sogi": (gettext_lazy("Covers sexual orientation or gender identity"), _yes_no),
    "kind": (gettext_lazy("Kind"), _kind),
    "language": (gettext_lazy("Language"), _choice(LETTER_LANGUAGES)),
    "route": (gettext_lazy("Route"), _as_is),
    "reference": (gettext_lazy("Letter reference"), _as_is),
    "sha256": (gettext_lazy("PDF SHA-256 (start)"), _an_id),
    "supersedes": (
        gettext_lazy("Replaces an earlier letter"),
        lambda value, event, known: _("yes") if value else None,
    ),
    "found": (gettext_lazy("Letter found"), _yes_no),
    "passport_checked": (gettext_lazy("Passport number checked"), _yes_no),
    "throttled": (gettext_lazy("Refused: too many checks"), _yes_no),
    "done": (gettext_lazy("Marked done"), _yes_no),
    "created": (gettext_lazy("Newly created"), _yes_no),
    "appended": (gettext_lazy("Added to the end, nothing replaced"), _yes_no),
    "key_destroyed": (gettext_lazy("Data key destroyed"), _yes_no),
    "page": (gettext_lazy("Page"), lambda value, event, known: _word(PAGES.items(), value)),
    "count": (gettext_lazy("Number"), _as_is),
    "cases_viewed": (gettext_lazy("Distinct cases viewed"), _as_is),
    "filters": (gettext_lazy("Filters"), _filters),
    "rejected": (gettext_lazy("Filters refused"), _rejected),
    "target_type": (
        gettext_lazy("Asked for"),
        lambda value, event, known: kind_of_object(str(value)),
    ),
    "requested": (gettext_lazy("Requested"), _requested),
    "session": (gettext_lazy("Session"), _an_id),
    "device": (gettext_lazy("Device"), _an_id),
    "record": (gettext_lazy("Record"), _an_id),
    "by": (gettext_lazy("By"), lambda value, event, known: _word(BY.items(), value)),
    "kek_version": (gettext_lazy("Key version"), _as_is),
    "rewrapped": (gettext_lazy("Data keys re-wrapped"), _as_is),
    "checked": (gettext_lazy("Entries checked"), _as_is),
    "first_bad": (gettext_lazy("First damaged entry"), _as_is),
    "damage": (
        gettext_lazy("Damage"),
        lambda value, event, known: damage_label(str(value)) if value else None,
    ),
    # Issue 12 adds the details of its entries in these blocks, one per area.
    # -- accounts --
    "path": (gettext_lazy("Address asked for"), _as_is),
    "grant": (gettext_lazy("Role request"), _an_id),
    "link": (gettext_lazy("Single-use link"), _an_id),
    "operator": (gettext_lazy("By an operator, with"), _as_is),
    # Issue 16: who holds the organisation key.
    "organisation_key_version": (gettext_lazy("Organisation key version"), _as_is),
    "holders": (gettext_lazy("Members given the new key"), _as_is),
    "removed_because": (
        gettext_lazy("Removed because of"),
        lambda value, event, known: _word(REMOVAL_REASONS.items(), value),
    ),
    # -- audit --
    "pruned": (gettext_lazy("Entries pruned"), _as_is),
    "pruned_upto": (gettext_lazy("Pruned up to entry"), _as_is),
    "older_than_days": (gettext_lazy("Older than (days)"), _as_is),
    # -- keys and files --
    "keys_checked": (gettext_lazy("Data keys proved to open without it"), _as_is),
    "keys_blocking": (gettext_lazy("Data keys that would have been lost"), _as_is),
    "shares": (gettext_lazy("Shares written"), _as_is),
    "threshold": (gettext_lazy("Shares needed to recover"), _as_is),
    "kek_versions": (gettext_lazy("Key versions included"), _as_is),
    "audit_key": (gettext_lazy("Audit signing key included"), _yes_no),
    # -- letters and cases --
    "identifier": (gettext_lazy("Matched by"), _choice(DUPLICATE_IDENTIFIERS.items())),
    "duplicates_found": (gettext_lazy("Possible duplicates found in 24 hours"), _as_is),
    # A route or mission changed by a reference data editor: what of this organisation uses it.
    "open_attempts": (gettext_lazy("Open route attempts using it"), _as_is),
    "draft_letters": (gettext_lazy("Draft letters using it"), _as_is),
    # -- backup and restore (issue 14, part 1) --
    "archive_created": (gettext_lazy("Backup made"), _as_is),
    "vendor": (gettext_lazy("Database of the backup"), _as_is),
    "dump": (gettext_lazy("Restored from"), _choice(RESTORE_METHODS)),
    "erasures_replayed": (gettext_lazy("Erasures made again from the journal"), _as_is),
    "journal": (gettext_lazy("Erasure journal read"), _yes_no),
    "seconds": (gettext_lazy("Time taken (seconds)"), _as_is),
    "replayed": (gettext_lazy("Made again after a restore"), _yes_no),
    # -- subject-access export (issue 14, part 4) --
    "encrypted": (gettext_lazy("Encrypted"), _yes_no),
    "documents": (gettext_lazy("Documents"), _as_is),
    "letters": (gettext_lazy("Letters"), _as_is),
    "entries": (gettext_lazy("Audit entries"), _as_is),
    "via": (gettext_lazy("Made on"), _choice(EXPORT_VIA)),
    "summary_language": (gettext_lazy("Language of the summary"), _choice(settings.LANGUAGES)),
    # -- requests of the person (R62) --
    "request_kind": (gettext_lazy("Request"), _choice(SubjectRequest.Kind.choices)),
    "due_on": (gettext_lazy("Answer due by"), _as_is),
    "requests_answered": (gettext_lazy("Requests of the person answered"), _as_is),
    # -- retention (issue 14, part 2) --
    "until": (gettext_lazy("Kept until"), _as_is),
    "hold_reason": (gettext_lazy("Reason given"), _choice(HoldReason.choices)),
    "letters_deleted": (gettext_lazy("Letters removed from the registry"), _as_is),
    "details_months": (gettext_lazy("Months details are kept after closure"), _as_is),
    "skeleton_years": (gettext_lazy("Years the skeleton is kept after closure"), _as_is),
    # -- compromised account (issue 14, part 7) --
    # The reason is a code from a fixed list; nothing the admin typed is kept.
    "reason_category": (gettext_lazy("Reason given"), _choice(CompromiseReason.choices)),
    "sessions_ended": (gettext_lazy("Sessions ended"), _as_is),
    "factors_removed": (gettext_lazy("Second factors removed"), _as_is),
    "links_withdrawn": (gettext_lazy("Links withdrawn"), _as_is),
    "cases_unassigned": (gettext_lazy("Cases unassigned"), _as_is),
    # -- erasure (issue 14, part 3) --
    # Ids and counts only: the person's cases (by code where the page knows it), and what went.
    "cases": (
        gettext_lazy("Cases of the person"),
        lambda value, event, known: ", ".join(
            known.code(case_id) or short_id(case_id) for case_id in _as_list(value)
        ),
    ),
    "cause": (gettext_lazy("Why"), _choice(ErasureCause.choices)),
    "records_cleared": (gettext_lazy("Records cleared"), _as_is),
    "files_deleted": (gettext_lazy("Stored files deleted"), _as_is),
    "letters_revoked": (gettext_lazy("Letters revoked"), _as_is),
    "grants_removed": (gettext_lazy("Access grants removed"), _as_is),
}
DETAIL_LABELS = {name: label for name, (label, _format) in DETAILS.items()}
# "count" counts different things in different entries.
COUNTED: dict[str, Any] = {
    Action.AUDIT_VIEWED: gettext_lazy("Entries matching"),
    Action.AUDIT_EXPORTED: gettext_lazy("Entries exported"),
    Action.CASE_LISTED: gettext_lazy("Cases listed"),
    Action.CASE_SEARCHED: gettext_lazy("Cases found"),
    Action.SESSION_ENDED: gettext_lazy("Sessions ended"),
}


def details(event: AuditEvent, known: Known) -> list[tuple[str, str]]:
    """The entry's details as (label, words) pairs, in the order they were written."""
    stored = event.details if isinstance(event.details, dict) else {}
    shown = []
    for name, value in stored.items():
        label, word = DETAILS.get(name, (name.replace("_", " "), _as_is))
        if name == "count":
            label = COUNTED.get(event.action, label)
        text = word(value, event, known)
        if text is not None:
            shown.append((str(capfirst(str(label))), text))
    return shown


def entry(event: AuditEvent, known: Known) -> dict[str, Any]:
    """What a row of the auditors' tables shows of one entry."""
    return {
        "event": event,
        "actor": known.user(event.actor_id),
        "action": action_label(event.action),
        "decision": decision_label(event.decision),
        "case": known.case(event.case_id) if event.case_id else None,
        "object": _object(event, known),
        "details": details(event, known),
    }


def _object(event: AuditEvent, known: Known) -> str:
    """What the entry is about, in words: the kind, and which one where a word exists."""
    if not event.target_type:
        return ""
    kind = kind_of_object(event.target_type)
    if event.target_type == "accounts.user":
        which = known.name(event.target_id) or short_id(event.target_id)
    elif event.target_type == "cases.case":
        which = known.code(event.target_id) or ""  # its code is in the case column too
    else:
        which = short_id(event.target_id)
    return f"{kind} {which}".strip()
