"""Run every benchmark on SQLite and on PostgreSQL, print one table of figures against
their targets, and write them as JSON (`make bench`).

    python bench/run_all.py [--applicants 100000] [--audit-entries 1000000]
                            [--databases sqlite,postgresql] [--only NAME,...]
                            [--postgres-url URL] [--output PATH]

Each benchmark runs in a process of its own, with its own scratch data directory and
database as when it runs alone (on PostgreSQL a casework_bench_* database, created next to
the one --postgres-url names and dropped afterwards), and hands its figures back through
--json: bench_encryption.py, bench_cases.py, bench_audit.py and bench_letters.py, on each
database in turn; then bench/load.py (20 clients against gunicorn, on PostgreSQL only). If
bench/load.py does not exist yet, its figures are recorded as missing, with no value.

The figures, their units and targets are listed in bench/figures.py. SQLite's keep their
names; PostgreSQL's are the same names with ``_postgres`` appended. The field cipher's
speed-up touches no database and is measured once (SQLite run); the load figures are
PostgreSQL's alone. Ratios come from timings interleaved within one run.

A full run (every default: 100,000 applicants, 1,000,000 audit entries, both databases,
every benchmark) writes bench/results/latest.json; any other run writes
bench/results/quick.json (git-ignored), unless --output names a file. Exit status 1 when
a benchmark failed (its figures are then recorded as missing); a missed target is not a
failure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from figures import DATABASE_INDEPENDENT, SOURCES, SPECS, met, missing

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
DATABASES = ("sqlite", "postgresql")
SCRIPTS = {
    "encryption": "bench_encryption.py",
    "cases": "bench_cases.py",
    "audit": "bench_audit.py",
    "letters": "bench_letters.py",
}
LOAD_SCRIPT = BENCH / "load.py"
# What bench/load.py writes, and the figure each becomes.
LOAD_FIGURES = {
    "case_list_p95_ms": "case_list_p95_ms_postgres_20_clients",
    "requests_per_second": "requests_per_second_20_clients",
}
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applicants", type=int, default=100_000)
    parser.add_argument("--audit-entries", type=int, default=1_000_000)
    parser.add_argument(
        "--databases", default=",".join(DATABASES), help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--only",
        default=",".join(SOURCES),
        help=f"comma-separated benchmarks to run, of: {', '.join(SOURCES)}",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="bench_cases.py: requests per page measured (case pages, searches, each list)",
    )
    parser.add_argument("--letters", type=int, default=60, help="bench_letters.py: letters")
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-users", type=int, default=20)
    parser.add_argument("--load-workers", type=int, default=2)
    default_url = os.environ.get("DATABASE_URL", "")
    parser.add_argument(
        "--postgres-url",
        default=default_url if default_url.startswith("postgres") else LOCAL_POSTGRES,
        help="an existing database scratch databases are created next to "
        f"(default: DATABASE_URL if it is PostgreSQL, else {LOCAL_POSTGRES})",
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the figures (default: bench/results/latest.json for a full "
        "run, bench/results/quick.json otherwise)",
    )
    args = parser.parse_args()
    args.databases = _names(parser, args.databases, DATABASES, "--databases")
    args.only = _names(parser, args.only, tuple(SOURCES), "--only")
    sized = (
        *("applicants", "audit_entries", "requests", "letters"),
        *("load_seconds", "load_users", "load_workers"),
    )
    args.full = all(getattr(args, name) == parser.get_default(name) for name in sized) and (
        args.databases == list(DATABASES) and args.only == list(SOURCES)
    )
    return args


def _names(
    parser: argparse.ArgumentParser, text: str, allowed: tuple[str, ...], flag: str
) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        parser.error(f"{flag}: {', '.join(unknown) or 'nothing'}; choose from {', '.join(allowed)}")
    return [name for name in allowed if name in names]  # in the order they run


# --- running ---------------------------------------------------------------------------------


class Run:
    """The figures gathered so far, the time each step took and what failed."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, Any]] = {}
        self.seconds: dict[str, float] = {}
        self.probes: dict[str, list[float]] = {}
        self.failed: list[str] = []

    def subprocess(self, step: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Run ``command`` with ``--json FILE`` appended and return what it wrote there ({}
        if nothing). An exit status other than 0 counts as a failure of the step, but what
        it wrote is still taken (bench/load.py writes its figures, then fails a check)."""
        print(f"\n== {step}", flush=True)
        before = speed_probe()
        with tempfile.TemporaryDirectory(prefix="casework-bench-json-") as folder:
            path = Path(folder) / "figures.json"
            started = time.perf_counter()
            status = subprocess.run(  # noqa: S603 - our own scripts, with our own arguments
                [*command, "--json", str(path)], cwd=ROOT, env=env, check=False
            ).returncode
            self.seconds[step] = round(time.perf_counter() - started, 1)
            self.probes[step] = [before, speed_probe()]
            print(
                f"== {step}: {self.seconds[step]:,.0f} s (speed probe {before} ms before, "
                f"{self.probes[step][1]} ms after)",
                flush=True,
            )
            if status != 0:
                self.failed.append(f"{step} exited with status {status}")
            try:
                written = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return {}
            except (OSError, ValueError) as problem:
                self.failed.append(f"{step} wrote no figures ({problem})")
                return {}
        if not isinstance(written, dict):
            self.failed.append(f"{step} wrote {type(written).__name__}, not an object")
            return {}
        return written

    def expect(self, names: list[str], why: str) -> None:
        """Record each of ``names`` not measured as missing, with ``why``."""
        for key in names:
            if key not in self.figures:
                self.figures[key] = missing(_base(key), why)


def speed_probe() -> float:
    """How fast this machine runs Python right now: the median of 21 runs of a fixed loop,
    in ms. Not a figure of the application: on a shared host it moves (here a loop like it
    ran 1.8 times slower for a second, then at full speed again), and figures measured while
    it is high are slower for that reason alone. Recorded before and after each step, in
    ``machine``, so that a reader can tell the code's cost from the host's."""
    timings = []
    for _ in range(21):
        started = time.perf_counter()
        total = 0
        for number in range(100_000):
            total += number * number
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def _base(key: str) -> str:
    return key.removesuffix("_postgres")


def keyed(name: str, database: str) -> str:
    return name if database == "sqlite" else f"{name}_postgres"


def database_env(database: str, postgres_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CASEWORK_DATA_DIR", str(ROOT / "var" / "bench"))
    env.pop("DATABASE_URL", None)
    if database == "postgresql":
        env["DATABASE_URL"] = postgres_url
    return env


def script_command(name: str, database: str, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, str(BENCH / SCRIPTS[name])]
    if name == "encryption":
        command += ["--applicants", str(args.applicants)]
        if database != "sqlite":
            command.append("--no-fields")  # no database in it: measured once, on SQLite
    elif name == "cases":
        command += ["--applicants", str(args.applicants)]
        command += ["--requests", str(args.requests), "--list-requests", str(args.requests)]
    elif name == "audit":
        command += ["--entries", str(args.audit_entries)]
    elif name == "letters":
        command += ["--letters", str(args.letters)]
    return command


def run_benchmarks(run: Run, database: str, args: argparse.Namespace) -> None:
    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]
    env = database_env(database, args.postgres_url)
    for name in SCRIPTS:
        if name not in args.only:
            continue
        wanted = [
            figure
            for figure in SOURCES[name]
            if database == "sqlite" or figure not in DATABASE_INDEPENDENT
        ]
        step = f"{SCRIPTS[name]} on {label}"
        written = run.subprocess(step, script_command(name, database, args), env)
        for figure in wanted:
            if figure in written:
                run.figures[keyed(figure, database)] = written[figure]
        run.expect([keyed(figure, database) for figure in wanted], f"{step} did not measure it")


def run_load(run: Run, args: argparse.Namespace, postgres: str | None) -> None:
    names = list(SOURCES["load"])
    if postgres is None:
        run.expect(names, "PostgreSQL unreachable: the load test runs on PostgreSQL only")
        return
    if not LOAD_SCRIPT.exists():
        print(f"\n== bench/load.py does not exist yet: {', '.join(names)} recorded as missing")
        run.expect(names, "bench/load.py does not exist yet")
        return
    command = [sys.executable, "bench/load.py", "--seconds", str(args.load_seconds)]
    command += ["--users", str(args.load_users), "--workers", str(args.load_workers)]
    # load.py makes its own database, <name in DATABASE_URL>_load_<pid>, through the server's
    # "postgres" database: named casework_bench_load_<pid> like the others' scratch ones.
    parts = urlsplit(args.postgres_url)
    env = database_env("postgresql", urlunsplit(parts._replace(path="/casework_bench")))
    usage = subprocess.run(  # noqa: S603
        [sys.executable, "bench/load.py", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if "--applicants" in usage:  # seed as many as the other benchmarks, if it seeds
        command += ["--applicants", str(args.applicants)]
    written = run.subprocess("bench/load.py on PostgreSQL", command, env)
    for theirs, ours in LOAD_FIGURES.items():
        value = written.get(theirs)
        if isinstance(value, dict):  # a figure like ours, or a bare number
            value = value.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            spec = SPECS[ours]
            run.figures[ours] = {
                "value": round(float(value), 3),
                "unit": spec.unit,
                "target": spec.target,
                "better": spec.better,
            }
        elif written:
            run.failed.append(f"bench/load.py wrote no number for {theirs}")
    failures = written.get("failures")
    if isinstance(failures, list) and failures:
        run.failed.append("bench/load.py: " + "; ".join(map(str, failures)))
    run.expect(names, "bench/load.py did not measure it")


# --- the machine -----------------------------------------------------------------------------


def postgres_version(url: str) -> tuple[str | None, str]:
    """The server's version, or None and why it cannot be reached."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.Error as problem:
        return None, str(problem).strip().splitlines()[0]
    return (str(row[0]) if row else "unknown"), ""


def machine(
    args: argparse.Namespace, postgres: str | None, run: Run, started: datetime.datetime
) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _proc_line("/proc/cpuinfo", "model name"),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "date": started.isoformat(timespec="seconds"),
        "applicants": args.applicants,
        "audit_entries": args.audit_entries,
        "full_run": args.full,
        "databases": args.databases,
        "benchmarks": args.only,
        "load": {
            "seconds": args.load_seconds,
            "users": args.load_users,
            "workers": args.load_workers,
        },
        "step_seconds": run.seconds,
        "speed_probe_ms_before_after": run.probes,
    }


