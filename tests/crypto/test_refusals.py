"""Every refusal of crypto/ for a programming mistake says exactly what was wrong, in one line
that names the argument (never its value): the caller's only clue, and no key in it."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from crypto import (
    DataKeyCipher,
    KeyRing,
    blind_index,
    encrypt,
    index_bits_for_rows,
    keyed_digest,
    new_data_key,
    normalise_phone,
)
from crypto._primitives import seal

KEY = bytes(range(32))
RING = KeyRing({1: bytes(range(32, 64))}, active=1, index_key=bytes(range(64, 96)))
WRAPPED = RING.wrap(KEY, b"context")
CIPHER = DataKeyCipher(KEY)
TOKEN = CIPHER.encrypt(b"x", b"aad")
TEXT: Any = "text where bytes belong"
TEXT_KEY: Any = "k" * 32

REFUSALS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "a data key of 31 bytes": (
        lambda: DataKeyCipher(bytes(31)),
        ValueError,
        "key must be 32 bytes",
    ),
    "a data key as text": (
        lambda: encrypt(TEXT_KEY, b"x", b"aad"),
        ValueError,
        "key must be 32 bytes",
    ),
    "an empty aad to encrypt": (
        lambda: CIPHER.encrypt(b"x", b""),
        ValueError,
        "aad must not be empty",
    ),
    "a text aad to encrypt": (lambda: CIPHER.encrypt(b"x", TEXT), TypeError, "aad must be bytes"),
    "an empty aad to decrypt": (
        lambda: CIPHER.decrypt(TOKEN, b""),
        ValueError,
        "aad must not be empty",
    ),
    "a text aad to decrypt": (lambda: CIPHER.decrypt(TOKEN, TEXT), TypeError, "aad must be bytes"),
    "a text plaintext": (
        lambda: CIPHER.encrypt(TEXT, b"aad"),
        TypeError,
        "plaintext must be bytes",
    ),
    "a text plaintext to seal": (
        lambda: seal(KEY, bytes(12), TEXT, b"aad"),
        TypeError,
        "plaintext must be bytes",
    ),
    "a data key of 31 bytes to wrap": (
        lambda: RING.wrap(bytes(31), b"context"),
        ValueError,
        "data key must be 32 bytes",
    ),
    "an empty context to wrap": (
        lambda: RING.wrap(KEY, b""),
        ValueError,
        "context must not be empty",
    ),
    "an empty context to unwrap": (
        lambda: RING.unwrap(WRAPPED, b""),
        ValueError,
        "context must not be empty",
    ),
    "a text context to unwrap": (
        lambda: RING.unwrap(WRAPPED, TEXT),
        TypeError,
        "context must be bytes",
    ),
    "a root key of 31 bytes": (
        lambda: keyed_digest(bytes(31), "p", b"m"),
        ValueError,
        "root key must be 32 bytes",
    ),
    "an empty purpose": (
        lambda: keyed_digest(KEY, "", b"m"),
        ValueError,
        "purpose must not be empty",
    ),
    "an index key of 31 bytes": (
        lambda: blind_index(bytes(31), "f", "v", bits=12),
        ValueError,
        "index key must be 32 bytes",
    ),
    "an empty field name": (
        lambda: blind_index(KEY, "", "v", bits=12),
        ValueError,
        "field_name must be a non-empty string",
    ),
    "an empty value to index": (
        lambda: blind_index(KEY, "f", "", bits=12),
        ValueError,
        "cannot index an empty value",
    ),
    "no index bits": (
        lambda: blind_index(KEY, "f", "v", bits=0),
        ValueError,
        "bits must be from 1 to 32",
    ),
    "no rows": (lambda: index_bits_for_rows(0), ValueError, "rows must be a positive integer"),
    "pickling a cipher": (
        lambda: pickle.dumps(CIPHER),
        TypeError,
        "a DataKeyCipher holds a key and cannot be pickled",
    ),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_it_says_exactly_what_was_wrong(name: str) -> None:
    call, kind, message = REFUSALS[name]
    with pytest.raises(kind) as raised:
        call()
    assert str(raised.value) == message


def test_a_cipher_shows_no_key() -> None:
    assert repr(DataKeyCipher(new_data_key())) == "DataKeyCipher(<key hidden>)"


def test_a_phone_number_keeps_digits_only() -> None:
    assert normalise_phone("+7 XX 916 call me") == "+7916"
