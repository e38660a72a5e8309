"""The chain-head row is advanced by a trigger on every appended entry, so the application's
database role needs no UPDATE on it (deploy/postgresql-app-role.sql revokes UPDATE and DELETE
on the chain head and the verifications too, R40).

On PostgreSQL the trigger function runs as its owner (SECURITY DEFINER, with a fixed
search_path): the role that ran the migrations. SQLite has no roles; the same trigger keeps
the row in step there. (SQLite drops a table's triggers when Django rebuilds the table: a
later migration that alters audit_auditevent on SQLite must create this trigger again.)
"""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION audit_advance_head() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE audit_chainhead SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_advance_head() FROM PUBLIC;
CREATE TRIGGER audit_event_advances_head
    AFTER INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_advance_head();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_advances_head ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_advance_head();
"""
SQLITE = """
CREATE TRIGGER audit_event_advances_head AFTER INSERT ON audit_auditevent
BEGIN
    UPDATE audit_chainhead SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS audit_event_advances_head;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        sql = POSTGRESQL if vendor == "postgresql" else SQLITE
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        sql = POSTGRESQL_REVERSE if vendor == "postgresql" else SQLITE_REVERSE
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0014_action_column_without_choices")]

    operations = [migrations.RunPython(forwards, backwards)]
