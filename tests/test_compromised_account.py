"""The compromised-account playbook (issue 14, part 7), attacked: an org admin who learns
that a colleague's account may be in someone else's hands takes every way in and every case
away from it in one step, and the person comes back only through the reset link and unlock.

vera is the caseworker whose account is compromised; the attacker holds her signed-in
sessions and knows her password. olga is the org admin, carol a coordinator, bob another
caseworker, fiona the admin of another organisation."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential
from guardian.shortcuts import assign_perm, get_objects_for_user

from casework.accounts import incident, services
from casework.accounts.models import (
    BackupCodeDevice,
    Invitation,
    LoginLock,
    RoleGrant,
    TOTPDevice,
    User,
    UserSession,
)
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent, AuditUnavailable
from casework.cases.access import visible_cases
from casework.cases.models import Case, CaseUserObjectPermission
from casework.cases.services import case_assign
from tests.conftest import login_verified, make_totp, make_user
from tests.factories import make_case
from tests.soft_authenticator import SoftAuthenticator
from tests.test_org_admin import (
    NEW_PASSPHRASE,
    PASSPHRASE,
    USERS_PATH,
    _database_text,
    _is_signed_out,
    _link_path,
    _reset_password,
    _stale_step_up,
    _without_csrf,
)
from tests.test_org_admin_confirmations import _parsed, _text
from tests.test_passkeys import register

pytestmark = pytest.mark.django_db

ROUTE = "admin_compromised"
# Typed by the admin into a field the form does not have: it must be kept nowhere.
CANARY = "canary-incident-story-7f3a"


@pytest.fixture(autouse=True)
def _localhost(settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # for the passkey ceremony


@pytest.fixture
def vera(organisation) -> User:
    return make_user(
        organisation=organisation, role=Role.CASEWORKER, username="vera", password=PASSPHRASE
    )


@pytest.fixture
def bob(organisation) -> User:
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="bob")


@pytest.fixture
def admin_client(org_admin) -> Client:
    return login_verified(Client(), org_admin)


@pytest.fixture
def fiona(other_organisation) -> User:
    return make_user(organisation=other_organisation, role=Role.ORG_ADMIN, username="fiona")


@pytest.fixture
def attacker(vera) -> list[Client]:
    """What whoever holds vera's laptop has: two signed-in sessions (one with every factor
    she owns: an app, backup codes, a passkey) and one that passed the password step only."""
    first = login_verified(Client(), vera)
    register(first, SoftAuthenticator())
    services.issue_backup_codes(vera)
    second = login_verified(Client(), vera)
    half = Client()
    half.force_login(vera)
    return [first, second, half]


def url(user: User) -> str:
    return reverse(ROUTE, args=[user.pk])


def confirm(client: Client, user: User, **overrides: str):
    data = {
        "reason": "device_lost",
        "confirm_username": user.username,
        "confirm": "yes",
        "next": url(user),
    }
    data.update(overrides)
    return client.post(url(user), data, follow=True)


def factors(user: User) -> dict[str, int]:
    return {
        "totp": TOTPDevice.objects.filter(user=user).count(),
        "backup": BackupCodeDevice.objects.filter(user=user).count(),
        "passkeys": WebAuthnCredential.objects.filter(user=user).count(),
    }


def state(user: User) -> dict[str, object]:
    """Everything the playbook changes about ``user``."""
    fresh = User.objects.get(pk=user.pk)
    return {
        "password": fresh.password,
        "is_active": fresh.is_active,
        "locked": services.is_locked(fresh),
        "factors": factors(fresh),
        "sessions": sorted(
            UserSession.objects.filter(user=fresh).values_list("session_key", flat=True)
        ),
        "cases": sorted(str(pk) for pk in fresh.assigned_cases.values_list("pk", flat=True)),
        "grants": CaseUserObjectPermission.objects.filter(user=fresh).count(),
        "coordinating": Case.objects.filter(coordinator=fresh).count(),
    }


def incidents() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.ACCOUNT_COMPROMISED))


# --- what the attacker is left with ----------------------------------------------------------


def test_the_attackers_sessions_get_the_sign_in_page(admin_client, vera, attacker):
    assert attacker[0].get(reverse("home")).status_code == 200

    response = confirm(admin_client, vera)

    assert response.status_code == 200
    assert all(_is_signed_out(session) for session in attacker)
    assert not UserSession.objects.filter(user=vera).exists()
    # The half-signed-in session cannot go on to the second step either.
    second_step = attacker[2].get(reverse("login_verify"))
    assert urlsplit(second_step.headers["Location"]).path == reverse("login")


def test_the_password_no_longer_works_even_once_the_lock_is_lifted(admin_client, vera):
    confirm(admin_client, vera)

    fresh = User.objects.get(pk=vera.pk)
    assert not fresh.has_usable_password()
    assert not fresh.check_password(PASSPHRASE)
    LoginLock.objects.all().delete()  # even without the lock, the old password is dead
    again = Client()
    sign_in = again.post(reverse("login"), {"username": "vera", "password": PASSPHRASE})
    assert sign_in.status_code == 200
    assert "_auth_user_id" not in again.session


def test_the_account_is_locked_until_an_administrator_unlocks_it(admin_client, vera):
    confirm(admin_client, vera)

    assert services.is_locked(vera)
    lock = LoginLock.objects.get(username_digest=services.username_digest("vera"))
    assert lock.until > timezone.now() + timedelta(days=365)  # not the one-hour lock of R6
    sign_in = Client().post(reverse("login"), {"username": "vera", "password": PASSPHRASE})
    assert "Too many attempts" in sign_in.content.decode()


def test_failed_sign_ins_racing_the_playbook_never_shorten_its_lock(admin_client, vera, rf):
    """A wrong password already past the lock check when the admin acts (the attacker's
    script keeps trying) lands after the playbook: the lock of R6 it would set is an hour,
    and must not replace the incident's years."""
    confirm(admin_client, vera)
    request = rf.post(reverse("login"))
    for _ in range(services.USER_LIMIT + 1):
        services.login_failed(request, "vera")

    lock = LoginLock.objects.get(username_digest=services.username_digest("vera"))
    assert lock.until > timezone.now() + timedelta(days=365)


