"""The only things the auditors' pages read besides the log: usernames and case codes of
the auditor's own organisation.

Auditors never open a case (they get 404 there). What they may know of one is its
pseudonymous code, plaintext on purpose, so these read the id and code columns and nothing
else, never through a decrypting model instance. Every read is scoped to one organisation
first: an id or a code of another organisation resolves to nothing, exactly like one that
does not exist. Each function is one query, however many ids it is given.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from casework.accounts.models import User
from casework.audit.models import AuditEvent
from casework.cases.models import Case


def as_uuid(value: Any) -> uuid.UUID | None:
    """The UUID in a column or a detail, or None for anything else (details are strings)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def usernames(organisation_id: uuid.UUID, user_ids: Iterable[Any]) -> dict[uuid.UUID, str]:
    """Usernames of the given users, within the organisation only."""
    wanted = {found for found in map(as_uuid, user_ids) if found is not None}
    if not wanted:
        return {}
    users = User.objects.filter(organisation_id=organisation_id, pk__in=wanted)
    return dict(users.values_list("pk", "username"))


def case_codes(organisation_id: uuid.UUID, case_ids: Iterable[Any]) -> dict[uuid.UUID, str]:
    """The codes of the given cases, within the organisation only."""
    wanted = {found for found in map(as_uuid, case_ids) if found is not None}
    if not wanted:
        return {}
    return _codes(organisation_id, wanted)


def case_codes_of_events(
    organisation_id: uuid.UUID, events: QuerySet[AuditEvent]
) -> dict[uuid.UUID, str]:
    """The codes of the cases the given entries name (one query, the entries a subquery),
    for exports too long to hold their case ids in memory first."""
    named = events.exclude(case_id=None).order_by().values("case_id")
    return _codes(organisation_id, named)


def _codes(organisation_id: uuid.UUID, case_ids: Any) -> dict[uuid.UUID, str]:
    cases = Case.objects.filter(organisation_id=organisation_id, pk__in=case_ids)
    return dict(cases.values_list("pk", "code"))


def normalise_code(typed: str) -> str:
    """A case code as printed (``SP-26-Z3TW``), whatever the case and spaces it was typed in."""
    return typed.strip().upper()


def case_with_code(organisation_id: uuid.UUID, code: str) -> uuid.UUID | None:
    """The id of the organisation's case with this code (as printed), or None."""
    cases = Case.objects.filter(organisation_id=organisation_id, code=normalise_code(code))
    found: uuid.UUID | None = cases.values_list("pk", flat=True).first()
    return found
