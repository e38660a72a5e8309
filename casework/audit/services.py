"""The single write path of the audit log (``record``).

The web process appends and never signs: checkpoints are signed by ``audit_checkpoint``,
run by an operating-system user of its own that alone can read the signing key, after it
has verified the log (``verification.py``).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone

from casework.audit.models import (
    CANONICAL_COLUMNS,
    Action,
    AuditEvent,
    AuditUnavailable,
    ChainHead,
)
from crypto.audit_chain import chain_hash


def client_prefix(request: HttpRequest | None) -> str:
    """The client address truncated to its network (/24 or /48): enough to spot a pattern,
    not enough to identify a household."""
    if request is None:
        return ""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def client_address(request: HttpRequest) -> str:
    """The client's address. Behind a reverse proxy listed in CASEWORK_TRUSTED_PROXIES, the
    right-most X-Forwarded-For entry that is not itself such a proxy: the address the proxy
    saw. Entries further left were written by the client and are never believed."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.CASEWORK_TRUSTED_PROXIES
    if remote not in trusted:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    while hops and hops[-1] in trusted:
        hops.pop()
    return hops[-1] if hops else remote


def record(
    action: Action,
    *,
    actor: Any = None,
    organisation_id: uuid.UUID | None = None,
    target: Any = None,
    case_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
    decision: str = "allow",
    returning: tuple[str, list[Any]] | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one entry in the caller's transaction: if it fails, the action fails too.

    Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite's
    IMMEDIATE transactions already serialise writers), so concurrent requests never fork
    the chain. ``details`` carry ids and names of fields, never decrypted values.

    ``returning``, an SQL expression and its parameters, is a question the entry's INSERT
    answers too (in ``event.returned``), for one asked after every entry of a kind: one
    round trip fewer (``alerts.record_case_view``). Whether the expression sees the row
    being inserted differs by engine (SQLite's RETURNING does, PostgreSQL's does not): the
    question must not depend on it.
    """
    actor_id = getattr(actor, "pk", None)
    if organisation_id is None and actor is not None:
        organisation_id = getattr(actor, "organisation_id", None)
    event = AuditEvent(
        at=timezone.now(),
        action=action,
        actor_id=actor_id,
        organisation_id=organisation_id,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        case_id=case_id,
        client=client_prefix(request),
        decision=decision,
        details={key: _plain(value) for key, value in details.items()},
    )
    # No savepoint: a failed append must fail the caller's whole transaction anyway.
    try:
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            event.seq, event.prev_hash = _lock_head(cursor)
            event.seq += 1
            event.hash = chain_hash(event.prev_hash, event.canonical_fields())
            # A trigger advances the chain-head row (migration 0015).
            event.returned = _insert(cursor, event, returning)
    except DatabaseError as problem:
        raise AuditUnavailable(f"audit entry not written: {type(problem).__name__}") from problem
    return event


# The append runs on every audited request, so it is a few plain statements rather than
# ORM queries (the ORM's query building cost more than the database: bench/bench_audit.py).
# Table and column names come from the models; values are always parameters.
_HEAD = ChainHead._meta.db_table
_EVENTS = AuditEvent._meta.db_table
_INSERTED: list[Field[Any, Any]] = [
    AuditEvent._meta.get_field(name)  # type: ignore[misc]  # concrete fields, not relations
    for name in (*CANONICAL_COLUMNS, "prev_hash", "hash")
]
_sql = {
    # PostgreSQL: the append lock, then the head, in one call (migration audit 0018).
    "lock_head": "SELECT seq, hash FROM audit_lock_head()",
    "head": f"SELECT seq, hash FROM {_HEAD} WHERE id = 1",  # noqa: S608
    "insert": (
        f"INSERT INTO {_EVENTS} ({', '.join(str(f.column) for f in _INSERTED)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) RETURNING id"
    ),
}


def _lock_head(cursor: Any) -> tuple[int, str]:
    """Take the append lock until the transaction ends and read the chain head.

    The application's database role may not UPDATE the chain-head row (nor lock it FOR
    UPDATE, which needs that privilege): on PostgreSQL appends serialise on an advisory
    lock, which needs none, taken and followed by the head's read in one function call
    whose body reads the head after the lock is held (migration audit 0018); SQLite's write
    transaction serialises them instead.
    """
    cursor.execute(_sql["lock_head" if connection.vendor == "postgresql" else "head"])
    seq, head = cursor.fetchone()
    return int(seq), str(head)


def _insert(cursor: Any, event: AuditEvent, returning: tuple[str, list[Any]] | None) -> Any:
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _INSERTED]
    statement = _sql["insert"]
    if returning is not None:
        expression, parameters = returning
        statement = f"{statement}, ({expression})"
        values += parameters
    cursor.execute(statement, values)
    row = cursor.fetchone()
    event.pk = row[0]
    event._state.adding = False
    event._state.db = connection.alias
    return row[1] if returning is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
