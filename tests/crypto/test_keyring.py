"""Key ring: wrapping, tamper resistance, rotation, and the key file."""

from __future__ import annotations

import base64
import copy
import json
import os
import pickle
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    DecryptionError,
    KeyProvider,
    KeyRing,
    KeyStoreError,
    UnknownKeyVersionError,
    new_data_key,
    wrapped_key_version,
)

CONTEXT = b"applicant:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e:org:2b9e1d84-7f6a-4d0e-9c3b-5a1f0e7d6c2b"
RING = KeyRing.generate()
DEK = new_data_key()


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 1 << bit
    return bytes(changed)


def with_version(wrapped: bytes, version: int) -> bytes:
    return wrapped[:1] + version.to_bytes(4, "big") + wrapped[5:]


def secrets_of(ring: KeyRing) -> list[bytes]:
    document = json.loads(ring.to_json())
    encoded = [*document["keks"].values(), document["index_key"]]
    return [base64.b64decode(value) for value in encoded]


def spellings(key: bytes) -> list[str]:
    """Ways a key could leak into text; a 12-character slice catches partial leaks too."""
    forms = [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode(), key.hex()]
    return [form[:12] for form in forms] + [key.hex().upper()[:12], repr(key)[:14]]


def assert_reveals_no_key(text: str, ring: KeyRing) -> None:
    for key in secrets_of(ring):
        for spelling in spellings(key):
            assert spelling not in text


def a_ring_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(RING.to_json())
    document.update(changes)
    return document


# -- generating and wrapping ----------------------------------------------------------------


def test_it_generates_one_active_kek_and_a_separate_index_key() -> None:
    ring = KeyRing.generate()
    kek, index_key = secrets_of(ring)
    assert ring.versions == [1]
    assert ring.active_version == 1
    assert ring.index_key == index_key != kek
    assert len(index_key) == 32


def test_it_is_a_key_provider() -> None:
    provider: KeyProvider = RING  # checked by mypy; here it must simply work through the protocol
    assert provider.unwrap(provider.wrap(DEK, CONTEXT), CONTEXT) == DEK


@given(dek=st.binary(min_size=32, max_size=32), context=st.binary(min_size=1))
def test_it_round_trips_any_dek_and_context(dek: bytes, context: bytes) -> None:
    assert RING.unwrap(RING.wrap(dek, context), context) == dek


@given(context=st.text(min_size=1))
def test_it_round_trips_any_text_context(context: str) -> None:
    encoded = context.encode("utf-8")
    assert RING.unwrap(RING.wrap(DEK, encoded), encoded) == DEK


def test_it_lays_out_a_wrapped_key_as_format_version_nonce_ciphertext_tag() -> None:
    wrapped = RING.wrap(DEK, CONTEXT)
    assert len(wrapped) == 1 + 4 + 12 + 32 + 16
    assert wrapped[:5] == b"\x01\x00\x00\x00\x01"
    assert wrapped_key_version(wrapped) == 1
    # Independent check with AESGCM directly: associated data = 5-byte header || context.
    kek = secrets_of(RING)[0]
    assert AESGCM(kek).decrypt(wrapped[5:17], wrapped[17:], wrapped[:5] + CONTEXT) == DEK


def test_it_uses_a_fresh_nonce_for_every_wrap() -> None:
    assert RING.wrap(DEK, CONTEXT) != RING.wrap(DEK, CONTEXT)


@pytest.mark.parametrize("dek", [b"", bytes(16), bytes(31), bytes(33)])
def test_it_refuses_to_wrap_a_dek_that_is_not_32_bytes(dek: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RING.wrap(dek, CONTEXT)


def test_it_refuses_an_empty_context_because_it_would_bind_nothing() -> None:
    with pytest.raises(ValueError, match="context"):
        RING.wrap(DEK, b"")
    with pytest.raises(ValueError, match="context"):
        RING.unwrap(RING.wrap(DEK, CONTEXT), b"")


# -- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index",
    [0, 1, 4, 5, 16, 17, 48, 49, 64],
    ids=[
        "format",
        "version-high",
        "version-low",
        "nonce-first",
        "nonce-last",
        "ciphertext-first",
        "ciphertext-last",
        "tag-first",
        "tag-last",
    ],
)
def test_it_rejects_a_wrapped_key_with_a_flipped_byte_in_each_region(index: int) -> None:
    with pytest.raises(DecryptionError):
        RING.unwrap(flip(RING.wrap(DEK, CONTEXT), index, bit=7), CONTEXT)


