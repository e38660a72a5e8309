"""Pruning old entries (audit.pruning): a ``leaf`` column for the Merkle leaf hash a pruned
entry keeps, and on PostgreSQL a trigger that lets one kind of UPDATE through, the pruning
of an old entry's content, and still refuses every other UPDATE and every DELETE, for every
role. (The application's role has no UPDATE on the table at all: only the database owner
prunes, deploy/postgresql-app-role.sql.)

On SQLite the column is added without rebuilding the table, so the head trigger of 0015
stays; it is created again all the same should a rebuild have dropped it.
"""

from django.db import migrations, models

POSTGRESQL = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.leaf IS NULL AND NEW.leaf ~ '^[0-9a-f]{64}$'
        AND NEW.seq = OLD.seq AND NEW.at = OLD.at
        AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
        AND NEW.decision = OLD.decision
        AND OLD.at < now() - interval '365 days'
        AND NEW.action = 'pruned' AND NEW.actor_id IS NULL AND NEW.organisation_id IS NULL
        AND NEW.target_type = '' AND NEW.target_id = '' AND NEW.case_id IS NULL
        AND NEW.client = '' AND NEW.details = '{}'::jsonb
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""
SQLITE = """
CREATE TRIGGER IF NOT EXISTS audit_event_advances_head AFTER INSERT ON audit_auditevent
BEGIN
    UPDATE audit_chainhead SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRESQL if vendor == "postgresql" else SQLITE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRESQL_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0015_chain_head_advanced_by_trigger")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="leaf",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
