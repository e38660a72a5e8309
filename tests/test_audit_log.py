"""The audit log against someone with database access: every tamper is found and placed."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse

from casework.audit import services as audit_services
from casework.audit.models import Action, AppendOnlyError, AuditEvent, Checkpoint
from casework.audit.services import record
from casework.audit.signing import signing_key
from casework.audit.verification import sign_checkpoint, verify_and_record, verify_chain
from crypto.audit_chain import chain_hash, new_signing_key, sign_tree_head
from tests.canaries import CANARIES, find_canaries
from tests.conftest import login_verified, make_user
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def fill(count, actor=None):
    return [record(Action.LOGIN_FAILED, actor=actor, decision="deny", n=i) for i in range(count)]


@contextmanager
def behind_the_orms_back():
    """The attacker's own SQL session; on PostgreSQL a superuser first disables the trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
                cursor.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER USER")


def signed_every(every, count):
    """``count`` entries with a checkpoint signed after each ``every`` of them, as the
    scheduled audit_checkpoint does."""
    for _ in range(count // every):
        fill(every)
        sign_checkpoint()
    fill(count % every)


def test_an_untouched_log_verifies():
    signed_every(7, 30)
    result = verify_chain()
    assert result.ok and result.checked == 30
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [7, 14, 21, 28]


def test_appending_an_entry_signs_nothing():
    """The web process appends; only audit_checkpoint, run as the signer, signs."""
    fill(250)
    assert not Checkpoint.objects.exists()


@pytest.mark.parametrize("k", [1, 5, 10])
def test_a_changed_field_is_found_at_its_entry(k):
    fill(10)
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET decision = 'allow' WHERE seq = %s", [k])
    result = verify_chain()
    assert (result.ok, result.first_bad, result.damage) == (False, k, "altered")


@pytest.mark.parametrize("k", [1, 4, 9])
def test_a_deleted_entry_is_found_at_its_position(k):
    fill(10)
    with behind_the_orms_back() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [k])
    result = verify_chain()
    assert (result.ok, result.first_bad, result.damage) == (False, k, "missing")


def test_two_swapped_entries_are_found():
    fill(10)
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET seq = -1 WHERE seq = 4")
        cursor.execute("UPDATE audit_auditevent SET seq = 4 WHERE seq = 5")
        cursor.execute("UPDATE audit_auditevent SET seq = 5 WHERE seq = -1")
    result = verify_chain()
    assert not result.ok and result.first_bad == 4


def test_a_rewritten_chain_with_recomputed_hashes_fails_its_signed_checkpoint():
    signed_every(5, 12)
    # The attacker changes entry 3 and recomputes every hash after it: the chain is
    # self-consistent again, but no longer matches the checkpoint signed at entry 5.
    events = list(AuditEvent.objects.order_by("seq"))
    head = "0" * 64
    with behind_the_orms_back() as cursor:
        for event in events:
            fields = event.canonical_fields()
            if event.seq == 3:
                fields["decision"] = "allow"
            new = chain_hash(head, fields)
            cursor.execute(
                "UPDATE audit_auditevent SET decision = %s, prev_hash = %s, hash = %s "
                "WHERE seq = %s",
                [fields["decision"], head, new, event.seq],
            )
            head = new
    result = verify_chain()
    assert (result.ok, result.first_bad, result.damage) == (False, 5, "bad checkpoint")


def test_a_forged_checkpoint_does_not_verify(settings):
    fill(3)
    forged = sign_tree_head(new_signing_key(), origin="x", size=3, root=bytes(32))
    with behind_the_orms_back() as cursor:
        cursor.execute(
            "INSERT INTO audit_checkpoint (size, head, text, created_at) "
            "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)",
            [3, "0" * 64, forged],
        )
    result = verify_chain()
    assert not result.ok and result.damage == "bad checkpoint signature"


def test_truncating_the_log_fails_against_an_exported_checkpoint(settings, tmp_path):
    fill(20)
    exported = tmp_path / "checkpoints.txt"
    call_command("audit_checkpoint", "--export", str(exported))
    with behind_the_orms_back() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > 10")
        cursor.execute("DELETE FROM audit_checkpoint")
        cursor.execute("UPDATE audit_chainhead SET seq = 10")
    assert verify_chain().ok  # inside the database everything looks consistent...
    result = verify_chain(exported.read_text())  # ...but not against what was kept outside
    assert not result.ok and result.first_bad == 11 and result.damage == "truncated"


