"""Pruning audit entries after the retention period (DOMAIN.md 4.4: two years by default).

An entry older than ``CASEWORK_AUDIT_RETENTION_DAYS`` loses its content: who, which
organisation, what object, which case, from where, the details. What stays is its place in
the log: sequence number, time, decision, the chain hashes (``prev_hash``, ``hash``) and, in
the ``leaf`` column, its Merkle leaf hash, computed from the content before it went. So the
tree over the whole log, and therefore every signed checkpoint, still verifies; the entry's
own content can no longer be checked, nor shown (SECURITY.md "Audit log", "Pruning").

Pruned entries are always a prefix of the log: the oldest entries up to the first one that is
still young. The whole log is verified first, and nothing is pruned if it does not verify:
pruning never launders a damaged entry into an unverifiable one. Each batch is one
transaction, so an interrupted run leaves a valid log and the next run carries on. Only the
database owner can do it on PostgreSQL (the trigger of audit migration 0016 lets only this
shape of UPDATE through, and only for entries older than a year; the application's role may
not UPDATE the table at all).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.audit.verification import log_size, stored_entries, verify_and_record
from crypto.audit_chain import walk

BATCH = 1000
_EVENTS = AuditEvent._meta.db_table
_PRUNE = (
    f"UPDATE {_EVENTS} SET leaf = %s, action = 'pruned', actor_id = NULL, "  # noqa: S608
    "organisation_id = NULL, target_type = '', target_id = '', case_id = NULL, client = '', "
    "details = '{}' WHERE seq = %s AND leaf IS NULL"
)


class PruneRefused(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    cutoff: datetime.datetime
    upto: int  # the newest entry that may be pruned (0: none)
    todo: int  # of those, not pruned yet


def plan(older_than: datetime.timedelta, now: datetime.datetime | None = None) -> Plan:
    cutoff = (now or timezone.now()) - older_than
    young = (
        AuditEvent.objects.filter(at__gte=cutoff).order_by("seq").values_list("seq", flat=True)
    ).first()
    upto = young - 1 if young is not None else log_size()
    todo = AuditEvent.objects.filter(seq__lte=upto, leaf__isnull=True).count()
    return Plan(cutoff, upto, todo)


def prune(
    older_than: datetime.timedelta,
    *,
    progress: Callable[[int], None] | None = None,
    planned: Plan | None = None,
) -> int:
    """Prune every entry older than ``older_than``; returns how many were pruned now."""
    due = planned or plan(older_than)
    if due.todo == 0:
        return 0
    checked = verify_and_record()
    if not checked.ok:
        raise PruneRefused(
            f"the audit log does not verify ({checked.damage} at entry {checked.first_bad}); "
            "nothing was pruned"
        )
    pruned = 0
    batch: list[tuple[str, int]] = []
    for seq, _head, leaf in walk(stored_entries(due.upto)):
        batch.append((leaf.hex(), seq))
        if len(batch) == BATCH:
            pruned += _apply(batch, progress)
            batch = []
    pruned += _apply(batch, progress)
    record(
        Action.AUDIT_PRUNED,
        pruned=pruned,
        pruned_upto=due.upto,
        older_than_days=older_than.days,
    )
    return pruned


def _apply(batch: list[tuple[str, int]], progress: Callable[[int], None] | None) -> int:
    if not batch:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        done = 0
        for leaf, seq in batch:
            cursor.execute(_PRUNE, [leaf, seq])
            done += cursor.rowcount
    if progress is not None:
        progress(done)  # entries pruned now: the total counted only those not pruned yet
    return done
