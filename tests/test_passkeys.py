"""Passkeys (WebAuthn) as a second factor, and the phishing-resistant policy for privileged
roles (R2). A software authenticator plays the browser and the key, with chosen flags."""

from __future__ import annotations

import json
import re

import pytest
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


def test_a_privileged_role_is_refused_a_synced_passkey(client, strict_org):
    user = make_user(organisation=strict_org, role=Role.AUDITOR)
    key = SoftAuthenticator()
    half_signed_in(client, user)
    assert register(client, key, be=True).status_code == 200
    client.post(reverse("logout"))
    again = half_signed_in(client.__class__(), user)
    response = authenticate(again, key, be=True)
    assert response.status_code == 403
    assert again.get(reverse("home")).status_code == 302


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
