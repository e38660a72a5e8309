from __future__ import annotations

import hmac as std_hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import digests_equal, keyed_digest

KEY = bytes(range(32))


def test_it_matches_an_independent_hkdf_then_hmac() -> None:
    subkey = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"casework/keyed-digest/v1/codes"
    ).derive(KEY)
    expected = std_hmac.new(subkey, b"message", "sha256").digest()
    assert keyed_digest(KEY, "codes", b"message") == expected


def test_purposes_and_keys_separate_digests() -> None:
    assert keyed_digest(KEY, "codes", b"m") != keyed_digest(KEY, "invites", b"m")
    assert keyed_digest(KEY, "codes", b"m") != keyed_digest(bytes(32), "codes", b"m")


def test_it_refuses_a_short_key_and_an_empty_purpose() -> None:
    with pytest.raises(ValueError):
        keyed_digest(b"short", "codes", b"m")
    with pytest.raises(ValueError):
        keyed_digest(KEY, "", b"m")


def test_digests_equal_compares() -> None:
    assert digests_equal(b"a" * 32, b"a" * 32)
    assert not digests_equal(b"a" * 32, b"b" * 32)
