"""On PostgreSQL an append takes the append lock and reads the chain head in one call of
``audit_lock_head()`` instead of two statements: one round trip fewer on every audited
request (issue 15).

The function is VOLATILE, so PostgreSQL takes a new snapshot for each statement in its body
(READ COMMITTED): the head is read after the lock is held and sees the entry the previous
holder committed. A single statement that took the lock and read the head, without the
function, would read the head as it was when the statement began, before waiting for the
lock, and fork the chain under concurrent appends (tests/test_audit_log.py). It runs as its
caller (no SECURITY DEFINER): the application's role may read the head, and an advisory
lock needs no privilege.
SQLite's write transaction serialises appends: nothing to create there.
"""

from django.db import migrations

APPEND_LOCK = 0x63617365776F726B  # "casework" in ASCII, the key SECURITY.md gives
POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION audit_lock_head(OUT seq bigint, OUT hash varchar)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({APPEND_LOCK});
    SELECT h.seq, h.hash INTO seq, hash FROM audit_chainhead h WHERE h.id = 1;
END;
$$;
"""
POSTGRESQL_REVERSE = "DROP FUNCTION IF EXISTS audit_lock_head();"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0017_actor_action_at_index")]

    operations = [migrations.RunPython(forwards, backwards)]
