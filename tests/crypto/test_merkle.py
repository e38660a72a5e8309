"""The audit log's Merkle tree (R41, R43): RFC 9162 hashing and proofs, checked against the
Certificate Transparency reference vectors and refused when tampered with in every way the
transparency-dev/merkle test generator tampers with them."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.merkle import (
    EMPTY_ROOT,
    ProofError,
    Tree,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    root,
    subtree_hashes,
    verify_consistency,
    verify_inclusion,
)

# The reference test data of Certificate Transparency (RFC 6962), as kept by
# transparency-dev/merkle (testonly/constants.go, cmd/proofgen/main.go): eight leaf inputs,
# the root of each prefix, and inclusion and consistency proofs over them.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # empty
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (first size, second size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]
# The only reasons a verifier gives: nothing says which check failed.
REFUSED = (
    r"^(inclusion proof does not verify|consistency proof does not verify"
    r"|a hash of the wrong length)$"
)
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def rooted(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size])


def unhex(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in proof]


def test_leaf_and_node_hashes_are_domain_separated_as_rfc_9162_says():
    assert leaf_hash(b"L123456") == hashlib.sha256(b"\x00L123456").digest()
    assert node_hash(b"N123", b"N456") == hashlib.sha256(b"\x01N123N456").digest()
    assert leaf_hash(b"") != EMPTY_ROOT == hashlib.sha256(b"").digest()
    # A node is never a leaf of the two children's concatenation (second preimages).
    left, right = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(left, right) != leaf_hash(left + right)
    assert node_hash(left, right) != node_hash(right, left)


@pytest.mark.parametrize("size", range(9))
def test_the_root_of_each_prefix_matches_the_reference(size):
    assert root(HASHES[:size]) == rooted(size)


def test_a_growing_tree_gives_each_prefix_root_on_the_way():
    tree = Tree()
    assert tree.root() == EMPTY_ROOT
    for size, leaf in enumerate(HASHES, start=1):
        tree.append(leaf)
        assert (tree.size, tree.root()) == (size, rooted(size))


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference_and_verify(index, size, proof):
    assert inclusion_proof(HASHES, index, size) == unhex(proof)
    verify_inclusion(HASHES[index], index, size, unhex(proof), rooted(size))


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_and_verify(first, second, proof):
    if first < second:
        assert consistency_proof(HASHES, first, second) == unhex(proof)
    verify_consistency(first, second, rooted(first), rooted(second), unhex(proof))


# --- the negative vectors, generated in transparency-dev/merkle's categories (R43) ----------


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    changed = list(proof)
    changed[i] = bytes([changed[i][0] ^ 8]) + changed[i][1:]
    return changed


def inclusion_probes(index, size, leaf, root_hash, proof):
    """(description, leaf index, tree size, root, leaf hash, proof), each one wrong."""
    probes = [
        ("leaf index -1", index - 1, size, root_hash, leaf, proof),
        ("leaf index +1", index + 1, size, root_hash, leaf, proof),
        ("leaf index XOR 2", index ^ 2, size, root_hash, leaf, proof),
        ("tree size x2", index, size * 2, root_hash, leaf, proof),
        ("tree size /2", index, size // 2, root_hash, leaf, proof),
        ("wrong leaf", index, size, root_hash, b"WrongLeaf", proof),
        ("wrong leaf of the right length", index, size, root_hash, SOME_HASH, proof),
        ("empty root", index, size, EMPTY_ROOT, leaf, proof),
        ("random root", index, size, SOME_HASH, leaf, proof),
        ("trailing garbage", index, size, root_hash, leaf, [*proof, b""]),
        ("trailing root", index, size, root_hash, leaf, [*proof, root_hash]),
        ("preceding garbage", index, size, root_hash, leaf, [b"", *proof]),
        ("preceding root", index, size, root_hash, leaf, [root_hash, *proof]),
    ]
    for i in range(len(proof)):
        probes.append((f"modified proof[{i}] bit 3", index, size, root_hash, leaf, _flip(proof, i)))
    if proof:
        probes.append(("removed component", index, size, root_hash, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, root_hash, leaf, [proof[0], SOME_HASH, *proof[1:]])
        )
    return probes


def all_inclusion_probes():
    for index, size, proof in INCLUSION:
        for probe in inclusion_probes(index, size, HASHES[index], rooted(size), unhex(proof)):
            yield pytest.param(*probe[1:], id=f"{index}/{size} {probe[0]}")
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:  # no such leaf in such a tree
        yield pytest.param(index, size, b"", SOME_HASH, [], id=f"{index}/{size} random leaf")
        yield pytest.param(index, size, EMPTY_ROOT, b"", [], id=f"{index}/{size} empty root")
        yield pytest.param(
            index, size, EMPTY_ROOT, SOME_HASH, [], id=f"{index}/{size} empty root, random leaf"
        )
    single = leaf_hash(b"data")  # a one-entry tree: root and leaf hash are the same
    yield pytest.param(0, 1, single, b"", [], id="single entry, empty leaf")
    yield pytest.param(0, 1, b"", single, [], id="single entry, empty root")
    yield pytest.param(0, 1, b"", b"", [], id="single entry, empty root and leaf")


@pytest.mark.parametrize(
    ("index", "size", "root_hash", "leaf", "proof"), list(all_inclusion_probes())
)
def test_every_tampered_inclusion_proof_is_refused(index, size, root_hash, leaf, proof):
    with pytest.raises(ProofError, match=REFUSED):
        verify_inclusion(leaf, index, size, proof, root_hash)


def consistency_probes(first, second, first_root, second_root, proof):
    probes = [
        ("first size -1", first - 1, second, first_root, second_root, proof),
        ("first size +1", first + 1, second, first_root, second_root, proof),
        ("first size XOR 2", first ^ 2, second, first_root, second_root, proof),
        ("second size x2", first, second * 2, first_root, second_root, proof),
        ("second size /2", first, second // 2, first_root, second_root, proof),
        ("wrong first root", first, second, SOME_HASH, second_root, proof),
        ("wrong second root", first, second, first_root, SOME_HASH, proof),
        ("swapped roots", first, second, second_root, first_root, proof),
        ("empty proof", first, second, first_root, second_root, []),
        ("truncated proof", first, second, first_root, second_root, proof[:-1]),
        ("trailing garbage", first, second, first_root, second_root, [*proof, b""]),
        ("trailing first root", first, second, first_root, second_root, [*proof, first_root]),
        ("trailing second root", first, second, first_root, second_root, [*proof, second_root]),
        ("preceding garbage", first, second, first_root, second_root, [b"", *proof]),
        ("preceding first root", first, second, first_root, second_root, [first_root, *proof]),
        ("preceding second root", first, second, first_root, second_root, [second_root, *proof]),
        ("preceding proof[0]", first, second, first_root, second_root, [proof[0], *proof]),
    ]
    for i in range(len(proof)):
        probes.append(
            (f"modified proof[{i}] bit 3", first, second, first_root, second_root, _flip(proof, i))
        )
    return probes


def all_consistency_probes():
    for first, second, proof in CONSISTENCY:
        if first == second:
            continue
        for probe in consistency_probes(first, second, rooted(first), rooted(second), unhex(proof)):
            yield pytest.param(*probe[1:], id=f"{first}/{second} {probe[0]}")
    one, two = leaf_hash(b"1"), leaf_hash(b"2")
    for first, second, first_root, second_root, bad_proof, name in [
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], "from the empty tree, which proves nothing"),
        (0, 0, EMPTY_ROOT, one, [], "sizes zero, roots differ"),
        (1, 1, EMPTY_ROOT, one, [], "sizes one, roots differ"),
        (2, 1, one, two, [], "first larger than second"),
        (1, 0, one, two, [], "first larger than second, second empty"),
        (0, 1, one, two, [], "first empty, second not"),
        (0, 1, EMPTY_ROOT, two, [], "first empty with the empty root"),
        (0, 0, one, one, [], "sizes zero, equal roots"),
        (1, 1, one, two, [], "sizes equal, roots not"),
        (1, 2, one, two, [], "sizes differ, proof empty"),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], "sizes one, proof not empty"),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], "sizes zero, proof not empty"),
    ]:
        yield pytest.param(first, second, first_root, second_root, bad_proof, id=name)


@pytest.mark.parametrize(
    ("first", "second", "first_root", "second_root", "proof"), list(all_consistency_probes())
)
def test_every_tampered_consistency_proof_is_refused(first, second, first_root, second_root, proof):
    with pytest.raises(ProofError, match=REFUSED):
        verify_consistency(first, second, first_root, second_root, proof)


def test_equal_sizes_with_equal_roots_and_no_proof_are_consistent():
    verify_consistency(1, 1, rooted(1), rooted(1), [])
    verify_consistency(8, 8, rooted(8), rooted(8), [])


# --- every proof of every small tree, and random ones of large trees --------------------------


def leaves_of(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_every_inclusion_and_consistency_proof_of_trees_up_to_64_verifies():
    for n in range(1, 65):
        leaves = leaves_of(n)
        head = root(leaves)
        for i in range(n):
            verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i, n), head)
        for m in range(1, n):
            verify_consistency(m, n, root(leaves[:m]), head, consistency_proof(leaves, m, n))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(2, 3000))
def test_a_proof_for_one_position_never_proves_another(data, n):
    leaves = leaves_of(n)
    head = root(leaves)
    i = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(leaves, i, n)
    verify_inclusion(leaves[i], i, n, proof, head)
    j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    with pytest.raises(ProofError):
        verify_inclusion(leaves[i], j, n, proof, head)
    m = data.draw(st.integers(1, n - 1))
    proof = consistency_proof(leaves, m, n)
    verify_consistency(m, n, root(leaves[:m]), head, proof)
    changed = [*leaves[: m - 1], leaf_hash(b"rewritten")]
    with pytest.raises(ProofError):  # a rewritten prefix is not extended by the same tree
        verify_consistency(m, n, root(changed), head, proof)


def test_proofs_are_built_from_a_stream_reading_no_further_than_needed():
    read = []

    def stream():
        for i, leaf in enumerate(leaves_of(1000)):
            read.append(i)
            yield leaf

    inclusion_proof(stream(), 3, 8)
    assert len(read) == 8
    with pytest.raises(ProofError):
        consistency_proof(iter(leaves_of(5)), 3, 8)  # the log ended early


def test_proof_requests_that_cannot_exist_are_refused():
    for index, size in [(0, 0), (3, 3), (-1, 4)]:
        with pytest.raises(ProofError):
            inclusion_ranges(index, size)
    for first, second in [(0, 4), (4, 4), (5, 4)]:
        with pytest.raises(ProofError):
            consistency_ranges(first, second)
    with pytest.raises(ProofError):
        subtree_hashes(leaves_of(8), [(0, 4), (2, 6)])


def test_a_proof_over_hashes_of_the_wrong_length_is_refused_though_it_would_hash_right():
    """Without the length check these verify: a short leaf or proof hash is still hashed."""
    short = b"x"
    sibling = leaf_hash(b"y")
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_inclusion(short, 0, 2, [sibling], node_hash(short, sibling))
    leaf = leaf_hash(b"z")
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_inclusion(leaf, 0, 2, [short], node_hash(leaf, short))
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_inclusion(short, 0, 1, [], short)
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_consistency(1, 2, short, node_hash(short, sibling), [sibling])
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_consistency(1, 2, leaf, node_hash(leaf, short), [short])
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_consistency(1, 1, short, short, [])


def test_a_root_of_the_wrong_length_is_refused_even_when_the_rest_would_pass():
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_inclusion(rooted(1), 0, 1, [], rooted(1) + b"\x00")
    with pytest.raises(ProofError, match=r"^a hash of the wrong length$"):
        verify_consistency(1, 1, rooted(1), rooted(1) + b"\x00", [])


def test_refused_requests_and_streams_say_why():
    with pytest.raises(ProofError, match=r"^no consistency proof from 0 to 4 entries$"):
        consistency_ranges(0, 4)
    with pytest.raises(ProofError, match=r"^overlapping or empty ranges$"):
        subtree_hashes(HASHES, [(2, 2)])
    with pytest.raises(ProofError, match=r"^fewer leaves than the proof needs$"):
        subtree_hashes(HASHES[:3], [(0, 4)])


def test_ranges_given_in_any_order_get_their_own_hashes():
    ranges = [(4, 8), (0, 2), (2, 3)]
    assert subtree_hashes(HASHES, ranges) == [root(HASHES[a:b]) for a, b in ranges]
