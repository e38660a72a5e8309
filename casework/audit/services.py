"""The single write path of the audit log (``record``), checkpoints and verification."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
    Checkpoint,
    Verification,
)
from casework.audit.signing import public_key, signing_key
from crypto.audit_chain import (
    ChainBroken,
    CheckpointError,
    chain_hash,
    sign_checkpoint,
    split_checkpoints,
    verify_checkpoint,
    walk,
)


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
    **details: Any,
) -> AuditEvent:
    """Append one entry in the caller's transaction: if it fails, the action fails too.

    Appends are serialised on the chain-head row (a row lock on PostgreSQL; SQLite's
    IMMEDIATE transactions already serialise writers), so concurrent requests never fork
    the chain. ``details`` carry ids and names of fields, never decrypted values.
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
            _insert(cursor, event)
            cursor.execute(_sql["update_head"], [event.seq, event.hash])
            if event.seq % settings.CASEWORK_AUDIT_CHECKPOINT_EVERY == 0:
                write_checkpoint(event.seq, event.hash)
    except DatabaseError as problem:
        raise AuditUnavailable(f"audit entry not written: {type(problem).__name__}") from problem
    return event


# The append runs on every audited request, so it is three plain statements rather than
# ORM queries (the ORM's query building cost more than the database: bench/bench_audit.py).
# Table and column names come from the models; values are always parameters.
_HEAD = ChainHead._meta.db_table
_EVENTS = AuditEvent._meta.db_table
_INSERTED: list[Field[Any, Any]] = [
    AuditEvent._meta.get_field(name)  # type: ignore[misc]  # concrete fields, not relations
    for name in (*CANONICAL_COLUMNS, "prev_hash", "hash")
]
_sql = {
    "lock_head": f"SELECT seq, hash FROM {_HEAD} WHERE id = 1",  # noqa: S608
    "insert": (
        f"INSERT INTO {_EVENTS} ({', '.join(str(f.column) for f in _INSERTED)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) RETURNING id"
    ),
    "update_head": f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1",  # noqa: S608
}


