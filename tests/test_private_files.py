"""Development keys created on first use (the SECRET_KEY, the audit signing key): several
processes start at once, so a key file appears whole or not at all, and never replaces
another process's (tests/test_audit_signer.py has the two workers' race itself)."""

from __future__ import annotations

import stat

from casework.lib.env import dev_secret_key, publish_private_file


def test_a_private_file_is_published_whole_with_mode_0600_and_nothing_left_beside_it(tmp_path):
    path = tmp_path / "key"
    assert publish_private_file(path, b"first")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_an_existing_file_is_never_replaced(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"theirs")
    assert not publish_private_file(path, b"mine")
    assert path.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_the_development_secret_key_is_made_once_and_read_back(tmp_path):
    key = dev_secret_key(tmp_path)
    assert len(key) > 50 and dev_secret_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