@settings(max_examples=200)
@given(index=st.integers(0, 64), bit=st.integers(0, 7))
def test_it_rejects_a_wrapped_key_with_a_flipped_bit(index: int, bit: int) -> None:
    with pytest.raises(DecryptionError):
        RING.unwrap(flip(RING.wrap(DEK, CONTEXT), index, bit), CONTEXT)


def test_it_rejects_every_truncation_and_a_one_byte_extension() -> None:
    wrapped = RING.wrap(DEK, CONTEXT)
    for broken in [*(wrapped[:length] for length in range(len(wrapped))), wrapped + b"\x00"]:
        with pytest.raises(DecryptionError):
            RING.unwrap(broken, CONTEXT)


@given(other=st.binary(min_size=1).filter(lambda context: context != CONTEXT))
def test_it_rejects_a_wrapped_key_under_the_wrong_context(other: bytes) -> None:
    with pytest.raises(DecryptionError):
        RING.unwrap(RING.wrap(DEK, CONTEXT), other)


def test_it_rejects_a_wrapped_key_from_another_key_ring() -> None:
    with pytest.raises(DecryptionError):
        KeyRing.generate().unwrap(RING.wrap(DEK, CONTEXT), CONTEXT)


def test_it_rejects_a_wrapped_key_relabelled_with_another_kek_version() -> None:
    ring = KeyRing.from_json(RING.to_json())
    ring.add()
    with pytest.raises(DecryptionError):
        ring.unwrap(with_version(ring.wrap(DEK, CONTEXT), 2), CONTEXT)


def test_it_reports_a_kek_version_missing_from_the_ring_as_an_operator_problem() -> None:
    with pytest.raises(UnknownKeyVersionError) as raised:
        RING.unwrap(with_version(RING.wrap(DEK, CONTEXT), 7), CONTEXT)
    # Both: callers that handle "cannot decrypt" fail closed, operators get a clear message.
    assert isinstance(raised.value, DecryptionError)
    assert isinstance(raised.value, KeyStoreError)
    assert str(raised.value) == "key version 7 is not in the key ring"
    assert raised.value.version == 7


@pytest.mark.parametrize(
    "wrapped", [b"", b"\x01", bytes(65), b"\x02" + bytes(64), b"\x01" + bytes(65)]
)
def test_it_reads_no_version_from_a_malformed_wrapped_key(wrapped: bytes) -> None:
    with pytest.raises(DecryptionError):
        wrapped_key_version(wrapped)
    with pytest.raises(DecryptionError):
        RING.unwrap(wrapped, CONTEXT)


@pytest.mark.parametrize("wrapped", [None, "text", 42])
def test_it_rejects_a_wrapped_key_of_the_wrong_type(wrapped: object) -> None:
    with pytest.raises(DecryptionError):
        RING.unwrap(wrapped, CONTEXT)  # type: ignore[arg-type]


# -- rotation -------------------------------------------------------------------------------


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate()


def test_it_adds_a_new_version_without_activating_it(ring: KeyRing) -> None:
    assert ring.add() == 2
    assert ring.versions == [1, 2]
    assert ring.active_version == 1
    assert wrapped_key_version(ring.wrap(DEK, CONTEXT)) == 1


def test_it_still_unwraps_old_deks_after_rotation(ring: KeyRing) -> None:
    old = ring.wrap(DEK, CONTEXT)
    ring.activate(ring.add())
    assert ring.unwrap(old, CONTEXT) == DEK
    assert wrapped_key_version(ring.wrap(DEK, CONTEXT)) == 2


def test_it_rewraps_a_dek_under_the_active_kek(ring: KeyRing) -> None:
    old = ring.wrap(DEK, CONTEXT)
    ring.activate(ring.add())
    new = ring.rewrap(old, CONTEXT)
    assert wrapped_key_version(new) == 2
    assert ring.unwrap(new, CONTEXT) == DEK


