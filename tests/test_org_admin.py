"""Organisation administration, attacked: roles, other organisations, step-up, kill-switches,
locks, invitations and their audit trail."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from casework.accounts import services
from casework.accounts import urls as account_urls
from casework.accounts.models import (
    BackupCodeDevice,
    Invitation,
    LoginFailure,
    TOTPDevice,
    User,
    UserSession,
)
from casework.accounts.roles import Role
from casework.accounts.views import GENERIC_LOGIN_ERROR
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified, make_totp, make_user

PASSPHRASE = "lantern orchard velvet compass drizzle"  # 38 characters, not a common one
NEW_PASSPHRASE = "quiet harbour saffron tumble window"
USERS_PATH = "/admin/users/"

# Every administrative URL that acts on one user, read from the URLconf: a new one is covered
# by the organisation, self and role tests below without anyone remembering to add it.
USER_ID_ROUTES = sorted(
    pattern.name
    for pattern in account_urls.urlpatterns
    if "<uuid:user_id>" in str(pattern.pattern) and pattern.name
)
# Unlocking only helps the user back in; everything else needs a fresh second factor.
STEP_UP_EXEMPT = {"admin_unlock"}
STEP_UP_ROUTES = [name for name in USER_ID_ROUTES if name not in STEP_UP_EXEMPT]
AUDITED_ACTION = {
    "admin_role": Action.ROLE_CHANGED,
    "admin_deactivate": Action.USER_DEACTIVATED,
    "admin_reset_second_factor": Action.SECOND_FACTOR_RESET,
    "admin_revoke": Action.PANIC_REVOKE,
    "admin_unlock": Action.ACCOUNT_UNLOCKED,
}
# These lock someone out: a GET shows their confirmation page, and only a POST carrying the
# page's confirm=yes acts (tests/test_org_admin_confirmations.py). The others are POST only.
CONFIRMED_ROUTES = {"admin_deactivate", "admin_reset_second_factor", "admin_revoke"}
# What a form posts: the role for admin_role (ignored by the others), the confirmation (ignored
# by role and unlock) and the page to return to.
ACTION_DATA = {"role": Role.ORG_ADMIN.value, "confirm": "yes", "next": USERS_PATH}


# --- helpers ---------------------------------------------------------------------------------


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _groups(user: User) -> list[str]:
    return sorted(_fresh(user).groups.values_list("name", flat=True))


def _lock(username: str, count: int = services.USER_LIMIT) -> None:
    request = RequestFactory().post("/login/", REMOTE_ADDR="192.0.2.10")
    for _ in range(count):
        services.login_failed(request, username)


def _snapshot(user: User) -> dict[str, object]:
    """Everything an administrative action could change about ``user``."""
    fresh = _fresh(user)
    keys = sorted(UserSession.objects.filter(user=fresh).values_list("session_key", flat=True))
    return {
        "groups": _groups(fresh),
        "is_active": fresh.is_active,
        "password": fresh.password,
        "totp": sorted(TOTPDevice.objects.filter(user=fresh).values_list("pk", flat=True)),
        "backup": sorted(BackupCodeDevice.objects.filter(user=fresh).values_list("pk", flat=True)),
        "user_sessions": keys,
        "live_sessions": Session.objects.filter(session_key__in=keys).count(),
        "locked": services.is_locked(fresh),
    }


def _armed(user: User) -> Client:
    """``user`` with an authenticator, backup codes, a lock and a signed-in session."""
    make_totp(user)
    services.issue_backup_codes(user)
    _lock(user.username)
    return login_verified(Client(), user)


def _is_signed_out(client: Client) -> bool:
    response = client.get(reverse("home"))
    return response.status_code == 302 and response.headers["Location"].startswith(reverse("login"))


def _stale_step_up(client: Client) -> None:
    session = client.session
    session["otp_verified_at"] = time.time() - 6 * 60
    session.save()


def _invite(client: Client, role: Role = Role.CASEWORKER) -> tuple[str, str]:
    """Create an invitation through the page; returns (link path, token)."""
    response = client.post(reverse("admin_invite"), {"role": role.value, "next": USERS_PATH})
    assert response.status_code == 200
    match = re.search(
        r"https?://[^/\s<]+(/invitation/([A-Za-z0-9_-]+)/)", response.content.decode()
    )
    assert match is not None, "the page shows no invitation link"
    return match.group(1), match.group(2)


def _link_path(response) -> str:
    """The path of the single-use link a page shows (an invitation, or a reset)."""
    match = re.search(r"https?://[^/\s<]+(/invitation/[A-Za-z0-9_-]+/)", response.content.decode())
    assert match is not None, "the page shows no link"
    return match.group(1)


def _reset_password(client: Client, path: str, password: str = NEW_PASSPHRASE):
    return client.post(path, {"new_password": password, "new_password_again": password})


def _accept(client: Client, path: str, username: str, password: str = PASSPHRASE):
    return client.post(
        path, {"username": username, "new_password": password, "new_password_again": password}
    )


def _without_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", html)


def _database_text() -> str:
    """Every row of every table as text, session payloads decoded (they are compressed)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        parts.append(value.decode("latin-1"))
                    parts.append(repr(value))
    for session in Session.objects.all():
        parts.append(json.dumps(SessionStore().decode(session.session_data), default=str))
    return "\n".join(parts)


