"""The audit log's hash chain and signed checkpoints, independent of any framework.

Canonical entry: the UTF-8 of a JSON object with keys sorted, no insignificant whitespace,
ASCII escapes (``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``).
Chain: ``hash_k = SHA-256(bytes.fromhex(hash_{k-1}) || canonical_k)`` with
``hash_0 = 64 zeros`` before the first entry. An auditor can recompute it with a few lines.
The same canonical bytes are the leaves of the log's Merkle tree (crypto/merkle.py).

Checkpoints are C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint): the
origin, the tree size and the base64 Merkle root, one a line, then a blank line and the
Ed25519 signature line::

    <origin>
    <size>
    <base64 root>

    \u2014 <origin> <base64(key id || Ed25519 signature over the three lines above)>

with ``key id = SHA-256(origin || 0x0A || 0x01 || public key)[:4]``. Checkpoints signed before
the tree existed (``casework-audit-checkpoint/1``, over the chain head) still verify.

Legacy checkpoint (text, one field a line, signed with Ed25519 over everything before the
signature line):

    casework-audit-checkpoint/1
    origin: <installation name>
    size: <number of entries covered>
    head: <hash of entry number size, hex>
    signature: <base64 Ed25519 signature>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import CryptoError
from .merkle import HASH_SIZE, ProofError, leaf_hash, verify_consistency

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "casework-audit-checkpoint/1"


class CheckpointError(CryptoError):
    """A checkpoint that is malformed or whose signature does not verify."""


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Pruned:
    """In place of an entry's fields: the entry was pruned after the retention period and
    only its Merkle leaf hash is kept. Its chain hash can no longer be recomputed; the signed
    checkpoints, whose roots cover the leaf, are what vouch for it."""

    leaf: bytes


def walk(
    entries: Iterable[tuple[int, str, str, Mapping[str, Any] | Pruned]],
) -> Iterable[tuple[int, str, bytes]]:
    """Yield ``(seq, recomputed hash, Merkle leaf hash)`` and raise ChainBroken at the first
    damage.

    ``entries`` are ``(seq, stored prev_hash, stored hash, canonical fields)`` in ``seq``
    order, streamed: memory does not grow with the chain. Pruned entries (``Pruned`` in
    place of the fields) may only open the log: their stored hash is taken as it is and
    must be what the next entry chains to; one after an entry with fields is damage.
    """
    head, expected, pruning = GENESIS, 1, True
    for seq, stored_prev, stored_hash, fields in entries:
        if seq != expected:
            raise ChainBroken(expected, "missing" if seq > expected else "reordered")
        if stored_prev != head:
            raise ChainBroken(seq, "reordered")
        if isinstance(fields, Pruned):
            if not pruning or len(fields.leaf) != HASH_SIZE or not _is_hash(stored_hash):
                raise ChainBroken(seq, "pruned out of order")
            head = stored_hash
            yield seq, head, fields.leaf
            expected += 1
            continue
        pruning = False
        data = canonical(fields)
        head = hashlib.sha256(bytes.fromhex(head) + data).hexdigest()
        if head != stored_hash:
            raise ChainBroken(seq, "altered")
        yield seq, head, leaf_hash(data)
        expected += 1


def _is_hash(text: str) -> bool:
    return len(text) == 2 * HASH_SIZE and all(c in "0123456789abcdef" for c in text)


class ChainBroken(Exception):  # noqa: N818 - a result, not a programming error
    def __init__(self, seq: int, damage: str) -> None:
        super().__init__(f"{damage} entry at sequence number {seq}")
        self.seq = seq
        self.damage = damage


# --- checkpoints -----------------------------------------------------------------------------


def new_signing_key() -> bytes:
    """A raw 32-byte Ed25519 private key."""
    from cryptography.hazmat.primitives import serialization

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def public_key_of(private_key: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def _body(origin: str, size: int, head: str) -> str:
    if "\n" in origin or not origin:
        raise ValueError("origin must be one non-empty line")
    return f"{CHECKPOINT_FORMAT}\norigin: {origin}\nsize: {size}\nhead: {head}\n"


def sign_checkpoint(private_key: bytes, *, origin: str, size: int, head: str) -> str:
    body = _body(origin, size, head)
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(body.encode())
    return body + f"signature: {base64.b64encode(signature).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A verified legacy checkpoint: the chain head after ``size`` entries."""

    origin: str
    size: int
    head: str


