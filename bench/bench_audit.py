"""Benchmark the audit log: append cost through record(), and full verification of a long
chain with its peak memory. Prints figures; asserts nothing.

    python bench/bench_audit.py [--entries 1000000] [--appends 2000] [--json PATH]

SQLite in a temporary data directory by default; with DATABASE_URL set, a scratch
PostgreSQL database is created and dropped. The chain is verified at a tenth of --entries,
then at --entries. Targets (issue 5): append p50 under 2 ms; verification of 1,000,000
entries under 30 s with memory that does not grow with the chain; R41: 100,000 entries
under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import uuid
from typing import Any

from figures import add_json_argument, figure, write_json
from scratch import scratch_data_dir, scratch_django


def bench_appends(count: int) -> float:
    """The p50 of ``count`` appends through record(), in milliseconds."""
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
    return statistics.median(timings)


# Rows per transaction. The insert trigger updates the chain-head row once per entry: on
# PostgreSQL a transaction that updates one row 10,000 times walks ever longer version
# chains (3,700 entries/s, against 8,800/s with 1,000).
BATCH = 1_000
# The chain-head row's old versions, a thousand per transaction, are not reclaimed while
# the fill keeps writing (nothing gets the table's lock to truncate it): without a VACUUM
# now and then the trigger's update scans an ever longer heap, and a million entries took
# 25 minutes, slowing from 8,700 to 1,800 a second. The application appends one entry per
# transaction, whose old head version the next update reclaims (no such growth).
VACUUM_EVERY = 20_000


def fill(count: int) -> None:
    """Append ``count`` valid entries quickly. Each entry is hashed with the chain's own
    functions (canonical_fields, chain_hash) and the rows go in with record()'s columns and
    value conversions, but by executemany, BATCH per transaction, instead of one append
    at a time; the insert trigger advances the chain head as it does for record()."""
    from django.db import DEFAULT_DB_ALIAS, connections, transaction
    from django.utils import timezone

    from casework.audit.models import AuditEvent, ChainHead, canonical_fields
    from casework.audit.services import _INSERTED
    from crypto.audit_chain import chain_hash

    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: looked up once, not per value
    head_row = ChainHead.objects.get(pk=1)
    head, seq = head_row.hash, head_row.seq
    organisation = uuid.uuid4()
    columns = [str(field.column) for field in _INSERTED]
    insert = (
        f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    prepare = {field.attname: field.get_db_prep_save for field in _INSERTED}
    fixed = {
        "actor_id": None,
        "organisation_id": prepare["organisation_id"](organisation, connection),
        "action": "case_viewed",
        "decision": "allow",
        "target_type": "",
        "target_id": "",
        "client": "",
    }
    batch: list[list[Any]] = []
    started = time.perf_counter()

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, batch)
        batch.clear()
        if connection.vendor == "postgresql" and seq % VACUUM_EVERY < BATCH:
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM {ChainHead._meta.db_table}")

    for _ in range(count):
        seq += 1
        at, case_id, details = timezone.now(), uuid.uuid4(), {"n": seq}
        fields = canonical_fields(
            seq, at, None, organisation, "case_viewed", "allow", "", "", case_id, "", details
        )
        row = fixed | {
            "seq": seq,
            "at": prepare["at"](at, connection),
            "case_id": prepare["case_id"](case_id, connection),
            "details": prepare["details"](details, connection),
            "prev_hash": head,
        }
        row["hash"] = head = chain_hash(head, fields)
        batch.append([row[name] for name in prepare])
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    assert ChainHead.objects.get(pk=1).seq == seq, "the chain head did not follow"
    print(f"filled {count:,} entries in {time.perf_counter() - started:.1f} s")


def bench_verify() -> float:
    """Seconds to verify the whole chain as it stands."""
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
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    add_json_argument(parser)
    args = parser.parse_args()
    with scratch_data_dir() as data_dir:
        vendor = scratch_django(data_dir, "audit")
        print(f"database: {vendor}")
        results = {
            "audit_append_p50_ms": figure("audit_append_p50_ms", bench_appends(args.appends))
        }
        for name, size in (
            ("verify_audit_100k_seconds", args.entries // 10),
            ("verify_audit_1m_seconds", args.entries),
        ):
            from casework.audit.models import ChainHead

            fill(size - ChainHead.objects.get(pk=1).seq)
            results[name] = figure(name, bench_verify())
    write_json(args.json, results)


if __name__ == "__main__":
    main()