def test_two_checkpoints_with_the_same_size_and_different_roots_raise_equivocation():
    fill(4)
    sign_checkpoint()
    other = sign_tree_head(signing_key(), origin="safe-passage-casework", size=4, root=bytes(32))
    result = verify_chain(other)
    assert not result.ok and result.damage == "equivocation"


def test_the_orm_refuses_to_change_or_delete_entries():
    (event,) = fill(1)
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(decision="allow")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET decision = 'allow'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_checkpoint SET head = 'x'",
    ],
)
def test_postgresql_refuses_update_and_delete_even_for_the_owner(statement):
    if connection.vendor != "postgresql":
        pytest.skip("database triggers are PostgreSQL's; CI runs this there (R40, R66)")
    fill(5)
    sign_checkpoint()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 5


def test_postgresql_refuses_truncate_outside_maintenance():
    if connection.vendor != "postgresql":
        pytest.skip("database triggers are PostgreSQL's; CI runs this there (R40, R66)")
    fill(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL casework.audit_maintenance = 'off'")
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 2


def _app_role_statements(role):
    script = (ROOT / "deploy" / "postgresql-app-role.sql").read_text()
    lines = [line for line in script.splitlines() if line and not line.startswith("--")]
    statements = " ".join(lines).replace("casework_app", role).split(";")
    return [statement.strip() for statement in statements if statement.strip()]


# Every table of the audit app, and what the application's role must never do to it.
CHANGES = {
    "audit_auditevent": "UPDATE audit_auditevent SET decision = 'allow'",
    "audit_checkpoint": "UPDATE audit_checkpoint SET head = 'x'",
    "audit_verification": "UPDATE audit_verification SET ok = true",
    "audit_chainhead": "UPDATE audit_chainhead SET seq = 0",
}
REFUSED = [
    pytest.param(table, statement, id=f"{table}: {statement.split()[0]}")
    for table, update in CHANGES.items()
    for statement in (update, f"DELETE FROM {table}", f"TRUNCATE {table}")  # noqa: S608
]


def test_every_audit_table_is_checked_against_the_app_role():
    from django.apps import apps

    tables = {model._meta.db_table for model in apps.get_app_config("audit").get_models()}
    assert tables == set(CHANGES)


@contextmanager
def as_the_app_role():
    """The test's connection as a scratch role given exactly deploy/postgresql-app-role.sql."""
    role = f"casework_app_test_{uuid.uuid4().hex[:8]}"  # created in the test's transaction
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        for granted in _app_role_statements(role):
            cursor.execute(granted)
        cursor.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.mark.parametrize(("table", "statement"), REFUSED)
def test_the_deployed_app_role_may_append_but_not_change_the_log(table, statement):
    """The privilege is refused, not the row: the triggers raise the same SQLSTATE (42501) for
    UPDATE and DELETE, so only the message tells a missing REVOKE from a firing trigger."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles are PostgreSQL's; CI runs this there (R40, R66)")
    with as_the_app_role():
        fill(3)  # the application's own appends work as that role,
        verify_and_record()  # its verifications from the auditors' page,
        sign_checkpoint()  # and the signer's checkpoint, connecting with the same grants
        assert Checkpoint.objects.filter(size=4).exists()
        with (
            pytest.raises(DatabaseError) as refused,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege
    assert str(refused.value).startswith(f"permission denied for table {table}")
    assert AuditEvent.objects.count() == 4  # three entries and the verification's


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; CI runs this there (R66)")
    errors = []

    def writer(number):
        try:
            for i in range(200):
                with transaction.atomic():
                    record(Action.LOGIN_FAILED, decision="deny", writer=number, i=i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEvent.objects.values_list("seq", flat=True))
    assert len(seqs) == len(set(seqs)) == 1600
    result = verify_chain()
    assert result.ok and result.checked == 1600


def test_an_action_whose_audit_entry_fails_does_not_happen(client, organisation, monkeypatch):
    from casework.accounts.roles import Role

    admin = make_user(organisation=organisation, role=Role.ORG_ADMIN)
    target = make_user(organisation=organisation, role=Role.CASEWORKER)
    login_verified(client, admin)

    def broken_insert(cursor, event, returning):
        raise DatabaseError("audit storage is full")

    monkeypatch.setattr(audit_services, "_insert", broken_insert)
    response = client.post(reverse("admin_role", args=[target.pk]), {"role": "coordinator"})
    assert response.status_code == 503
    assert [role.value for role in target.roles] == ["caseworker"]


def test_entries_hold_no_plaintext_of_encrypted_fields(organisation):
    applicant = make_applicant(
        organisation, legal_name_latin=CANARIES[0], legal_name_cyrillic=CANARIES[10]
    )
    call_command("erase_applicant", str(applicant.pk))
    call_command("rotate_keys", "--new-kek")
    rows = list(AuditEvent.objects.values_list("details", "target_id", "target_type"))
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "erasure",
        "keys_rotated",
    }
    assert find_canaries(repr(rows).encode("utf-8")) == []


def test_verify_audit_exits_0_when_intact_and_1_with_the_first_bad_position(capsys):
    fill(6)
    call_command("verify_audit")
    assert "Audit log intact: 6 entries verified." in capsys.readouterr().out
    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET client = '10.0.0.0/24' WHERE seq = 2")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    assert "altered at sequence number 2" in capsys.readouterr().err
    from casework.audit.models import Verification

    latest = Verification.objects.first()
    assert latest is not None and not latest.ok and latest.first_bad == 2


def test_an_auditor_can_recompute_the_chain_with_a_few_lines_of_independent_code():
    """SECURITY.md documents the canonical form; this re-implements it from the text alone."""
    fill(5)
    code = (
        "import hashlib, json, sys\n"
        "head = '0' * 64\n"
        "for line in sys.stdin:\n"
        "    fields, stored = json.loads(line)\n"
        "    data = json.dumps(fields, sort_keys=True, separators=(',', ':'), ensure_ascii=True)\n"
        "    head = hashlib.sha256(bytes.fromhex(head) + data.encode()).hexdigest()\n"
        "    assert head == stored, fields['seq']\n"
        "print(head)\n"
    )
    import json

    lines = "".join(
        json.dumps([e.canonical_fields(), e.hash]) + "\n"
        for e in AuditEvent.objects.order_by("seq")
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=lines, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == AuditEvent.objects.order_by("-seq").first().hash


def test_a_crafted_username_is_one_entry_and_forges_no_log_line(client, organisation, caplog):
    """R45: newlines, ANSI escapes and U+2028 in input cannot make a second event or line."""
    crafted = "a\nFAKE EVENT login ok\x1b[2J\u2028b"
    before = AuditEvent.objects.count()
    client.post(reverse("login"), {"username": crafted, "password": "wrong password here"})
    new = list(AuditEvent.objects.filter(seq__gt=before))
    assert [e.action for e in new] == [Action.LOGIN_FAILED]
    assert crafted not in str(new[0].details)  # the username is not written at all
    assert not any(line.startswith("FAKE EVENT") for line in caplog.text.splitlines())
    assert "\x1b" not in caplog.text


@pytest.mark.parametrize(
    ("remote", "forwarded", "seen"),
    [
        ("203.0.113.9", "198.51.100.7", "203.0.113.0/24"),  # not a trusted proxy: ignored
        ("127.0.0.1", "198.51.100.7", "198.51.100.0/24"),  # the proxy's own entry
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.0/24"),  # forged left part ignored
        ("127.0.0.1", "198.51.100.7, 127.0.0.1", "198.51.100.0/24"),  # chained trusted proxies
        ("127.0.0.1", "", "127.0.0.0/24"),
    ],
)
def test_the_client_network_is_the_proxys_view_never_the_clients_claim(
    rf, settings, remote, forwarded, seen
):
    from casework.audit.services import client_prefix

    settings.CASEWORK_TRUSTED_PROXIES = frozenset({"127.0.0.1"})
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_prefix(request) == seen
