"""The audit log's hash chain and signed checkpoints, independent of any framework.

Canonical entry: the UTF-8 of a JSON object with keys sorted, no insignificant whitespace,
ASCII escapes (``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``).
Chain: ``hash_k = SHA-256(bytes.fromhex(hash_{k-1}) || canonical_k)`` with
``hash_0 = 64 zeros`` before the first entry. An auditor can recompute it with a few lines.

Checkpoint (text, one field a line, signed with Ed25519 over everything before the
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import CryptoError

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "casework-audit-checkpoint/1"


class CheckpointError(CryptoError):
    """A checkpoint that is malformed or whose signature does not verify."""


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry)).hexdigest()


def walk(entries: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> Iterable[tuple[int, str]]:
    """Yield ``(seq, recomputed hash)`` and raise ChainBroken at the first damage.

    ``entries`` are ``(seq, stored prev_hash, stored hash, canonical fields)`` in ``seq``
    order, streamed: memory does not grow with the chain.
    """
    head, expected = GENESIS, 1
    for seq, stored_prev, stored_hash, fields in entries:
        if seq != expected:
            raise ChainBroken(expected, "missing" if seq > expected else "reordered")
        if stored_prev != head:
            raise ChainBroken(seq, "reordered")
        head = chain_hash(head, fields)
        if head != stored_hash:
            raise ChainBroken(seq, "altered")
        yield seq, head
        expected += 1


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
    origin: str
    size: int
    head: str


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
    """Split an exported file of several checkpoints (separated by blank lines)."""
    return [block + "\n" for block in text.strip().split("\n\n") if block.strip()]
