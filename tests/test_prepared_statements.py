"""PostgreSQL keeps the statements a connection runs often prepared (settings, DATABASES:
server-side binding and psycopg's prepare_threshold, issue 15). A prepared statement whose
rows change shape fails ("cached plan must not change result type"), so the statements
written out name their columns: a migration that adds a column while the application runs
must not turn every signed-in page into an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from casework.accounts.models import BackupCode, BackupCodeDevice, TOTPDevice, User
from tests.conftest import login_verified

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://casework:secret@db.example.org:5432/casework"


def database(tmp_path: Path, **extra: str) -> dict[str, object]:
    """The database the settings give for a PostgreSQL DATABASE_URL: its ENGINE and OPTIONS
    (no connection is made: settings are only read)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASEWORK_")}
    env |= {
        "DATABASE_URL": POSTGRES,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "casework.settings",
        **extra,
    }
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        " db = settings.DATABASES['default'];"
        " print(json.dumps({'ENGINE': db['ENGINE'], **db['OPTIONS']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_binds_values_apart_and_prepares_what_repeats(tmp_path):
    options = database(tmp_path)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5
    assert options["ENGINE"] == "casework.lib.postgresql"  # bulk statements split


def test_an_operator_behind_a_pooler_can_turn_prepared_statements_off(tmp_path):
    options = database(tmp_path, CASEWORK_DB_PREPARED_STATEMENTS="0")
    assert "server_side_binding" not in options and "prepare_threshold" not in options
    assert options["ENGINE"] == "django.db.backends.postgresql"


@contextmanager
def migration_connection():
    """Where a migration's statements run while the application serves pages: on PostgreSQL
    another connection, as `manage.py migrate` would be (the case prepared statements meet);
    SQLite's test database is in memory and reachable only through the application's own
    connection, whose cached statements the sqlite3 module prepares again after a change
    of schema."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor.execute
        return
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )
    try:
        yield other.execute
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_column_added_while_pages_are_served_breaks_no_page(client, coordinator):
    login_verified(client, coordinator)
    home = reverse("home")
    for _ in range(7):  # past the threshold: the statements of every page are prepared now
        assert client.get(home).status_code == 200
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] > 0
    # A migration while pages are served: a column more on the tables the user's and the
    # second factor's statements read.
    tables = [User._meta.db_table, TOTPDevice._meta.db_table]
    added = []
    with migration_connection() as execute:
        try:
            for table in tables:
                execute(f"ALTER TABLE {table} ADD COLUMN probe integer")  # noqa: S608
                added.append(table)
            assert client.get(home).status_code == 200
        finally:
            for table in added:
                execute(f"ALTER TABLE {table} DROP COLUMN probe")  # noqa: S608


@pytest.mark.django_db
def test_a_bulk_insert_of_more_values_than_a_statement_may_carry(caseworker):
    """22,000 rows of three values each: 66,000 values, past the 65,535 a statement may carry
    once values are bound on the server; the backend (casework.lib.postgresql) splits them,
    as Django splits them for SQLite. (Seeding 100,000 applicants failed here without it.)"""
    device = BackupCodeDevice.objects.create(user=caseworker, name="many", confirmed=True)
    rows = 22_000
    BackupCode.objects.bulk_create(
        BackupCode(device=device, digest=number.to_bytes(4, "big")) for number in range(rows)
    )
    assert BackupCode.objects.filter(device=device).count() == rows
