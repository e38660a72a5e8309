"""Checkpoints are signed outside the web process (issue 12, finding 3): only
``audit_checkpoint``, run by its own operating-system user, reads the signing key; the web
workers verify with the public key and never need, or open, the key file."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from casework.audit import signing
from casework.audit.models import Action, AuditEvent, Checkpoint
from casework.audit.services import record
from casework.audit.verification import sign_checkpoint, verify_chain
from crypto import KeyStoreError
from crypto.audit_chain import new_signing_key, public_key_of
from tests.conftest import login_verified
from tests.test_production_settings import prod_env

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def run(args, env):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def web_without_the_key(settings, monkeypatch):
    """The web process as deployed: the public key configured, the key file out of reach."""
    key = signing.signing_key()
    settings.CASEWORK_AUDIT_PUBLIC_KEY = base64.b64encode(public_key_of(key)).decode()

    def unreadable():
        raise KeyStoreError("permission denied (the web's user cannot read the signer's key)")

    monkeypatch.setattr(signing, "signing_key", unreadable)
    monkeypatch.setattr("casework.audit.verification.signing_key", unreadable)
    return key


def test_the_web_server_starts_without_being_able_to_read_the_signing_key(tmp_path):
    env = prod_env(tmp_path)
    assert run(["manage.py", "init_keys"], env).returncode == 0
    public = base64.b64encode(public_key_of(new_signing_key())).decode()
    env.update(
        CASEWORK_AUDIT_KEY_FILE=str(tmp_path / "signer-only" / "audit-signing.key"),  # absent
        CASEWORK_AUDIT_PUBLIC_KEY=public,
    )
    result = run(["-c", "import casework.wsgi"], env)
    assert result.returncode == 0, result.stderr


def test_the_web_server_refuses_to_start_in_production_without_the_public_key(tmp_path):
    env = prod_env(tmp_path)
    assert run(["manage.py", "init_keys"], env).returncode == 0
    assert run(["manage.py", "audit_checkpoint", "--init-key"], env).returncode == 0
    result = run(["-c", "import casework.wsgi"], env)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "CASEWORK_AUDIT_PUBLIC_KEY must be set" in result.stderr


def test_requests_append_and_verify_without_the_signing_key(
    client, auditor, web_without_the_key, settings
):
    for _ in range(120):  # more than the 100 entries after which a request used to sign
        record(Action.LOGIN_FAILED, decision="deny")
    assert not Checkpoint.objects.exists()
    login_verified(client, auditor)
    response = client.post(reverse("audit_verify"), {"next": reverse("audit_log")})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.AUDIT_VERIFIED).exists()


def test_the_signer_signs_what_the_web_verifies(web_without_the_key, monkeypatch):
    record(Action.LOGIN_FAILED, decision="deny")
    monkeypatch.setattr(signing, "signing_key", lambda: web_without_the_key)
    monkeypatch.setattr("casework.audit.verification.signing_key", lambda: web_without_the_key)
    sign_checkpoint()
    monkeypatch.undo()
    assert verify_chain().ok


def test_the_signer_refuses_a_key_the_web_would_not_verify_with(settings):
    record(Action.LOGIN_FAILED, decision="deny")
    settings.CASEWORK_AUDIT_PUBLIC_KEY = base64.b64encode(public_key_of(new_signing_key())).decode()
    with pytest.raises(CommandError, match="does not match CASEWORK_AUDIT_PUBLIC_KEY"):
        call_command("audit_checkpoint")
    assert not Checkpoint.objects.exists()


def test_public_key_prints_the_public_half_of_the_key_file(capsys, settings):
    settings.CASEWORK_AUDIT_PUBLIC_KEY = base64.b64encode(bytes(32)).decode()  # not used
    call_command("audit_checkpoint", "--public-key")
    printed = base64.b64decode(capsys.readouterr().out.strip())
    assert printed == public_key_of(signing.signing_key())


def test_a_malformed_public_key_is_refused(settings):
    settings.CASEWORK_AUDIT_PUBLIC_KEY = "not base64!"
    with pytest.raises(KeyStoreError, match="CASEWORK_AUDIT_PUBLIC_KEY"):
        signing.public_key()


def test_a_key_file_the_user_cannot_open_is_a_key_store_error(settings, tmp_path):
    closed = tmp_path / "signer"
    closed.mkdir(mode=0o700)
    (closed / "audit-signing.key").write_text("x")
    settings.CASEWORK_AUDIT_KEY_FILE = closed / "audit-signing.key" / "below-a-file"
    with pytest.raises(KeyStoreError):
        signing.signing_key()


def test_two_processes_creating_the_development_key_at_once_both_read_one_whole_key(
    settings, tmp_path, monkeypatch
):
    """Two gunicorn workers starting together both found no development audit key: the one
    that reached the file second read it while the first was still writing it ("must hold
    32 bytes") and exited (seen in .ci/run's short load test). A key file appears whole or
    not at all, and the loser reads the winner's."""
    import threading

    path = tmp_path / "audit-signing.key"
    settings.CASEWORK_AUDIT_KEY_FILE = str(path)
    inside, release = threading.Event(), threading.Event()
    original = signing.new_signing_key
    first = None  # the thread of the first process, set by it below

    def slow_for_the_first(*args):
        if threading.get_ident() == first:
            inside.set()
            release.wait(10)
        return original(*args)

    monkeypatch.setattr(signing, "new_signing_key", slow_for_the_first)
    first_key: list[bytes] = []

    def worker():
        nonlocal first
        first = threading.get_ident()
        first_key.append(signing.signing_key())

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(10)  # the first is making its key
    second_key = signing.signing_key()  # the second arrives meanwhile
    release.set()
    thread.join(10)
    assert len(second_key) == 32 and first_key == [second_key]
    assert base64.b64decode(path.read_text()) == second_key
    assert not [p.name for p in tmp_path.iterdir() if p.name != path.name]  # nothing left over
