"""The single write path of the audit log (``record``), checkpoints and verification."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from casework.audit.models import (
    CANONICAL_COLUMNS,
    Action,
    AuditEvent,
    ChainHead,
    Checkpoint,
    Verification,
    canonical_fields,
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
    with transaction.atomic():
        head = ChainHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
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
            prev_hash=head.hash,
        )
        event.hash = chain_hash(head.hash, event.canonical_fields())
        event.save()
        ChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
        if event.seq % settings.CASEWORK_AUDIT_CHECKPOINT_EVERY == 0:
            write_checkpoint(event.seq, event.hash)
    return event


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

    A raw cursor, not the ORM: verification reads every entry ever written, and Django's
    per-row converters cost more than the hashing (bench/bench_audit.py).
    """
    meta = AuditEvent._meta
    quote = connection.ops.quote_name
    # Every audit column is named as its field (no db_column), so names are columns.
    columns = ", ".join(quote(name) for name in ("prev_hash", "hash", *CANONICAL_COLUMNS))
    assert all(meta.get_field(name).name for name in CANONICAL_COLUMNS)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} ORDER BY {quote('seq')}"  # noqa: S608
    converters = _row_converters()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5000):
            for prev_hash, stored_hash, *values in rows:
                converted = [
                    convert(value) for convert, value in zip(converters, values, strict=True)
                ]
                yield converted[0], prev_hash, stored_hash, canonical_fields(*converted)


def _row_converters() -> list[Any]:
    """Per-column conversions from what the driver returns to what canonical_fields takes."""

    def same(value: Any) -> Any:
        return value

    def as_uuid(value: Any) -> Any:
        if isinstance(value, str) and len(value) == 32:  # SQLite: 32 hex digits
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return str(value) if value else None

    def as_datetime(value: Any) -> Any:
        if isinstance(value, str):  # SQLite keeps datetimes as text, in UTC
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value

    def as_json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    by_name = {"at": as_datetime, "actor_id": as_uuid, "organisation_id": as_uuid}
    by_name |= {"case_id": as_uuid, "details": as_json}
    return [by_name.get(name, same) for name in CANONICAL_COLUMNS]


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
    result = verify_chain(external_checkpoints, progress)
    with transaction.atomic():
        outcome = Verification.objects.create(
            ok=result.ok,
            checked=result.checked,
            first_bad=result.first_bad,
            damage=result.damage,
            message=result.message[:200],
        )
        record(
            Action.AUDIT_VERIFIED if result.ok else Action.ALERT,
            actor=actor,
            request=request,
            decision="allow" if result.ok else "deny",
            checked=result.checked,
            first_bad=result.first_bad,
            damage=result.damage,
        )
    return outcome
