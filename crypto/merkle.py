"""The audit log's Merkle tree (RFC 9162, section 2.1), independent of any framework.

Hashing, with SHA-256 and ``||`` for concatenation::

    leaf hash   = SHA-256(0x00 || entry)            (entry: the canonical bytes of one entry)
    node hash   = SHA-256(0x01 || left || right)
    MTH({})     = SHA-256()                         (the empty tree)
    MTH(D[n])   = leaf hash of D[0]                 when n = 1
    MTH(D[n])   = node hash of MTH(D[0:k]), MTH(D[k:n]) otherwise, k the largest power of
                  two smaller than n

Inclusion proofs (PATH) and consistency proofs (PROOF, SUBPROOF) are the lists of subtree
hashes RFC 9162 defines in 2.1.3.1 and 2.1.4.1, deepest first, and are checked with its
algorithms of 2.1.3.2 and 2.1.4.2. Proofs are built from a stream of leaf hashes in one pass,
keeping only O(log n) hashes, so a log of millions of entries is never held in memory.

Every failure to verify raises ProofError, whatever the reason.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence

from .errors import CryptoError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]  # leaves [start, end)


class ProofError(CryptoError):
    """A proof that does not verify, or a request for one that cannot exist."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """The tree head of a growing list of leaf hashes, in O(log n) memory.

    It keeps the roots of the complete subtrees the leaves so far decompose into (one per
    set bit of the size, largest first); MTH folds them from the right.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        stack = self._stack
        stack.append(leaf)
        self.size += 1
        size = self.size
        while not size & 1:  # one merge per trailing zero bit of the new size
            right = stack.pop()
            stack[-1] = node_hash(stack[-1], right)
            size >>= 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        root = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH of the given leaf hashes."""
    tree = Tree()
    for leaf in leaves:
        tree.append(leaf)
    return tree.root()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[0:size]), deepest first."""
    if not 0 <= index < size:
        raise ProofError(f"no entry {index} in a tree of {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(first, D[0:second]), deepest first."""
    if not 0 < first < second:
        raise ProofError(f"no consistency proof from {first} to {second} entries")
    proof: list[Range] = []
    start, end, whole = 0, second, True
    while first != end:
        k = _split(end - start)
        if first - start <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, whole = start + k, False
    if not whole:
        proof.append((start, end))
    return proof[::-1]


class Subtrees:
    """MTH of each of disjoint ``ranges`` of a stream of leaf hashes, fed one by one: a proof
    is built while the log is read for other reasons, in O(log n) memory."""

    def __init__(self, ranges: Sequence[Range]) -> None:
        self._ranges = list(ranges)
        self._order = sorted(range(len(self._ranges)), key=lambda i: self._ranges[i][0])
        position = 0
        for i in self._order:
            start, end = self._ranges[i]
            if start < position or end <= start:
                raise ProofError("overlapping or empty ranges")
            position = end
        self.needed = position  # leaves to read
        self._trees = [Tree() for _ in self._ranges]
        self._next = 0  # index into _order of the range the next leaves may fall in
        self.size = 0

    def append(self, leaf: bytes) -> None:
        while (
            self._next < len(self._order) and self._ranges[self._order[self._next]][1] <= self.size
        ):
            self._next += 1
        if self._next < len(self._order):
            i = self._order[self._next]
            if self._ranges[i][0] <= self.size:
                self._trees[i].append(leaf)
        self.size += 1

    def hashes(self) -> list[bytes]:
        if self.size < self.needed:
            raise ProofError("fewer leaves than the proof needs")
        return [tree.root() for tree in self._trees]


def subtree_hashes(leaves: Iterable[bytes], ranges: Sequence[Range]) -> list[bytes]:
    """MTH of each of the disjoint ``ranges`` of ``leaves``, in one pass; only the leaves up
    to the end of the last range are read."""
    subtrees = Subtrees(ranges)
    for leaf in itertools.islice(leaves, subtrees.needed):
        subtrees.append(leaf)
    return subtrees.hashes()


def inclusion_proof(leaves: Iterable[bytes], index: int, size: int) -> list[bytes]:
    return subtree_hashes(leaves, inclusion_ranges(index, size))


def consistency_proof(leaves: Iterable[bytes], first: int, second: int) -> list[bytes]:
    return subtree_hashes(leaves, consistency_ranges(first, second))


def _check_sizes(*hashes: bytes) -> None:
    if any(len(value) != HASH_SIZE for value in hashes):
        raise ProofError("a hash of the wrong length")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162, 2.1.3.2: ``leaf`` is entry ``index`` of the tree of ``size`` with ``root``."""
    _check_sizes(leaf, root, *proof)
    if not 0 <= index < size:
        raise ProofError("inclusion proof does not verify")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof does not verify")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise ProofError("inclusion proof does not verify")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162, 2.1.4.2: the tree of ``second`` entries extends the tree of ``first``.

    A proof from the empty tree proves nothing and is refused, as transparency-dev/merkle
    does; equal sizes need an empty proof and equal roots.
    """
    _check_sizes(first_root, second_root, *proof)
    if not 0 < first <= second:
        raise ProofError("consistency proof does not verify")
    if first == second:
        if proof or first_root != second_root:
            raise ProofError("consistency proof does not verify")
        return
    if not proof:
        raise ProofError("consistency proof does not verify")
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof does not verify")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not verify")