def _lock_head(cursor: Any) -> tuple[int, str]:
    """Read the chain head, holding its row lock until the transaction ends (PostgreSQL);
    SQLite has no row locks, and its write transaction serialises appends instead."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(_sql["lock_head"] + lock)
    seq, head = cursor.fetchone()
    return int(seq), str(head)


def _insert(cursor: Any, event: AuditEvent) -> None:
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _INSERTED]
    cursor.execute(_sql["insert"], values)
    event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def write_checkpoint(size: int | None = None, head: str | None = None) -> Checkpoint:
    """Sign the chain head (the current one unless given) and keep the checkpoint."""
    if size is None or head is None:
        current = ChainHead.objects.get(pk=1)
        size, head = current.seq, current.hash
    existing = Checkpoint.objects.filter(size=size).first()
    if existing is not None:
        return existing
    text = sign_checkpoint(
        signing_key(), origin=settings.CASEWORK_AUDIT_ORIGIN, size=size, head=head
    )
    return Checkpoint.objects.create(size=size, head=head, text=text)


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    checked: int
    first_bad: int | None = None
    damage: str = ""
    message: str = ""


def _entries() -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    """Stream the chain in seq order as plain rows, in constant memory.

    A raw cursor that asks the database for text (timestamps already in the canonical form
    on PostgreSQL), not the ORM: verification reads every entry ever written, and per-row
    conversions cost more than the hashing (bench/bench_audit.py).
    """
    text = _AS_TEXT.get(connection.vendor, {})
    columns = ", ".join(text.get(name, name) for name in ("prev_hash", "hash", *CANONICAL_COLUMNS))
    sql = f"SELECT {columns} FROM {_EVENTS} ORDER BY seq"  # noqa: S608
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5000):
            for (
                prev,
                stored,
                seq,
                at,
                actor,
                org,
                action,
                decision,
                t_type,
                t_id,
                case,
                client,
                details,
            ) in rows:  # noqa: E501
                yield (
                    seq,
                    prev,
                    stored,
                    {
                        "seq": seq,
                        "at": _utc_text(at),
                        "actor_id": _uuid_text(actor),
                        "organisation_id": _uuid_text(org),
                        "action": action,
                        "decision": decision,
                        "target_type": t_type,
                        "target_id": t_id,
                        "case_id": _uuid_text(case),
                        "client": client,
                        "details": json.loads(details),
                    },
                )


# Columns read as text, in the form canonical_fields() gives them where the database can.
_AS_TEXT = {
    "postgresql": {
        "at": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
        "actor_id": "actor_id::text",
        "organisation_id": "organisation_id::text",
        "case_id": "case_id::text",
        "details": "details::text",
    },
    # An expression has no declared type, so the driver leaves it as the stored text.
    "sqlite": {"at": "CAST(at AS TEXT)"},
}


def _utc_text(value: str) -> str:
    """The canonical timestamp; SQLite keeps ``2026-01-02 03:04:05[.ffffff]`` in UTC."""
    if value.endswith("Z"):
        return value
    return f"{value[:10]}T{value[11:19]}.{value[20:26] or '000000'}Z"


def _uuid_text(value: str | None) -> str | None:
    """The canonical (hyphenated) UUID; SQLite keeps 32 hex digits."""
    if value and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value or None


def verify_chain(
    external_checkpoints: str | None = None, progress: Any = None
) -> VerificationResult:
    """Recompute the chain and check every checkpoint (stored and, if given, external)."""
    key = public_key()
    try:
        stored = [verify_checkpoint(key, c.text) for c in Checkpoint.objects.all()]
        external = [
            verify_checkpoint(key, text) for text in split_checkpoints(external_checkpoints or "")
        ]
    except CheckpointError as problem:
        return VerificationResult(False, 0, None, "bad checkpoint signature", str(problem))
    wanted: dict[int, str] = {}
    for checkpoint in [*stored, *external]:
        if wanted.setdefault(checkpoint.size, checkpoint.head) != checkpoint.head:
            return VerificationResult(
                False,
                0,
                checkpoint.size,
                "equivocation",
                f"two checkpoints disagree about entry {checkpoint.size}",
            )
    checked = 0
    try:
        for seq, head in walk(_entries()):
            checked = seq
            if progress is not None and seq % 10_000 == 0:
                progress(seq)
            if seq in wanted and wanted[seq] != head:
                return VerificationResult(
                    False,
                    checked,
                    seq,
                    "bad checkpoint",
                    f"entry {seq} does not match its signed checkpoint",
                )
    except ChainBroken as broken:
        return VerificationResult(False, checked, broken.seq, broken.damage, str(broken))
    beyond = [size for size in wanted if size > checked]
    if beyond:
        size = min(beyond)
        return VerificationResult(
            False,
            checked,
            checked + 1,
            "missing",
            f"a signed checkpoint covers {size} entries but the log has {checked}",
        )
    return VerificationResult(True, checked)


def verify_and_record(
    external_checkpoints: str | None = None,
    progress: Any = None,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Verification:
    """Verify, keep the result for the auditors' banner, and raise an alert on failure."""
    from casework.audit.alerts import AlertKind, raise_alert  # alerts build on record()

    result = verify_chain(external_checkpoints, progress)
    with transaction.atomic():
        outcome = Verification.objects.create(
            ok=result.ok,
            checked=result.checked,
            first_bad=result.first_bad,
            damage=result.damage,
            message=result.message[:200],
        )
        found: dict[str, Any] = {
            "checked": result.checked,
            "first_bad": result.first_bad,
            "damage": result.damage,
        }
        if result.ok:
            record(Action.AUDIT_VERIFIED, actor=actor, request=request, **found)
        else:  # concerns every organisation: the entry carries positions, nothing else
            raise_alert(
                AlertKind.VERIFICATION_FAILED,
                organisation_id=None,
                actor=actor,
                request=request,
                **found,
            )
    return outcome