def test_reloading_the_result_shows_it_again_and_runs_nothing_twice(admin_client, vera):
    done = confirm(admin_client, vera)
    assert done.redirect_chain[-1][0].endswith("?done=1")
    again = admin_client.get(done.redirect_chain[-1][0])
    assert again.status_code == 200 and "Sessions ended" in again.content.decode()
    assert len(incidents()) == 1


def test_every_second_factor_is_gone(admin_client, vera, attacker):
    make_totp(vera, confirmed=False)  # an enrolment under way counts too
    assert factors(vera) == {"totp": 2, "backup": 1, "passkeys": 1}

    confirm(admin_client, vera)

    assert factors(vera) == {"totp": 0, "backup": 0, "passkeys": 0}


def test_the_case_grants_are_gone_and_her_cases_wait_in_the_coordinators_queue(
    admin_client, vera, bob, coordinator
):
    alone = make_case(caseworker=vera)
    shared = make_case(caseworker=bob)
    case_assign(actor=coordinator, case=shared, caseworkers=[vera, bob])
    stray = make_case(caseworker=bob)  # a grant without an assignment: taken away all the same
    assign_perm("cases.view_case", vera, stray)
    assert set(visible_cases(vera)) == {alone, shared, stray}

    confirm(admin_client, vera)

    assert not CaseUserObjectPermission.objects.filter(user=vera).exists()
    assert not get_objects_for_user(vera, "cases.view_case", klass=Case.objects.all()).exists()
    assert not visible_cases(vera).exists()
    assert not vera.assigned_cases.exists()
    assert list(shared.caseworkers.all()) == [bob]  # bob goes on working on it
    home = login_verified(Client(), coordinator).get(reverse("home"))
    waiting = [row.case for row in home.context["queues"]["unassigned"]]
    assert waiting == [alone]
    html = home.content.decode()
    queue = html[html.index('aria-labelledby="queue-unassigned"') :].split("</section>", 1)[0]
    assert alone.code in queue and shared.code not in queue


