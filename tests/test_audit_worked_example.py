"""The worked example of SECURITY.md "Audit log", checked two ways.

Recomputed here from the text alone (hashlib and an Ed25519 verifier), as an outside
implementer would, and then through crypto/ and the model's canonical form. SECURITY.md must
print exactly ``render()``, so the document and the code cannot drift apart: regenerate the
block with ``python -m tests.test_audit_worked_example``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.audit_chain import (
    GENESIS,
    canonical,
    chain_hash,
    key_id,
    public_key_of,
    sign_tree_head,
    verify_tree_head,
)
from crypto.merkle import consistency_proof, inclusion_proof, leaf_hash, root

SECURITY_MD = Path(__file__).resolve().parents[1] / "SECURITY.md"
BEGIN, END = "<!-- audit-worked-example:begin -->", "<!-- audit-worked-example:end -->"

# RFC 8032's first Ed25519 test key: anyone can check the public key and the signature.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ORIGIN = "example.org/casework-audit"
ORGANISATION = "0b7e3c56-1d2a-4f6e-9a8b-7c6d5e4f3a21"
ACTOR = "6f1d2c3b-4a5e-4d7f-8b9a-0c1d2e3f4a5b"
CASE = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
ENTRIES: list[dict[str, Any]] = [
    {
        "seq": 1,
        "at": "2026-01-02T03:04:05.000006Z",
        "actor_id": ACTOR,
        "organisation_id": ORGANISATION,
        "action": "login",
        "decision": "allow",
        "target_type": "",
        "target_id": "",
        "case_id": None,
        "client": "198.51.100.0/24",
        "details": {},
    },
    {
        "seq": 2,
        "at": "2026-01-02T03:05:00.000000Z",
        "actor_id": ACTOR,
        "organisation_id": ORGANISATION,
        "action": "case_viewed",
        "decision": "allow",
        "target_type": "cases.case",
        "target_id": CASE,
        "case_id": CASE,
        "client": "198.51.100.0/24",
        "details": {"page": "dashboard"},
    },
    {
        "seq": 3,
        "at": "2026-01-02T03:06:07.089000Z",
        "actor_id": None,
        "organisation_id": None,
        "action": "login_failed",
        "decision": "deny",
        "target_type": "",
        "target_id": "",
        "case_id": None,
        "client": "2001:db8:1::/48",
        "details": {"reason": "password"},
    },
]


def render() -> str:
    """The block SECURITY.md prints, from crypto/ alone."""
    public = public_key_of(SEED)
    leaves = [leaf_hash(canonical(entry)) for entry in ENTRIES]
    lines = [
        f"signing key (Ed25519 seed): {SEED.hex()}",
        f"public key:                 {public.hex()}",
        f"origin and key name:        {ORIGIN}",
        f"key id:                     {key_id(ORIGIN, public).hex()}",
        "",
    ]
    head = GENESIS
    for entry, leaf in zip(ENTRIES, leaves, strict=True):
        head = chain_hash(head, entry)
        lines += [
            f"entry {entry['seq']} canonical: {canonical(entry).decode()}",
            f"entry {entry['seq']} chain hash: {head}",
            f"entry {entry['seq']} leaf hash:  {leaf.hex()}",
        ]
    lines += [
        f"node(1..2) = SHA-256(01 || leaf 1 || leaf 2):  {root(leaves[:2]).hex()}",
        f"root of 3  = SHA-256(01 || node(1..2) || leaf 3): {root(leaves).hex()}",
        f"inclusion proof of entry 3 in 3 entries: {_hexes(inclusion_proof(leaves, 2, 3))}",
        f"consistency proof from 2 to 3 entries:   {_hexes(consistency_proof(leaves, 2, 3))}",
        "",
        "the checkpoint of 3 entries, exactly (each line ends in a newline):",
        "",
        sign_tree_head(SEED, origin=ORIGIN, size=3, root=root(leaves)),
    ]
    return "```\n" + "\n".join(lines) + "```\n"


def _hexes(proof: list[bytes]) -> str:
    return "[" + ", ".join(p.hex() for p in proof) + "]"


def printed() -> str:
    text = SECURITY_MD.read_text(encoding="utf-8")
    match = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.DOTALL)
    assert match, f"SECURITY.md lacks the {BEGIN} block"
    return match.group(1)


def test_security_md_prints_exactly_this_example():
    assert printed() == render()


def test_the_example_recomputes_from_the_text_alone():
    """As an outside implementer: JSON, SHA-256 and an Ed25519 verifier, nothing of ours."""
    block = printed()
    value = dict(re.findall(r"^(.+?):\s+(\S.*)$", block, re.MULTILINE))
    head, leaves = "0" * 64, []
    for n in (1, 2, 3):
        data = json.dumps(
            json.loads(value[f"entry {n} canonical"]),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()
        head = hashlib.sha256(bytes.fromhex(head) + data).hexdigest()
        leaves.append(hashlib.sha256(b"\x00" + data).digest())
        assert value[f"entry {n} chain hash"] == head
        assert value[f"entry {n} leaf hash"] == leaves[-1].hex()
    node = hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
    tree_root = hashlib.sha256(b"\x01" + node + leaves[2]).digest()
    assert tree_root.hex() in block
    note = block[block.index(ORIGIN + "\n3\n") : block.rindex("```")]
    body, signature_line = note.split("\n\n")
    assert body == f"{ORIGIN}\n3\n{base64.b64encode(tree_root).decode()}"
    name, blob = signature_line.removeprefix("\u2014 ").rstrip("\n").split(" ")
    blob_bytes = base64.b64decode(blob)
    public = bytes.fromhex(value["public key"])
    ident = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    assert name == ORIGIN and blob_bytes[:4] == ident == bytes.fromhex(value["key id"])
    Ed25519PublicKey.from_public_bytes(public).verify(blob_bytes[4:], (body + "\n").encode())
    assert verify_tree_head(public, note).root == tree_root


def test_the_example_entries_are_what_the_application_hashes():
    """The model's canonical form gives these exact fields for such entries."""
    from casework.audit.models import canonical_fields

    entry = ENTRIES[1]
    fields = canonical_fields(
        2,
        datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
        uuid.UUID(ACTOR),
        uuid.UUID(ORGANISATION),
        "case_viewed",
        "allow",
        "cases.case",
        CASE,
        uuid.UUID(CASE),
        "198.51.100.0/24",
        {"page": "dashboard"},
    )
    assert fields == entry
    third = canonical_fields(
        3,
        datetime(2026, 1, 2, 3, 6, 7, 89000, tzinfo=UTC),
        None,
        None,
        "login_failed",
        "deny",
        "",
        "",
        None,
        "2001:db8:1::/48",
        {"reason": "password"},
    )
    assert third == ENTRIES[2]


if __name__ == "__main__":
    print(BEGIN)
    print(render(), end="")
    print(END)