@pytest.fixture
def admin_client(client, org_admin) -> Client:
    return login_verified(client, org_admin)


@pytest.fixture
def colleague(organisation) -> User:
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="casey")


# --- 1. who reaches the user list ------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("admin_users"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == reverse("login")


def test_it_asks_a_password_only_session_for_the_second_factor(client, org_admin):
    client.force_login(org_admin)
    response = client.get(reverse("admin_users"))
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("login_verify")


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
def test_it_answers_404_to_every_role_but_org_admin(client, request, persona):
    login_verified(client, request.getfixturevalue(persona))
    assert client.get(reverse("admin_users")).status_code == 404


def test_it_answers_404_to_a_user_without_any_role(client, organisation):
    login_verified(client, make_user(organisation=organisation))
    assert client.get(reverse("admin_users")).status_code == 404


def test_it_lists_the_users_of_the_admins_organisation_only(admin_client, caseworker, outsider):
    response = admin_client.get(reverse("admin_users"))
    assert response.status_code == 200
    html = response.content.decode()
    assert caseworker.username in html
    assert str(caseworker.pk) in html
    assert outsider.username not in html
    assert str(outsider.pk) not in html


# --- 2. other organisations -------------------------------------------------------------------


def test_the_user_id_routes_are_found_in_the_urlconf():
    assert USER_ID_ROUTES, "no administrative route takes a user_id: the tests cover nothing"
    assert set(AUDITED_ACTION) <= set(USER_ID_ROUTES)


@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_it_hides_users_of_another_organisation(admin_client, outsider, route):
    outsider_client = _armed(outsider)
    before = _snapshot(outsider)
    assert before["totp"] and before["backup"] and before["live_sessions"] == 1 and before["locked"]

    response = admin_client.post(reverse(route, args=[outsider.pk]), ACTION_DATA)

    assert response.status_code == 404
    assert _snapshot(outsider) == before
    assert outsider_client.get(reverse("home")).status_code == 200
    assert not AuditEvent.objects.filter(target_id=str(outsider.pk)).exists()


@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_it_answers_a_foreign_user_exactly_like_a_missing_one(admin_client, outsider, route):
    import uuid

    unknown = uuid.uuid4()
    foreign = admin_client.post(reverse(route, args=[outsider.pk]), ACTION_DATA)
    missing = admin_client.post(reverse(route, args=[unknown]), ACTION_DATA)
    assert foreign.status_code == missing.status_code == 404
    # The pages differ only in the echoed path (the language form returns to it).
    foreign_page = _without_csrf(foreign.content).replace(str(outsider.pk).encode(), b"ID")
    missing_page = _without_csrf(missing.content).replace(str(unknown).encode(), b"ID")
    assert foreign_page == missing_page


@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_a_get_never_acts_on_a_user(admin_client, colleague, route):
    _armed(colleague)
    before = _snapshot(colleague)
    response = admin_client.get(reverse(route, args=[colleague.pk]))
    # The compromised-account playbook's page is a confirmation page of its own, with a
    # typed username and a reason (tests/test_compromised_account.py).
    pages = CONFIRMED_ROUTES | {"admin_compromised"}
    assert response.status_code == (200 if route in pages else 405)
    assert _snapshot(colleague) == before