def test_it_refuses_to_rewrap_under_the_wrong_context(ring: KeyRing) -> None:
    ring.activate(ring.add())
    with pytest.raises(DecryptionError):
        ring.rewrap(ring.wrap(DEK, CONTEXT), b"applicant:someone-else")


def test_it_retires_an_old_version_so_its_deks_no_longer_unwrap(ring: KeyRing) -> None:
    old = ring.wrap(DEK, CONTEXT)
    ring.activate(ring.add())
    ring.retire(1)
    assert ring.versions == [2]
    with pytest.raises(UnknownKeyVersionError):
        ring.unwrap(old, CONTEXT)


def test_it_refuses_to_retire_the_active_version(ring: KeyRing) -> None:
    with pytest.raises(KeyStoreError, match="active"):
        ring.retire(1)


def test_it_gives_a_ring_without_one_version_and_keeps_its_own(ring: KeyRing) -> None:
    old = ring.wrap(DEK, CONTEXT)
    ring.activate(ring.add())
    new = ring.wrap(DEK, CONTEXT)
    remaining = ring.without(1)
    assert remaining.versions == [2]
    assert remaining.active_version == 2
    assert remaining.index_key == ring.index_key
    assert remaining.unwrap(new, CONTEXT) == DEK
    with pytest.raises(UnknownKeyVersionError):
        remaining.unwrap(old, CONTEXT)
    assert ring.versions == [1, 2]
    assert ring.unwrap(old, CONTEXT) == DEK


def test_it_refuses_a_ring_without_the_active_version(ring: KeyRing) -> None:
    ring.add()
    with pytest.raises(KeyStoreError, match="active"):
        ring.without(1)


@pytest.mark.parametrize("version", [0, 2, -1])
def test_it_refuses_to_activate_or_retire_an_unknown_version(ring: KeyRing, version: int) -> None:
    with pytest.raises(KeyStoreError, match="not in the key ring"):
        ring.activate(version)
    with pytest.raises(KeyStoreError, match="not in the key ring"):
        ring.retire(version)


# -- JSON -----------------------------------------------------------------------------------


def test_it_round_trips_through_json(ring: KeyRing) -> None:
    ring.activate(ring.add())
    wrapped = ring.wrap(DEK, CONTEXT)
    copied = KeyRing.from_json(ring.to_json())
    assert copied.to_json() == ring.to_json()
    assert copied.unwrap(wrapped, CONTEXT) == DEK
    assert copied.index_key == ring.index_key


def test_it_writes_the_documented_json_format(ring: KeyRing) -> None:
    ring.activate(ring.add())
    document = json.loads(ring.to_json())
    assert set(document) == {"format", "active", "keks", "index_key"}
    assert document["format"] == "casework-keyring/1"
    assert document["active"] == 2
    assert list(document["keks"]) == ["1", "2"]


def test_it_reads_the_key_ring_from_an_environment_value() -> None:
    assert KeyRing.from_env(RING.to_json()).to_json() == RING.to_json()


