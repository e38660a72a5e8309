"""The number of cases at each stage per organisation, kept by triggers (models.StageCount).

Three triggers on cases_case, on both engines: cases inserted count in, cases deleted count
out, and a case whose stage (or organisation) changes counts out of the old and into the
new. An UPDATE that leaves both as they were (every other save) touches no count.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

# On PostgreSQL, inserts and deletes are counted once per statement from its transition
# table: a bulk load or a restore of 100,000 cases updates each count once, not 100,000
# times (which also left as many dead versions of the same few rows). A stage change is
# counted per row (a column list, which a stage change needs, allows no transition table).
POSTGRESQL = """
CREATE OR REPLACE FUNCTION cases_count_in() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO cases_stagecount (organisation_id, stage, cases)
    SELECT organisation_id, stage, COUNT(*) FROM counted_in GROUP BY organisation_id, stage
    ON CONFLICT (organisation_id, stage)
    DO UPDATE SET cases = cases_stagecount.cases + EXCLUDED.cases;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION cases_count_out() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE cases_stagecount SET cases = cases_stagecount.cases - gone.n
    FROM (SELECT organisation_id, stage, COUNT(*) AS n FROM counted_out
          GROUP BY organisation_id, stage) AS gone
    WHERE cases_stagecount.organisation_id = gone.organisation_id
      AND cases_stagecount.stage = gone.stage;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION cases_count_moved() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE cases_stagecount SET cases = cases - 1
    WHERE organisation_id = OLD.organisation_id AND stage = OLD.stage;
    INSERT INTO cases_stagecount (organisation_id, stage, cases)
    VALUES (NEW.organisation_id, NEW.stage, 1)
    ON CONFLICT (organisation_id, stage) DO UPDATE SET cases = cases_stagecount.cases + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cases_case_counted_in AFTER INSERT ON cases_case
    REFERENCING NEW TABLE AS counted_in
    FOR EACH STATEMENT EXECUTE FUNCTION cases_count_in();
CREATE TRIGGER cases_case_counted_out AFTER DELETE ON cases_case
    REFERENCING OLD TABLE AS counted_out
    FOR EACH STATEMENT EXECUTE FUNCTION cases_count_out();
CREATE TRIGGER cases_case_counted_again AFTER UPDATE OF stage, organisation_id ON cases_case
    FOR EACH ROW
    WHEN (OLD.stage IS DISTINCT FROM NEW.stage
          OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
    EXECUTE FUNCTION cases_count_moved();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS cases_case_counted_in ON cases_case;
DROP TRIGGER IF EXISTS cases_case_counted_out ON cases_case;
DROP TRIGGER IF EXISTS cases_case_counted_again ON cases_case;
DROP FUNCTION IF EXISTS cases_count_in();
DROP FUNCTION IF EXISTS cases_count_out();
DROP FUNCTION IF EXISTS cases_count_moved();
"""
_SQLITE_IN = """
    INSERT INTO cases_stagecount (organisation_id, stage, cases)
    VALUES (NEW.organisation_id, NEW.stage, 1)
    ON CONFLICT (organisation_id, stage) DO UPDATE SET cases = cases + 1;
"""
_SQLITE_OUT = """
    UPDATE cases_stagecount SET cases = cases - 1
    WHERE organisation_id = OLD.organisation_id AND stage = OLD.stage;
"""
SQLITE = [
    f"CREATE TRIGGER cases_case_counted_in AFTER INSERT ON cases_case BEGIN {_SQLITE_IN} END;",
    f"CREATE TRIGGER cases_case_counted_out AFTER DELETE ON cases_case BEGIN {_SQLITE_OUT} END;",
    "CREATE TRIGGER cases_case_counted_again AFTER UPDATE OF stage, organisation_id"
    " ON cases_case"
    " WHEN OLD.stage IS NOT NEW.stage OR OLD.organisation_id IS NOT NEW.organisation_id"
    f" BEGIN {_SQLITE_OUT} {_SQLITE_IN} END;",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_case_counted_in;",
    "DROP TRIGGER IF EXISTS cases_case_counted_out;",
    "DROP TRIGGER IF EXISTS cases_case_counted_again;",
]
COUNT_EXISTING = """
INSERT INTO cases_stagecount (organisation_id, stage, cases)
SELECT organisation_id, stage, COUNT(*) FROM cases_case GROUP BY organisation_id, stage
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRESQL] if vendor == "postgresql" else SQLITE
    with schema_editor.connection.cursor() as cursor:
        for statement in [*statements, COUNT_EXISTING]:
            cursor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRESQL_REVERSE] if vendor == "postgresql" else SQLITE_REVERSE
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_retention"),
        ("cases", "0020_case_list_filter_and_deadline_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stage", models.PositiveSmallIntegerField()),
                ("cases", models.IntegerField(default=0)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organisation",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organisation", "stage"), name="stage_count_once"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
