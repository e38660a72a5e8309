"""Benchmark the case pages at scale: the case list, the case page, the dashboard and
blind-index search, as a signed-in coordinator through django.test.Client, with and without
decryption. Prints figures; asserts nothing.

    python bench/bench_cases.py [--applicants 100000] [--requests 200] [--list-requests 200]
                                [--sweep-requests 60] [--json PATH]

SQLite in a temporary data directory (inside CASEWORK_DATA_DIR when that is set, else
var/); with DATABASE_URL set, a scratch PostgreSQL database is created and dropped. The demo
organisations and users are seeded first, then N applicants with one case each (the bulk
mode of ``seed_demo --applicants``) in the first demo organisation, whose coordinator sees
every case. The list is measured on page 1, on page 2,000 and filtered by status, the case
page and the dashboard (each with decryption skipped too, interleaved), and search, all in
turns (one request of each page per round); then, in turns too, the list on page 1 with
each other filter and each sort in both directions (fewer requests each). Targets (issue):
the list page costs at most 1.3x what it costs with decryption skipped; p50 at 100,000
applicants: the case list (any page, filter or sort) <= 15 ms, the case page, search and
the dashboard <= 20 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from figures import add_json_argument, figure, write_json
from scratch import scratch_data_dir, scratch_django

SEED = 7  # which cases and people are picked: the same in both modes, on both databases
DEEP_PAGE = 2000  # the deep page: the middle of the list at 100,000 cases


# --- seeding ---------------------------------------------------------------------------------


def seed(count: int) -> None:
    from django.conf import settings

    from casework.core.demo import seed_accounts, seed_bulk, seed_cases

    started = time.perf_counter()
    seed_accounts(settings.DATA_DIR)
    seed_cases()
    demo = time.perf_counter() - started

    def progress(done: int) -> None:
        if done % 20_000 == 0 or done == count:
            print(f"  {done:,} / {count:,} applicants", file=sys.stderr, flush=True)

    started = time.perf_counter()
    added = seed_bulk(count, progress=progress)
    bulk = time.perf_counter() - started
    print(
        f"seeding: demo accounts and cases {demo:.1f} s; {added:,} bulk applicants with cases "
        f"{bulk:.1f} s ({added / bulk:,.0f}/s)"
    )
    settle()


def settle() -> None:
    """On PostgreSQL, vacuum what the load wrote before measuring: otherwise autovacuum
    takes up the freshly loaded tables during the measurements, and on two cores it slowed
    every page measured after the first minute by a third (one run: the case page 24 ms,
    the next 32). A database in service has been vacuumed; this one is made so."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    print(f"VACUUM (ANALYZE) after seeding: {time.perf_counter() - started:.1f} s")


def coordinator_client() -> tuple[Any, Any]:
    from django.conf import settings
    from django.test import Client

    from casework.accounts.models import User
    from casework.accounts.roles import Role
    from casework.core.demo import credentials_path, load_passwords
    from tests.conftest import login_unlocked  # signed in, holding the organisation's key

    # django.test.Client sends Host: testserver. setup_test_environment() would allow it
    # too, but it also instruments template rendering, which would be measured as well.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = User.objects.get(username=f"rainbow-{Role.COORDINATOR.value.replace('_', '-')}")
    password = load_passwords(credentials_path(settings.DATA_DIR))[user.username]
    return login_unlocked(Client(), user, password), user


# --- decryption skipped ----------------------------------------------------------------------
#
# What is skipped: every piece of AES work on the read path. datakeys._unwrap is replaced,
# so a data key row that is fetched (preload() on the case page, cipher_for() on a cache
# miss) is not unwrapped under the KEK (AES-GCM) and no AESGCM key schedule is set up for
# the DEK; the stand-in cipher then answers each field's decrypt() with a fixed plaintext
# of the right type for the field named in the AAD (b"skipped", 2000-01-01, {}), without
# reading the token. What still runs: the queries (including the data key rows), the
# descriptor and the per-request key cache, decoding the plaintext, templates, audit.
# The ratio real/skipped is therefore the cost of the cryptography alone.


