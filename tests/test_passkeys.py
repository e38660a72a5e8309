"""Passkeys (WebAuthn) as a second factor, and the phishing-resistant policy for privileged
roles (R2). A software authenticator plays the browser and the key, with chosen flags."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from casework.accounts.models import UserSession
from casework.accounts.roles import Role
from tests.conftest import login_verified, make_totp, make_user
from tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _localhost(settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]


def call(client, name, data=None):
    return client.post(
        reverse(f"otp_webauthn:{name}"),
        json.dumps(data or {}),
        content_type="application/json",
        HTTP_HOST="localhost:8000",
    )


def register(client, authenticator, **flags):
    options = call(client, "credential-registration-begin").json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return call(
        client, "credential-registration-complete", authenticator.register(options, **flags)
    )


def authenticate(client, authenticator, **flags):
    options = call(client, "credential-authentication-begin").json()
    assert options["userVerification"] == "required"
    return call(
        client, "credential-authentication-complete", authenticator.assert_(options, **flags)
    )


def half_signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def strict_org(organisation):
    organisation.passkeys_required_for_privileged = True
    organisation.save()
    return organisation


@pytest.fixture
def coordinator_with_passkey(strict_org, client):
    user = make_user(organisation=strict_org, role=Role.COORDINATOR)
    key = SoftAuthenticator()
    half_signed_in(client, user)
    assert register(client, key).status_code == 200  # first factor, enrolled by passkey
    client.post(reverse("logout"))
    return user, key


def test_a_caseworker_can_add_a_passkey_and_sign_in_with_it(client, caseworker):
    login_verified(client, caseworker)
    key = SoftAuthenticator()
    assert register(client, key).status_code == 200
    assert WebAuthnCredential.objects.filter(user=caseworker, confirmed=True).count() == 1
    client.post(reverse("logout"))
    fresh = half_signed_in(client.__class__(), caseworker)
    assert fresh.get(reverse("home")).status_code == 302
    response = authenticate(fresh, key)
    assert response.status_code == 200, response.content
    assert fresh.get(reverse("home")).status_code == 200
    assert UserSession.objects.filter(user=caseworker).count() >= 1


def test_a_passkey_without_user_verification_is_refused(client, caseworker):
    login_verified(client, caseworker)
    key = SoftAuthenticator()
    assert register(client, key, uv=False).status_code != 200
    register(client, key)
    fresh = half_signed_in(client.__class__(), caseworker)
    assert authenticate(fresh, key, uv=False).status_code != 200
    assert fresh.get(reverse("home")).status_code == 302


def test_a_privileged_role_cannot_use_a_totp_code(client, strict_org):
    user = make_user(organisation=strict_org, role=Role.COORDINATOR)
    _, app = make_totp(user)
    half_signed_in(client, user)
    # No passkey yet: the code step does not exist for this role; enrolment asks for a passkey.
    response = client.post(reverse("login_verify"), {"code": app.now()})
    assert response.status_code == 302 and response.headers["Location"] == reverse("login_enrol")
    assert client.get(reverse("home")).status_code == 302


def test_a_privileged_role_with_a_passkey_gets_403_for_a_code(client, coordinator_with_passkey):
    user, _ = coordinator_with_passkey
    _, app = make_totp(user)
    half_signed_in(client, user)
    response = client.post(reverse("login_verify"), {"code": app.now()})
    assert response.status_code == 403
    assert "passkey only" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_a_privileged_role_signs_in_with_a_verified_device_bound_passkey(
    client, coordinator_with_passkey
):
    user, key = coordinator_with_passkey
    half_signed_in(client, user)
    response = authenticate(client, key)
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ORG_ADMIN, Role.AUDITOR])
def test_a_privileged_role_cannot_enrol_a_synced_passkey(client, strict_org, role):
    """Finding 1: first enrolment (or after a reset) with a backup-eligible credential."""
    user = make_user(organisation=strict_org, role=role)
    half_signed_in(client, user)
    response = register(client, SoftAuthenticator(), be=True)
    assert response.status_code == 403
    assert response.json()["code"] == "synced_passkey_refused"
    assert not WebAuthnCredential.objects.filter(user=user).exists()  # never stored
    assert client.get(reverse("home")).status_code == 302  # still half signed in
    assert not UserSession.objects.filter(user=user).exists()
    # The same person with a device-bound passkey gets in.
    assert register(client, SoftAuthenticator()).status_code == 200
    assert client.get(reverse("home")).status_code == 200


def test_a_signed_in_privileged_user_cannot_add_a_synced_passkey(client, coordinator_with_passkey):
    user, key = coordinator_with_passkey
    half_signed_in(client, user)
    assert authenticate(client, key).status_code == 200
    assert register(client, SoftAuthenticator(), be=True).status_code == 403
    assert WebAuthnCredential.objects.filter(user=user).count() == 1


def test_a_synced_passkey_from_before_never_counts_for_a_privileged_role(client, strict_org):
    """A caseworker's synced passkey (allowed for them) after they become a coordinator: it
    neither signs them in nor counts as a factor they have."""
    from casework.accounts import services

    user = make_user(organisation=strict_org, role=Role.CASEWORKER)
    login_verified(client, user)
    key = SoftAuthenticator()
    assert register(client, key, be=True).status_code == 200
    user.groups.set([Group.objects.get(name=Role.COORDINATOR.value)])
    assert services.usable_device_count(user, passkey_only=True) == 0
    assert not services.has_second_factor(user, passkey_only=True)
    again = half_signed_in(client.__class__(), user)
    assert authenticate(again, key, be=True).status_code == 403
    assert again.get(reverse("home")).status_code == 302
    # Not "verify with your passkey": enrolment, which says only a reset gets them out.
    assert again.get(reverse("login_verify")).headers["Location"] == reverse("login_enrol")
    page = again.get(reverse("login_enrol")).content.decode()
    assert "reset your second factor" in page
    assert "passkey-registration-placeholder" not in page


def test_a_caseworker_may_use_a_synced_passkey(client, strict_org):
    user = make_user(organisation=strict_org, role=Role.CASEWORKER)
    login_verified(client, user)
    key = SoftAuthenticator()
    register(client, key, be=True)
    again = half_signed_in(client.__class__(), user)
    assert authenticate(again, key, be=True).status_code == 200


def test_privileged_enrolment_offers_a_passkey_not_an_app(client, strict_org):
    user = make_user(organisation=strict_org, role=Role.ORG_ADMIN)
    half_signed_in(client, user)
    page = client.get(reverse("login_enrol"))
    html = page.content.decode()
    assert "passkey-registration-placeholder" in html
    assert "<svg" not in html


def test_registering_a_passkey_needs_the_existing_factor_first(client, caseworker):
    make_totp(caseworker)
    half_signed_in(client, caseworker)
    response = call(client, "credential-registration-begin")
    assert response.status_code == 403
    assert not WebAuthnCredential.objects.filter(user=caseworker).exists()


def test_another_users_passkey_cannot_sign_me_in(client, caseworker, outsider):
    login_verified(client, outsider)
    theirs = SoftAuthenticator()
    register(client, theirs)
    mine = half_signed_in(client.__class__(), caseworker)
    make_totp(caseworker)
    assert authenticate(mine, theirs).status_code != 200
    assert mine.get(reverse("home")).status_code == 302


def test_passwordless_sign_in_is_off(client, caseworker):
    assert call(client, "credential-authentication-begin").status_code != 200


def test_the_last_passkey_of_a_privileged_user_cannot_be_removed(client, coordinator_with_passkey):
    user, key = coordinator_with_passkey
    half_signed_in(client, user)
    authenticate(client, key)
    credential = WebAuthnCredential.objects.get(user=user)
    client.post(reverse("passkey_remove", args=[credential.credential_id_sha256]))
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()


def test_a_second_passkey_can_be_removed(client, caseworker):
    login_verified(client, caseworker)
    register(client, SoftAuthenticator())
    credential = WebAuthnCredential.objects.get(user=caseworker)
    client.post(reverse("passkey_remove", args=[credential.credential_id_sha256]))
    assert not WebAuthnCredential.objects.filter(pk=credential.pk).exists()


def test_the_verify_page_works_under_our_content_security_policy(client, caseworker):
    login_verified(client, caseworker)
    register(client, SoftAuthenticator())
    client.post(reverse("logout"))
    half_signed_in(client, caseworker)
    make_totp(caseworker)
    html = client.get(reverse("login_verify")).content.decode()
    assert 'id="otp_webauthn_config" type="application/json"' in html
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert len(scripts) == 2 and all(src.startswith("/") for src in scripts)
    assert "<script>" not in html  # no inline script; CSP forbids it


def test_a_user_can_name_their_passkey_but_not_someone_elses(client, caseworker, outsider):
    login_verified(client, outsider)
    register(client, SoftAuthenticator())
    theirs = WebAuthnCredential.objects.get(user=outsider)
    login_verified(client, caseworker)
    register(client, SoftAuthenticator())
    mine = WebAuthnCredential.objects.get(user=caseworker)
    client.post(
        reverse("passkey_rename", args=[mine.credential_id_sha256]), {"name": "work laptop"}
    )
    mine.refresh_from_db()
    assert mine.name == "work laptop"
    response = client.post(
        reverse("passkey_rename", args=[theirs.credential_id_sha256]), {"name": "mine now"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "mine now"


# --- adding a passkey is a factor change (finding 2) --------------------------------------------


def _stale(client):
    session = client.session
    session["otp_verified_at"] -= 6 * 60  # the second factor is older than the step-up window
    session.save()


def test_a_stale_session_cannot_begin_registering_a_passkey(client, caseworker):
    login_verified(client, caseworker)
    _stale(client)
    response = call(client, "credential-registration-begin")
    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    assert "otp_webauthn_register_state" not in client.session


def test_a_registration_begun_fresh_cannot_complete_once_stale(client, caseworker):
    login_verified(client, caseworker)
    options = call(client, "credential-registration-begin").json()
    _stale(client)
    response = call(
        client, "credential-registration-complete", SoftAuthenticator().register(options)
    )
    assert response.status_code == 403
    assert not WebAuthnCredential.objects.filter(user=caseworker).exists()


def test_after_a_step_up_the_passkey_is_added(client, caseworker):
    import base64

    import pyotp

    from casework.accounts.models import TOTPDevice

    login_verified(client, caseworker)
    _stale(client)
    device = TOTPDevice.objects.get(user=caseworker)
    code = pyotp.TOTP(base64.b32encode(bytes.fromhex(device.key)).decode()).now()
    client.post(reverse("reauth"), {"code": code, "next": reverse("account")})
    assert register(client, SoftAuthenticator()).status_code == 200
    assert WebAuthnCredential.objects.filter(user=caseworker, confirmed=True).count() == 1


def test_the_account_page_offers_a_passkey_only_after_a_step_up(client, caseworker):
    login_verified(client, caseworker)
    assert "passkey-registration-placeholder" in client.get(reverse("account")).content.decode()
    _stale(client)
    html = client.get(reverse("account")).content.decode()
    assert "passkey-registration-placeholder" not in html
    assert "Confirm it is you to add a passkey" in html


def test_adding_a_passkey_ends_the_other_sessions_and_leaves_a_notice(client, caseworker):
    others = [login_verified(client.__class__(), caseworker) for _ in range(2)]
    login_verified(client, caseworker)
    assert register(client, SoftAuthenticator()).status_code == 200
    for other in others:
        assert other.get(reverse("home")).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert "A passkey was added to your account." in client.get(reverse("home")).content.decode()