KEY_31 = base64.b64encode(bytes(31)).decode()
KEY_33 = base64.b64encode(bytes(33)).decode()
KEK_1 = json.loads(RING.to_json())["keks"]["1"]
BAD_DOCUMENTS = {
    "an array": [],
    "a missing field": {k: v for k, v in a_ring_document().items() if k != "index_key"},
    "an extra field": a_ring_document(comment="x"),
    "another format": a_ring_document(format="casework-keyring/2"),
    "an active version not in keks": a_ring_document(active=2),
    "a boolean active": a_ring_document(active=True),
    "a string active": a_ring_document(active="1"),
    "empty keks": a_ring_document(keks={}),
    "keks as a list": a_ring_document(keks=[KEK_1]),
    "version 0": a_ring_document(keks={"0": KEK_1}, active=0),
    "version 01": a_ring_document(keks={"01": KEK_1}),
    "a negative version": a_ring_document(keks={"-1": KEK_1}, active=-1),
    "a version too large": a_ring_document(keks={"4294967296": KEK_1}, active=4294967296),
    "a key pasted as a version": a_ring_document(keks={KEK_1: "1"}),
    "a kek that is not base64": a_ring_document(keks={"1": "not base64!"}),
    "a kek that is urlsafe base64": a_ring_document(
        keks={"1": KEK_1.replace("+", "-").replace("/", "_") + "-_"}
    ),
    "a kek with a line break inside": a_ring_document(keks={"1": KEK_1[:20] + "\n" + KEK_1[20:]}),
    "a kek of 31 bytes": a_ring_document(keks={"1": KEY_31}),
    "a kek of 33 bytes": a_ring_document(keks={"1": KEY_33}),
    "a kek that is a number": a_ring_document(keks={"1": 1}),
    "an index key of 31 bytes": a_ring_document(index_key=KEY_31),
    "an index key equal to a kek": a_ring_document(index_key=KEK_1),
    "two equal keks": a_ring_document(keks={"1": KEK_1, "2": KEK_1}),
}
BAD_TEXTS = {
    **{name: json.dumps(document) for name, document in BAD_DOCUMENTS.items()},
    "empty text": "",
    "not JSON": "{format: casework-keyring/1",
    "truncated JSON": RING.to_json()[:-20],
    "a duplicate field": RING.to_json()[:-1] + ', "active": 1}',
}


