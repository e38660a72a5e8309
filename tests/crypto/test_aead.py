"""Value encryption: round trips, token layout, tamper resistance, nonce discipline."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crypto import TOKEN_VERSION, DataKeyCipher, DecryptionError, decrypt, encrypt, new_data_key

KEY = bytes(range(32))
AAD = b"applicant:full_name:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"
PLAINTEXT = "Иван Петров".encode()
OVERHEAD = 1 + 12 + 16


def a_token() -> bytes:
    return encrypt(KEY, PLAINTEXT, AAD)


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 1 << bit
    return bytes(changed)


# -- round trips ----------------------------------------------------------------------------


@given(plaintext=st.binary(), aad=st.binary(min_size=1))
def test_it_round_trips_arbitrary_bytes(plaintext: bytes, aad: bytes) -> None:
    assert decrypt(KEY, encrypt(KEY, plaintext, aad), aad) == plaintext


@given(text=st.text())
@example(text="Иван Петров")
@example(text="a\x00b")
@example(text="🏳️‍🌈 Мар'яна Ґудзь")
@example(text="")
def test_it_round_trips_any_text_as_utf8(text: str) -> None:
    token = encrypt(KEY, text.encode("utf-8"), AAD)
    assert decrypt(KEY, token, AAD).decode("utf-8") == text


def test_it_accepts_the_buffer_types_database_drivers_return() -> None:
    token = a_token()
    assert decrypt(KEY, memoryview(token), AAD) == PLAINTEXT  # type: ignore[arg-type]
    assert decrypt(KEY, bytearray(token), AAD) == PLAINTEXT  # type: ignore[arg-type]


# -- layout ---------------------------------------------------------------------------------


def test_it_lays_out_a_token_as_version_nonce_ciphertext_tag() -> None:
    token = a_token()
    assert token[0] == TOKEN_VERSION == 1
    assert len(token) == OVERHEAD + len(PLAINTEXT)
    nonce, sealed = token[1:13], token[13:]
    # Independent check with AESGCM directly: the GCM associated data is version byte || aad.
    assert AESGCM(KEY).decrypt(nonce, sealed, b"\x01" + AAD) == PLAINTEXT


def test_it_uses_a_fresh_nonce_for_every_encryption() -> None:
    assert a_token() != a_token()


def test_it_never_repeats_a_nonce_in_100_000_encryptions() -> None:
    nonces = {encrypt(KEY, b"x", AAD)[1:13] for _ in range(100_000)}
    assert len(nonces) == 100_000


def test_it_makes_random_32_byte_data_keys() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(key) == 32 for key in keys)


# -- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index",
    [0, 1, 6, 12, 13, 13 + len(PLAINTEXT) - 1, -16, -1],
    ids=[
        "version",
        "nonce-first",
        "nonce-middle",
        "nonce-last",
        "ciphertext-first",
        "ciphertext-last",
        "tag-first",
        "tag-last",
    ],
)
def test_it_rejects_a_token_with_a_flipped_byte_in_each_region(index: int) -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, flip(a_token(), index, bit=7), AAD)


@settings(max_examples=200)
@given(data=st.data())
def test_it_rejects_a_token_with_a_flipped_bit(data: st.DataObject) -> None:
    token = a_token()
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    with pytest.raises(DecryptionError):
        decrypt(KEY, flip(token, index, bit), AAD)


def test_it_rejects_every_truncation_of_a_token() -> None:
    token = a_token()
    for length in range(len(token)):
        with pytest.raises(DecryptionError):
            decrypt(KEY, token[:length], AAD)


@pytest.mark.parametrize("extra", [b"\x00", b"\xff"])
def test_it_rejects_a_token_extended_by_one_byte(extra: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, a_token() + extra, AAD)


def test_it_rejects_an_empty_token() -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, b"", AAD)


def test_it_rejects_a_token_under_the_wrong_key() -> None:
    with pytest.raises(DecryptionError):
        decrypt(new_data_key(), a_token(), AAD)


@given(other=st.binary(min_size=1).filter(lambda aad: aad != AAD))
def test_it_rejects_a_token_with_the_wrong_aad(other: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, a_token(), other)


@pytest.mark.parametrize(
    "aad", [AAD + b"x", AAD[:-1], AAD.replace(b"full_name", b"birth_name"), AAD.upper()]
)
def test_it_rejects_a_token_moved_to_another_row_or_field(aad: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, a_token(), aad)


@pytest.mark.parametrize("version", [0x00, 0x02, 0xFF])
def test_it_rejects_an_unknown_version_even_with_a_valid_tag(version: int) -> None:
    # A token a future or forged format would produce: its tag verifies under that header.
    header, nonce = bytes([version]), os.urandom(12)
    forged = header + nonce + AESGCM(KEY).encrypt(nonce, PLAINTEXT, header + AAD)
    with pytest.raises(DecryptionError):
        decrypt(KEY, forged, AAD)


@pytest.mark.parametrize("token", [None, "text", 42, [1, 2], a_token().hex()])
def test_it_rejects_a_token_of_the_wrong_type(token: object) -> None:
    with pytest.raises(DecryptionError):
        decrypt(KEY, token, AAD)  # type: ignore[arg-type]


def test_its_decryption_error_does_not_say_what_failed() -> None:
    with pytest.raises(DecryptionError) as wrong_key:
        decrypt(new_data_key(), a_token(), AAD)
    with pytest.raises(DecryptionError) as truncated:
        decrypt(KEY, a_token()[:5], AAD)
    assert str(wrong_key.value) == str(truncated.value) == "decryption failed"


# -- programming errors ---------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33), "k" * 32])
def test_it_refuses_a_key_that_is_not_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(key, PLAINTEXT, AAD)
    with pytest.raises(ValueError, match="32 bytes"):
        decrypt(key, a_token(), AAD)


def test_it_refuses_an_empty_aad_because_it_would_bind_nothing() -> None:
    with pytest.raises(ValueError, match="aad"):
        encrypt(KEY, PLAINTEXT, b"")
    with pytest.raises(ValueError, match="aad"):
        decrypt(KEY, a_token(), b"")


def test_it_refuses_a_text_plaintext() -> None:
    with pytest.raises(TypeError):
        encrypt(KEY, "Иван", AAD)  # type: ignore[arg-type]


def test_a_kept_cipher_reads_and_writes_the_same_tokens_as_the_functions() -> None:
    key = new_data_key()
    cipher = DataKeyCipher(key)
    assert decrypt(key, cipher.encrypt(b"value", b"aad"), b"aad") == b"value"
    assert cipher.decrypt(encrypt(key, b"value", b"aad"), b"aad") == b"value"
    with pytest.raises(DecryptionError):
        DataKeyCipher(new_data_key()).decrypt(cipher.encrypt(b"value", b"aad"), b"aad")


def test_a_kept_cipher_shows_no_key_and_cannot_be_pickled() -> None:
    import pickle

    key = new_data_key()
    cipher = DataKeyCipher(key)
    assert key.hex() not in repr(cipher)
    with pytest.raises(TypeError):
        pickle.dumps(cipher)