class _NoAESCipher:
    def __init__(self, plaintexts: dict[bytes, bytes]) -> None:
        self.plaintexts = plaintexts

    def decrypt(self, token: bytes, aad: bytes) -> bytes:
        return self.plaintexts.get(aad.split(b":", 1)[0], b"")

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        raise RuntimeError("the benchmark skips decryption on read-only pages only")


def _fixed_plaintexts() -> dict[bytes, bytes]:
    from django.apps import apps

    from casework.lib.fields import EncryptedDateField, EncryptedJSONField, encrypted_fields

    plaintexts = {}
    for model in apps.get_models():
        for field in encrypted_fields(model):
            if isinstance(field, EncryptedDateField):
                value: Any = datetime.date(2000, 1, 1)
            elif isinstance(field, EncryptedJSONField):
                value = {}
            else:
                value = "skipped"
            plaintexts[f"{field.model._meta.label_lower}.{field.name}".encode()] = field.encode(
                value
            )
    return plaintexts


@contextlib.contextmanager
def decryption_skipped(cipher: _NoAESCipher) -> Iterator[None]:
    from casework.lib import datakeys

    def unwrap(key: Any, ring: Any = None) -> Any:
        if key.wrapped is None:
            raise datakeys.SubjectErased()
        cache = datakeys._cache.get()
        if cache is not None:
            cache[key.subject_id] = cipher  # type: ignore[assignment]
        return cipher

    original = datakeys._unwrap
    datakeys._unwrap = unwrap
    try:
        yield
    finally:
        datakeys._unwrap = original


# --- measuring -------------------------------------------------------------------------------


def request_ms(send: Callable[[], Any], label: str) -> float:
    started = time.perf_counter()
    response = send()
    milliseconds = (time.perf_counter() - started) * 1000
    if response.status_code != 200:  # a redirect to the login page would be measured instead
        raise SystemExit(f"{label}: HTTP {response.status_code}, not the page")
    return milliseconds


