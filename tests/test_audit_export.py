"""The exported checkpoints against a database-only attacker (finding 3 of issue 12): the
file kept off the host only ever grows, and the export refuses to sign or copy a log that
no longer extends what the file already holds."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from casework.audit.models import Action, AuditEvent
from casework.audit.services import record

pytestmark = pytest.mark.django_db


def fill(count):
    return [record(Action.LOGIN_FAILED, decision="deny", n=i) for i in range(count)]


def rewind(to):
    """What an attacker with the database alone does to hide the newest entries: delete
    them and every checkpoint, and set the chain head back to entry ``to``. On PostgreSQL
    the owner's TRUNCATE with the maintenance setting the test database has (the triggers
    refuse DELETE), then the older entries put back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE kept AS SELECT * FROM audit_auditevent WHERE seq <= %s", [to]
            )
            cursor.execute("TRUNCATE audit_auditevent, audit_checkpoint")
            cursor.execute("INSERT INTO audit_auditevent SELECT * FROM kept")
            cursor.execute("DROP TABLE kept")
        else:
            cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [to])
            cursor.execute("DELETE FROM audit_checkpoint")
        cursor.execute(
            "UPDATE audit_chainhead SET seq = %s, "
            "hash = (SELECT hash FROM audit_auditevent WHERE seq = %s)",
            [to, to],
        )


def export(path):
    call_command("audit_checkpoint", "--export", str(path))


def refused_alerts():
    return AuditEvent.objects.filter(action=Action.ALERT, details__kind="checkpoint_refused")


def test_the_export_refuses_a_log_shortened_since_the_last_export(tmp_path, capsys):
    fill(20)
    exported = tmp_path / "checkpoints.txt"
    export(exported)
    kept = exported.read_text()
    rewind(10)
    with pytest.raises(CommandError) as refused:
        export(exported)
    assert "\n" not in str(refused.value)
    assert "20" in str(refused.value)  # the size the file holds and the database lacks
    assert exported.read_text() == kept  # the evidence is still there
    alert = refused_alerts().get()
    assert alert.details["first_bad"] == 11


def test_the_export_refuses_a_shortened_log_that_grew_again(tmp_path):
    fill(20)
    exported = tmp_path / "checkpoints.txt"
    export(exported)
    kept = exported.read_text()
    rewind(10)
    fill(15)  # new entries 11..25: longer than the file's checkpoint, but not its extension
    with pytest.raises(CommandError):
        export(exported)
    assert exported.read_text() == kept
    assert refused_alerts().exists()


def test_verify_reports_truncation_when_the_file_holds_a_checkpoint_beyond_the_log(
    tmp_path, capsys
):
    fill(20)
    exported = tmp_path / "checkpoints.txt"
    export(exported)
    rewind(10)
    with pytest.raises(CommandError):
        export(exported)  # the next scheduled export, which used to overwrite the file
    capsys.readouterr()
    with pytest.raises(SystemExit) as failed:
        call_command("verify_audit", "--checkpoints", str(exported))
    assert failed.value.code == 1
    # The refusal's own alert became entry 11: the log now lacks entries from 12 on.
    err = capsys.readouterr().err
    assert "truncated at sequence number 12" in err
    assert "a signed checkpoint covers 20 entries but the log has 11" in err


def test_the_export_only_ever_appends(tmp_path):
    exported = tmp_path / "checkpoints.txt"
    fill(3)
    export(exported)
    first = exported.read_text()
    fill(4)
    export(exported)
    second = exported.read_text()
    assert second.startswith(first) and len(second) > len(first)
    export(exported)  # nothing new: nothing added
    assert exported.read_text() == second
    call_command("verify_audit", "--checkpoints", str(exported))


@pytest.mark.parametrize("held", [b"not a checkpoint\n", b"\xff\xfe binary\n"])
def test_the_export_refuses_a_file_whose_checkpoints_do_not_verify(tmp_path, held):
    fill(3)
    exported = tmp_path / "checkpoints.txt"
    exported.write_bytes(held)
    with pytest.raises(CommandError):
        export(exported)
    assert exported.read_bytes() == held
