"""Benchmark the audit log: append cost through record(), and full verification of a long
chain with its peak memory. Prints figures; asserts nothing.

    python bench/bench_audit.py [--entries 1000000] [--appends 2000]

SQLite in a temporary data directory by default; with DATABASE_URL set, a scratch
PostgreSQL database is created and dropped. Targets (issue 5): append p50 under 2 ms;
verification of 1,000,000 entries under 30 s with memory that does not grow with the chain.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import uuid
from typing import Any

from scratch import scratch_django


def bench_appends(count: int) -> None:
    from django.db import transaction

    from casework.audit.models import Action
    from casework.audit.services import record

    actor = uuid.uuid4()
    timings = []
    for number in range(count):
        started = time.perf_counter()
        with transaction.atomic():
            record(Action.CASE_VIEWED, organisation_id=actor, case_id=uuid.uuid4(), n=number)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(f"append through record() ({count:,} entries, one transaction each, nothing signed):")
    print(f"  p50 {statistics.median(timings):.2f} ms   p95 {p95:.2f} ms   (target p50 < 2 ms)")


def fill(count: int) -> None:
    """Write a long valid chain quickly (bulk inserts, hashes computed here)."""
    from django.db import transaction
    from django.utils import timezone

    from casework.audit.models import AuditEvent, ChainHead
    from crypto.audit_chain import chain_hash

    head_row = ChainHead.objects.get(pk=1)
    head, seq = head_row.hash, head_row.seq
    organisation = uuid.uuid4()
    batch: list[Any] = []
    started = time.perf_counter()
    for _ in range(count):
        seq += 1
        event = AuditEvent(
            seq=seq,
            at=timezone.now(),
            action="case_viewed",
            organisation_id=organisation,
            case_id=uuid.uuid4(),
            details={"n": seq},
            prev_hash=head,
        )
        event.hash = head = chain_hash(head, event.canonical_fields())
        batch.append(event)
        if len(batch) == 10_000:
            with transaction.atomic():
                AuditEvent.objects.bulk_create(batch)
            batch = []
    with transaction.atomic():
        AuditEvent.objects.bulk_create(batch)
        ChainHead.objects.filter(pk=1).update(seq=seq, hash=head)
    print(f"filled {count:,} entries in {time.perf_counter() - started:.1f} s")


def bench_verify() -> None:
    from casework.audit.models import ChainHead
    from casework.audit.verification import verify_chain

    size = ChainHead.objects.get(pk=1).seq
    started = time.perf_counter()
    result = verify_chain()
    seconds = time.perf_counter() - started
    assert result.ok, result
    # Peak resident memory of the whole process so far: flat if it does not grow from the
    # shorter chain to the ten-times-longer one (tracemalloc would slow the run 3x).
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"verify_audit over {size:,} entries: {seconds:.1f} s "
        f"({size / seconds:,.0f} entries/s), process peak RSS {peak_mib:.0f} MiB "
        "(target < 30 s for 1M, flat memory)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as data_dir:
        vendor = scratch_django(data_dir, "audit")
        print(f"database: {vendor}")
        bench_appends(args.appends)
        for size in (args.entries // 10, args.entries):
            from casework.audit.models import ChainHead

            fill(size - ChainHead.objects.get(pk=1).seq)
            bench_verify()


if __name__ == "__main__":
    main()
