"""The worked examples printed in SECURITY.md, checked two ways.

Each example is recomputed here from the text of SECURITY.md alone (AES-GCM from
`cryptography`, HKDF and HMAC from the standard library), as an outside implementer would, and
then through crypto/. tests/test_keys_worked_examples.py checks the same values through the
application (models' AAD builders, the key ring, search, letters). SECURITY.md must print
exactly ``render()`` of the JSON, so the document and the code cannot drift apart:
regenerate the block with ``python -m tests.crypto.test_worked_examples``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import KeyRing, blind_index, decrypt, index_bits_for_rows, keyed_digest
from crypto.aead import _encrypt_with_nonce
from crypto.blind_index import (
    normalise_email,
    normalise_name,
    normalise_passport,
    normalise_phone,
)

FIXTURE = Path(__file__).parent / "worked_examples.json"
SECURITY_MD = Path(__file__).parents[2] / "SECURITY.md"
BEGIN, END = "<!-- worked-examples:begin -->", "<!-- worked-examples:end -->"
EXAMPLES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["examples"]
NORMALISERS = {
    "name": normalise_name,
    "passport": normalise_passport,
    "email": normalise_email,
    "phone": normalise_phone,
}


def of_format(*names: str) -> list[Any]:
    """The examples of these formats, as parameters named after the examples."""
    return [pytest.param(e, id=e["name"]) for e in EXAMPLES if e["format"] in names]


def hkdf_sha256(key: bytes, info: str) -> bytes:
    """RFC 5869 with no salt (HashLen zero bytes) and 32 bytes of output, by hand."""
    prk = hmac.new(bytes(32), key, hashlib.sha256).digest()
    return hmac.new(prk, info.encode("utf-8") + b"\x01", hashlib.sha256).digest()


def test_every_format_has_a_worked_example() -> None:
    assert {example["format"] for example in EXAMPLES} == {
        "field token",
        "file token",
        "wrapped data key",
        "blind index",
        "verification code digest",
        "passport match digest",
    }


@pytest.mark.parametrize("example", of_format("field token", "file token"))
def test_a_value_token_is_version_nonce_ciphertext_tag(example: dict[str, Any]) -> None:
    key, nonce = bytes.fromhex(example["dek"]), bytes.fromhex(example["nonce"])
    plaintext = (
        example["plaintext"].encode("utf-8")
        if "plaintext" in example
        else bytes.fromhex(example["content"])
    )
    aad = example["aad"].encode("utf-8")
    token = bytes.fromhex(example["token"])

    sealed = AESGCM(key).encrypt(nonce, plaintext, b"\x01" + aad)
    assert token == b"\x01" + nonce + sealed
    assert len(token) == 1 + 12 + len(plaintext) + 16
    assert _encrypt_with_nonce(key, nonce, plaintext, aad) == token
    assert decrypt(key, token, aad) == plaintext


@pytest.mark.parametrize("example", of_format("wrapped data key"))
def test_a_wrapped_key_is_header_nonce_ciphertext_tag(example: dict[str, Any]) -> None:
    kek, dek = bytes.fromhex(example["kek"]), bytes.fromhex(example["dek"])
    nonce, wrapped = bytes.fromhex(example["nonce"]), bytes.fromhex(example["wrapped"])
    context = example["context"].encode("utf-8")
    header = b"\x01" + example["kek_version"].to_bytes(4, "big")

    assert wrapped == header + nonce + AESGCM(kek).encrypt(nonce, dek, header + context)
    assert len(wrapped) == 65
    ring = KeyRing({example["kek_version"]: kek}, active=1, index_key=bytes(range(32, 64)))
    assert ring.unwrap(wrapped, context) == dek


@pytest.mark.parametrize("example", of_format("blind index"))
def test_a_blind_index_is_the_top_bits_of_an_hmac_under_an_hkdf_subkey(
    example: dict[str, Any],
) -> None:
    index_key = bytes.fromhex(example["index_key"])
    label = f"{example['organisation_id']}/{example['model']}.{example['field']}"
    assert example["info"] == f"casework/blind-index/v1/{label}"
    assert NORMALISERS[example["kind"]](example["input"]) == example["normalised"]

    subkey = hkdf_sha256(index_key, example["info"])
    mac = hmac.new(subkey, example["normalised"].encode("utf-8"), hashlib.sha256).digest()
    bits = index_bits_for_rows(example["rows"])
    assert (subkey.hex(), mac.hex(), bits) == (example["subkey"], example["hmac"], example["bits"])
    assert int.from_bytes(mac, "big") >> (256 - bits) == example["value"]
    assert blind_index(index_key, label, example["normalised"], bits=bits) == example["value"]


@pytest.mark.parametrize("example", of_format("verification code digest"))
def test_a_verification_code_digest_is_the_sha256_of_its_words(example: dict[str, Any]) -> None:
    words = example["code"].split("-")
    assert len(words) == 13 and all(word.isascii() and word.islower() for word in words)
    assert hashlib.sha256(example["code"].encode("ascii")).hexdigest() == example["sha256"]


@pytest.mark.parametrize("example", of_format("passport match digest"))
def test_a_passport_match_digest_is_an_untruncated_keyed_digest(example: dict[str, Any]) -> None:
    index_key = bytes.fromhex(example["index_key"])
    purpose = f"letter-passport:{example['organisation_id']}"
    assert example["info"] == f"casework/keyed-digest/v1/{purpose}"
    normalised = "".join(ch for ch in example["passport"].upper() if ch.isalnum())
    assert normalised == example["normalised"]

    subkey = hkdf_sha256(index_key, example["info"])
    digest = hmac.new(subkey, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
    assert (subkey.hex(), digest) == (example["subkey"], example["digest"])
    assert keyed_digest(index_key, purpose, normalised.encode("utf-8")).hex() == digest


# -- SECURITY.md prints the same numbers ------------------------------------------------------


def _split(hex_text: str, *sizes: int) -> str:
    """Hex grouped by field sizes in bytes (the rest is one last group)."""
    groups, at = [], 0
    for size in sizes:
        groups.append(hex_text[at : at + 2 * size])
        at += 2 * size
    return " ".join([*groups, hex_text[at:]])


def _token(example: dict[str, Any], length: int) -> str:
    return _split(example["token"], 1, 12, length)


def _block(title: str, rows: list[tuple[str, Any]]) -> str:
    width = max(len(name) for name, _value in rows) + 2
    lines = [f"{name.ljust(width)}{value}" for name, value in rows]
    return "\n".join([title, "", "```text", *lines, "```"])


def _render_one(example: dict[str, Any]) -> str:
    kind = example["format"]
    title = f"**{kind.capitalize()}: {example['name']}.**"
    if kind == "field token":
        plaintext = example["plaintext"].encode("utf-8")
        return _block(
            title,
            [
                ("data key", example["dek"]),
                ("AAD", example["aad"]),
                ("plaintext", example["plaintext"]),
                ("nonce", example["nonce"]),
                ("token", _token(example, len(plaintext))),
            ],
        )
    if kind == "file token":
        return _block(
            title,
            [
                ("data key", example["dek"]),
                ("storage name", example["storage_name"]),
                ("AAD", example["aad"]),
                ("content", example["content"]),
                ("nonce", example["nonce"]),
                ("file", _token(example, len(example["content"]) // 2)),
            ],
        )
    if kind == "wrapped data key":
        return _block(
            title,
            [
                (f"KEK v{example['kek_version']}", example["kek"]),
                ("data key", example["dek"]),
                ("context", example["context"]),
                ("nonce", example["nonce"]),
                ("wrapped", _split(example["wrapped"], 1, 4, 12, 32)),
            ],
        )
    if kind == "blind index":
        return _block(
            title,
            [
                ("index key", example["index_key"]),
                ("value", example["input"]),
                (f"normalised ({example['kind']})", example["normalised"]),
                ("HKDF info", example["info"]),
                ("subkey", example["subkey"]),
                ("HMAC-SHA256", example["hmac"]),
                ("R, L", f"{example['rows']}, {example['bits']}"),
                ("index", example["value"]),
            ],
        )
    if kind == "verification code digest":
        return _block(
            title,
            [
                ("printed", example["printed"]),
                ("canonical", example["code"]),
                ("SHA-256", example["sha256"]),
            ],
        )
    assert kind == "passport match digest"
    return _block(
        title,
        [
            ("index key", example["index_key"]),
            ("passport", example["passport"]),
            ("normalised", example["normalised"]),
            ("HKDF info", example["info"]),
            ("subkey", example["subkey"]),
            ("digest", example["digest"]),
        ],
    )


def render() -> str:
    """The block SECURITY.md prints between the worked-examples markers."""
    return "\n\n".join(_render_one(example) for example in EXAMPLES)


def test_security_md_prints_exactly_these_examples() -> None:
    text = SECURITY_MD.read_text(encoding="utf-8")
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    assert found is not None, f"SECURITY.md has no {BEGIN} ... {END} block"
    assert found.group(1) == render()


if __name__ == "__main__":
    print(render())