@pytest.mark.parametrize("route", sorted(CONFIRMED_ROUTES))
def test_the_confirmation_pages_hide_users_of_another_organisation(admin_client, outsider, route):
    import uuid

    unknown = uuid.uuid4()
    foreign = admin_client.get(reverse(route, args=[outsider.pk]))
    missing = admin_client.get(reverse(route, args=[unknown]))
    assert foreign.status_code == missing.status_code == 404
    foreign_page = _without_csrf(foreign.content).replace(str(outsider.pk).encode(), b"ID")
    missing_page = _without_csrf(missing.content).replace(str(unknown).encode(), b"ID")
    assert foreign_page == missing_page
    assert outsider.username.encode() not in foreign.content


@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_it_refuses_a_user_action_without_a_csrf_token(org_admin, colleague, route):
    client = login_verified(Client(enforce_csrf_checks=True), org_admin)
    _armed(colleague)
    before = _snapshot(colleague)
    assert client.post(reverse(route, args=[colleague.pk]), ACTION_DATA).status_code == 403
    assert _snapshot(colleague) == before


# --- 3. acting on oneself; roles below org admin ---------------------------------------------


@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_it_lets_no_admin_act_on_themselves(admin_client, org_admin, route):
    services.issue_backup_codes(org_admin)
    before = _snapshot(org_admin)
    data = {**ACTION_DATA, "role": Role.CASEWORKER.value}

    response = admin_client.post(reverse(route, args=[org_admin.pk]), data)

    assert response.status_code == 404
    assert _snapshot(org_admin) == before
    assert admin_client.get(reverse("admin_users")).status_code == 200


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
def test_it_lets_nobody_raise_their_own_role(client, request, persona):
    user = request.getfixturevalue(persona)
    login_verified(client, user)
    before = _groups(user)
    response = client.post(reverse("admin_role", args=[user.pk]), ACTION_DATA)
    assert response.status_code == 404
    assert _groups(user) == before
    assert Role.ORG_ADMIN.value not in _groups(user)


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
@pytest.mark.parametrize("route", USER_ID_ROUTES)
def test_it_answers_404_to_non_admins_acting_on_a_colleague(
    client, request, colleague, persona, route
):
    login_verified(client, request.getfixturevalue(persona))
    _armed(colleague)
    before = _snapshot(colleague)
    assert client.post(reverse(route, args=[colleague.pk]), ACTION_DATA).status_code == 404
    assert _snapshot(colleague) == before


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
def test_it_lets_no_other_role_create_invitations(client, request, persona):
    login_verified(client, request.getfixturevalue(persona))
    data = {"role": Role.ORG_ADMIN.value, "next": USERS_PATH}
    assert client.post(reverse("admin_invite"), data).status_code == 404
    assert not Invitation.objects.exists()


# --- 4. step-up ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", STEP_UP_ROUTES)
def test_it_sends_a_stale_second_factor_to_reauthenticate(admin_client, colleague, route):
    _armed(colleague)
    before = _snapshot(colleague)
    _stale_step_up(admin_client)

    response = admin_client.post(reverse(route, args=[colleague.pk]), ACTION_DATA)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == reverse("reauth")
    assert parse_qs(location.query) == {"next": [USERS_PATH]}
    assert _snapshot(colleague) == before


