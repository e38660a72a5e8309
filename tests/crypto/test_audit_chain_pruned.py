"""walk() over a log whose oldest entries were pruned: a pruned entry gives its kept leaf and
its stored hash, the tree is the same as before pruning, and a pruned entry anywhere but at
the start, or with a malformed leaf or hash, is damage."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.audit_chain import GENESIS, ChainBroken, Pruned, canonical, chain_hash, walk
from crypto.merkle import leaf_hash
from crypto.merkle import root as merkle_root


def log(count: int) -> list[tuple[int, str, str, dict[str, object]]]:
    rows, head = [], GENESIS
    for seq in range(1, count + 1):
        fields = {"seq": seq, "action": "login", "details": {"n": seq}}
        new = chain_hash(head, fields)
        rows.append((seq, head, new, fields))
        head = new
    return rows


def pruned(rows, upto: int):
    return [
        (seq, prev, stored, Pruned(leaf_hash(canonical(fields))) if seq <= upto else fields)
        for seq, prev, stored, fields in rows
    ]


@given(st.integers(min_value=1, max_value=40), st.data())
def test_pruning_a_prefix_changes_neither_the_heads_nor_the_tree(count, data):
    rows = log(count)
    upto = data.draw(st.integers(min_value=0, max_value=count))
    before = list(walk(rows))
    after = list(walk(pruned(rows, upto)))
    assert after == before
    assert merkle_root([leaf for *_, leaf in after]) == merkle_root([leaf for *_, leaf in before])


def test_a_pruned_entry_after_one_with_content_is_damage():
    rows: list[Any] = list(log(5))
    rows[2] = (*rows[2][:3], Pruned(leaf_hash(canonical(rows[2][3]))))
    with pytest.raises(ChainBroken) as broken:
        list(walk(rows))
    assert (broken.value.seq, broken.value.damage) == (3, "pruned out of order")


@pytest.mark.parametrize(
    ("leaf", "stored"),
    [(b"\x00" * 31, None), (b"\x00" * 33, None), (b"\x00" * 32, "XYZ"), (b"\x00" * 32, "A" * 64)],
)
def test_a_malformed_leaf_or_hash_is_damage(leaf, stored):
    rows = pruned(log(3), 1)
    seq, prev, hashed, _ = rows[0]
    rows[0] = (seq, prev, stored or hashed, Pruned(leaf))
    with pytest.raises(ChainBroken) as broken:
        list(walk(rows))
    assert broken.value.seq == 1


def test_the_next_entry_must_chain_to_the_pruned_entrys_stored_hash():
    rows = pruned(log(3), 1)
    seq, prev, _hashed, kept = rows[0]
    rows[0] = (seq, prev, hashlib.sha256(b"other").hexdigest(), kept)
    with pytest.raises(ChainBroken) as broken:
        list(walk(rows))
    assert (broken.value.seq, broken.value.damage) == (2, "reordered")