def test_a_compromised_coordinator_is_no_longer_any_cases_coordinator(admin_client, coordinator):
    case = make_case(caseworker=coordinator)
    assert case.coordinator_id == coordinator.pk

    confirm(admin_client, coordinator)

    case.refresh_from_db()
    assert case.coordinator_id is None


def test_it_is_one_incident_entry_with_counts_and_no_free_text(
    admin_client, org_admin, coordinator, vera, bob, attacker
):
    alone = make_case(caseworker=vera)
    shared = make_case(caseworker=vera)
    case_assign(actor=coordinator, case=shared, caseworkers=[vera, bob])
    start = AuditEvent.objects.order_by("-seq").first().seq

    confirm(admin_client, vera, reason="phishing", story=CANARY, note=CANARY)

    [entry] = incidents()
    assert entry.actor_id == org_admin.pk
    assert entry.organisation_id == org_admin.organisation_id
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(vera.pk))
    assert entry.decision == "allow"
    assert entry.details == {
        "reason_category": "phishing",
        "sessions_ended": 3,
        "factors_removed": 3,  # the app, the set of backup codes, the passkey
        "links_withdrawn": 0,
        "cases_unassigned": 2,
    }
    # Each case's own trail says who works on it now (the entry every assignment writes).
    assigned = AuditEvent.objects.filter(seq__gt=start, action=Action.CASE_ASSIGNED)
    assert {(e.case_id, tuple(e.details["caseworkers"])) for e in assigned} == {
        (alone.pk, ()),
        (shared.pk, (str(bob.pk),)),
    }
    # Nothing else was written for the incident: no entry per session or device.
    others = AuditEvent.objects.filter(seq__gt=start).exclude(
        action__in=[Action.ACCOUNT_COMPROMISED, Action.CASE_ASSIGNED]
    )
    assert not others.exists()
    assert CANARY not in _database_text()


@pytest.mark.parametrize("reason", [choice for choice, _label in incident.Reason.choices])
def test_each_reason_is_recorded_as_its_code(admin_client, vera, reason):
    confirm(admin_client, vera, reason=reason)
    assert incidents()[0].details["reason_category"] == reason


@pytest.mark.parametrize("reason", ["", "stolen by aliens", "PHISHING", CANARY])
def test_a_reason_outside_the_list_is_refused(admin_client, vera, reason):
    before = state(vera)
    response = confirm(admin_client, vera, reason=reason)
    assert response.status_code == 400
    assert state(vera) == before
    assert not incidents()
    assert CANARY not in _database_text()


def test_the_incident_entry_reads_in_words_for_the_auditor(admin_client, vera, auditor):
    confirm(admin_client, vera, reason="coerced")
    html = login_verified(Client(), auditor).get("/audit/").content.decode()
    text = _text(html)
    assert "reason_category" not in text and "cases_unassigned" not in text
    assert f"Reason given: {incident.Reason.COERCED.label}" in text
    assert "Sessions ended" in text and "Cases unassigned" in text