@pytest.mark.parametrize("text", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_it_refuses_a_malformed_key_ring_with_one_line_that_reveals_no_key(text: str) -> None:
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.from_json(text)
    message = str(raised.value)
    assert message
    assert "\n" not in message
    assert_reveals_no_key(message, RING)
    # The key-carrying JSON error must not ride along as context into a traceback.
    assert raised.value.__context__ is None or raised.value.__suppress_context__


NAMES_MUST_BE_INTEGERS = "key ring 'keks' names must be positive integers such as \"1\""
EXACTLY_FOUR = "key ring must have exactly: format, active, keks, index_key"
SAME_KEY_TWICE = "key ring contains the same key twice"
WHAT_IS_WRONG = {
    "an array": "key ring JSON must be an object",
    "a missing field": EXACTLY_FOUR,
    "an extra field": EXACTLY_FOUR,
    "another format": "key ring format must be 'casework-keyring/1'",
    "an active version not in keks": "the active key version is not in the key ring",
    "a boolean active": "key ring 'active' must be an integer",
    "a string active": "key ring 'active' must be an integer",
    "empty keks": "key ring 'keks' must be a non-empty object",
    "keks as a list": "key ring 'keks' must be a non-empty object",
    "version 0": NAMES_MUST_BE_INTEGERS,
    "version 01": NAMES_MUST_BE_INTEGERS,
    "a negative version": NAMES_MUST_BE_INTEGERS,
    "a version too large": "key versions must be integers from 1 to 2**32-1",
    "a key pasted as a version": NAMES_MUST_BE_INTEGERS,
    "a kek that is not base64": "key ring KEK 1 is not valid base64",
    "a kek that is urlsafe base64": "key ring KEK 1 is not valid base64",
    "a kek with a line break inside": "key ring KEK 1 is not valid base64",
    "a kek of 31 bytes": "key ring KEK 1 must be 32 bytes, not 31",
    "a kek of 33 bytes": "key ring KEK 1 must be 32 bytes, not 33",
    "a kek that is a number": "key ring KEK 1 must be a base64 string",
    "an index key of 31 bytes": "key ring index_key must be 32 bytes, not 31",
    "an index key equal to a kek": SAME_KEY_TWICE,
    "two equal keks": SAME_KEY_TWICE,
    "empty text": "key ring is not valid JSON (line 1, column 1)",
    "not JSON": "key ring is not valid JSON (line 1, column 2)",
    "truncated JSON": "key ring is not valid JSON (line 7, column 16)",
    "a duplicate field": "key ring JSON has a duplicate field name",
}


@pytest.mark.parametrize("name", BAD_TEXTS)
def test_it_says_what_is_wrong_with_a_malformed_key_ring(name: str) -> None:
    # The operator's only clue: one exact line naming the member and the rule broken.
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.from_json(BAD_TEXTS[name])
    assert str(raised.value) == WHAT_IS_WRONG[name]


def test_it_refuses_an_empty_environment_value() -> None:
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.from_env("  ")
    assert str(raised.value) == "key ring environment variable is empty"


@pytest.mark.parametrize(
    ("keks", "index_key", "message"),
    [
        ({}, bytes(range(32)), "key ring has no KEKs"),
        ({0: bytes(32)}, bytes(range(32)), "key versions must be integers from 1 to 2**32-1"),
        ({1: bytes(31)}, bytes(range(32)), "KEK version 1 must be 32 bytes"),
        ({1: "0" * 32}, bytes(range(32)), "KEK version 1 must be 32 bytes"),
        ({1: bytes(32)}, bytes(31), "index_key must be 32 bytes"),
        ({1: bytes(32)}, bytes(32), SAME_KEY_TWICE),
    ],
)
def test_its_constructor_refuses_invalid_keys(
    keks: dict[int, Any], index_key: bytes, message: str
) -> None:
    with pytest.raises(KeyStoreError) as raised:
        KeyRing(keks, active=1, index_key=index_key)
    assert str(raised.value) == message


def test_its_constructor_refuses_an_active_version_it_does_not_hold() -> None:
    with pytest.raises(KeyStoreError) as raised:
        KeyRing({1: bytes(32)}, active=2, index_key=bytes(range(32)))
    assert str(raised.value) == "the active key version is not in the key ring"


# -- the largest key version ----------------------------------------------------------------

MAX_VERSION = 2**32 - 1


def test_it_holds_and_names_the_largest_key_version() -> None:
    ring = KeyRing({MAX_VERSION: bytes(32)}, active=MAX_VERSION, index_key=bytes(range(32)))
    wrapped = ring.wrap(DEK, CONTEXT)
    assert wrapped[1:5] == b"\xff\xff\xff\xff"
    assert wrapped_key_version(wrapped) == MAX_VERSION
    assert KeyRing.from_json(ring.to_json()).unwrap(wrapped, CONTEXT) == DEK


def test_it_reads_every_byte_of_the_version_header() -> None:
    version = 2**24 + 2  # the top byte of the version field matters
    ring = KeyRing({version: bytes(32)}, active=version, index_key=bytes(range(32)))
    assert wrapped_key_version(ring.wrap(DEK, CONTEXT)) == version


def test_it_adds_the_largest_version_and_then_refuses() -> None:
    ring = KeyRing({MAX_VERSION - 1: bytes(32)}, active=MAX_VERSION - 1, index_key=os.urandom(32))
    assert ring.add() == MAX_VERSION
    with pytest.raises(KeyStoreError) as raised:
        ring.add()
    assert str(raised.value) == "no key version numbers left"


def test_it_reads_a_ten_digit_version_name_and_refuses_eleven_digits() -> None:
    largest = a_ring_document(keks={str(MAX_VERSION): KEK_1}, active=MAX_VERSION)
    assert KeyRing.from_json(json.dumps(largest)).versions == [MAX_VERSION]
    eleven = a_ring_document(keks={"10000000000": KEK_1}, active=1)
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.from_json(json.dumps(eleven))
    assert str(raised.value) == NAMES_MUST_BE_INTEGERS


def test_it_writes_the_key_ring_as_indented_json() -> None:
    ring = KeyRing({1: bytes(range(32))}, active=1, index_key=bytes(range(32, 64)))
    kek, index_key = (base64.b64encode(bytes(range(n, n + 32))).decode() for n in (0, 32))
    assert ring.to_json() == (
        "{\n"
        '  "format": "casework-keyring/1",\n'
        '  "active": 1,\n'
        '  "keks": {\n'
        f'    "1": "{kek}"\n'
        "  },\n"
        f'  "index_key": "{index_key}"\n'
        "}"
    )


# -- never showing keys ---------------------------------------------------------------------


def test_its_repr_and_str_show_versions_but_no_key(ring: KeyRing) -> None:
    ring.activate(ring.add())
    assert repr(ring) == str(ring) == "KeyRing(active=2, versions=[1, 2])"
    assert_reveals_no_key(repr(ring) + str(ring) + f"{ring!r}", ring)


def test_it_refuses_to_be_pickled_or_copied_so_it_cannot_land_in_a_cache() -> None:
    message = "KeyRing must not be pickled or copied; it holds keys"
    with pytest.raises(TypeError) as pickled:
        pickle.dumps(RING)
    with pytest.raises(TypeError) as copied:
        copy.copy(RING)
    assert str(pickled.value) == str(copied.value) == message


# -- the key file ---------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    RING.save(path)
    return path


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_it_saves_a_key_file_with_mode_0600_and_loads_it_back(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert KeyRing.load(key_file).to_json() == RING.to_json()


def test_it_saves_with_mode_0600_even_under_a_permissive_umask(
    tmp_path: Path, open_umask: None
) -> None:
    RING.save(tmp_path / "keys.json")
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_it_loads_a_read_only_key_file(key_file: Path) -> None:
    key_file.chmod(0o400)
    assert KeyRing.load(key_file).active_version == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o610, 0o601])
