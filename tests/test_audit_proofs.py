"""The audit log as a Merkle tree (R41-R43): signed C2SP checkpoints, inclusion proofs for
entries and consistency proofs between checkpoints, so that a witness holding only the last
exported checkpoint can check that the log only grew."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casework.audit.models import Action, AuditEvent, Checkpoint
from casework.audit.services import record
from casework.audit.signing import public_key
from casework.audit.verification import (
    VerificationResult,
    sign_checkpoint,
    verify_and_record,
    verify_chain,
)
from crypto.audit_chain import (
    CheckpointError,
    canonical,
    new_signing_key,
    split_checkpoints,
    verify_growth,
    verify_tree_head,
)
from crypto.merkle import ProofError, leaf_hash, root, verify_consistency, verify_inclusion
from tests.test_audit_export import export, fill, rewind

pytestmark = pytest.mark.django_db


def proof_lines(capsys, *args):
    capsys.readouterr()
    call_command("audit_proof", *[str(a) for a in args])
    fields: dict[str, list[str]] = {}
    for line in capsys.readouterr().out.splitlines():
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value)
    return fields


def hashes(fields, name="proof"):
    return [base64.b64decode(value) for value in fields.get(name, [])]


def test_a_checkpoint_is_a_signed_tree_head_of_the_entries():
    fill(13)
    checkpoint = sign_checkpoint().checkpoint
    head = verify_tree_head(public_key(), checkpoint.text)
    leaves = [leaf_hash(canonical(e.canonical_fields())) for e in AuditEvent.objects.all()]
    assert (head.origin, head.size, head.root) == ("safe-passage-casework", 13, root(leaves))
    assert checkpoint.head == AuditEvent.objects.get(seq=13).hash  # the chain head, kept too


def test_an_inclusion_proof_shows_an_entry_is_in_a_signed_checkpoint(capsys):
    fill(21)
    signed = verify_tree_head(public_key(), sign_checkpoint().checkpoint.text)
    fill(3)  # later entries change nothing: the proof is for the signed size
    fields = proof_lines(capsys, "--inclusion", 6)
    entry = AuditEvent.objects.get(seq=6)
    leaf = leaf_hash(canonical(entry.canonical_fields()))  # recomputed by the auditor
    assert fields["tree size"] == ["21"] and hashes(fields, "leaf hash") == [leaf]
    verify_inclusion(leaf, 5, 21, hashes(fields), signed.root)


def test_a_witness_holding_only_the_last_exported_checkpoint_sees_the_log_only_grew(
    tmp_path, capsys
):
    exported = tmp_path / "checkpoints.txt"
    fill(10)
    export(exported)
    held = split_checkpoints(exported.read_text())[-1]  # all the witness keeps
    fill(7)
    export(exported)
    new = split_checkpoints(exported.read_text())[-1]
    fields = proof_lines(capsys, "--consistency", 10, 17)
    assert verify_growth(public_key(), held, new, hashes(fields)).size == 17
    with pytest.raises(CheckpointError):  # the same proof cannot link other sizes
        verify_growth(public_key(), held, new, hashes(fields)[1:])


def test_a_log_shortened_and_grown_again_has_no_consistency_proof_from_the_exported_one(
    tmp_path, capsys
):
    exported = tmp_path / "checkpoints.txt"
    fill(20)
    export(exported)
    held = verify_tree_head(public_key(), split_checkpoints(exported.read_text())[-1])
    rewind(10)
    fill(15)
    fields = proof_lines(capsys, "--consistency", 20, 25)
    with pytest.raises(ProofError):
        verify_consistency(20, 25, held.root, hashes(fields, "new root")[0], hashes(fields))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        call_command("verify_audit", "--checkpoints", str(exported))
    assert "inconsistent at sequence number 20" in capsys.readouterr().err


def test_verify_checks_the_newest_exported_checkpoint_by_a_consistency_proof(tmp_path):
    exported = tmp_path / "checkpoints.txt"
    fill(9)
    export(exported)
    fill(4)
    result = verify_chain(exported.read_text())
    assert result.ok and result.checked == 13


def test_checkpoints_signed_before_the_tree_still_verify(tmp_path):
    """Checkpoints of the first format (the chain head, casework-audit-checkpoint/1) in the
    database or an exported file keep verifying next to the signed tree heads."""
    from casework.audit.signing import signing_key
    from crypto.audit_chain import sign_checkpoint as sign_legacy

    fill(5)
    head = AuditEvent.objects.get(seq=5).hash
    legacy = sign_legacy(signing_key(), origin="safe-passage-casework", size=5, head=head)
    Checkpoint.objects.create(size=5, head=head, text=legacy)
    exported = tmp_path / "checkpoints.txt"
    exported.write_text(legacy)
    fill(3)
    export(exported)
    assert [
        c.startswith("casework-audit-checkpoint/1") for c in split_checkpoints(exported.read_text())
    ] == [True, False]
    assert verify_chain(exported.read_text()).ok
    forged = sign_legacy(signing_key(), origin="safe-passage-casework", size=5, head="ab" * 32)
    assert verify_chain(forged).damage == "equivocation"


def test_a_proof_of_a_damaged_log_is_refused(capsys):
    fill(6)
    from tests.test_audit_log import behind_the_orms_back

    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET decision = 'allow' WHERE seq = 3")
    with pytest.raises(CommandError, match="damaged"):
        call_command("audit_proof", "--inclusion", "5")
    with pytest.raises(CommandError, match="no entry"):
        call_command("audit_proof", "--inclusion", "9", "--size", "6")


def test_a_witness_gets_the_old_root_it_holds_and_the_new_one(tmp_path, capsys):
    exported = tmp_path / "checkpoints.txt"
    fill(6)
    export(exported)
    fill(5)
    export(exported)
    old, new = (verify_tree_head(public_key(), t) for t in split_checkpoints(exported.read_text()))
    fields = proof_lines(capsys, "--consistency", 6, 11)
    assert fields["old size"] == ["6"] and fields["new size"] == ["11"]
    assert hashes(fields, "old root") == [old.root] and hashes(fields, "new root") == [new.root]


def test_an_export_of_the_empty_log_and_of_one_entry_verify_as_the_log_grows(tmp_path):
    exported = tmp_path / "checkpoints.txt"
    export(exported)  # a tree head of 0 entries
    assert verify_chain(exported.read_text()).ok
    fill(1)
    assert verify_chain(exported.read_text()).ok  # every log extends the empty one
    export(exported)  # and one of 1 entry
    fill(4)
    result = verify_chain(exported.read_text())
    assert (result.ok, result.checked) == (True, 5)
    sizes = [
        verify_tree_head(public_key(), t).size for t in split_checkpoints(exported.read_text())
    ]
    assert sizes == [0, 1]


def test_an_empty_log_verifies():
    result = verify_chain()
    assert (result.ok, result.checked, result.first_bad, result.damage) == (True, 0, None, "")


def test_a_signed_empty_log_that_is_not_empty_is_a_bad_checkpoint():
    from casework.audit.signing import signing_key
    from crypto.audit_chain import sign_tree_head

    forged = sign_tree_head(signing_key(), origin="safe-passage-casework", size=0, root=bytes(32))
    assert verify_chain(forged).damage == "inconsistent"  # the file's: checked as a witness
    Checkpoint.objects.create(size=0, head="0" * 64, text=forged)  # the database's
    result = verify_chain()
    assert result == VerificationResult(
        False, 0, 0, "bad checkpoint", "a signed empty log is not empty"
    )


def test_a_legacy_checkpoint_whose_head_the_chain_no_longer_gives_is_found():
    from casework.audit.signing import signing_key
    from crypto.audit_chain import sign_checkpoint as sign_legacy

    fill(6)
    stale = sign_legacy(signing_key(), origin="safe-passage-casework", size=4, head="ab" * 32)
    result = verify_chain(stale)
    assert (result.ok, result.checked, result.first_bad, result.damage) == (
        False,
        4,
        4,
        "bad checkpoint",
    )
    assert result.message == "entry 4 does not match its signed checkpoint"


def test_damage_and_inconsistency_are_explained(tmp_path):
    exported = tmp_path / "checkpoints.txt"
    fill(8)
    export(exported)
    rewind(4)
    fill(6)
    result = verify_chain(exported.read_text())
    assert result.message == "no consistency proof from the exported checkpoint of 8 entries"
    assert (result.checked, result.first_bad) == (10, 8)
    from tests.test_audit_log import behind_the_orms_back

    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET decision = 'allow' WHERE seq = 3")
    broken = verify_chain()
    assert (broken.checked, broken.message) == (2, "altered entry at sequence number 3")


def test_progress_is_reported_every_so_many_entries(monkeypatch):
    monkeypatch.setattr("casework.audit.verification.PROGRESS_EVERY", 3)
    fill(10)
    seen: list[int] = []
    assert verify_and_record(None, seen.append).ok
    assert seen == [3, 6, 9]


def test_a_verification_is_recorded_with_who_asked_from_where(rf, auditor):
    fill(2)
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    verify_and_record(actor=auditor, request=request)
    entry = AuditEvent.objects.get(action="audit_verified")
    assert (entry.actor_id, entry.client) == (auditor.pk, "203.0.113.0/24")
    assert entry.details == {"checked": 2, "first_bad": None, "damage": ""}


def test_a_failed_verification_alerts_with_who_asked_from_where(rf, auditor):
    fill(2)
    from tests.test_audit_log import behind_the_orms_back

    with behind_the_orms_back() as cursor:
        cursor.execute("UPDATE audit_auditevent SET decision = 'allow' WHERE seq = 2")
    verify_and_record(actor=auditor, request=rf.get("/", REMOTE_ADDR="203.0.113.9"))
    alert = AuditEvent.objects.get(action="alert")
    assert (alert.actor_id, alert.client) == (auditor.pk, "203.0.113.0/24")
    assert alert.details == {
        "kind": "verification_failed",
        "checked": 1,
        "first_bad": 2,
        "damage": "altered",
    }


def test_several_checkpoints_are_appended_at_once_each_on_its_own(tmp_path):
    for _ in range(3):
        fill(1)
        sign_checkpoint()  # signed, not yet exported: checkpoints at 1, 2 and 3
    exported = tmp_path / "checkpoints.txt"
    done = sign_checkpoint(export=exported)
    texts = [c.text for c in Checkpoint.objects.order_by("size")]
    assert done.appended == 3 and exported.read_text() == "\n".join(texts)
    assert sign_checkpoint().appended == 0


def test_an_export_to_somewhere_unwritable_is_refused_in_one_line(tmp_path):
    fill(1)
    with pytest.raises(CommandError, match="cannot export to"):
        export(tmp_path)  # a directory


def test_entries_with_ids_and_on_a_whole_second_verify_as_the_model_hashes_them(caseworker):
    """The verifier reads the stored columns back as text (32 hex digits for a UUID and no
    fraction for a whole second on SQLite) and must give the canonical form the model
    hashed when the entry was written."""
    import datetime

    import time_machine

    case = uuid.uuid4()
    with time_machine.travel(datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)):
        record(Action.CASE_VIEWED, actor=caseworker, case_id=case, target=caseworker)
    record(Action.CASE_VIEWED, actor=caseworker, case_id=case, n=1)
    result = verify_chain()
    assert (result.ok, result.checked) == (True, 2)


def test_a_checkpoint_that_does_not_verify_stops_verification_at_once():
    fill(3)
    forged = sign_checkpoint_with(new_signing_key(), size=3)
    result = verify_chain(forged)
    assert result == VerificationResult(
        False, 0, None, "bad checkpoint signature", "checkpoint signature does not verify"
    )


def test_equivocation_names_the_size_and_nothing_is_walked():
    from casework.audit.signing import signing_key

    fill(4)
    sign_checkpoint()
    other = sign_checkpoint_with(signing_key(), size=4)
    assert verify_chain(other) == VerificationResult(
        False, 0, 4, "equivocation", "two checkpoints disagree about entry 4"
    )


def sign_checkpoint_with(key, *, size):
    from crypto.audit_chain import sign_tree_head

    return sign_tree_head(key, origin="safe-passage-casework", size=size, root=bytes(32))
