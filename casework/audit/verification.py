"""Verifying the audit log, and exporting its checkpoints to a file kept off the host.

Both recompute the whole chain from the entries and check it against every signed checkpoint,
the database's own and those of the exported file; both keep a failure for the auditors'
banner and raise an alert. The export also refuses to sign or copy anything when the log is
not a consistent extension of what the file already holds: a log shortened by someone with
database access must not be able to overwrite the evidence of its former length.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import CANONICAL_COLUMNS, Action, AuditEvent, Checkpoint, Verification
from casework.audit.services import record, write_checkpoint
from casework.audit.signing import public_key
from crypto.audit_chain import (
    GENESIS,
    ChainBroken,
    CheckpointError,
    split_checkpoints,
    verify_checkpoint,
    walk,
)

_EVENTS = AuditEvent._meta.db_table


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    checked: int
    first_bad: int | None = None
    damage: str = ""
    message: str = ""
    head: str = GENESIS  # the recomputed hash of entry ``checked``


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
            for prev, stored, *values in rows:
                yield values[0], prev, stored, _canonical_row(*values)


def _canonical_row(
    seq: int,
    at: str,
    actor: str | None,
    org: str | None,
    action: str,
    decision: str,
    t_type: str,
    t_id: str,
    case: str | None,
    client: str,
    details: str,
) -> dict[str, Any]:
    return {
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
    }


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
    external_checkpoints: str | None = None, progress: Callable[[int], None] | None = None
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
    checked, head = 0, GENESIS
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
        return VerificationResult(
            False,
            checked,
            checked + 1,
            "truncated",
            f"a signed checkpoint covers {max(beyond)} entries but the log has {checked}",
        )
    return VerificationResult(True, checked, head=head)


def verify_and_record(
    external_checkpoints: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Verification:
    """Verify, keep the result for the auditors' banner, and raise an alert on failure."""
    result = verify_chain(external_checkpoints, progress)
    return _keep(result, AlertKind.VERIFICATION_FAILED, actor=actor, request=request)


def _keep(
    result: VerificationResult,
    alert: AlertKind,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Verification:
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
            raise_alert(alert, organisation_id=None, actor=actor, request=request, **found)
    return outcome


class ExportRefused(Exception):  # noqa: N818 - a refusal, like Django's PermissionDenied
    """The log is not a consistent extension of the newest checkpoint in the exported file,
    or the file cannot be read or trusted: nothing was signed or written."""


@dataclass(frozen=True)
class Export:
    checkpoint: Checkpoint
    appended: int


def checkpoint_and_export(path: Path) -> Export:
    """Sign the chain head and append every checkpoint the file lacks, after proving that
    the log extends everything the file holds; the file is never rewritten or shortened.

    The file is locked while this runs, so two overlapping runs cannot interleave.
    """
    try:
        with path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            held = handle.read()
            result = verify_chain(held)
            if not result.ok:
                _keep(result, AlertKind.CHECKPOINT_REFUSED)
                raise ExportRefused(
                    f"refused: the audit log does not extend the checkpoints in {path}: "
                    f"{result.damage} at sequence number {result.first_bad} ({result.message})"
                )
            checkpoint = write_checkpoint(result.checked, result.head)
            appended = _append(handle, held, checkpoint)
    except OSError as exc:
        raise ExportRefused(f"cannot export to {path}: {exc.strerror}") from None
    return Export(checkpoint, appended)


def _append(handle: Any, held: str, newest: Checkpoint) -> int:
    key = public_key()
    sizes = [verify_checkpoint(key, text).size for text in split_checkpoints(held)]
    missing = Checkpoint.objects.filter(size__gt=max(sizes, default=-1), size__lte=newest.size)
    texts = [checkpoint.text for checkpoint in missing.order_by("size")]
    if texts:
        # Checkpoints are separated by one blank line (split_checkpoints).
        handle.write(("\n" if held.strip() else "") + "\n".join(texts))
        handle.flush()
        os.fsync(handle.fileno())
    return len(texts)
