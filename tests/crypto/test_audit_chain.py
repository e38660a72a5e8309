"""The pure hash chain and checkpoints: exact tamper localisation (R41) and signatures (R42)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.audit_chain import (
    GENESIS,
    ChainBroken,
    CheckpointError,
    canonical,
    chain_hash,
    key_id,
    new_signing_key,
    open_note,
    public_key_of,
    read_checkpoint,
    sign_checkpoint,
    sign_note,
    sign_tree_head,
    split_checkpoints,
    verify_checkpoint,
    verify_growth,
    verify_tree_head,
    walk,
)
from crypto.merkle import EMPTY_ROOT, consistency_proof, leaf_hash
from crypto.merkle import root as merkle_root

Entry = tuple[int, str, str, dict[str, Any]]


def build_log(n: int) -> list[Entry]:
    log, head = [], GENESIS
    for seq in range(1, n + 1):
        fields = {"seq": seq, "action": "case_viewed", "details": {"n": seq}}
        new = chain_hash(head, fields)
        log.append((seq, head, new, fields))
        head = new
    return log


def first_bad(log: list[Entry]) -> tuple[int, str] | None:
    try:
        for _ in walk(log):
            pass
    except ChainBroken as broken:
        return broken.seq, broken.damage
    return None


def modify(log: list[Entry], i: int) -> list[Entry]:
    seq, prev, stored, fields = log[i]
    changed = log.copy()
    changed[i] = (seq, prev, stored, {**fields, "action": "login"})
    return changed


def delete(log: list[Entry], i: int) -> list[Entry]:
    return log[:i] + log[i + 1 :]


def swap(log: list[Entry], i: int) -> list[Entry]:
    changed = log.copy()
    changed[i], changed[i + 1] = changed[i + 1], changed[i]
    return changed


def insert_forged(log: list[Entry], i: int) -> list[Entry]:
    """A forged entry that links correctly to its predecessor, the rest renumbered."""
    prev = log[i - 1][2] if i else GENESIS
    fields = {"seq": i + 1, "action": "login", "details": {}}
    forged = (i + 1, prev, chain_hash(prev, fields), fields)
    later = [(seq + 1, p, h, {**f, "seq": seq + 1}) for seq, p, h, f in log[i:]]
    return log[:i] + [forged] + later


def test_an_untouched_chain_walks_to_its_end():
    log = build_log(50)
    assert [seq for seq, _, _ in walk(log)] == list(range(1, 51))
    assert list(walk(log))[-1][1] == log[-1][2]
    # The same canonical bytes are the Merkle leaves (crypto/merkle.py).
    assert [leaf for _, _, leaf in walk(log)] == [leaf_hash(canonical(f)) for *_, f in log]


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_entry():
    fields = {"seq": 1, "b": "ж", "a": None}
    assert canonical(fields) == b'{"a":null,"b":"\\u0436","seq":1}'
    expected = hashlib.sha256(bytes.fromhex(GENESIS) + canonical(fields)).hexdigest()
    assert chain_hash(GENESIS, fields) == expected


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 1000),
    where=st.floats(0, 1, exclude_max=True),
    op=st.sampled_from(["modify", "delete", "swap"]),
)
def test_modify_delete_and_swap_are_found_at_their_exact_position(n, where, op):
    i = int(where * (n - 1))  # 0 .. n-2: every entry has a successor
    tampered = {"modify": modify, "delete": delete, "swap": swap}[op](build_log(n), i)
    found = first_bad(tampered)
    assert found is not None and found[0] == i + 1
    assert found[1] == {"modify": "altered", "delete": "missing", "swap": "missing"}[op]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 1000), where=st.floats(0, 1, exclude_max=True))
def test_a_forged_insertion_breaks_the_link_of_the_entry_after_it(n, where):
    i = int(where * n)
    # The forged entry is consistent with its predecessor by construction, so the first
    # inconsistent entry is its successor, whose stored link no longer matches.
    assert first_bad(insert_forged(build_log(n), i)) == (i + 2, "reordered")


def test_a_changed_stored_hash_is_an_altered_entry():
    log = build_log(5)
    seq, prev, _, fields = log[2]
    log[2] = (seq, prev, "ab" * 32, fields)
    assert first_bad(log) == (3, "altered")


def test_a_recomputed_chain_walks_clean_which_is_why_checkpoints_exist():
    log = modify(build_log(10), 3)
    head, rewritten = GENESIS, []
    for seq, _, _, fields in log:
        new = chain_hash(head, fields)
        rewritten.append((seq, head, new, fields))
        head = new
    assert first_bad(rewritten) is None
    assert rewritten[-1][2] != build_log(10)[-1][2]  # the signed head no longer matches


# --- checkpoints --------------------------------------------------------------------------


def exactly(message: str) -> str:
    """A pattern for pytest.raises that matches this message and nothing longer."""
    return "^" + re.escape(message) + "$"


# What a verifier says, and all it says: never which field or byte was wrong.
REFUSED = (
    "^(malformed checkpoint|checkpoint signature does not verify|not a casework audit checkpoint)$"
)
KEY = new_signing_key()
PUBLIC = public_key_of(KEY)


def test_a_checkpoint_round_trips():
    text = sign_checkpoint(KEY, origin="test", size=7, head="ab" * 32)
    checkpoint = verify_checkpoint(PUBLIC, text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.head) == ("test", 7, "ab" * 32)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("size: 7", "size: 8"),
        lambda t: t.replace("ab" * 32, "ac" * 32),
        lambda t: t.replace("origin: test", "origin: tesu"),
        lambda t: t.replace("casework-audit-checkpoint/1", "casework-audit-checkpoint/2"),
        lambda t: "garbage\n" + t,
        lambda t: t + "extra: line\n",
        lambda t: t.replace("signature: ", "signature: A"),
        lambda t: t.replace("size: 7", "size: \uff17"),  # a full-width digit seven
        lambda t: t.replace("size: 7", "size: +7"),
        lambda t: t.replace("size: 7", "size: 07"),
        lambda t: t.replace("origin: test", "origin: te\udcffst"),
    ],
)
def test_any_change_to_a_checkpoint_is_refused(change):
    text = sign_checkpoint(KEY, origin="test", size=7, head="ab" * 32)
    with pytest.raises(CheckpointError, match=REFUSED):
        verify_checkpoint(PUBLIC, change(text))


def test_a_checkpoint_signed_with_another_key_is_refused():
    text = sign_checkpoint(new_signing_key(), origin="test", size=7, head="ab" * 32)
    with pytest.raises(CheckpointError, match=exactly("checkpoint signature does not verify")):
        verify_checkpoint(PUBLIC, text)


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_the_checkpoint_parser_raises_nothing_but_checkpoint_error(text):
    with pytest.raises(CheckpointError):
        verify_checkpoint(PUBLIC, text)


def test_an_exported_file_splits_into_its_checkpoints():
    texts = [sign_checkpoint(KEY, origin="test", size=s, head="ab" * 32) for s in (1, 2, 3)]
    assert split_checkpoints("\n".join(texts)) == texts


def test_an_origin_with_a_newline_cannot_be_signed():
    with pytest.raises(ValueError):
        sign_checkpoint(KEY, origin="a\nsize: 1", size=7, head="ab" * 32)


def test_canonical_form_escapes_control_characters():
    fields = {"details": {"x": "a\nFAKE EVENT\u2028\x1b[31m"}}
    data = canonical(fields)
    assert b"\n" not in data and b"\x1b" not in data
    assert json.loads(data) == fields


# --- signed-note checkpoints (C2SP) -------------------------------------------------------------

# The example of golang.org/x/mod/sumdb/note, the reference implementation of signed notes:
# its Ed25519 key (0x01 || seed, 0x01 || public key), key id, text and exact signed note.
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_PUBLIC = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def test_signed_notes_match_the_reference_implementation_byte_for_byte():
    assert public_key_of(GO_SEED) == GO_PUBLIC
    assert key_id("PeterNeumann", GO_PUBLIC).hex() == "c74f20a3"
    assert sign_note(GO_SEED, name="PeterNeumann", text=GO_TEXT) == GO_NOTE
    assert open_note(GO_PUBLIC, GO_NOTE, name="PeterNeumann") == GO_TEXT


def test_a_tree_head_is_origin_size_and_base64_root_then_the_signature_line():
    text = sign_tree_head(KEY, origin="example.org/audit", size=8, root=ROOT)
    body = "example.org/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert text.startswith(body + "\n\u2014 example.org/audit ")
    blob = base64.b64decode(text.split(" ")[-1])
    assert blob[:4] == key_id("example.org/audit", PUBLIC) and len(blob) == 68
    checkpoint = verify_tree_head(PUBLIC, text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == ("example.org/audit", 8, ROOT)
    assert read_checkpoint(PUBLIC, text) == checkpoint


def test_a_witness_cosignature_is_ignored_and_ours_still_counts():
    text = sign_tree_head(KEY, origin="example.org/audit", size=8, root=ROOT)
    witness = sign_note(
        new_signing_key(), name="witness.example", text=text.split("\n\n")[0] + "\n"
    )
    cosigned = text + witness.split("\n\n")[1]
    assert verify_tree_head(PUBLIC, cosigned).size == 8
    only_theirs = text.split("\n\n")[0] + "\n\n" + witness.split("\n\n")[1]
    with pytest.raises(CheckpointError):
        verify_tree_head(PUBLIC, only_theirs)


def _tree_head() -> str:
    return sign_tree_head(KEY, origin="test", size=7, root=ROOT)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("\n7\n", "\n8\n"),
        lambda t: t.replace("\n7\n", "\n07\n"),
        lambda t: t.replace("\n7\n", "\n+7\n"),
        lambda t: t.replace("\n7\n", "\n\uff17\n"),  # a full-width digit seven
        lambda t: t.replace("\n7\n", "\n\n"),
        lambda t: t.replace("Xcna", "Xcnb"),
        lambda t: t.replace("=\n\n", "\n\n"),  # unpadded base64
        lambda t: t.replace("test\n", "tesu\n", 1),
        lambda t: t.replace("test\n", "te st\n", 1),
        lambda t: t.replace("test\n", "te\udcffst\n", 1),
        lambda t: "garbage\n" + t,
        lambda t: t.replace("\n\n", "\nextension\n\n"),
        lambda t: t.replace("\n\n", "\n"),
        lambda t: t + "\n",
        lambda t: t[:-1],
        lambda t: t.replace("\u2014 test ", "\u2014 test  "),
        lambda t: t.replace("\u2014 test ", "- test "),
        lambda t: t.replace("\u2014 test ", "\u2014 tesu "),  # another key's: ignored, none left
        lambda t: t.replace("\n", "\r\n"),
        lambda t: (
            t[: t.rindex(" ") + 5]
            + ("A" if t[t.rindex(" ") + 5] != "A" else "B")
            + t[t.rindex(" ") + 6 :]
        ),
        lambda t: t + t[t.index("\u2014") :].replace(t.split(" ")[-1][6:12], "AAAAAA"),
    ],
)
def test_any_change_to_a_tree_head_is_refused(change):
    text = _tree_head()
    with pytest.raises(CheckpointError, match=REFUSED):
        verify_tree_head(PUBLIC, change(text))


def test_a_tree_head_signed_with_another_key_is_refused():
    with pytest.raises(CheckpointError):
        verify_tree_head(PUBLIC, sign_tree_head(new_signing_key(), origin="t", size=1, root=ROOT))


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_the_tree_head_parser_raises_nothing_but_checkpoint_error(text):
    with pytest.raises(CheckpointError):
        read_checkpoint(PUBLIC, text)


def test_an_exported_file_of_both_formats_splits_into_its_checkpoints():
    legacy = sign_checkpoint(KEY, origin="test", size=1, head="ab" * 32)
    notes = [sign_tree_head(KEY, origin="test", size=s, root=EMPTY_ROOT) for s in (2, 3)]
    assert split_checkpoints("\n".join([legacy, *notes])) == [legacy, *notes]
    assert [read_checkpoint(PUBLIC, t).size for t in [legacy, *notes]] == [1, 2, 3]


@pytest.mark.parametrize("origin", ["", "a b", "a+b", "a\nb", "a\u00a0b"])
def test_an_origin_that_is_not_a_key_name_cannot_be_signed(origin):
    with pytest.raises(
        ValueError, match=exactly("the origin must be a key name: not empty, no spaces, no '+'")
    ):
        sign_tree_head(KEY, origin=origin, size=1, root=ROOT)


def test_a_malformed_signature_line_next_to_our_valid_one_rejects_the_note():
    text = _tree_head()
    ours = text[text.index("\u2014") :]
    for extra in [
        "\u2014 other AAAA\n",  # too short to hold a key id and a signature
        "\u2014 test  " + ours.split(" ")[-1],  # two spaces
        "x" + ours,  # something before the em dash
        "\u2014 other !!!!\n",  # not base64
        "\u2014 \n",
    ]:
        with pytest.raises(CheckpointError, match=exactly("malformed checkpoint")):
            verify_tree_head(PUBLIC, text + extra)


def test_a_five_byte_signature_of_another_key_is_ignored():
    text = _tree_head()
    other = base64.b64encode(b"\x00" * 5).decode()
    assert verify_tree_head(PUBLIC, text + f"\u2014 other {other}\n").size == 7


def test_a_bad_signature_of_ours_fails_the_note_with_that_reason():
    text = _tree_head()
    blob = base64.b64decode(text.split(" ")[-1])
    forged = base64.b64encode(blob[:4] + bytes(64)).decode()
    with pytest.raises(CheckpointError, match=exactly("checkpoint signature does not verify")):
        verify_tree_head(PUBLIC, text + f"\u2014 test {forged}\n")


@pytest.mark.parametrize(
    ("size", "root"), [(-1, ROOT), (1, ROOT[:31]), (1, ROOT + b"\x00"), (-1, b"")]
)
def test_a_tree_head_needs_a_size_and_a_32_byte_root(size, root):
    needs = exactly("a tree head needs a size >= 0 and a 32-byte root")
    with pytest.raises(ValueError, match=needs):
        sign_tree_head(KEY, origin="test", size=size, root=root)


def test_the_empty_log_has_a_tree_head_too():
    assert (
        verify_tree_head(PUBLIC, sign_tree_head(KEY, origin="t", size=0, root=EMPTY_ROOT)).size == 0
    )


@pytest.mark.parametrize("text", ["no newline", "a\n\nb\n", "a\x01\n", "\n"])
def test_a_note_is_lines_ending_in_newlines_none_empty(text):
    lines = exactly("a note's text is lines ending in newlines, none empty")
    with pytest.raises(ValueError, match=lines):
        sign_note(KEY, name="test", text=text)


def test_a_legacy_origin_must_be_one_line():
    with pytest.raises(ValueError, match=exactly("origin must be one non-empty line")):
        sign_checkpoint(KEY, origin="", size=7, head="ab" * 32)


def _growth(sizes):
    leaves = [leaf_hash(bytes([i])) for i in range(max(sizes))]
    heads = [
        sign_tree_head(KEY, origin="test", size=n, root=merkle_root(leaves[:n])) for n in sizes
    ]
    return leaves, heads


def test_a_witness_refuses_growth_without_a_proof_and_between_logs():
    leaves, (old, new) = _growth([5, 8])
    verify_growth(PUBLIC, old, new, consistency_proof(leaves, 5, 8))
    refused = exactly("the newer checkpoint does not extend the older one")
    with pytest.raises(CheckpointError, match=refused):
        verify_growth(PUBLIC, old, new, [])
    other = sign_tree_head(KEY, origin="another", size=8, root=merkle_root(leaves))
    with pytest.raises(CheckpointError, match=exactly("checkpoints of two different logs")):
        verify_growth(PUBLIC, old, other, consistency_proof(leaves, 5, 8))


def test_every_log_extends_the_empty_one_and_nothing_more_is_needed():
    leaves, (empty, new) = _growth([0, 3])
    assert verify_growth(PUBLIC, empty, new, []).size == 3
    with pytest.raises(CheckpointError):
        verify_growth(PUBLIC, empty, new, [leaves[0]])  # a proof from nothing proves nothing


def test_up_to_16_signature_lines_are_read_and_no_more():
    text = _tree_head()
    other = "\u2014 witness.example " + base64.b64encode(bytes(68)).decode() + "\n"
    assert verify_tree_head(PUBLIC, text + other * 15).size == 7
    with pytest.raises(CheckpointError, match=exactly("malformed checkpoint")):
        verify_tree_head(PUBLIC, text + other * 16)


def test_a_note_without_signature_lines_is_malformed():
    body = _tree_head().split("\n\n")[0] + "\n"
    with pytest.raises(CheckpointError, match=exactly("malformed checkpoint")):
        open_note(PUBLIC, body + "\n", name="test")


def test_a_signed_text_with_a_control_character_is_refused():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text = "bell\x07\n"
    signature = Ed25519PrivateKey.from_private_bytes(KEY).sign(text.encode())
    blob = base64.b64encode(key_id("test", PUBLIC) + signature).decode()
    with pytest.raises(CheckpointError, match=exactly("malformed checkpoint")):
        open_note(PUBLIC, f"{text}\n\u2014 test {blob}\n", name="test")


def test_an_entry_repeated_or_out_of_order_is_reordered_where_the_next_was_expected():
    log = build_log(3)
    assert first_bad([log[0], log[0], log[1]]) == (2, "reordered")
    assert first_bad([log[0], log[2], log[1]]) == (2, "missing")