def test_it_refuses_a_key_file_that_group_or_others_can_access(key_file: Path, mode: int) -> None:
    key_file.chmod(mode)
    with pytest.raises(KeyStoreError, match=f"chmod 600 {key_file}") as raised:
        KeyRing.load(key_file)
    assert f"{mode:04o}" in str(raised.value)
    assert_reveals_no_key(str(raised.value), RING)


def test_it_refuses_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="does not exist"):
        KeyRing.load(tmp_path / "missing.json")


def test_it_refuses_a_directory_as_key_file(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    with pytest.raises(KeyStoreError, match="not a regular file"):
        KeyRing.load(tmp_path)


def test_it_refuses_a_fifo_as_key_file_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "keys.json"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyStoreError, match="not a regular file"):
        KeyRing.load(fifo)


def test_it_follows_a_symlink_to_a_private_key_file(key_file: Path, tmp_path: Path) -> None:
    # Secret mounts (Kubernetes, Docker) expose key files through symlinks.
    link = tmp_path / "link.json"
    link.symlink_to(key_file)
    assert KeyRing.load(link).to_json() == RING.to_json()


def test_it_refuses_a_key_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(b"\xff\xfe" + RING.to_json().encode("utf-16-le"))
    path.chmod(0o600)
    with pytest.raises(KeyStoreError, match="UTF-8") as raised:
        KeyRing.load(path)
    assert raised.value.__context__ is None


def test_it_refuses_a_malformed_key_file_without_revealing_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(RING.to_json().replace('"active": 1', '"active": 9'))
    path.chmod(0o600)
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.load(path)
    assert_reveals_no_key(str(raised.value), RING)


def test_it_refuses_to_overwrite_a_key_file_by_default(key_file: Path) -> None:
    before = key_file.read_bytes()
    with pytest.raises(KeyStoreError, match="already exists"):
        KeyRing.generate().save(key_file)
    assert key_file.read_bytes() == before


def test_it_overwrites_a_key_file_when_asked_and_keeps_mode_0600(key_file: Path) -> None:
    ring = KeyRing.from_json(RING.to_json())
    ring.activate(ring.add())
    ring.save(key_file, overwrite=True)
    assert KeyRing.load(key_file).active_version == 2
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_it_leaves_no_temporary_file_behind(key_file: Path) -> None:
    with pytest.raises(KeyStoreError):
        RING.save(key_file)
    RING.save(key_file, overwrite=True)
    assert [path.name for path in key_file.parent.iterdir()] == ["keys.json"]


def test_it_reports_an_unwritable_location_as_a_key_store_error(tmp_path: Path) -> None:
    path = tmp_path / "missing-directory" / "keys.json"
    with pytest.raises(KeyStoreError) as raised:
        RING.save(path)
    assert str(raised.value) == f"cannot write key file {path}: No such file or directory"


def test_it_names_the_file_it_refuses_to_overwrite(key_file: Path) -> None:
    expected = f"key file {key_file} already exists; refusing to overwrite it"
    with pytest.raises(KeyStoreError) as raised:
        RING.save(key_file)
    assert str(raised.value) == expected