def test_it_sends_a_stale_invitation_request_to_reauthenticate(admin_client):
    _stale_step_up(admin_client)
    response = admin_client.post(reverse("admin_invite"), {"role": "caseworker"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == reverse("reauth")
    assert not Invitation.objects.exists()


def test_it_never_sends_reauthentication_to_another_site(admin_client, colleague):
    _stale_step_up(admin_client)
    data = {"role": "auditor", "next": "https://evil.example/phish"}
    response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data)
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    reauth = admin_client.get(response.headers["Location"])
    assert "evil.example" not in reauth.content.decode()


def test_it_changes_a_role_again_after_reauthentication_with_a_fresh_code(
    client, org_admin, colleague
):
    _device, totp = make_totp(org_admin)
    login_verified(client, org_admin)
    role_url = reverse("admin_role", args=[colleague.pk])
    data = {"role": Role.AUDITOR.value, "next": USERS_PATH}

    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        refused = client.post(role_url, data)
        assert refused.status_code == 302
        assert urlsplit(refused.headers["Location"]).path == reverse("reauth")
        assert _groups(colleague) == [Role.CASEWORKER.value]

        wrong = client.post(reverse("reauth"), {"code": "000000", "next": USERS_PATH})
        if totp.now() != "000000":
            assert wrong.status_code == 200
            assert client.post(role_url, data).status_code == 302
            assert _groups(colleague) == [Role.CASEWORKER.value]

    # A few seconds on: a wrong code throttles the device for one second.
    with time_machine.travel(timezone.now() + timedelta(minutes=6, seconds=5), tick=False):
        back = client.post(reverse("reauth"), {"code": totp.now(), "next": USERS_PATH})
        assert back.status_code == 302
        assert back.headers["Location"] == USERS_PATH

        done = client.post(role_url, data)
        assert done.status_code == 302
        assert done.headers["Location"] == reverse("admin_users")
        assert _groups(colleague) == [Role.AUDITOR.value]


def test_it_accepts_a_second_factor_younger_than_five_minutes(admin_client, colleague):
    data = {"role": Role.AUDITOR.value, "next": USERS_PATH}
    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=False):
        response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data)
    assert response.headers["Location"] == reverse("admin_users")
    assert _groups(colleague) == [Role.AUDITOR.value]


# --- 5. roles --------------------------------------------------------------------------------


def test_it_sets_exactly_the_new_role_and_ends_the_users_sessions(admin_client, colleague):
    colleague.groups.add(Group.objects.get(name=Role.AUDITOR.value))
    colleague_client = login_verified(Client(), colleague)
    assert colleague_client.get(reverse("home")).status_code == 200

    data = {"role": Role.ORG_ADMIN.value, "next": USERS_PATH}
    response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data)

    assert response.status_code == 302
    assert _groups(colleague) == [Role.ORG_ADMIN.value]
    assert _is_signed_out(colleague_client)
    assert not UserSession.objects.filter(user=colleague).exists()
    assert admin_client.get(reverse("admin_users")).status_code == 200


def test_it_ignores_a_role_that_does_not_exist(admin_client, colleague):
    colleague_client = login_verified(Client(), colleague)
    before = _snapshot(colleague)
    data = {"role": "superuser", "next": USERS_PATH}
    response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data)
    assert response.status_code == 302
    assert _snapshot(colleague) == before
    assert colleague_client.get(reverse("home")).status_code == 200
    assert not AuditEvent.objects.filter(action=Action.ROLE_CHANGED).exists()


# --- 6. deactivation -------------------------------------------------------------------------


def test_it_deactivates_a_user_who_then_cannot_sign_in(admin_client, organisation):
    user = make_user(organisation=organisation, role=Role.CASEWORKER, password=PASSPHRASE)
    sessions = [login_verified(Client(), user) for _ in range(2)]

    response = admin_client.post(reverse("admin_deactivate", args=[user.pk]), ACTION_DATA)

    assert response.status_code == 302
    fresh = _fresh(user)
    assert fresh.is_active is False
    assert fresh.check_password(PASSPHRASE)  # the refusal below is not a wrong password
    assert all(_is_signed_out(session) for session in sessions)
    assert not UserSession.objects.filter(user=user).exists()
    sign_in = Client().post(reverse("login"), {"username": user.username, "password": PASSPHRASE})
    assert sign_in.status_code == 200
    assert GENERIC_LOGIN_ERROR in sign_in.content.decode()
    assert "_auth_user_id" not in sign_in.wsgi_request.session
    assert "deactivated" in admin_client.get(reverse("admin_users")).content.decode()