@dataclass(frozen=True)
class TreeHead:
    """A verified signed-note checkpoint: the Merkle root of the first ``size`` entries."""

    origin: str
    size: int
    root: bytes


def verify_checkpoint(public_key: bytes, text: str) -> Checkpoint:
    """Parse and verify one checkpoint; CheckpointError unless well formed and signed."""
    lines = text.strip("\n").split("\n")
    if len(lines) != 5 or lines[0] != CHECKPOINT_FORMAT:
        raise CheckpointError("not a casework audit checkpoint")
    fields = {}
    for line in lines[1:]:
        name, sep, value = line.partition(": ")
        if not sep:
            raise CheckpointError("malformed checkpoint line")
        fields[name] = value
    try:
        size = int(fields["size"])
        head = fields["head"]
        signature = base64.b64decode(fields["signature"], validate=True)
        bytes.fromhex(head)
        body = _body(fields["origin"], size, head)
    except (KeyError, ValueError, binascii.Error):
        raise CheckpointError("malformed checkpoint") from None
    # Byte for byte as signed: int() alone would also take "+7", "7_0" or a full-width "７".
    if len(head) != 64 or size < 0 or body != "\n".join(lines[:4]) + "\n":
        raise CheckpointError("malformed checkpoint")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, body.encode())
    except (InvalidSignature, ValueError):
        raise CheckpointError("checkpoint signature does not verify") from None
    return Checkpoint(fields["origin"], size, head)


def split_checkpoints(text: str) -> list[str]:
    """Split an exported file of several checkpoints, separated by blank lines (a signed
    note's own blank line is followed by its signature lines, which start with an em dash)."""
    notes: list[str] = []
    for block in text.strip().split("\n\n"):
        if notes and block.startswith(SIGNATURE_MARK) and "\n\n" not in notes[-1]:
            notes[-1] += "\n" + block + "\n"
        elif block.strip():
            notes.append(block + "\n")
    return notes


# --- signed notes (C2SP) ---------------------------------------------------------------------

SIGNATURE_MARK = "\u2014 "  # em dash, space
ED25519 = b"\x01"  # the signed-note signature type of Ed25519
MAX_SIGNATURES = 16  # the spec's minimum; ours carries one, witnesses may add theirs
_DIGITS = frozenset("0123456789")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 note key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _check_key_name(name: str) -> None:
    name.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
    if not name or any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise ValueError("the origin must be a key name: not empty, no spaces, no '+'")