def _proc_line(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def _memory_gib() -> float | None:
    total = _proc_line("/proc/meminfo", "MemTotal")  # "24576000 kB"
    return round(int(total.split()[0]) / 2**20, 1) if total else None


# --- the table -------------------------------------------------------------------------------


def table(figures: dict[str, dict[str, Any]]) -> list[str]:
    """One line per figure, SQLite's and PostgreSQL's one after the other."""
    keys = [key for name in SPECS for key in (name, f"{name}_postgres") if key in figures]
    width = max(len(key) for key in keys)
    lines = [f"{'figure':{width}}  {'value':>9}  {'unit':5}  {'target':>8}  result"]
    for key in keys:
        entry = figures[key]
        sign = "<=" if entry["better"] == "lower" else ">="
        target = f"{sign} {entry['target']:g}"
        if entry["value"] is None:
            value, result = "—", "missing"
        else:
            value = _number(entry["value"])
            result = "met" if met(entry["value"], entry["target"], entry["better"]) else "MISSED"
        lines.append(f"{key:{width}}  {value:>9}  {entry['unit']:5}  {target:>8}  {result}")
    return lines


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    date = datetime.datetime.now(datetime.UTC)
    started = time.perf_counter()
    run = Run()
    postgres, unreachable = None, ""
    if "postgresql" in args.databases or "load" in args.only:
        postgres, unreachable = postgres_version(args.postgres_url)
    print(
        f"{args.applicants:,} applicants, {args.audit_entries:,} audit entries; "
        f"{' and '.join(args.databases)}; {', '.join(args.only)}"
        + ("" if args.full else " (not a full run)"),
        flush=True,
    )
    if postgres is None and unreachable:
        print(f"\n== PostgreSQL unreachable ({unreachable}): no PostgreSQL figures", flush=True)
        run.failed.append(f"PostgreSQL unreachable ({unreachable})")
    for database in args.databases:
        if database == "postgresql" and postgres is None:
            for name in args.only:
                if name != "load":  # run_load() says why for its own
                    names = [f for f in SOURCES[name] if f not in DATABASE_INDEPENDENT]
                    run.expect([keyed(f, database) for f in names], "PostgreSQL unreachable")
            continue
        run_benchmarks(run, database, args)
    if "load" in args.only:
        run_load(run, args, postgres)

    run.seconds["total"] = round(time.perf_counter() - started, 1)
    output = (
        Path(args.output)
        if args.output
        else RESULTS / ("latest.json" if args.full else "quick.json")
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine(args, postgres, run, date), **run.figures}
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    print()
    print("\n".join(table(run.figures)))
    for key, entry in run.figures.items():
        if entry["value"] is None:
            print(f"missing: {key}: {entry['missing']}")
    server = "unreachable" if unreachable else "not used"
    print(
        f"\n{args.applicants:,} applicants, {args.audit_entries:,} audit entries; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {postgres or server}; "
        f"{run.seconds['total'] / 60:.1f} min. Written to {_shown(output)}"
    )
    if run.failed:
        print("FAILED: " + "; ".join(run.failed), file=sys.stderr)
        sys.exit(1)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()