def queries_of(send: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        send()
    return len(captured.captured_queries)


def p50_p95(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


@dataclass
class Page:
    """One page measured: its figure's key, its label, and one request per measurement."""

    key: str
    label: str
    senders: Sequence[Callable[..., Any]]
    cipher: _NoAESCipher | None = None  # given: each request once more, decryption skipped


def measure(pages: list[Page]) -> list[dict[str, Any]]:
    """The pages' requests in turns: one request of each page per round, the pages' order
    rotating from round to round, rather than one page's requests after another's. A phase
    in which the host runs slower (run_all.py's speed probe saw 1.8 times) then slows every
    page of the group alike, not whichever page was being measured at the time. With a
    cipher, each request also runs once with decryption skipped, the two in alternating
    order, so that drift hits both modes alike."""
    real: dict[str, list[float]] = {page.key: [] for page in pages}
    skipped: dict[str, list[float]] = {page.key: [] for page in pages}
    for page in pages:
        for send in page.senders[:3]:  # warm-up: templates, translations, database caches
            send()
    for number in range(max(len(page.senders) for page in pages)):
        shift = number % len(pages)
        for page in pages[shift:] + pages[:shift]:
            if number >= len(page.senders):
                continue
            send = page.senders[number]
            if page.cipher is None:
                real[page.key].append(request_ms(send, page.label))
                continue
            for skip in (False, True) if number % 2 == 0 else (True, False):
                if skip:
                    with decryption_skipped(page.cipher):
                        skipped[page.key].append(request_ms(send, page.label))
                else:
                    real[page.key].append(request_ms(send, page.label))
    return [
        {
            "key": page.key,
            "label": page.label,
            "count": len(page.senders),
            "queries": queries_of(page.senders[0]),
            "real": p50_p95(real[page.key]),
            "skipped": p50_p95(skipped[page.key]) if skipped[page.key] else None,
        }
        for page in pages
    ]


def people(organisation_id: Any, count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Names and passport numbers of random applicants of the organisation (that exist)."""
    from casework.cases.models import Applicant
    from casework.core.demo import demo_keys
    from casework.lib import datakeys

    ids = list(
        Applicant.objects.filter(organisation_id=organisation_id).values_list("pk", flat=True)
    )
    chosen = rng.sample(ids, min(len(ids), count * 3))
    names: list[str] = []
    passports: list[str] = []
    with demo_keys(), datakeys.dek_cache():  # as the demo coordinator's sign-in would
        applicants = list(Applicant.objects.filter(pk__in=chosen))
        datakeys.preload(a.pk for a in applicants)
        rng.shuffle(applicants)
        for applicant in applicants:
            name = applicant.legal_name_latin if len(names) % 2 else applicant.legal_name_cyrillic
            if name and len(names) < count:
                names.append(name)
            if applicant.international_passport_no and len(passports) < count:
                passports.append(applicant.international_passport_no)
    return names, passports


def bench_pages(requests: int, list_requests: int, sweep_requests: int) -> list[dict[str, Any]]:
    """One row per page measured, each with a ``key`` that figures() reads."""
    from django.db.models import Count
    from django.urls import reverse

    from casework.audit.models import Action, AuditEvent
    from casework.cases.list_views import DEFAULT_SORT, FLAGS, PAGE_SIZE, SORTS, ordering
    from casework.cases.models import Case, Priority
    from casework.cases.workflow import Status

    client, user = coordinator_client()
    rng = random.Random(SEED)
    cipher = _NoAESCipher(_fixed_plaintexts())
    cases = Case.objects.filter(organisation_id=user.organisation_id)
    total = cases.count()
    deep = min(DEEP_PAGE, max(2, (total + PAGE_SIZE - 1) // PAGE_SIZE // 2))
    # The list pages by key: page N is the page after the last case of page N - 1, whose
    # id its "Next" link carries (the same link a person follows).
    edge = cases.order_by(*ordering(DEFAULT_SORT)).values_list("pk", flat=True)[
        (deep - 1) * PAGE_SIZE - 1
    ]
    listing = reverse("case_list")
    lists = {
        "case_list": (f"case list {listing} (all {total:,} cases, page 1)", {}),
        "case_list_deep_page": (
            f"case list {listing}?after=<id> (page {deep:,})",
            {"after": str(edge)},
        ),
        "filter:status": (
            f"case list {listing}?status={Status.SCREENING.value} (filtered)",
            {"status": Status.SCREENING.value},
        ),
    }

    def table(query: dict[str, str]) -> Any:
        return client.get(listing, query).content.split(b"<tbody>")[1].split(b"</tbody>")[0]

    if table({}) == table({"after": str(edge)}):  # a cursor the list ignored: page 1 again
        raise SystemExit(f"case list page {deep}: the list showed page 1 instead")
    pages = [
        Page(key, label, [lambda query=query: client.get(listing, query)] * list_requests, cipher)
        for key, (label, query) in lists.items()
    ]

    ids = list(cases.values_list("pk", flat=True))
    picked = rng.sample(ids, min(len(ids), requests))
    detail = "case page /cases/<uuid>/ (random cases)"
    senders = [lambda pk=pk: client.get(reverse("case_detail", args=[pk])) for pk in picked]
    pages.append(Page("case_page", detail, senders, cipher))

    home = reverse("home")
    dashboard = f"dashboard {home} (coordinator)"
    pages.append(Page("dashboard", dashboard, [lambda: client.get(home)] * requests, cipher))

    search = reverse("case_search")
    names, passports = people(user.organisation_id, requests, rng)
    for kind, values in (("name", names), ("passport", passports)):
        senders = [
            lambda kind=kind, value=value: client.post(search, {"kind": kind, "query": value})  # type: ignore[misc]
            for value in values
        ]
        pages.append(Page(f"search:{kind}", f"search {search} by {kind} (exists)", senders))

    seen = AuditEvent.objects.filter(action=Action.CASE_SEARCHED).count()
    rows = measure(pages)
    searched = AuditEvent.objects.filter(action=Action.CASE_SEARCHED).order_by("seq")[seen:]
    for row in rows:
        if row["key"].startswith("search:"):
            kind = row["key"].removeprefix("search:")
            counts = [e.details["count"] for e in searched if e.details["kind"] == kind]
            row["label"] += f", {statistics.mean(counts):.1f} cases found per search"

    # Every other filter and every sort, page 1, fewer requests each and decryption kept:
    # the target holds for any of them.
    common = cases.values("destination_state").annotate(n=Count("id")).order_by("-n").first()
    sweep: dict[str, dict[str, str]] = {
        "filter:priority": {"priority": Priority.URGENT.value},
        "filter:destination": {"destination": common["destination_state"] if common else "DE"},
        "filter:flag": {"flag": next(iter(FLAGS))},
        "filter:mine": {"mine": "1"},
        "filter:unassigned": {"unassigned": "1"},
        "filter:overdue": {"overdue": "1"},
        "filter:letter_draft": {"letter_draft": "1"},
    }
    for name in SORTS:
        sweep[f"sort:{name}"] = {"sort": name}
        sweep[f"sort:-{name}"] = {"sort": f"-{name}"}
    swept = [
        Page(
            key,
            f"case list {listing}?{'&'.join(f'{k}={v}' for k, v in query.items())}",
            [lambda query=query: client.get(listing, query)] * sweep_requests,
        )
        for key, query in sweep.items()
    ]
    rows += measure(swept)
    return rows


def figures(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The figures of bench/figures.py from the rows: p50 in ms, worst of a kind where a
    figure stands for several pages (filters, sorts, the two searches)."""
    by_key = {row["key"]: row for row in rows}

    def p50(*keys: str) -> float:
        return float(max(by_key[key]["real"][0] for key in keys))

    def starting(prefix: str) -> list[str]:
        return [key for key in by_key if key.startswith(prefix)]

    interleaved = ("case_list", "case_list_deep_page", "filter:status")
    overhead = max(by_key[key]["real"][0] / by_key[key]["skipped"][0] for key in interleaved)
    return {
        "case_list_p50_ms_100k": figure("case_list_p50_ms_100k", p50("case_list")),
        "case_list_deep_page_p50_ms_100k": figure(
            "case_list_deep_page_p50_ms_100k", p50("case_list_deep_page")
        ),
        "case_list_filtered_p50_ms_100k": figure(
            "case_list_filtered_p50_ms_100k", p50(*starting("filter:"))
        ),
        "case_list_sorted_p50_ms_100k": figure(
            "case_list_sorted_p50_ms_100k", p50(*starting("sort:"))
        ),
        "case_list_decrypt_overhead_ratio": figure("case_list_decrypt_overhead_ratio", overhead),
        "case_page_p50_ms_100k": figure("case_page_p50_ms_100k", p50("case_page")),
        "search_p50_ms_100k": figure("search_p50_ms_100k", p50(*starting("search:"))),
        "dashboard_p50_ms_100k": figure("dashboard_p50_ms_100k", p50("dashboard")),
    }


def report(rows: list[dict[str, Any]]) -> None:
    width = max(len(row["label"]) for row in rows)
    print(
        f"{'page':{width}}  {'n':>4}  {'queries':>7}  {'real p50/p95 ms':>17}  "
        f"{'skipped p50/p95 ms':>18}  {'ratio p50/p95':>13}  target"
    )
    for row in rows:
        real_50, real_95 = row["real"]
        line = f"{row['label']:{width}}  {row['count']:>4}  {row['queries']:>7}  "
        line += f"{real_50:8.1f} /{real_95:7.1f}  "
        if row["skipped"] is None:
            line += f"{'—':>18}  {'—':>13}  —"
        else:
            skip_50, skip_95 = row["skipped"]
            target = "list <= 1.3x" if row["label"].startswith("case list") else "—"
            line += f"{skip_50:9.1f} /{skip_95:7.1f}  "
            line += f"{real_50 / skip_50:5.2f}x /{real_95 / skip_95:5.2f}x  {target}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="case pages and searches")
    parser.add_argument("--list-requests", type=int, default=200, help="per list page")
    parser.add_argument(
        "--sweep-requests", type=int, default=60, help="per other filter and per sort"
    )
    add_json_argument(parser)
    args = parser.parse_args()
    with scratch_data_dir() as data_dir:
        vendor = scratch_django(data_dir, "cases")
        print(f"database: {vendor}; {args.applicants:,} bulk applicants")
        seed(args.applicants)
        rows = bench_pages(args.requests, args.list_requests, args.sweep_requests)
        report(rows)
        write_json(args.json, figures(rows))


if __name__ == "__main__":
    main()
