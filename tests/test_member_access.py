"""Organisation keys that only signed-in members unlock (issue 16): who holds one, how a
session keeps it, and what a copy of the server's tables opens (nothing).

People sign in through the real two steps (password, then a TOTP code from pyotp), so the
password opens the member's key exactly as in a browser.
"""

from __future__ import annotations

import base64
import itertools
import time
from importlib import import_module

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse

from casework import settings as project_settings
from casework.accounts import services
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.keystore import members, vault
from casework.keystore.models import KeyGrant, MemberKey, OrganisationKey
from casework.lib.keys import keyring
from crypto import DecryptionError, decrypt
from crypto.member_keys import open_sealed_secret, unlock_private_key
from tests.conftest import MEMBER_PASSWORD, person

pytestmark = pytest.mark.django_db

PASSWORD = MEMBER_PASSWORD
NEW_PASSWORD = "another long passphrase, changed"


_steps = itertools.count(1)


def sign_in(user, password=PASSWORD, client=None):
    """Both steps, each sign-in a minute later than the one before: a code is accepted once
    per time step (replays are refused), and a test signs people in several times."""
    client = client or Client()
    with time_machine.travel(time.time() + 60 * next(_steps), tick=False):
        step = client.post(reverse("login"), {"username": user.username, "password": password})
        assert step.status_code == 302, "the password step failed"
        done = client.post(reverse("login_verify"), {"code": user.totp.now()})
        assert done.status_code == 302 and client.get(reverse("home")).status_code == 200
    return client


def held_by(client, user):
    """What the session of ``client`` opens, with the cookies it holds (as the middleware)."""
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    store = import_module(settings.SESSION_ENGINE).SessionStore
    request.session = store(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = user
    return vault.opened(request)


def secret_of(user, password=PASSWORD):
    """The organisation key as the member's own grant opens it (private key from password)."""
    key = MemberKey.objects.get(user=user)
    private = unlock_private_key(
        bytes(key.locked_private_key), password.encode(), members.lock_context(user.pk)
    )
    grant = KeyGrant.objects.get(user=user)
    current = grant.organisation_key
    context = members.grant_context(current.organisation_id, current.version, user.pk)
    return open_sealed_secret(private, bytes(grant.sealed), context)


def grant_page_post(client, member):
    return client.post(reverse("content_access_grant", args=[member.pk]))


# --- who holds the key ----------------------------------------------------------------------


def test_the_first_coordinator_to_sign_in_makes_the_key_sealed_to_them(carol):
    client = sign_in(carol)
    assert OrganisationKey.objects.filter(organisation=carol.organisation).count() == 1
    assert list(KeyGrant.objects.values_list("user", flat=True)) == [carol.pk]
    unlocked = held_by(client, carol)
    assert unlocked is not None and unlocked.secret == secret_of(carol)
    assert AuditEvent.objects.filter(action=Action.ORGANISATION_KEY_CREATED).count() == 1


def test_the_vault_cookie_is_httponly_and_same_site_strict(carol):
    client = Client()
    client.post(reverse("login"), {"username": carol.username, "password": PASSWORD})
    cookie = client.cookies[settings.CASEWORK_VAULT_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ORG_ADMIN])
def test_auditors_and_org_admins_hold_no_key(organisation, carol, role):
    sign_in(carol)
    other = person(organisation, role, "other")
    client = sign_in(other)
    assert not MemberKey.objects.filter(user=other).exists()
    assert not KeyGrant.objects.filter(user=other).exists()
    assert held_by(client, other) is None
    assert settings.CASEWORK_VAULT_COOKIE_NAME not in client.cookies


def test_a_caseworker_waits_until_a_coordinator_grants_access(carol, casey):
    coordinator = sign_in(carol)
    caseworker = sign_in(casey)
    assert MemberKey.objects.filter(user=casey).exists()  # made at the password step
    assert held_by(caseworker, casey) is None  # pending: no key
    page = coordinator.get(reverse("content_access"))
    assert "casey" in page.content.decode()
    response = grant_page_post(coordinator, casey)
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.CONTENT_ACCESS_GRANTED).count() == 1
    again = sign_in(casey)
    unlocked = held_by(again, casey)
    assert unlocked is not None and unlocked.secret == held_by(coordinator, carol).secret


def test_confirming_a_content_role_grants_the_key_too(organisation, carol):
    coordinator = sign_in(carol)
    admin = person(organisation, Role.ORG_ADMIN, "olga")
    newcomer = person(organisation, Role.AUDITOR, "nina")
    services.set_role(admin=admin, user=newcomer, role=Role.CASEWORKER)
    sign_in(newcomer)  # makes no key pair yet: the role is not confirmed
    members.prepare_invited(newcomer, PASSWORD, Role.CASEWORKER)  # as its invitation does
    grant = services.pending_grants_for(carol)[0]
    coordinator.post(reverse("role_grant_confirm", args=[grant.pk]))
    assert KeyGrant.objects.filter(user=newcomer).exists()
    assert held_by(sign_in(newcomer), newcomer).secret == secret_of(carol)


