"""Audit entries older than the retention period lose their content (DOMAIN.md 4.4: two
years), and the log still verifies: every checkpoint signed before, the exported file's
consistency proof, a new checkpoint after. The attacker's moves come with it: a pruned
entry's kept leaf changed, a young entry "pruned" to hide it, a damaged log pruned to
launder it; each is caught or refused."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from casework.audit.models import Action, AuditEvent, Checkpoint
from casework.audit.services import record
from casework.audit.verification import sign_checkpoint, verify_chain
from casework.cases import services
from tests.test_audit_log import behind_the_orms_back

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=3 * 365)


@pytest.fixture
def log(caseworker, tmp_path):
    """Entries from three years ago (a case with a note), a checkpoint exported then, and
    today's entries; a checkpoint over all of it, exported too."""
    with time_machine.travel(LONG_AGO, tick=True):
        old_case = services.case_create(
            actor=caseworker, applicant_fields={"legal_name_latin": "OLD CASE"}
        )
        services.note_add(actor=caseworker, case=old_case, text="an old note")
        old = AuditEvent.objects.count()
        sign_checkpoint()
    new_case = services.case_create(
        actor=caseworker, applicant_fields={"legal_name_latin": "NEW CASE"}
    )
    sign_checkpoint()
    exported = tmp_path / "audit-checkpoints.txt"
    # As audit_checkpoint --export writes it: one blank line between checkpoints.
    exported.write_text("\n".join(c.text for c in Checkpoint.objects.order_by("size")))
    return {"old": old, "old_case": old_case, "new_case": new_case, "exported": exported}


def prune(**options) -> str:
    out = io.StringIO()
    call_command("prune_audit", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_old_entries_lose_their_content_and_the_log_still_verifies(log, caseworker):
    before = {e.seq: (e.hash, e.prev_hash, e.at) for e in AuditEvent.objects.all()}
    assert prune(dry_run=True).startswith(f"Dry run: {log['old']} audit entries")

    assert f"Pruned {log['old']} audit entries" in prune()

    pruned = AuditEvent.objects.filter(seq__lte=log["old"])
    assert {e.action for e in pruned} == {Action.PRUNED}
    for entry in pruned:
        assert (entry.actor_id, entry.organisation_id, entry.case_id) == (None, None, None)
        assert (entry.target_type, entry.target_id, entry.client, entry.details) == ("", "", "", {})
        assert len(entry.leaf) == 64
        assert (entry.hash, entry.prev_hash, entry.at) == before[entry.seq]
    assert not AuditEvent.objects.filter(case_id=log["old_case"].pk).exists()
    # Today's entries keep everything.
    assert AuditEvent.objects.filter(case_id=log["new_case"].pk, actor_id=caseworker.pk).exists()
    # The checkpoints signed before, the exported file's consistency proof, a new checkpoint.
    result = verify_chain(log["exported"].read_text())
    assert result.ok, result.message
    sign_checkpoint()
    assert verify_chain(log["exported"].read_text()).ok
    run = AuditEvent.objects.filter(action=Action.AUDIT_PRUNED).get()
    assert run.details == {"pruned": log["old"], "pruned_upto": log["old"], "older_than_days": 730}
    # A second run finds nothing to do.
    assert "Pruned 0 audit entries" in prune()


def test_a_changed_leaf_of_a_pruned_entry_breaks_the_signed_checkpoint(log):
    prune()
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET leaf = %s WHERE seq = 1", ["ab" * 32])
    result = verify_chain()
    assert not result.ok and result.damage == "bad checkpoint"


def test_a_young_entry_pruned_behind_the_applications_back_is_damage(log):
    prune()
    newest = AuditEvent.objects.latest("seq").seq
    with behind_the_orms_back() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET leaf = %s, details = '{}' WHERE seq = %s",
            ["cd" * 32, newest],
        )
    result = verify_chain()
    assert (result.ok, result.first_bad, result.damage) == (False, newest, "pruned early")


def test_an_entry_pruned_after_one_with_content_is_damage(log):
    # Pruned entries only ever open the log: one in the middle hides what was there.
    assert log["old"] >= 2
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET leaf = %s WHERE seq = 2", ["ef" * 32])
    result = verify_chain()
    assert (result.ok, result.first_bad, result.damage) == (False, 2, "pruned out of order")


def test_a_damaged_log_is_not_pruned(log):
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET decision = 'deny' WHERE seq = 2")
    with pytest.raises(CommandError) as refused:
        prune()
    assert str(refused.value).startswith("refused: the audit log does not verify (altered")
    assert not AuditEvent.objects.exclude(leaf=None).exists()


def test_the_retention_setting_is_honoured(log, settings):
    settings.CASEWORK_AUDIT_RETENTION_DAYS = 4 * 365
    assert "Pruned 0 audit entries" in prune()
    assert not AuditEvent.objects.exclude(leaf=None).exists()


@pytest.mark.parametrize(
    "statement",
    [
        # the pruning shape, on an entry that is not old enough
        "UPDATE audit_auditevent SET leaf = repeat('a', 64), action = 'pruned', actor_id = NULL,"
        " organisation_id = NULL, target_type = '', target_id = '', case_id = NULL,"
        " client = '', details = '{}' WHERE seq = (SELECT max(seq) FROM audit_auditevent)",
        # an old entry, but its hash changed too
        "UPDATE audit_auditevent SET leaf = repeat('a', 64), action = 'pruned', actor_id = NULL,"
        " organisation_id = NULL, target_type = '', target_id = '', case_id = NULL,"
        " client = '', details = '{}', hash = repeat('0', 64) WHERE seq = 1",
        # an old entry's content changed, not removed
        "UPDATE audit_auditevent SET details = '{\"x\": 1}' WHERE seq = 1",
        "DELETE FROM audit_auditevent WHERE seq = 1",
    ],
)
def test_postgresql_lets_through_only_the_pruning_of_an_old_entry(log, statement):
    if connection.vendor != "postgresql":
        pytest.skip("database triggers are PostgreSQL's; CI runs this there (R40, R66)")
    count = AuditEvent.objects.count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert (
        AuditEvent.objects.count() == count and not AuditEvent.objects.exclude(leaf=None).exists()
    )
    # The pruning itself goes through (the tests connect as the database owner).
    prune()
    assert AuditEvent.objects.exclude(leaf=None).count() == log["old"]


def test_pruned_entries_are_listed_as_such_and_hold_nothing(log, caseworker):
    prune()
    text = str(list(AuditEvent.objects.filter(seq__lte=log["old"]).values()))
    for secret in (caseworker.username, str(caseworker.pk), log["old_case"].code, "OLD CASE"):
        assert secret not in text
    record(Action.LOGIN, actor=caseworker)  # the log goes on
    assert verify_chain().ok