def test_links_to_her_account_and_invitations_she_made_stop_working(
    admin_client, org_admin, organisation
):
    second_admin = make_user(organisation=organisation, role=Role.ORG_ADMIN, username="otto")
    reset_token = services.reset_second_factor(admin=org_admin, user=second_admin)
    made_token = services.create_invitation(admin=second_admin, role=Role.CASEWORKER)
    made = Invitation.objects.get(token_digest=services.invitation_digest(made_token))
    asked = make_user(organisation=organisation, role=Role.AUDITOR, username="petra")
    services.set_role(admin=second_admin, user=asked, role=Role.COORDINATOR)
    assert RoleGrant.objects.pending().count() == 2

    confirm(admin_client, second_admin)

    for token in (reset_token, made_token):
        response = Client().get(reverse("invitation_accept", args=[token]))
        assert response.status_code == 410
    assert Invitation.objects.get(pk=made.pk).withdrawn_at is not None
    assert not RoleGrant.objects.pending().exists()
    assert incidents()[0].details["links_withdrawn"] == 2


def test_it_happens_all_together_or_not_at_all(admin_client, vera, attacker, monkeypatch):
    make_case(caseworker=vera)
    before = state(vera)

    def unavailable(*args, **kwargs):
        raise AuditUnavailable("audit entry not written: test")

    monkeypatch.setattr(incident, "record", unavailable)
    assert confirm(admin_client, vera).status_code == 503  # fail closed (R44)
    assert state(vera) == before
    assert attacker[0].get(reverse("home")).status_code == 200


# --- who may do it, and how ------------------------------------------------------------------


def test_without_a_fresh_second_factor_nothing_happens(admin_client, vera, attacker):
    make_case(caseworker=vera)
    before = state(vera)
    _stale_step_up(admin_client)

    asked = admin_client.get(url(vera))
    done = confirm(admin_client, vera).redirect_chain[0]

    for response in (asked, done):
        target = response[0] if isinstance(response, tuple) else response.headers["Location"]
        location = urlsplit(target)
        assert location.path == reverse("reauth")
        assert parse_qs(location.query) == {"next": [url(vera)]}
    assert state(vera) == before
    assert not incidents()
    assert attacker[0].get(reverse("home")).status_code == 200


def test_a_wrong_username_shows_the_problem_and_keeps_what_was_typed(admin_client, vera):
    before = state(vera)

    response = confirm(admin_client, vera, confirm_username="vero", reason="phishing")

    assert response.status_code == 400
    html = response.content.decode()
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "There is a problem" in summary
    assert 'href="#id_confirm_username"' in summary
    assert "vera" in _text(summary)
    assert re.search(r'<input[^>]*name="confirm_username"[^>]*value="vero"', html)
    assert re.search(r'<input[^>]*value="phishing"[^>]*checked', html)
    assert state(vera) == before
    assert not incidents()


@pytest.mark.parametrize("typed", ["", " ", "VERA", "vera ", "bob", "olga"])
def test_only_her_exact_username_confirms(admin_client, vera, bob, typed):
    before = state(vera)
    response = confirm(admin_client, vera, confirm_username=typed)
    expected = 200 if typed.strip() == "vera" else 400
    assert response.status_code == expected
    assert (state(vera) == before) == (expected == 400)


@pytest.mark.parametrize("value", [None, "", "no", "YES"])
def test_a_post_without_the_pages_confirmation_changes_nothing(admin_client, vera, value):
    before = state(vera)
    data = {"reason": "phishing", "confirm_username": "vera", "next": USERS_PATH}
    if value is not None:
        data["confirm"] = value
    response = admin_client.post(url(vera), data)
    assert response.status_code == 302
    assert response.headers["Location"] == url(vera)
    assert state(vera) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_admin_of_another_organisation_gets_404(fiona, vera, attacker, method):
    client = login_verified(Client(), fiona)
    before = state(vera)
    data = {"reason": "phishing", "confirm_username": "vera", "confirm": "yes"}

    unknown = uuid.uuid4()
    foreign = getattr(client, method)(url(vera), data)
    missing = getattr(client, method)(reverse(ROUTE, args=[unknown]), data)

    assert foreign.status_code == missing.status_code == 404
    assert b"vera" not in foreign.content
    assert _without_csrf(foreign.content).replace(str(vera.pk).encode(), b"ID") == (
        _without_csrf(missing.content).replace(str(unknown).encode(), b"ID")
    )
    assert state(vera) == before
    assert not incidents()


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_roles_get_404(request, vera, persona, method):
    client = login_verified(Client(), request.getfixturevalue(persona))
    before = state(vera)
    data = {"reason": "phishing", "confirm_username": "vera", "confirm": "yes"}
    assert getattr(client, method)(url(vera), data).status_code == 404
    assert state(vera) == before