def test_it_ends_a_half_signed_in_session_of_a_deactivated_user(admin_client, colleague):
    half = Client()
    half.force_login(colleague)
    assert half.get(reverse("login_verify")).status_code == 302  # to enrolment: still signed in
    admin_client.post(reverse("admin_deactivate", args=[colleague.pk]), ACTION_DATA)
    response = half.get(reverse("login_enrol"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == reverse("login")


# --- 7. second-factor reset and panic revoke -------------------------------------------------


@pytest.mark.parametrize("route", ["admin_reset_second_factor", "admin_revoke"])
def test_it_removes_every_device_and_session_and_sends_the_user_to_enrol(
    admin_client, org_admin, organisation, route
):
    user = make_user(organisation=organisation, role=Role.CASEWORKER, password=PASSPHRASE)
    make_totp(user)
    make_totp(user, confirmed=False)
    services.issue_backup_codes(user)
    sessions = [login_verified(Client(), user) for _ in range(3)]
    assert UserSession.objects.filter(user=user).count() == 3
    assert all(s.get(reverse("home")).status_code == 200 for s in sessions)

    response = admin_client.post(reverse(route, args=[user.pk]), ACTION_DATA)

    assert response.status_code == (200 if route == "admin_reset_second_factor" else 302)
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not BackupCodeDevice.objects.filter(user=user).exists()
    assert not UserSession.objects.filter(user=user).exists()
    assert all(_is_signed_out(session) for session in sessions)
    # The admin keeps their own session and device.
    assert admin_client.get(reverse("admin_users")).status_code == 200
    assert TOTPDevice.objects.filter(user=org_admin).exists()

    # Either way the old password is dead: whoever knew it cannot enrol a factor of theirs.
    again = Client()
    sign_in = again.post(reverse("login"), {"username": user.username, "password": PASSPHRASE})
    assert sign_in.status_code == 200  # the generic error, no second step
    assert "_auth_user_id" not in again.session
    assert not _fresh(user).has_usable_password()
    if route == "admin_revoke":
        # A seized laptop: the account is disabled outright.
        assert not _fresh(user).is_active
        return
    assert _fresh(user).is_active
    # The account comes back through the single-use link the admin was shown.
    path = _link_path(response)
    assert _reset_password(Client(), path).status_code == 302
    sign_in = again.post(reverse("login"), {"username": user.username, "password": NEW_PASSPHRASE})
    assert sign_in.status_code == 302
    assert sign_in.headers["Location"] == reverse("login_verify")
    verify = again.get(reverse("login_verify"))
    assert verify.status_code == 302
    assert verify.headers["Location"] == reverse("login_enrol")


@pytest.mark.parametrize("route", ["admin_reset_second_factor", "admin_revoke"])
def test_it_also_ends_a_half_signed_in_session_of_the_user(admin_client, colleague, route):
    make_totp(colleague)
    half = Client()
    half.force_login(colleague)
    admin_client.post(reverse(route, args=[colleague.pk]), ACTION_DATA)
    response = half.get(reverse("login_enrol"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == reverse("login")


# --- 8. unlocking ----------------------------------------------------------------------------


def test_it_locks_after_thirty_failures_and_an_admin_unlocks(admin_client, colleague):
    _lock(colleague.username, services.USER_LIMIT - 1)
    assert not services.is_locked(colleague)
    _lock(colleague.username, 1)
    assert services.is_locked(colleague)

    response = admin_client.post(reverse("admin_unlock", args=[colleague.pk]), ACTION_DATA)

    assert response.status_code == 302
    assert not services.is_locked(colleague)
    request = RequestFactory().post("/login/", REMOTE_ADDR="192.0.2.10")
    assert not services.login_blocked(request, colleague.username)
    # The old failures are gone too: one more does not lock the account again at once.
    services.login_failed(request, colleague.username)
    assert not services.is_locked(colleague)
    assert LoginFailure.objects.count() == 1


def test_an_unlock_needs_no_fresh_second_factor(admin_client, colleague):
    _lock(colleague.username)
    _stale_step_up(admin_client)
    admin_client.post(reverse("admin_unlock", args=[colleague.pk]), ACTION_DATA)
    assert not services.is_locked(colleague)


def test_it_leaves_the_lock_of_another_organisations_user(admin_client, outsider):
    _lock(outsider.username)
    response = admin_client.post(reverse("admin_unlock", args=[outsider.pk]), ACTION_DATA)
    assert response.status_code == 404
    assert services.is_locked(outsider)


# --- 9. invitations --------------------------------------------------------------------------


def test_an_invitation_link_creates_one_caseworker_of_the_admins_organisation(
    admin_client, org_admin, outsider
):
    path, token = _invite(admin_client)
    assert path == reverse("invitation_accept", args=[token])
    assert len(token) >= len(secrets.token_urlsafe(32))  # >= 256 bits, far above 128

    visitor = Client()
    form = visitor.get(path)
    assert form.status_code == 200
    assert 'name="new_password"' in form.content.decode()

    created = _accept(visitor, path, "newcomer")
    assert created.status_code == 302
    assert created.headers["Location"] == reverse("login")
    newcomer = User.objects.get(username="newcomer")
    assert newcomer.organisation_id == org_admin.organisation_id
    assert newcomer.organisation_id != outsider.organisation_id
    # A content role waits for a coordinator (tests/test_accounts_two_person.py).
    assert _groups(newcomer) == []
    assert newcomer.role_grants.get().role == Role.CASEWORKER.value
    assert newcomer.is_active
    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    assert "_auth_user_id" not in visitor.session  # accepting signs nobody in

    invitation = Invitation.objects.get()
    assert invitation.accepted_user_id == newcomer.pk
    assert invitation.accepted_at is not None

    for attempt in (visitor.get(path), _accept(Client(), path, "second")):
        assert attempt.status_code == 410
        assert "already been used" in attempt.content.decode()
    assert not User.objects.filter(username="second").exists()


def test_an_invited_user_enrols_a_second_factor_at_first_sign_in(admin_client):
    path, _token = _invite(admin_client, Role.COORDINATOR)
    _accept(Client(), path, "newcomer")
    browser = Client()
    sign_in = browser.post(reverse("login"), {"username": "newcomer", "password": PASSPHRASE})
    assert sign_in.headers["Location"] == reverse("login_verify")
    assert browser.get(reverse("login_verify")).headers["Location"] == reverse("login_enrol")
    assert browser.get(reverse("admin_users")).headers["Location"] == reverse("login_verify")


def test_it_stores_no_invitation_token_anywhere(admin_client):
    path, token = _invite(admin_client)
    invitation = Invitation.objects.get()
    digest = bytes(invitation.token_digest)
    assert digest != token.encode()
    assert token.encode() not in digest
    for field in Invitation._meta.concrete_fields:
        assert token not in repr(getattr(invitation, field.attname))
    assert token not in _database_text()

    _accept(Client(), path, "newcomer")
    assert token not in _database_text()


def test_invitation_links_are_all_different(admin_client):
    tokens = {_invite(admin_client)[1] for _ in range(5)}
    assert len(tokens) == 5
    assert Invitation.objects.count() == 5


def test_a_tampered_invitation_link_is_not_valid(admin_client):
    _path, token = _invite(admin_client)
    for position in (0, len(token) // 2, len(token) - 1):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1 :]
        for response in (
            Client().get(reverse("invitation_accept", args=[tampered])),
            _accept(Client(), reverse("invitation_accept", args=[tampered]), "tamperer"),
        ):
            assert response.status_code == 410
            assert "not valid" in response.content.decode()
    assert not User.objects.filter(username="tamperer").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_invitation_expires_after_24_hours(admin_client):
    path, _token = _invite(admin_client)
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert Client().get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        for response in (Client().get(path), _accept(Client(), path, "latecomer")):
            assert response.status_code == 410
            assert "expired" in response.content.decode()
    assert not User.objects.filter(username="latecomer").exists()


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        (
            {"username": "newcomer", "new_password": PASSPHRASE, "new_password_again": "x" * 20},
            "differ",
        ),
        (
            {"username": "newcomer", "new_password": "short", "new_password_again": "short"},
            "new_password",
        ),
        (
            {"username": "oscar", "new_password": PASSPHRASE, "new_password_again": PASSPHRASE},
            "taken",
        ),
        (
            {
                "username": "no spaces!",
                "new_password": PASSPHRASE,
                "new_password_again": PASSPHRASE,
            },
            "username",
        ),
    ],
)
def test_a_refused_form_leaves_the_invitation_unused(admin_client, outsider, data, field_error):
    path, _token = _invite(admin_client)
    response = Client().post(path, data)
    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert Invitation.objects.get().accepted_at is None
    assert User.objects.filter(username=data["username"]).count() <= 1
    assert not User.objects.filter(username="newcomer").exists()
    assert _groups(outsider) == [Role.CASEWORKER.value]
    assert _accept(Client(), path, "newcomer").status_code == 302


def test_it_refuses_an_invitation_for_a_role_that_does_not_exist(admin_client):
    response = admin_client.post(reverse("admin_invite"), {"role": "superuser"})
    assert response.status_code == 302
    assert not Invitation.objects.exists()


def test_the_invitation_link_page_is_never_cached(admin_client):
    response = admin_client.post(reverse("admin_invite"), {"role": "caseworker"})
    assert "no-store" in response.headers["Cache-Control"]


def test_invitations_are_post_only(admin_client):
    assert admin_client.get(reverse("admin_invite")).status_code == 405
    assert not Invitation.objects.exists()


def test_a_link_accepted_twice_at_the_same_moment_creates_one_user(org_admin, monkeypatch):
    token = services.create_invitation(admin=org_admin, role=Role.CASEWORKER)
    # Both requests have passed find_invitation before either has committed.
    seen_by_both = services.find_invitation(token)
    services.accept_invitation(token=token, username="first", password=PASSPHRASE)
    monkeypatch.setattr(services, "find_invitation", lambda _token: seen_by_both)
    with pytest.raises(services.InvitationInvalid):
        services.accept_invitation(token=token, username="second", password=PASSPHRASE)
    assert not User.objects.filter(username="second").exists()


# --- 10. the audit trail ---------------------------------------------------------------------


@pytest.mark.parametrize("route", sorted(AUDITED_ACTION))
def test_every_user_action_is_audited_with_actor_and_target(
    admin_client, org_admin, colleague, route
):
    _lock(colleague.username)
    start = _last_seq()  # the log is append-only: look at what comes after this

    admin_client.post(reverse(route, args=[colleague.pk]), {**ACTION_DATA, "role": "auditor"})

    events = list(AuditEvent.objects.filter(seq__gt=start, action=AUDITED_ACTION[route]))
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == org_admin.pk
    assert event.organisation_id == org_admin.organisation_id
    assert event.target_id == str(colleague.pk)
    assert event.target_type == "accounts.user"
    assert event.decision == "allow"
    assert event.client == "127.0.0.0/24"  # the test client's address, truncated


def test_the_role_change_entry_names_the_new_role(admin_client, colleague):
    data = {"role": Role.AUDITOR.value, "next": USERS_PATH}
    admin_client.post(reverse("admin_role", args=[colleague.pk]), data)
    event = AuditEvent.objects.get(action=Action.ROLE_CHANGED)
    assert event.details == {"role": Role.AUDITOR.value}


def test_invitations_are_audited_without_token_or_password(admin_client, org_admin):
    path, token = _invite(admin_client)
    _accept(Client(), path, "newcomer")
    invitation = Invitation.objects.get()
    newcomer = User.objects.get(username="newcomer")

    created = AuditEvent.objects.get(action=Action.INVITATION_CREATED)
    assert created.actor_id == org_admin.pk
    assert created.organisation_id == org_admin.organisation_id
    assert created.target_id == str(invitation.pk)
    assert created.details == {"role": Role.CASEWORKER.value}
    assert created.client == "127.0.0.0/24"

    accepted = AuditEvent.objects.get(action=Action.INVITATION_ACCEPTED)
    assert accepted.actor_id == newcomer.pk
    assert accepted.organisation_id == org_admin.organisation_id
    assert accepted.target_id == str(invitation.pk)

    for event in AuditEvent.objects.all():
        text = json.dumps(event.details) + repr(
            [getattr(event, f.attname) for f in event._meta.fields]
        )
        assert token not in text
        assert PASSPHRASE not in text
        assert bytes(invitation.token_digest).hex() not in text


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_a_refused_action_writes_no_allow_entry(admin_client, outsider, colleague):
    start = _last_seq()
    for route in USER_ID_ROUTES:
        admin_client.post(reverse(route, args=[outsider.pk]), ACTION_DATA)
    _stale_step_up(admin_client)
    for route in STEP_UP_ROUTES:
        admin_client.post(reverse(route, args=[colleague.pk]), ACTION_DATA)
    later = AuditEvent.objects.filter(seq__gt=start, decision="allow")
    assert not later.exclude(action=Action.LOGIN).exists()
