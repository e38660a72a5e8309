"""The single write path of the audit log: ``record``."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from django.http import HttpRequest

from casework.audit.models import Action, AuditEvent


def client_prefix(request: HttpRequest | None) -> str:
    """The client address truncated to its network (/24 or /48): enough to spot a pattern,
    not enough to identify a household."""
    if request is None:
        return ""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def record(
    action: Action,
    *,
    actor: Any = None,
    organisation_id: uuid.UUID | None = None,
    target: Any = None,
    request: HttpRequest | None = None,
    decision: str = "allow",
    **details: Any,
) -> AuditEvent:
    """Append one event, in the caller's transaction: if it fails, the action fails too.

    ``details`` carry ids and names of fields, never decrypted values.
    """
    actor_id = getattr(actor, "pk", None)
    if organisation_id is None and actor is not None:
        organisation_id = getattr(actor, "organisation_id", None)
    return AuditEvent.objects.create(
        action=action,
        actor_id=actor_id,
        organisation_id=organisation_id,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        client=client_prefix(request),
        decision=decision,
        details={key: _plain(value) for key, value in details.items()},
    )


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
