"""Shared fixtures: organisations and users by role (the personas grow with the features)."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role

_counter = itertools.count(1)


def make_user(*, organisation: Organisation, role: Role | None = None, **kwargs) -> User:
    kwargs.setdefault("username", f"user{next(_counter)}")
    user = User.objects.create_user(organisation=organisation, **kwargs)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


# Test organisations let privileged roles use authenticator apps, so most tests can drive
# sign-in with pyotp; tests/test_passkeys.py turns the passkey policy (R2) on explicitly.
@pytest.fixture
def organisation(db) -> Organisation:
    return Organisation.objects.create(
        name="Alpha Aid (test)", passkeys_required_for_privileged=False
    )


@pytest.fixture
def other_organisation(db) -> Organisation:
    return Organisation.objects.create(
        name="Beta Help (test)", passkeys_required_for_privileged=False
    )


@pytest.fixture
def caseworker(organisation) -> User:
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="alice")


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """A test client's request leaves its language active in the thread (LocaleMiddleware
    activates it, nothing deactivates it): the next test, in pytest-randomly's order, would
    start in Ukrainian. Each test starts from the default language, as a request does."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _isolated_keys_and_files(settings, tmp_path):
    """Each test gets its own key file, letter seals and file store: rotation in one test
    cannot leak."""
    settings.CASEWORK_KEYS_FILE = tmp_path / "keys" / "keys.json"
    settings.CASEWORK_SEAL_DIR = tmp_path / "seals"
    settings.CASEWORK_ERASURE_JOURNAL = tmp_path / "erasures.txt"
    # A member's key locks with the cheapest Argon2id (the default is test_member_access's).
    settings.CASEWORK_MEMBER_KDF = (8, 1, 1)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        },
    }


def make_totp(user: User, *, confirmed: bool = True):
    """A TOTP device for ``user``; returns (device, pyotp.TOTP) so tests act as the app."""
    import base64
    import secrets

    import pyotp

    from casework.accounts.models import TOTPDevice

    key = secrets.token_bytes(20)
    device = TOTPDevice(
        user=user,
        organisation_id=user.organisation_id,
        name="Test app",
        confirmed=confirmed,
        key=key.hex(),
    )
    device.save()
    return device, pyotp.TOTP(base64.b32encode(key).decode())


MEMBER_PASSWORD = "a long enough passphrase for tests"


def person(organisation, role, username):
    """A member who signs in through the real two steps: this password, then a code of
    ``user.totp`` (organisation keys, issue 16)."""
    user = make_user(organisation=organisation, role=role, username=username)
    user.set_password(MEMBER_PASSWORD)
    user.save()
    _device, totp = make_totp(user)
    user.totp = totp
    return user


@pytest.fixture
def carol(organisation):
    """A coordinator who signs in with MEMBER_PASSWORD (``person``)."""
    return person(organisation, Role.COORDINATOR, "carol")


@pytest.fixture
def casey(organisation):
    """A caseworker who signs in with MEMBER_PASSWORD (``person``)."""
    return person(organisation, Role.CASEWORKER, "casey")


def login_verified(client, user: User):
    """A fully signed-in session (password and second factor), without the slow hasher."""
    import time

    from django_otp import DEVICE_ID_SESSION_KEY

    from casework.accounts.models import TOTPDevice, UserSession

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device, _ = make_totp(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session["otp_verified_at"] = time.time()
    session["session_started_at"] = time.time()
    session["last_seen_at"] = time.time()
    session.save()
    UserSession.objects.create(session_key=session.session_key, user=user)
    return client


def login_unlocked(client, user, password: str):
    """A fully signed-in member who also holds their organisation key, as the password step
    leaves a caseworker or coordinator (issue 16): the key their password unlocks, kept in
    the session and opened by the cookie, exactly as casework.keystore.vault does."""
    from django.conf import settings

    from casework.keystore import members, vault

    login_verified(client, user)
    unlocked = members.unlock(user, password)
    if unlocked is not None:
        session_value, cookie_value = vault.for_session(user, unlocked)
        session = client.session
        session[vault.SESSION_FIELD] = session_value
        session.save()
        client.cookies[settings.CASEWORK_VAULT_COOKIE_NAME] = cookie_value
    return client


@pytest.fixture
def coordinator(organisation) -> User:
    return make_user(organisation=organisation, role=Role.COORDINATOR, username="carol")


@pytest.fixture
def auditor(organisation) -> User:
    return make_user(organisation=organisation, role=Role.AUDITOR, username="aubrey")


@pytest.fixture
def org_admin(organisation) -> User:
    return make_user(organisation=organisation, role=Role.ORG_ADMIN, username="olga")


@pytest.fixture
def outsider(other_organisation) -> User:
    return make_user(organisation=other_organisation, role=Role.CASEWORKER, username="oscar")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Transactional tests empty the test database with TRUNCATE, which the audit table
    refuses on PostgreSQL unless casework.audit_maintenance is on: turn it on for the test
    database only. UPDATE and DELETE stay refused (tests/test_audit_log.py proves it)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            with connection.cursor() as cursor:
                name = connection.ops.quote_name(connection.settings_dict["NAME"])
                cursor.execute(f"ALTER DATABASE {name} SET casework.audit_maintenance = 'on'")
            connection.close()  # new sessions pick the setting up
