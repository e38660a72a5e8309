"""Member keys (crypto.member_keys, issue 16): a private key locked under the member's
password, and secrets sealed to a member's public key. The attacker here holds the stored
bytes: without the password, or without the private key, nothing opens; moved to another
member or context, nothing opens; altered anywhere, nothing opens. The format tests decrypt
with `cryptography` alone, following SECURITY.md's layout."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import DecryptionError
from crypto import member_keys as mk

# Cheap Argon2id for tests that do not measure the cost: the format is the same.
FAST = mk.KdfParams(memory_kib=64, iterations=1, lanes=1)
PASSWORD = b"correct horse battery staple"
CONTEXT = b"member:8a1f4d3e-0000-4000-8000-000000000001:org:91ab0c52-0000-4000-8000-00000000000a"
OTHER_CONTEXT = CONTEXT.replace(b"0001:org", b"0002:org")
SECRET = bytes(range(32))  # an organisation key


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --- the locked private key ------------------------------------------------------------


def test_a_locked_key_opens_with_its_password_and_context():
    private, public = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    assert len(locked) == mk.LOCKED_SIZE == 83
    assert mk.unlock_private_key(locked, PASSWORD, CONTEXT) == private
    assert mk.public_key_of(private) == public
    assert private not in locked


def test_a_wrong_password_opens_nothing():
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    for guess in (b"correct horse battery stapl", PASSWORD + b" ", PASSWORD.upper()):
        with pytest.raises(DecryptionError):
            mk.unlock_private_key(locked, guess, CONTEXT)


def test_a_locked_key_moved_to_another_member_opens_nothing():
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    with pytest.raises(DecryptionError):
        mk.unlock_private_key(locked, PASSWORD, OTHER_CONTEXT)


def test_every_altered_byte_of_a_locked_key_is_refused():
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    for index in range(len(locked)):
        with pytest.raises(DecryptionError):
            mk.unlock_private_key(flipped(locked, index), PASSWORD, CONTEXT)
    for bad in (locked[:-1], locked + b"\x00", b"", "text"):
        with pytest.raises(DecryptionError):
            mk.unlock_private_key(bad, PASSWORD, CONTEXT)  # type: ignore[arg-type]


def test_a_forged_cost_is_refused_before_any_work(monkeypatch):
    """A record rewritten to ask for 4 GiB (or 255 passes) must not make the server try."""
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    derived: list[tuple[bytes, ...]] = []

    def derive(*args: bytes) -> bytes:
        derived.append(args)
        return bytes(32)

    monkeypatch.setattr(mk, "_derive", derive)
    version, salt, _memory, iterations, lanes = struct.unpack(">B16sIBB", locked[:23])
    for memory_kib, passes, lanes_ in ((4 * 1024 * 1024, iterations, lanes), (64, 255, 1)):
        header = struct.pack(">B16sIBB", version, salt, memory_kib, passes, lanes_)
        with pytest.raises(DecryptionError):
            mk.unlock_private_key(header + locked[23:], PASSWORD, CONTEXT)
    assert derived == []


def test_each_lock_has_its_own_salt_and_nonce():
    private, _ = mk.new_member_key()
    first = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    second = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    assert first[1:17] != second[1:17]  # salt
    assert first[23:35] != second[23:35]  # nonce
    assert mk.locked_params(first) == FAST


def test_the_locked_key_format_is_as_documented():
    """Decrypted by hand: header (version, salt, memory, passes, lanes), nonce, GCM."""
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT, FAST)
    version, salt, memory_kib, iterations, lanes = struct.unpack(">B16sIBB", locked[:23])
    assert (version, memory_kib, iterations, lanes) == (1, 64, 1, 1)
    key = Argon2id(
        salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory_kib
    ).derive(PASSWORD)
    nonce, sealed = locked[23:35], locked[35:]
    assert AESGCM(key).decrypt(nonce, sealed, locked[:23] + CONTEXT) == private


def test_the_default_cost_is_rfc_9106s_second_recommendation():
    assert mk.KdfParams(memory_kib=65536, iterations=3, lanes=4) == mk.DEFAULT_KDF
    private, _ = mk.new_member_key()
    locked = mk.lock_private_key(private, PASSWORD, CONTEXT)
    assert mk.locked_params(locked) == mk.DEFAULT_KDF
    assert mk.unlock_private_key(locked, PASSWORD, CONTEXT) == private


@pytest.mark.parametrize(
    "params",
    [(4, 1, 1), (64, 0, 1), (64, 17, 1), (64, 1, 0), (64, 1, 17), (2 * 1024 * 1024, 1, 1)],
)
def test_costs_outside_the_bounds_are_refused(params):
    with pytest.raises(ValueError):
        mk.KdfParams(*params)


def test_bad_arguments_are_programming_errors():
    private, public = mk.new_member_key()
    with pytest.raises(ValueError):
        mk.lock_private_key(private[:31], PASSWORD, CONTEXT, FAST)
    with pytest.raises(ValueError):
        mk.lock_private_key(private, b"", CONTEXT, FAST)
    with pytest.raises(ValueError):
        mk.lock_private_key(private, PASSWORD, b"", FAST)
    with pytest.raises(ValueError):
        mk.seal_to_member(public, SECRET, b"")
    with pytest.raises(ValueError):
        mk.seal_to_member(public[:31], SECRET, CONTEXT)
    with pytest.raises(ValueError):
        mk.seal_to_member(public, b"", CONTEXT)


# --- the sealed secret -----------------------------------------------------------------


def test_a_sealed_secret_opens_with_the_members_private_key_only():
    private, public = mk.new_member_key()
    other, _ = mk.new_member_key()
    sealed = mk.seal_to_member(public, SECRET, CONTEXT)
    assert len(sealed) == 1 + 32 + 12 + 32 + 16
    assert SECRET not in sealed
    assert mk.open_sealed_secret(private, sealed, CONTEXT) == SECRET
    with pytest.raises(DecryptionError):
        mk.open_sealed_secret(other, sealed, CONTEXT)


def test_a_sealed_secret_moved_to_another_context_opens_nothing():
    private, public = mk.new_member_key()
    sealed = mk.seal_to_member(public, SECRET, CONTEXT)
    with pytest.raises(DecryptionError):
        mk.open_sealed_secret(private, sealed, OTHER_CONTEXT)


def test_every_altered_byte_of_a_sealed_secret_is_refused():
    private, public = mk.new_member_key()
    sealed = mk.seal_to_member(public, SECRET, CONTEXT)
    for index in range(len(sealed)):
        with pytest.raises(DecryptionError):
            mk.open_sealed_secret(private, flipped(sealed, index), CONTEXT)
    for bad in (sealed[: 45 + 16], sealed[:-1], b"", "text"):
        with pytest.raises(DecryptionError):
            mk.open_sealed_secret(private, bad, CONTEXT)  # type: ignore[arg-type]


def test_a_small_order_ephemeral_key_is_refused():
    """An all-zero point makes every shared secret zero: refused, not used as a key."""
    private, public = mk.new_member_key()
    sealed = mk.seal_to_member(public, SECRET, CONTEXT)
    forged = sealed[:1] + bytes(32) + sealed[33:]
    with pytest.raises(DecryptionError):
        mk.open_sealed_secret(private, forged, CONTEXT)


def test_each_seal_has_its_own_ephemeral_key_and_nonce():
    _, public = mk.new_member_key()
    first = mk.seal_to_member(public, SECRET, CONTEXT)
    second = mk.seal_to_member(public, SECRET, CONTEXT)
    assert first[1:33] != second[1:33]
    assert first[33:45] != second[33:45]


def test_the_sealed_secret_format_is_as_documented():
    """Opened by hand: X25519, HKDF-SHA256 (salt: both public keys; info), AES-256-GCM over
    the 33-byte header and the context."""
    private, public = mk.new_member_key()
    sealed = mk.seal_to_member(public, SECRET, CONTEXT)
    assert sealed[0] == 1
    ephemeral_public = sealed[1:33]
    shared = X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(ephemeral_public)
    )
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral_public + public,
        info=b"casework member seal v1",
    ).derive(shared)
    assert AESGCM(key).decrypt(sealed[33:45], sealed[45:], sealed[:33] + CONTEXT) == SECRET
