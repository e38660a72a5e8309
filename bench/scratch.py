"""Shared set-up for the benchmarks: Django on a scratch database that is removed afterwards.

SQLite lives in the temporary data directory the caller passes; with DATABASE_URL set, a
scratch PostgreSQL database is created next to the configured one and dropped at exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def scratch_data_dir() -> Iterator[str]:
    """A private (0700) data directory for one benchmark, removed afterwards, inside
    CASEWORK_DATA_DIR (make bench: var/bench) or var/: never the system's temporary
    directory, which other processes share. The development keys, the audit signing key and
    the letter seals a benchmark makes live in it, with its SQLite database."""
    parent = os.environ.get("CASEWORK_DATA_DIR") or str(ROOT / "var")
    os.makedirs(parent, mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="casework-bench-", dir=parent) as data_dir:
        yield data_dir


def scratch_django(data_dir: str, label: str) -> str:
    """Configure Django, migrate a fresh database, and return its vendor."""
    os.environ["CASEWORK_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        original = connection.settings_dict["NAME"]
        scratch = f"casework_bench_{label}_{os.getpid()}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{scratch}"')
        connection.close()
        connection.settings_dict["NAME"] = scratch
        atexit.register(_drop, original, scratch)
    call_command("migrate", verbosity=0)
    return str(connection.vendor)


def _drop(original: str, scratch: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = original
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