def test_an_admin_cannot_do_it_to_themselves_and_is_told_why(admin_client, org_admin):
    services.issue_backup_codes(org_admin)
    before = state(org_admin)

    for response in (admin_client.get(url(org_admin)), confirm(admin_client, org_admin)):
        assert response.status_code == 404
        text = _text(response.content.decode())
        assert "You cannot mark your own account as compromised" in text
        assert "another administrator" in text
        assert not any("confirm" in form["fields"] for form in _parsed(response.content.decode()))

    assert state(org_admin) == before
    assert not incidents()
    assert admin_client.get(USERS_PATH).status_code == 200


def test_the_users_page_offers_it_for_others_and_not_for_oneself(admin_client, org_admin, vera):
    html = admin_client.get(USERS_PATH).content.decode()
    assert f'href="{url(vera)}"' in html
    assert f'href="{url(org_admin)}"' not in html
    assert "This account may be compromised" in html


def test_the_page_works_without_javascript(admin_client, vera, attacker):
    page = admin_client.get(url(vera))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script" not in html and "style=" not in html
    text = _text(html)
    for said in (
        "vera",
        "Caseworker",
        "Every session of theirs ends now",
        "authenticator app, passkey and backup code",
        "Their password stops working",
        "locked",
        "unassigned",
    ):
        assert said in text, said
    [form] = [form for form in _parsed(html) if "confirm" in form["fields"]]
    assert (form["method"], form["action"]) == ("post", url(vera))
    assert form["fields"]["confirm"] == "yes"
    assert set(form["fields"]) >= {"csrfmiddlewaretoken", "reason", "confirm_username"}
    assert len(re.findall(r'<input[^>]*type="radio"[^>]*name="reason"', html)) == len(
        incident.Reason.choices
    )
    assert "<textarea" not in html  # no box for free text: only the kind of incident is kept

    # What a browser without scripts sends: the form's fields, a reason ticked, the name typed.
    done = admin_client.post(
        form["action"],
        {**form["fields"], "reason": "other", "confirm_username": "vera"},
        follow=True,
    )

    assert done.status_code == 200
    assert all(_is_signed_out(session) for session in attacker)
    text = _text(done.content.decode())
    assert "Reset second factor" in text and "Unlock" in text
    assert f'href="{reverse("admin_users")}"' in done.content.decode()
    assert "no-store" in done.headers["Cache-Control"]


def test_access_comes_back_through_the_reset_link_and_unlock(admin_client, vera):
    confirm(admin_client, vera)

    reset = admin_client.post(
        reverse("admin_reset_second_factor", args=[vera.pk]), {"confirm": "yes"}
    )
    assert _reset_password(Client(), _link_path(reset)).status_code == 302
    person = Client()
    blocked = person.post(reverse("login"), {"username": "vera", "password": NEW_PASSPHRASE})
    assert "_auth_user_id" not in person.session  # still locked: the admin decides when
    assert blocked.status_code == 429

    admin_client.post(reverse("admin_unlock", args=[vera.pk]))
    sign_in = person.post(reverse("login"), {"username": "vera", "password": NEW_PASSPHRASE})

    assert sign_in.headers["Location"] == reverse("login_verify")
    # Her caseworker role waits for a coordinator, as after any reset (two people).
    assert not User.objects.get(pk=vera.pk).groups.filter(name=Role.CASEWORKER.value).exists()
    assert RoleGrant.objects.pending().filter(user=vera, role=Role.CASEWORKER.value).exists()