def test_it_names_the_file_another_writer_created_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    real_link = os.link

    def racing_link(source: Any, target: Any) -> None:
        target_path = Path(target)
        target_path.write_text("written by another process")  # between check and link
        real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(KeyStoreError) as raised:
        RING.save(path)
    assert str(raised.value) == f"key file {path} already exists; refusing to overwrite it"
    assert path.read_text() == "written by another process"


def test_it_never_writes_through_a_link_planted_at_its_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    monkeypatch.setattr("crypto.keyring.secrets.token_hex", lambda n: "predictable")
    (tmp_path / ".keys.json.predictable.tmp").symlink_to(victim)
    with pytest.raises(KeyStoreError):
        RING.save(tmp_path / "keys.json")
    assert victim.read_text() == "untouched"
    assert not (tmp_path / "keys.json").exists()


def test_it_names_the_key_file_it_cannot_open(key_file: Path) -> None:
    path = key_file / "keys.json"  # a regular file is not a directory
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.load(path)
    assert str(raised.value) == f"cannot open key file {path}: Not a directory"


def test_it_names_a_key_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(b"\xff")
    path.chmod(0o600)
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.load(path)
    assert str(raised.value) == f"key file {path} is not UTF-8 text"


def write_padded_key_file(path: Path, size: int) -> None:
    """A valid key ring, padded in front with spaces to exactly ``size`` bytes."""
    text = RING.to_json().encode()
    path.write_bytes(b" " * (size - len(text)) + text)
    path.chmod(0o600)


def test_it_reads_a_key_file_of_exactly_one_mebibyte(tmp_path: Path) -> None:
    write_padded_key_file(tmp_path / "keys.json", 1 << 20)
    assert KeyRing.load(tmp_path / "keys.json").to_json() == RING.to_json()


def test_it_refuses_a_key_file_over_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_padded_key_file(path, (1 << 20) + 1)
    with pytest.raises(KeyStoreError) as raised:
        KeyRing.load(path)
    assert str(raised.value) == f"key file {path} is too large to be a key ring"


# --- layered wrapped keys (issue 16): a DEK under an organisation key, then under the KEK ------


def _layered_token() -> bytes:
    from crypto import encrypt

    return encrypt(os.urandom(32), os.urandom(32), b"datakey-org:test")


def test_a_layered_key_round_trips_and_is_94_bytes():
    ring = KeyRing.generate()
    token = _layered_token()
    wrapped = ring.wrap_layered(token, b"ctx")
    assert len(wrapped) == 94 and wrapped[0] == 2
    assert ring.unwrap_layered(wrapped, b"ctx") == token


def test_neither_format_is_taken_for_the_other():
    from crypto import DecryptionError

    ring = KeyRing.generate()
    layered = ring.wrap_layered(_layered_token(), b"ctx")
    plain = ring.wrap(os.urandom(32), b"ctx")
    with pytest.raises(DecryptionError):
        ring.unwrap(layered, b"ctx")
    with pytest.raises(DecryptionError):
        ring.unwrap_layered(plain, b"ctx")
    relabelled = bytes([1]) + layered[1:]  # the format byte is authenticated too
    with pytest.raises(DecryptionError):
        ring.unwrap_layered(bytes([2]) + plain[1:] + bytes(29), b"ctx")
    with pytest.raises(DecryptionError):
        ring.unwrap(relabelled, b"ctx")


def test_rotation_rewraps_a_layered_key_without_opening_its_inner_layer():
    from crypto import wrapped_key_format, wrapped_key_version

    ring = KeyRing.generate()
    token = _layered_token()
    wrapped = ring.wrap_layered(token, b"ctx")
    ring.activate(ring.add())
    again = ring.rewrap(wrapped, b"ctx")
    assert wrapped_key_format(again) == 2 and wrapped_key_version(again) == 2
    assert ring.unwrap_layered(again, b"ctx") == token


def test_a_layered_payload_must_be_a_token_of_a_key():
    ring = KeyRing.generate()
    with pytest.raises(ValueError):
        ring.wrap_layered(os.urandom(32), b"ctx")
