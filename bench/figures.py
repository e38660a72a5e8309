"""The figures `make bench` reports, with their units and targets, in one place.

Each benchmark script takes ``--json PATH`` and writes there the figures it measured:
``{"name": {"value": number, "unit": "...", "target": number, "better": "lower" | "higher"}}``.
bench/run_all.py runs every script once per database and merges what they wrote into
bench/results/latest.json, PostgreSQL's figures under the same names with ``_postgres``
appended. The names keep the size of the full run (``_100k``, ``_1m``) whatever size a
run had: a quick run's file says in ``machine`` how many applicants and entries it used.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Spec:
    unit: str
    target: float
    better: str  # "lower" or "higher"
    what: str  # how it is measured, and where the target comes from


SPECS: dict[str, Spec] = {
    # bench_encryption.py (issue 3). Field costs touch no database: measured once.
    "field_decrypt_speedup_vs_fernet": Spec(
        "x", 4, "higher", "Fernet's decrypt time / ours, cipher kept per subject (issue 3)"
    ),
    # Issue 16: what holding the organisation key costs. The sign-in pays one Argon2id at the
    # default cost (RFC 9106's second recommendation); every later request pays only the
    # opening of the session's copy. 500 ms is chosen here: the second sign-in step stays
    # well under a second on this 2-core machine. 100 µs: under 1 % of a 15 ms page.
    "sign_in_unlock_ms": Spec(
        "ms",
        500,
        "lower",
        "the password step's unlock: the member's private key (Argon2id, 64 MiB, 3, 4) and "
        "the organisation key sealed to it, median of 7 (issue 16)",
    ),
    "organisation_key_per_request_us": Spec(
        "µs",
        100,
        "lower",
        "each request's opening of the session's copy of the organisation key (the cookie's "
        "key, base64, AES-256-GCM), best of 20 rounds of 2,000 (issue 16)",
    ),
    "rotate_keys_100k_seconds": Spec(
        "s", 60, "lower", "rotate_keys --new-kek over every applicant's data key (issue 3)"
    ),
    "blind_index_search_speedup_vs_scan": Spec(
        "x",
        100,
        "higher",
        "finding one applicant by name: decrypting every row / the blind index (issue 3)",
    ),
    # bench_cases.py: signed-in coordinator, django.test.Client, 100,000 bulk applicants.
    "case_list_p50_ms_100k": Spec("ms", 15, "lower", "case list, page 1, default sort"),
    "case_list_deep_page_p50_ms_100k": Spec("ms", 15, "lower", "case list, page 2,000"),
    "case_list_filtered_p50_ms_100k": Spec(
        "ms", 15, "lower", "case list, page 1: the slowest of its filters"
    ),
    "case_list_sorted_p50_ms_100k": Spec(
        "ms", 15, "lower", "case list, page 1: the slowest of its sorts (both directions)"
    ),
    "case_list_decrypt_overhead_ratio": Spec(
        "x",
        1.3,
        "lower",
        "case list p50 / the same with decryption skipped, interleaved; the worst of page 1, "
        "page 2,000 and filtered by status",
    ),
    "case_page_p50_ms_100k": Spec("ms", 20, "lower", "case page of a random case"),
    "search_p50_ms_100k": Spec(
        "ms", 20, "lower", "search by name or by passport number: the slower of the two"
    ),
    "dashboard_p50_ms_100k": Spec("ms", 20, "lower", "dashboard (home page) of the coordinator"),
    # bench_letters.py (issue 7).
    "letter_issue_vs_bare_render_ratio": Spec(
        "x",
        1.3,
        "lower",
        "issuing a letter p50 / WeasyPrint's bare render p50 of its HTML, interleaved (issue 7)",
    ),
    # bench_audit.py (issue 5; R41 for 100,000 entries).
    "audit_append_p50_ms": Spec(
        "ms", 2, "lower", "one audit entry through record(), own transaction (issue 5)"
    ),
    "verify_audit_100k_seconds": Spec(
        "s", 2, "lower", "verifying a chain of 100,000 audit entries (R41)"
    ),
    "verify_audit_1m_seconds": Spec(
        "s", 30, "lower", "verifying a chain of 1,000,000 audit entries (issue 5)"
    ),
    # bench/load.py, on PostgreSQL only.
    "case_list_p95_ms_postgres_20_clients": Spec(
        "ms", 150, "lower", "bench/load.py: case list p95 under 20 concurrent clients"
    ),
    "requests_per_second_20_clients": Spec(
        "req/s",
        20,
        "higher",
        "bench/load.py: requests answered per second, 2 gunicorn workers, 20 clients. No "
        "target is stated anywhere; 20 is chosen here: 20 people pausing about 1 s between "
        "steps (load.py's --think) ask for 20 to 30 a second, so 20 means the server keeps up",
    ),
}

# Which benchmark measures which figures (bench/run_all.py --only takes these names).
SOURCES: dict[str, tuple[str, ...]] = {
    "encryption": (
        "field_decrypt_speedup_vs_fernet",
        "sign_in_unlock_ms",
        "organisation_key_per_request_us",
        "rotate_keys_100k_seconds",
        "blind_index_search_speedup_vs_scan",
    ),
    "cases": (
        "case_list_p50_ms_100k",
        "case_list_deep_page_p50_ms_100k",
        "case_list_filtered_p50_ms_100k",
        "case_list_sorted_p50_ms_100k",
        "case_list_decrypt_overhead_ratio",
        "case_page_p50_ms_100k",
        "search_p50_ms_100k",
        "dashboard_p50_ms_100k",
    ),
    "audit": ("audit_append_p50_ms", "verify_audit_100k_seconds", "verify_audit_1m_seconds"),
    "letters": ("letter_issue_vs_bare_render_ratio",),
    "load": ("case_list_p95_ms_postgres_20_clients", "requests_per_second_20_clients"),
}
# Figures that do not depend on the database: taken from the SQLite run alone.
DATABASE_INDEPENDENT = frozenset(
    {"field_decrypt_speedup_vs_fernet", "sign_in_unlock_ms", "organisation_key_per_request_us"}
)


def figure(name: str, value: float) -> dict[str, Any]:
    spec = SPECS[name]
    return {
        "value": round(value, 3),
        "unit": spec.unit,
        "target": spec.target,
        "better": spec.better,
    }


def missing(name: str, why: str) -> dict[str, Any]:
    """A figure that was not measured: no value (never a made-up one), and why."""
    spec = SPECS[name]
    return {
        "value": None,
        "unit": spec.unit,
        "target": spec.target,
        "better": spec.better,
        "missing": why,
    }


def met(value: float, target: float, better: str) -> bool:
    return value <= target if better == "lower" else value >= target


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        metavar="PATH",
        help="also write the figures to PATH as JSON (bench/run_all.py reads them)",
    )


def write_json(path: str | None, figures: dict[str, dict[str, Any]]) -> None:
    if not path:
        return
    for name, entry in figures.items():
        if not math.isfinite(entry["value"]):
            raise ValueError(f"{name}: {entry['value']} is not a figure")
    Path(path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
