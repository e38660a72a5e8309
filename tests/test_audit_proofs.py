"""The audit log as a Merkle tree (R41-R43): signed C2SP checkpoints, inclusion proofs for
entries and consistency proofs between checkpoints, so that a witness holding only the last
exported checkpoint can check that the log only grew."""

from __future__ import annotations

import base64

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casework.audit.models import AuditEvent, Checkpoint
from casework.audit.signing import public_key
from casework.audit.verification import sign_checkpoint, verify_chain
from crypto.audit_chain import (
    CheckpointError,
    canonical,
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
