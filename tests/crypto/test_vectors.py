"""Known-answer vectors for token v1, computed once with AESGCM directly (see the JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto import DecryptionError, decrypt
from crypto.aead import _encrypt_with_nonce

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "vectors" / "aead_v1.json").read_text(encoding="utf-8")
)["vectors"]


def unhex(vector: dict[str, Any]) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    fields = ("key", "nonce", "plaintext", "aad", "token")
    key, nonce, plaintext, aad, token = (bytes.fromhex(vector[name]) for name in fields)
    return key, nonce, plaintext, aad, token


def test_the_vector_file_covers_several_cases() -> None:
    assert len(VECTORS) >= 5
    assert len({vector["name"] for vector in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_it_encrypts_a_known_answer_vector_exactly(vector: dict[str, Any]) -> None:
    key, nonce, plaintext, aad, token = unhex(vector)
    assert _encrypt_with_nonce(key, nonce, plaintext, aad) == token


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_it_decrypts_a_known_answer_vector(vector: dict[str, Any]) -> None:
    key, _nonce, plaintext, aad, token = unhex(vector)
    assert decrypt(key, token, aad) == plaintext


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_it_rejects_a_known_answer_vector_under_another_aad(vector: dict[str, Any]) -> None:
    key, _nonce, _plaintext, aad, token = unhex(vector)
    with pytest.raises(DecryptionError):
        decrypt(key, token, aad + b"!")


@pytest.mark.parametrize("nonce", [b"", bytes(8), bytes(16)])
def test_its_test_helper_refuses_a_nonce_that_is_not_12_bytes(nonce: bytes) -> None:
    with pytest.raises(ValueError, match="nonce"):
        _encrypt_with_nonce(bytes(32), nonce, b"x", b"aad")