# --- the attacker with a copy of the server's tables -----------------------------------------


def test_a_copied_session_without_its_cookie_opens_nothing(carol, casey):
    coordinator = sign_in(carol)
    sign_in(casey)
    # The attacker has the session row (and its cookie, say): not the vault cookie.
    thief = Client()
    name = settings.SESSION_COOKIE_NAME
    thief.cookies[name] = coordinator.cookies[name].value
    assert held_by(thief, carol) is None
    grant_page_post(thief, casey)
    assert not KeyGrant.objects.filter(user=casey).exists()


def test_no_server_key_opens_the_sessions_copy(carol):
    client = sign_in(carol)
    secret = held_by(client, carol).secret
    row = Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    stored = row.get_decoded()[vault.SESSION_FIELD]
    assert base64.b64encode(secret).decode() not in str(row.get_decoded())
    token = base64.b64decode(stored["sealed"])
    ring = keyring()
    context = f"session-vault:{carol.pk}:org:{carol.organisation_id}:v1".encode()
    for candidate in [ring.index_key, *(ring._keks[v] for v in ring.versions)]:
        with pytest.raises(DecryptionError):
            decrypt(candidate, token, context)


def test_the_cookie_of_an_ended_session_opens_nothing(carol, casey):
    old = sign_in(carol)
    cookie = old.cookies[settings.CASEWORK_VAULT_COOKIE_NAME].value
    response = old.post(reverse("logout"))
    assert not Session.objects.filter(session_key=old.session.session_key).exists()
    assert response.cookies[settings.CASEWORK_VAULT_COOKIE_NAME]["max-age"] == 0
    sign_in(casey)
    fresh = sign_in(carol)
    fresh.cookies[settings.CASEWORK_VAULT_COOKIE_NAME] = cookie  # the ended session's key
    assert held_by(fresh, carol) is None
    grant_page_post(fresh, casey)
    assert not KeyGrant.objects.filter(user=casey).exists()


def test_no_key_file_opens_a_member_key_or_a_grant(carol):
    sign_in(carol)
    key = MemberKey.objects.get(user=carol)
    ring = keyring()
    for candidate in [ring.index_key, *(ring._keks[v] for v in ring.versions)]:
        with pytest.raises(DecryptionError):
            unlock_private_key(bytes(key.locked_private_key), candidate, b"member-key:x")
        with pytest.raises(DecryptionError):
            open_sealed_secret(candidate, bytes(KeyGrant.objects.get().sealed), b"x")


# --- members come and go ---------------------------------------------------------------------


def test_a_password_change_keeps_access(carol):
    client = sign_in(carol)
    before = secret_of(carol)
    client.post(
        reverse("password_change"),
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert secret_of(carol, NEW_PASSWORD) == before
    assert held_by(sign_in(carol, NEW_PASSWORD), carol).secret == before


def test_an_admin_reset_removes_access_until_granted_again(organisation, carol, casey):
    coordinator = sign_in(carol)
    sign_in(casey)
    grant_page_post(coordinator, casey)
    admin = person(organisation, Role.ORG_ADMIN, "olga")
    services.reset_second_factor(admin=admin, user=casey)
    assert not KeyGrant.objects.filter(user=casey).exists()
    assert not MemberKey.objects.filter(user=casey).exists()
    assert AuditEvent.objects.filter(action=Action.CONTENT_ACCESS_REMOVED).count() == 1


@pytest.mark.parametrize("how", ["deactivate", "panic", "role"])
def test_removing_a_member_deletes_their_copy(organisation, carol, casey, how):
    coordinator = sign_in(carol)
    sign_in(casey)
    grant_page_post(coordinator, casey)
    assert KeyGrant.objects.filter(user=casey).exists()
    admin = person(organisation, Role.ORG_ADMIN, "olga")
    if how == "deactivate":
        services.deactivate_user(admin=admin, user=casey)
    elif how == "panic":
        services.panic_revoke(admin=admin, user=casey)
    else:
        services.set_role(admin=admin, user=casey, role=Role.AUDITOR)
    assert not KeyGrant.objects.filter(user=casey).exists()


def test_a_grant_to_another_organisations_member_is_refused(carol, other_organisation):
    coordinator = sign_in(carol)
    stranger = person(other_organisation, Role.CASEWORKER, "stranger")
    sign_in(stranger)
    assert grant_page_post(coordinator, stranger).status_code == 404
    assert not KeyGrant.objects.filter(user=stranger).exists()


def test_the_default_cost_is_rfc_9106s_second_recommendation():
    assert project_settings.CASEWORK_MEMBER_KDF == (64 * 1024, 3, 4)


def test_the_account_page_says_whether_access_waits_for_a_coordinator(carol, casey):
    coordinator = sign_in(carol)
    caseworker = sign_in(casey)
    assert "Waiting for a coordinator" in caseworker.get(reverse("account")).content.decode()
    assert "Waiting for a coordinator" not in coordinator.get(reverse("account")).content.decode()
    grant_page_post(coordinator, casey)
    page = sign_in(casey).get(reverse("account")).content.decode()
    assert "Waiting for a coordinator" not in page and "unlocks your organisation" in page


def test_after_a_reset_the_coordinators_confirmation_grants_access_again(
    organisation, carol, casey
):
    coordinator = sign_in(carol)
    sign_in(casey)
    grant_page_post(coordinator, casey)
    admin = person(organisation, Role.ORG_ADMIN, "olga")
    token = services.reset_second_factor(admin=admin, user=casey)
    services.accept_invitation(token=token, username="casey", password=NEW_PASSWORD)
    assert MemberKey.objects.filter(user=casey).exists()  # a new pair, from the new password
    assert not KeyGrant.objects.filter(user=casey).exists()
    grant = services.pending_grants_for(carol)[0]
    coordinator.post(reverse("role_grant_confirm", args=[grant.pk]))
    assert secret_of(casey, NEW_PASSWORD) == secret_of(carol)


def test_the_demo_caseworkers_hold_their_organisations_key(tmp_path, settings):
    from casework.accounts.models import User
    from casework.core.demo import seed_accounts

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_accounts(tmp_path)
    for slug in ("rainbow", "northern"):
        organisation = User.objects.get(username=f"{slug}-caseworker").organisation
        holders = KeyGrant.objects.filter(organisation_key__organisation=organisation)
        assert set(holders.values_list("user__username", flat=True)) == {
            f"{slug}-coordinator",
            f"{slug}-caseworker",
        }


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ORG_ADMIN])
def test_auditors_and_org_admins_cannot_grant(organisation, carol, casey, role):
    sign_in(carol)
    sign_in(casey)
    other = sign_in(person(organisation, role, "other"))
    assert grant_page_post(other, casey).status_code == 404
    assert other.get(reverse("content_access")).status_code == 404
    assert not KeyGrant.objects.filter(user=casey).exists()


