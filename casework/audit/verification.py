"""Verifying the audit log, and exporting its checkpoints to a file kept off the host.

Both recompute the whole chain and the Merkle tree from the entries and check them against
every signed checkpoint, the database's own and those of the exported file, and prove with a
consistency proof that the log extends the newest checkpoint of the file, as a witness
holding only that checkpoint would; both keep a failure for the auditors' banner and raise
an alert. The export also refuses to sign or copy anything when the log is
not a consistent extension of what the file already holds: a log shortened by someone with
database access must not be able to overwrite the evidence of its former length.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import CANONICAL_COLUMNS, Action, AuditEvent, Checkpoint, Verification
from casework.audit.services import record
from casework.audit.signing import check_signer, public_key, signing_key
from crypto.audit_chain import (
    GENESIS,
    ChainBroken,
    CheckpointError,
    Pruned,
    TreeHead,
    read_checkpoint,
    sign_tree_head,
    split_checkpoints,
    walk,
)
from crypto.merkle import (
    EMPTY_ROOT,
    ProofError,
    Subtrees,
    Tree,
    consistency_ranges,
    inclusion_ranges,
    verify_consistency,
)

_EVENTS = AuditEvent._meta.db_table
# No entry younger than this may have been pruned, whatever the retention setting says now
# (CASEWORK_AUDIT_RETENTION_DAYS cannot go below it).
PRUNE_FLOOR = timedelta(days=365)
PROGRESS_EVERY = 10_000  # entries between two calls of a verification's progress callback


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    checked: int
    first_bad: int | None = None
    damage: str = ""
    message: str = ""
    head: str = GENESIS  # the recomputed hash of entry ``checked``
    root: bytes = EMPTY_ROOT  # the recomputed Merkle root of entries 1..checked


def stored_entries(upto: int) -> Iterator[tuple[int, str, str, dict[str, Any] | Pruned]]:
    """Stream the chain up to entry ``upto`` in seq order as plain rows, in constant memory.

    A raw cursor that asks the database for text (timestamps already in the canonical form
    on PostgreSQL), not the ORM: verification reads every entry ever written, and per-row
    conversions cost more than the hashing (bench/bench_audit.py). A pruned entry comes as
    its kept leaf hash (``Pruned``), and only if it is older than any retention allows
    pruning (``PRUNE_FLOOR``): a younger one is damage, whatever its leaf.
    """
    text = _AS_TEXT.get(connection.vendor, {})
    names = ("prev_hash", "hash", "leaf", *CANONICAL_COLUMNS)
    columns = ", ".join(text.get(name, name) for name in names)
    sql = f"SELECT {columns} FROM {_EVENTS} WHERE seq <= %s ORDER BY seq"  # noqa: S608
    floor = (timezone.now() - PRUNE_FLOOR).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [upto])
        while rows := cursor.fetchmany(5000):
            for prev, stored, leaf, *values in rows:
                if leaf is None:
                    yield values[0], prev, stored, _canonical_row(*values)
                    continue
                if _utc_text(values[1]) > floor:
                    raise ChainBroken(values[0], "pruned early")
                try:
                    kept = bytes.fromhex(leaf)
                except ValueError:
                    kept = b""  # walk() refuses it
                yield values[0], prev, stored, Pruned(kept)


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


def log_size() -> int:
    """The sequence number of the newest entry (0 for an empty log)."""
    return AuditEvent.objects.aggregate(newest=Max("seq"))["newest"] or 0


def verify_chain(
    external_checkpoints: str | None = None, progress: Callable[[int], None] | None = None
) -> VerificationResult:
    """Recompute the chain and the tree and check every checkpoint (stored and, if given,
    external); then prove that the log extends the newest external tree head."""
    key = public_key()
    try:
        stored = [read_checkpoint(key, c.text) for c in Checkpoint.objects.all()]
        external = [
            read_checkpoint(key, text) for text in split_checkpoints(external_checkpoints or "")
        ]
    except CheckpointError as problem:
        return VerificationResult(False, 0, None, "bad checkpoint signature", str(problem))
    heads: dict[int, str] = {}
    roots: dict[int, bytes] = {}
    for checkpoint in [*stored, *external]:
        if isinstance(checkpoint, TreeHead):
            disagree = roots.setdefault(checkpoint.size, checkpoint.root) != checkpoint.root
        else:
            disagree = heads.setdefault(checkpoint.size, checkpoint.head) != checkpoint.head
        if disagree:
            return VerificationResult(
                False,
                0,
                checkpoint.size,
                "equivocation",
                f"two checkpoints disagree about entry {checkpoint.size}",
            )
    exported = [c for c in external if isinstance(c, TreeHead)]
    witness = max(exported, key=lambda c: c.size, default=None)
    if witness is not None and witness not in stored:
        # The newest exported tree head is checked as a witness holding only it would:
        # by a consistency proof, not by recomputing its root.
        del roots[witness.size]
    return _walk(heads, roots, witness, log_size(), progress)


def _walk(
    heads: dict[int, str],
    roots: dict[int, bytes],
    witness: TreeHead | None,
    size: int,
    progress: Callable[[int], None] | None,
) -> VerificationResult:
    """One pass over the first ``size`` entries: the chain, the tree, every signed size, and
    the consistency proof from the ``witness`` tree head to the whole log."""
    tree = Tree()
    ranges: list[tuple[int, int]] = []
    if witness is not None and 0 < witness.size < size:
        ranges = consistency_ranges(witness.size, size)
    proof = Subtrees(ranges)
    checked, head = 0, GENESIS
    if roots.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        return VerificationResult(False, 0, 0, "bad checkpoint", "a signed empty log is not empty")
    try:
        for seq, head, leaf in walk(stored_entries(size)):
            tree.append(leaf)
            if ranges:
                proof.append(leaf)
            checked = seq
            if progress is not None and seq % PROGRESS_EVERY == 0:
                progress(seq)
            if heads.get(seq, head) != head or (seq in roots and roots[seq] != tree.root()):
                return VerificationResult(
                    False,
                    checked,
                    seq,
                    "bad checkpoint",
                    f"entry {seq} does not match its signed checkpoint",
                )
    except ChainBroken as broken:
        return VerificationResult(False, checked, broken.seq, broken.damage, str(broken))
    newest = max([*heads, *roots, witness.size if witness is not None else 0])
    if newest > checked:
        return VerificationResult(
            False,
            checked,
            checked + 1,
            "truncated",
            f"a signed checkpoint covers {newest} entries but the log has {checked}",
        )
    if witness is not None and not _extends(witness, checked, tree.root(), proof):
        return VerificationResult(
            False,
            checked,
            witness.size,
            "inconsistent",
            f"no consistency proof from the exported checkpoint of {witness.size} entries",
        )
    return VerificationResult(True, checked, head=head, root=tree.root())


def _extends(witness: TreeHead, size: int, root: bytes, proof: Subtrees) -> bool:
    """What a witness holding only ``witness`` checks: the log of ``size`` entries with
    ``root`` extends it (RFC 9162 consistency proof, built from the entries)."""
    if witness.size == 0:
        return witness.root == EMPTY_ROOT
    try:
        verify_consistency(witness.size, size, witness.root, root, proof.hashes())
    except ProofError:
        return False
    return True


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
    """The log is not a consistent extension of the checkpoints signed before (those of the
    exported file included), or the file cannot be read or trusted: nothing was signed or
    written."""


@dataclass(frozen=True)
class Signed:
    checkpoint: Checkpoint
    appended: int  # checkpoints appended to the exported file


def sign_checkpoint(*, export: Path | None = None) -> Signed:
    """Verify the log, then sign the tree head of what was verified; with ``export``, first
    prove that the log extends everything that file holds, and append what it lacks.

    The file is never rewritten or shortened, and is locked while this runs, so two
    overlapping runs cannot interleave. Runs in the signer's process (``audit_checkpoint``),
    never in the web's: only the signer can read the key.
    """
    if export is None:
        return Signed(_sign(_verified(None, "the signed checkpoints")), 0)
    try:
        with export.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            held = handle.read()
            checkpoint = _sign(_verified(held, f"the checkpoints in {export}"))
            return Signed(checkpoint, _append(handle, held, checkpoint))
    except OSError as exc:
        raise ExportRefused(f"cannot export to {export}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ExportRefused(f"refused: {export} is not a file of checkpoints (not UTF-8)") from None


def _verified(held: str | None, what: str) -> VerificationResult:
    result = verify_chain(held)
    if not result.ok:
        _keep(result, AlertKind.CHECKPOINT_REFUSED)
        raise ExportRefused(
            f"refused: the audit log does not extend {what}: "
            f"{result.damage} at sequence number {result.first_bad} ({result.message})"
        )
    return result


def _sign(result: VerificationResult) -> Checkpoint:
    """Sign the tree head that was just verified (unless that size is signed already)."""
    existing = Checkpoint.objects.filter(size=result.checked).first()
    if existing is not None:
        return existing
    key = signing_key()
    check_signer(key)
    text = sign_tree_head(
        key, origin=settings.CASEWORK_AUDIT_ORIGIN, size=result.checked, root=result.root
    )
    return Checkpoint.objects.create(size=result.checked, head=result.head, text=text)


def _append(handle: Any, held: str, newest: Checkpoint) -> int:
    key = public_key()
    sizes = [read_checkpoint(key, text).size for text in split_checkpoints(held)]
    missing = Checkpoint.objects.filter(size__gt=max(sizes, default=-1), size__lte=newest.size)
    texts = [checkpoint.text for checkpoint in missing.order_by("size")]
    if texts:
        # Checkpoints are separated by one blank line (split_checkpoints).
        handle.write(("\n" if held.strip() else "") + "\n".join(texts))
        handle.flush()
        os.fsync(handle.fileno())
    return len(texts)


# --- proofs, for auditors and witnesses (manage.py audit_proof) --------------------------------


@dataclass(frozen=True)
class Proof:
    size: int
    root: bytes
    hashes: list[bytes]
    leaf: bytes = b""  # inclusion: the entry's leaf hash
    first_root: bytes = b""  # consistency: the root of the smaller tree


def inclusion_proof(seq: int, size: int) -> Proof:
    """Entry ``seq`` is in the tree of the first ``size`` entries (ChainBroken or ProofError
    when the log is damaged or the request impossible)."""
    subtrees = Subtrees(inclusion_ranges(seq - 1, size))
    tree, leaf = Tree(), b""
    for number, _, hashed in walk(stored_entries(size)):
        tree.append(hashed)
        subtrees.append(hashed)
        leaf = hashed if number == seq else leaf
    _complete(tree, size)
    return Proof(size, tree.root(), subtrees.hashes(), leaf=leaf)


def consistency_proof(first: int, second: int) -> Proof:
    """The tree of the first ``second`` entries extends the tree of the first ``first``."""
    subtrees = Subtrees(consistency_ranges(first, second))
    tree, first_root = Tree(), b""
    for _, _, hashed in walk(stored_entries(second)):
        tree.append(hashed)
        subtrees.append(hashed)
        first_root = tree.root() if tree.size == first else first_root
    _complete(tree, second)
    return Proof(second, tree.root(), subtrees.hashes(), first_root=first_root)


def _complete(tree: Tree, size: int) -> None:
    if tree.size != size:
        raise ProofError(f"the log has {tree.size} entries, not {size}")
