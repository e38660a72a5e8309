"""Sign-in with a second factor; pyotp plays the authenticator app (an independent TOTP)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from casework.accounts.models import BackupCodeDevice, TOTPDevice, UserSession
from casework.accounts.services import issue_backup_codes
from casework.audit.models import AuditEvent
from tests.conftest import login_verified, make_totp

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def alice(caseworker):
    caseworker.set_password(PASSWORD)
    caseworker.save()
    return caseworker


@pytest.fixture
def app(alice):
    return make_totp(alice)[1]


def password_step(client, username="alice", password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def at(offset_seconds=0):
    """A fixed instant (mid time-step) plus an offset, for deterministic TOTP windows."""
    base = timezone.now().replace(microsecond=0)
    base = base - timedelta(seconds=base.second % 30) + timedelta(seconds=15)
    return base + timedelta(seconds=offset_seconds)


def test_the_ladder_anonymous_then_password_then_second_factor(client, alice, app):
    home = reverse("home")
    assert client.get(home).headers["Location"].startswith(reverse("login"))
    response = password_step(client)
    assert response.status_code == 302 and response.headers["Location"] == reverse("login_verify")
    assert client.get(home).headers["Location"] == reverse("login_verify")
    response = client.post(reverse("login_verify"), {"code": app.now()})
    assert response.status_code == 302
    assert client.get(home).status_code == 200


def test_the_session_key_changes_at_each_step(client, alice, app):
    client.get(reverse("login"))
    before = client.session.session_key
    password_step(client)
    after_password = client.session.session_key
    client.post(reverse("login_verify"), {"code": app.now()})
    after_otp = client.session.session_key
    assert len({before, after_password, after_otp}) == 3
    replay = client.__class__()
    replay.cookies["sessionid"] = after_password
    assert replay.get(reverse("home")).status_code == 302


def test_a_replayed_code_is_refused(client, alice, app):
    with time_machine.travel(at(), tick=False):
        code = app.now()
        password_step(client)
        assert client.post(reverse("login_verify"), {"code": code}).status_code == 302
        other = client.__class__()
        password_step(other)
        response = other.post(reverse("login_verify"), {"code": code})
    assert response.status_code == 200
    assert "did not work" in response.content.decode()


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-60, False), (-30, True), (30, True), (60, False)]
)
def test_the_totp_window_is_one_step_either_way(client, alice, app, offset, accepted):
    with time_machine.travel(at(), tick=False):
        password_step(client)
        code = app.at(at(offset))
        response = client.post(reverse("login_verify"), {"code": code})
    assert (response.status_code == 302) is accepted


def test_totp_secrets_are_at_least_160_bits(alice, app):
    device = TOTPDevice.objects.get(user=alice)
    assert len(bytes.fromhex(device.key)) >= 20


def test_throttling_refuses_a_correct_code_until_the_delay_passes(client, alice, app):
    start = at(-10)
    password_step(client)
    # Failures spaced so each is counted: delays after them are 1, 2 and then 4 seconds.
    for offset in (0, 1.5, 4):
        with time_machine.travel(start + timedelta(seconds=offset), tick=False):
            client.post(reverse("login_verify"), {"code": "000000"})
    assert TOTPDevice.objects.get(user=alice).throttling_failure_count == 3
    with time_machine.travel(start + timedelta(seconds=7), tick=False):
        response = client.post(reverse("login_verify"), {"code": app.now()})
        assert response.status_code == 200
        assert "Too many wrong codes" in response.content.decode()
    with time_machine.travel(start + timedelta(seconds=8.5), tick=False):
        response = client.post(reverse("login_verify"), {"code": app.now()})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=alice).throttling_failure_count == 0  # reset on success


def _wrong_code(app) -> str:
    """A code that no window around now accepts (so "000000" cannot be right by chance)."""
    window = {app.at(at(offset)) for offset in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in window)


def _reauthenticating(client, alice):
    login_verified(client, alice)
    session = client.session
    session["otp_verified_at"] = 0  # the step-up is long stale
    session.save()
    return client


@pytest.mark.parametrize("step", ["login_verify", "reauth"])
@pytest.mark.parametrize("wrong_codes_before", [1, 2])
def test_it_calls_a_code_after_one_or_two_wrong_ones_wrong_not_too_many(
    client, alice, app, step, wrong_codes_before
):
    # After each wrong code django-otp holds the device back for 1, then 2 seconds: a quick
    # retry is refused unseen, which is no reason to tell the user they tried too often.
    with time_machine.travel(at(), tick=False):
        if step == "login_verify":
            password_step(client)
        else:
            _reauthenticating(client, alice)
        for _ in range(wrong_codes_before):
            client.post(reverse(step), {"code": _wrong_code(app), "next": "/"})
        response = client.post(reverse(step), {"code": _wrong_code(app), "next": "/"})
    assert response.status_code == 200
    assert "That code did not work" in response.content.decode()
    assert "Too many wrong codes" not in response.content.decode()


@pytest.mark.parametrize("step", ["login_verify", "reauth"])
def test_it_says_too_many_after_three_wrong_codes_in_a_row(client, alice, app, step):
    if step == "login_verify":
        password_step(client)
    else:
        _reauthenticating(client, alice)
    start = at()
    # Spaced so each is looked at and counted: the device then waits 1, 2 and 4 seconds.
    for offset in (0, 1.5, 4):
        with time_machine.travel(start + timedelta(seconds=offset), tick=False):
            client.post(reverse(step), {"code": _wrong_code(app), "next": "/"})
    with time_machine.travel(start + timedelta(seconds=7), tick=False):
        response = client.post(reverse(step), {"code": app.now(), "next": "/"})
    assert response.status_code == 200
    assert "Too many wrong codes" in response.content.decode()


def test_ten_failures_require_at_least_512_seconds(alice, app):
    moment = timezone.now()
    for number in range(10):
        moment += timedelta(seconds=2**number + 1)  # wait out each delay, so each counts
        with time_machine.travel(moment, tick=False):
            TOTPDevice.objects.get(user=alice).verify_token("000000")
    device = TOTPDevice.objects.get(user=alice)
    assert device.throttling_failure_count == 10
    with time_machine.travel(moment, tick=False):
        allowed, details = device.verify_is_allowed()
    assert not allowed
    assert (details["locked_until"] - device.throttling_failure_timestamp).total_seconds() >= 512


def test_a_backup_code_works_once(client, alice, app):
    codes = issue_backup_codes(alice)
    assert len(codes) == 10 and all(len(c.replace("-", "")) * 5 >= 112 for c in codes)
    password_step(client)
    assert client.post(reverse("login_verify"), {"code": codes[0]}).status_code == 302
    other = client.__class__()
    password_step(other)
    response = other.post(reverse("login_verify"), {"code": codes[0]})
    assert response.status_code == 200
    assert BackupCodeDevice.objects.get(user=alice).remaining == 9


def test_backup_codes_are_stored_only_as_keyed_digests(alice):
    codes = issue_backup_codes(alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest FROM accounts_backupcode")
        stored = [bytes(row[0]) for row in cursor.fetchall()]
    assert len(stored) == 10
    for code in codes:
        for form in (code, code.replace("-", "")):
            assert all(form.encode() not in digest for digest in stored)


def test_the_totp_key_is_encrypted_at_rest(alice, app):
    device = TOTPDevice.objects.get(user=alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice")
        (stored,) = cursor.fetchone()
    assert device.key.encode() not in bytes(stored)
    assert app.secret.encode() not in bytes(stored)


def test_an_unconfirmed_device_cannot_sign_in(client, alice):
    _, app = make_totp(alice, confirmed=False)
    password_step(client)
    # With no confirmed device the user is sent to enrolment, not to the code step.
    assert client.get(reverse("login_verify")).headers["Location"] == reverse("login_enrol")
    response = client.post(reverse("login_verify"), {"code": app.now()})
    assert response.status_code == 302 and response.headers["Location"] == reverse("login_enrol")
    assert client.get(reverse("home")).status_code == 302


def test_enrolment_confirms_only_with_a_valid_code_and_shows_backup_codes_once(client, alice):
    import base64

    import pyotp

    password_step(client)
    page = client.get(reverse("login_enrol"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    device = TOTPDevice.objects.get(user=alice)
    assert device.confirmed is False
    secret = base64.b32encode(bytes.fromhex(device.key)).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    wrong = client.post(reverse("login_enrol"), {"code": "123456"})
    assert wrong.status_code == 200
    assert TOTPDevice.objects.get(user=alice).confirmed is False
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):  # past the 1 s back-off
        response = client.post(reverse("login_enrol"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert "backup codes" in response.content.decode().lower()
    assert TOTPDevice.objects.get(user=alice).confirmed is True
    assert BackupCodeDevice.objects.get(user=alice).remaining == 10
    # After enrolment no page shows the secret again.
    for url in (reverse("home"), reverse("account"), reverse("login_enrol")):
        body = client.get(url, follow=True).content.decode()
        assert secret not in body and secret[:16] not in body.replace(" ", "")


def test_an_abandoned_enrolment_expires_after_ten_minutes(client, alice):
    password_step(client)
    client.get(reverse("login_enrol"))
    first = TOTPDevice.objects.get(user=alice).public_id
    client.get(reverse("login_enrol"))
    assert TOTPDevice.objects.get(user=alice).public_id == first
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        client.get(reverse("login_enrol"), follow=True)
    assert TOTPDevice.objects.filter(public_id=first).count() == 0


def test_unknown_user_and_wrong_password_look_the_same(client, alice):
    unknown = password_step(client, username="nobody-here")
    wrong = password_step(client, password="wrong wrong wrong wrong")
    assert unknown.status_code == wrong.status_code == 200
    assert "not right" in _error_text(unknown)
    assert _error_text(unknown) == _error_text(wrong)


def _error_text(response) -> str:
    html = response.content.decode()
    start = html.index('class="error-summary"')
    return html[start : html.index("</div>", start)]


def test_an_overlong_password_is_refused_without_hashing(client, alice, monkeypatch):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    def fail(*args, **kwargs):
        raise AssertionError("the hasher ran")

    monkeypatch.setattr(Argon2PasswordHasher, "verify", fail)
    monkeypatch.setattr(Argon2PasswordHasher, "encode", fail)
    response = password_step(client, password="x" * 1025)
    assert response.status_code == 200
    assert "not right" in response.content.decode()


def test_password_step_throttling_is_per_user_and_client(client, alice, rf):
    for _ in range(5):
        password_step(client, password="wrong wrong wrong wrong")
    assert password_step(client).status_code == 429  # even the right password
    other_client = client.__class__(REMOTE_ADDR="198.51.100.7")
    assert password_step(other_client).status_code == 302  # same user, other network
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert password_step(client.__class__()).status_code == 302


def test_thirty_failures_lock_the_account_for_an_hour_and_alert(client, alice, rf):
    from casework.accounts import services

    for number in range(30):
        request = rf.post("/login/", REMOTE_ADDR=f"203.0.{number}.1")
        services.login_failed(request, "alice")
    assert services.is_locked(alice)
    assert AuditEvent.objects.filter(action="account_locked").count() >= 1
    assert password_step(client.__class__(REMOTE_ADDR="192.0.2.99")).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert not services.is_locked(alice)


def test_the_notice_after_sign_in_counts_failed_attempts(client, alice, app):
    for _ in range(3):
        password_step(client, password="wrong wrong wrong wrong")
    password_step(client)
    client.post(reverse("login_verify"), {"code": app.now()})
    html = client.get(reverse("home")).content.decode()
    assert "3 failed sign-in attempts since then" in html


def test_logout_is_post_only_and_clears_site_data(client, alice):
    login_verified(client, alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_of_one_code_succeed_once(alice, app):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this test there (R4, R66)")
    from django.db import connections

    from casework.accounts.views import _check_code

    code = app.now()
    results = []
    barrier = threading.Barrier(10)

    def attempt():
        try:
            barrier.wait()
            results.append(_check_code(None, alice, code).device is not None)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def _sign_in(client, code: str):
    """The real sign-in: the password step, then a code at the second step."""
    assert password_step(client).status_code == 302
    response = client.post(reverse("login_verify"), {"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


def test_a_fourth_sign_in_ends_the_oldest_session(client, alice, app):
    """R21 through the sign-in itself (backup codes: one per sign-in, no clock games)."""
    codes = issue_backup_codes(alice)
    clients = []
    for number in range(4):
        with time_machine.travel(timezone.now() + timedelta(seconds=number), tick=False):
            clients.append(_sign_in(client.__class__(), codes[number]))
    assert UserSession.objects.filter(user=alice).count() == 3
    assert clients[0].get(reverse("home")).headers["Location"].startswith(reverse("login"))
    for later in clients[1:]:
        assert later.get(reverse("home")).status_code == 200
    listed = clients[3].get(reverse("account")).content.decode()
    assert listed.count("End this session") == 2  # the other two; this one says so itself


def test_enrolment_gives_the_app_a_160_bit_key(client, alice):
    """R3 on the key enrolment really makes (TOTP_KEY_BYTES), not on a test-made device."""
    import base64

    password_step(client)
    html = client.get(reverse("login_enrol")).content.decode()
    device = TOTPDevice.objects.get(user=alice)
    key = bytes.fromhex(device.key)
    assert len(key) == 20
    secret = base64.b32encode(key).decode().rstrip("=")
    assert len(secret) == 32  # what the person types: 160 bits, 5 per character
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html


def test_confirming_an_app_ends_every_other_session_of_the_user(client, alice):
    """R19: a factor added ends the user's other sessions, password-only ones included."""
    import pyotp

    other = client.__class__()
    password_step(other)
    assert other.get(reverse("login_enrol")).status_code == 200
    password_step(client)
    client.get(reverse("login_enrol"))
    device = TOTPDevice.objects.get(user=alice)
    code = pyotp.TOTP(base64_secret(device)).now()
    assert client.post(reverse("login_enrol"), {"code": code}).status_code == 200
    assert client.get(reverse("home")).status_code == 200
    response = other.get(reverse("login_enrol"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in other.session


def base64_secret(device) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(device.key)).decode()


def test_new_backup_codes_need_step_up_and_end_the_other_sessions(client, alice, app):
    other = login_verified(client.__class__(), alice)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login_verified(client, alice)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        stale = client.post(reverse("backup_codes_new"), {"next": reverse("account")})
        assert stale.headers["Location"].startswith(reverse("reauth"))
        assert not BackupCodeDevice.objects.filter(user=alice).exists()
        assert other.get(reverse("home")).status_code == 200
        client.post(reverse("reauth"), {"code": app.now(), "next": reverse("account")})
        assert client.post(reverse("backup_codes_new")).status_code == 200
        assert BackupCodeDevice.objects.get(user=alice).remaining == 10
        assert other.get(reverse("home")).status_code == 302
        assert client.get(reverse("home")).status_code == 200


def test_an_unknown_username_costs_one_argon2_run_like_a_known_one(client, alice, monkeypatch):
    """R9 without a stopwatch: the expensive step, one Argon2 computation, happens for an
    unknown username as for a wrong password, so timing does not tell who has an account."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    runs = []
    real_encode, real_verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def counting_encode(self, *args, **kwargs):
        runs.append("encode")
        return real_encode(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        runs.append("verify")
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", counting_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", counting_verify)
    password_step(client, username="alice", password="wrong but long enough")
    known = list(runs)
    runs.clear()
    password_step(client.__class__(), username="nobody-at-all", password="wrong but long enough")
    assert len(known) == 1 and len(runs) == 1


def test_an_old_pbkdf2_hash_is_upgraded_to_argon2id_at_sign_in(client, alice, app):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt12345678")
    alice.save()
    assert password_step(client).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$argon2id$")


def test_a_cross_site_logout_without_a_token_is_refused(caseworker):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_verified(client, caseworker)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("home")).status_code == 200