def test_a_caseworker_who_holds_the_key_grants_it_and_one_who_does_not_cannot(
    organisation, carol, casey
):
    """When every coordinator is away or reset, the organisation is not locked out: anyone
    who holds the key grants it to people whose content role was confirmed."""
    coordinator = sign_in(carol)
    caseworker = sign_in(casey)
    dana = person(organisation, Role.CASEWORKER, "dana")
    waiting = sign_in(dana)
    grant_page_post(waiting, casey)  # dana holds no key: nothing to grant
    assert not KeyGrant.objects.filter(user=casey).exists()
    grant_page_post(coordinator, casey)
    caseworker = sign_in(casey)
    assert "dana" in caseworker.get(reverse("content_access")).content.decode()
    grant_page_post(caseworker, dana)
    assert secret_of(dana) == secret_of(carol)


def test_the_coordinators_dashboard_says_who_waits_for_access(carol, casey):
    coordinator = sign_in(carol)
    assert "wait for you to grant access" not in coordinator.get(reverse("home")).content.decode()
    sign_in(casey)
    page = coordinator.get(reverse("home")).content.decode()
    assert "1 person waits for you to grant access to case content." in page
    grant_page_post(coordinator, casey)
    assert "waits for you to grant access" not in coordinator.get(reverse("home")).content.decode()


def test_the_dashboard_s_count_of_who_waits_is_the_pending_members_count(
    organisation, other_organisation, carol, casey
):
    """members.waiting_count (a statement written out, issue 15) answers what counting
    pending_members() answers, in every state a member can be in."""
    from django.contrib.auth.models import Group

    def agree(excluding):
        expected = members.pending_members(organisation.pk).exclude(pk=excluding.pk).count()
        assert members.waiting_count(organisation.pk, excluding=excluding.pk) == expected
        return expected

    assert agree(carol) == 0  # no organisation key yet: nobody waits
    key = members.unlock(carol, PASSWORD)  # the first coordinator makes it
    assert agree(carol) == 1  # casey
    assert agree(casey) == 0  # nobody but casey
    dana = person(organisation, Role.CASEWORKER, "dana")
    dana.groups.add(Group.objects.get(name=Role.COORDINATOR.value))  # two roles, one person
    person(organisation, Role.AUDITOR, "audrey")  # reads no content
    gone = person(organisation, Role.CASEWORKER, "gone")
    gone.is_active = False
    gone.save()
    person(other_organisation, Role.CASEWORKER, "olga")  # not this organisation's
    assert agree(carol) == 2  # casey and dana
    members.unlock(casey, PASSWORD)
    members.grant(granter=carol, unlocked=key, member=casey)
    assert agree(carol) == 1  # dana
    members.rotate(coordinator=carol, unlocked=key)  # holders get the new version
    assert agree(carol) == 1
    assert agree(dana) == 0