def tree_head_body(origin: str, size: int, root: bytes) -> str:
    _check_key_name(origin)
    if size < 0 or len(root) != HASH_SIZE:
        raise ValueError("a tree head needs a size >= 0 and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(private_key: bytes, *, name: str, text: str) -> str:
    """A signed note: ``text`` (ending in a newline), a blank line, one signature line."""
    _check_key_name(name)
    if not text.endswith("\n") or "\n\n" in "\n" + text or _control_characters(text):
        raise ValueError("a note's text is lines ending in newlines, none empty")
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(text.encode())
    blob = key_id(name, public_key_of(private_key)) + signature
    return f"{text}\n{SIGNATURE_MARK}{name} {base64.b64encode(blob).decode()}\n"


def open_note(public_key: bytes, note: str, *, name: str) -> str:
    """The text of a note signed by our key under ``name``; CheckpointError otherwise.

    Signature lines of other keys (a witness's cosignature) are ignored, as the note
    specification requires; one of ours that fails to verify rejects the note.
    """
    if _control_characters(note) or not note.endswith("\n"):
        raise CheckpointError("malformed checkpoint")
    cut = note.rfind("\n\n")
    text, signatures = note[: cut + 1], note[cut + 2 :].split("\n")[:-1]
    if cut < 0 or not 0 < len(signatures) <= MAX_SIGNATURES:
        raise CheckpointError("malformed checkpoint")
    # Every line is checked, so a bad signature of ours fails the note even after a good one.
    ours = [_our_signature(public_key, name, text, line) for line in signatures]
    if not any(ours):
        raise CheckpointError("checkpoint signature does not verify")
    return text


def _control_characters(text: str) -> bool:
    return any(ord(c) < 0x20 and c != "\n" for c in text)


def sign_tree_head(private_key: bytes, *, origin: str, size: int, root: bytes) -> str:
    """A C2SP checkpoint, signed under the key name ``origin``."""
    return sign_note(private_key, name=origin, text=tree_head_body(origin, size, root))


def verify_tree_head(public_key: bytes, note: str) -> TreeHead:
    """Parse and verify one signed-note checkpoint; CheckpointError unless it is exactly as
    we sign them (three lines, no extension) and signed by our key under its origin."""
    origin = note.partition("\n")[0]
    try:
        _check_key_name(origin)
    except ValueError:
        raise CheckpointError("malformed checkpoint") from None
    text = open_note(public_key, note, name=origin)
    lines = text.split("\n")[:-1]
    if len(lines) != 3:
        raise CheckpointError("malformed checkpoint")
    _, size_text, root_text = lines
    try:
        root = base64.b64decode(root_text, validate=True)
        # ASCII digits, no leading zero: int() alone would take "+7", "7_0" or a full-width 7.
        if not size_text or set(size_text) - _DIGITS:
            raise ValueError
        if size_text.startswith("0") and size_text != "0":
            raise ValueError
        if tree_head_body(origin, int(size_text), root) != text:
            raise ValueError
    except (ValueError, binascii.Error):
        raise CheckpointError("malformed checkpoint") from None
    return TreeHead(origin, int(size_text), root)


def _our_signature(public_key: bytes, name: str, text: str, line: str) -> bool:
    """True for our valid signature, False for another key's; raises for ours but invalid."""
    mark, _, rest = line.partition(SIGNATURE_MARK)
    signer, space, encoded = rest.partition(" ")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("malformed checkpoint") from None
    if mark or not space or not signer or len(blob) < 5:
        raise CheckpointError("malformed checkpoint")
    if signer != name or blob[:4] != key_id(name, public_key):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], text.encode())
    except (InvalidSignature, ValueError):
        raise CheckpointError("checkpoint signature does not verify") from None
    return True


def verify_growth(public_key: bytes, old: str, new: str, proof: Sequence[bytes]) -> TreeHead:
    """What a witness holding only the checkpoint ``old`` checks of the next one: both are
    signed by our key for the same log, and ``proof`` shows that the tree of ``new``
    extends the tree of ``old`` (nothing removed, nothing rewritten). Returns ``new``."""
    before, after = verify_tree_head(public_key, old), verify_tree_head(public_key, new)
    if before.origin != after.origin:
        raise CheckpointError("checkpoints of two different logs")
    if before.size == 0 and not proof:
        return after  # every tree extends the empty one
    try:
        verify_consistency(before.size, after.size, before.root, after.root, proof)
    except ProofError:
        raise CheckpointError("the newer checkpoint does not extend the older one") from None
    return after


def read_checkpoint(public_key: bytes, text: str) -> Checkpoint | TreeHead:
    """Verify a checkpoint of either format (legacy ones start with their format line)."""
    if text.startswith(CHECKPOINT_FORMAT + "\n"):
        return verify_checkpoint(public_key, text)
    return verify_tree_head(public_key, text)
