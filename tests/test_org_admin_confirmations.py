"""Administration that does not invite mistakes: the role drop-down shows the current role,
what locks someone out is asked on a confirmation page first, pending invitations are listed
and can be withdrawn."""

from __future__ import annotations

import json
import threading
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from casework.accounts import services
from casework.accounts.models import Invitation, User, UserSession
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent, AuditUnavailable
from tests.conftest import login_verified, make_user
from tests.test_org_admin import (
    CONFIRMED_ROUTES,
    PASSPHRASE,
    USERS_PATH,
    _accept,
    _armed,
    _invite,
    _snapshot,
    _stale_step_up,
    _without_csrf,
)

ROUTES = sorted(CONFIRMED_ROUTES)
# What each confirmation page must say will happen, in words an admin recognises.
CONSEQUENCES = {
    "admin_reset_second_factor": [
        "authenticator app, passkey and backup code",
        "Every session of theirs ends now",
        "Their password stops working too",
        "a single-use link for them",
        "waits for a coordinator to confirm it again",
    ],
    "admin_deactivate": [
        "can no longer sign in",
        "Their password, second factors and role are kept",
        "new invitation",
    ],
    "admin_revoke": [
        "Every session of theirs ends now",
        "authenticator app, passkey and backup code",
        "Their password is erased and the account is deactivated",
        "new invitation",
    ],
}
YES_BUTTON = {
    "admin_reset_second_factor": "Yes, reset their second factor",
    "admin_deactivate": "Yes, deactivate the account",
    "admin_revoke": "Yes, revoke everything",
}
AUDITED = {
    "admin_reset_second_factor": Action.SECOND_FACTOR_RESET,
    "admin_deactivate": Action.USER_DEACTIVATED,
    "admin_revoke": Action.PANIC_REVOKE,
}


@pytest.fixture
def admin_client(client, org_admin) -> Client:
    return login_verified(client, org_admin)


@pytest.fixture
def colleague(organisation) -> User:
    return make_user(organisation=organisation, role=Role.AUDITOR, username="casey")


# --- helpers ---------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page with their action, method and input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._open = {
                "action": attributes.get("action"),
                "method": attributes.get("method"),
                "fields": {},
            }
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            self._open["fields"][attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _confirmation_form(html: str) -> dict[str, Any]:
    forms = [form for form in _parsed(html) if "confirm" in form["fields"]]
    assert len(forms) == 1, "the page has no single confirmation form"
    return forms[0]


def _parsed(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _text(html: str) -> str:
    """What a reader sees: the page without its tags and their attributes."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _selected_role(html: str, user: User) -> str | None:
    """The value preselected in ``user``'s role drop-down on the users page."""
    import re

    select = re.search(
        rf'<select name="role"[^>]*id="role-{user.pk}-role"[^>]*>(.*?)</select>', html, re.S
    )
    assert select is not None, f"no role drop-down for {user.username}"
    chosen = re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(1))
    assert len(chosen) <= 1
    return chosen[0] if chosen else None


def _entries_after(start: int, action: Action) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=start, action=action))


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- 1. the role drop-down shows the current role ---------------------------------------------


def test_each_role_drop_down_preselects_the_users_current_role(
    admin_client, caseworker, coordinator, auditor, organisation
):
    second_admin = make_user(organisation=organisation, role=Role.ORG_ADMIN, username="otto")
    html = admin_client.get(reverse("admin_users")).content.decode()
    assert _selected_role(html, caseworker) == Role.CASEWORKER.value
    assert _selected_role(html, coordinator) == Role.COORDINATOR.value
    assert _selected_role(html, auditor) == Role.AUDITOR.value
    assert _selected_role(html, second_admin) == Role.ORG_ADMIN.value


def test_a_user_without_a_single_role_starts_on_choose_a_role(admin_client, organisation):
    no_role = make_user(organisation=organisation, username="nadia")
    two_roles = make_user(organisation=organisation, role=Role.AUDITOR, username="tomas")
    two_roles.groups.add(Group.objects.get(name=Role.COORDINATOR.value))
    html = admin_client.get(reverse("admin_users")).content.decode()
    for user in (no_role, two_roles):
        assert _selected_role(html, user) == ""
    assert "Choose a role" in html


def test_roles_are_named_in_words_not_group_codes(admin_client, auditor, organisation):
    make_user(organisation=organisation, role=Role.ORG_ADMIN, username="otto")
    text = _text(admin_client.get(reverse("admin_users")).content.decode())
    assert "Organisation administrator" in text
    assert "Auditor" in text
    for role in Role:
        assert role.value not in text.replace("(you)", "").split(), role


def test_role_names_are_translated(admin_client, auditor, organisation):
    make_user(organisation=organisation, role=Role.ORG_ADMIN, username="otto")
    admin_client.post(reverse("set_language"), {"language": "de", "next": USERS_PATH})
    try:
        html = admin_client.get(reverse("admin_users")).content.decode()
        page = admin_client.get(reverse("admin_deactivate", args=[auditor.pk])).content.decode()
    finally:
        translation.activate("en")
    assert "Organisationsadministrator:in" in html
    assert "Organisation administrator" not in html
    assert 'lang="de"' in page


def test_set_role_on_the_preselected_role_changes_nothing(admin_client, colleague):
    colleague_client = login_verified(Client(), colleague)
    start = _last_seq()
    data = {"role": Role.AUDITOR.value, "next": USERS_PATH}

    response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data, follow=True)

    assert "already has that role" in response.content.decode()
    assert colleague_client.get(reverse("home")).status_code == 200  # not signed out
    assert UserSession.objects.filter(user=colleague).exists()
    assert not _entries_after(start, Action.ROLE_CHANGED)


def test_an_empty_role_choice_changes_nothing_and_says_why(admin_client, colleague):
    data = {"role": "", "next": USERS_PATH}
    response = admin_client.post(reverse("admin_role", args=[colleague.pk]), data, follow=True)
    assert "Choose a role." in response.content.decode()
    assert list(colleague.groups.values_list("name", flat=True)) == [Role.AUDITOR.value]


# --- 2. confirmation before locking someone out ------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_the_users_page_leads_to_the_confirmation_page_by_a_plain_link(
    admin_client, colleague, route
):
    html = admin_client.get(reverse("admin_users")).content.decode()
    url = reverse(route, args=[colleague.pk])
    assert f'href="{url}"' in html
    assert not any(form["action"] == url for form in _parsed(html)), "still a one-click form"


@pytest.mark.parametrize("route", ROUTES)
def test_the_confirmation_page_says_whom_and_what_and_changes_nothing(
    admin_client, colleague, route
):
    _armed(colleague)
    before = _snapshot(colleague)
    start = _last_seq()

    response = admin_client.get(reverse(route, args=[colleague.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    text = _text(html)
    assert colleague.username in text
    assert "Auditor" in text
    for consequence in CONSEQUENCES[route]:
        assert consequence in text, consequence
    assert YES_BUTTON[route] in text
    assert f'href="{reverse("admin_users")}">Cancel</a>' in html
    form = _confirmation_form(html)
    assert form["method"] == "post"
    assert form["action"] == reverse(route, args=[colleague.pk])
    assert form["fields"]["confirm"] == "yes"
    assert "<script" not in html and "style=" not in html
    assert _snapshot(colleague) == before
    assert not _entries_after(start, AUDITED[route])


@pytest.mark.parametrize("route", ROUTES)
def test_the_yes_button_does_it_once_and_audits_it(admin_client, org_admin, colleague, route):
    _armed(colleague)
    before = _snapshot(colleague)
    start = _last_seq()
    form = _confirmation_form(
        admin_client.get(reverse(route, args=[colleague.pk])).content.decode()
    )

    response = admin_client.post(form["action"], form["fields"])

    if route == "admin_reset_second_factor":
        # The page with the single-use link that lets them back in, shown once.
        assert response.status_code == 200
        assert "/invitation/" in response.content.decode()
        assert "no-store" in response.headers["Cache-Control"]
    else:
        assert response.status_code == 302
        assert response.headers["Location"] == reverse("admin_users")
    after = _snapshot(colleague)
    assert after != before
    assert not after["totp"] or route == "admin_deactivate"
    assert after["live_sessions"] == 0
    events = _entries_after(start, AUDITED[route])
    assert len(events) == 1
    assert events[0].actor_id == org_admin.pk
    assert events[0].target_id == str(colleague.pk)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("confirm", [None, "", "no", "YES", "true", "1"])
def test_a_post_without_confirm_yes_changes_nothing_and_asks_first(
    admin_client, colleague, route, confirm
):
    # An old users page posted straight to the action; a stray click on it must not act.
    _armed(colleague)
    before = _snapshot(colleague)
    start = _last_seq()
    data = {"next": USERS_PATH} if confirm is None else {"next": USERS_PATH, "confirm": confirm}

    response = admin_client.post(reverse(route, args=[colleague.pk]), data)

    assert response.status_code == 302
    assert response.headers["Location"] == reverse(route, args=[colleague.pk])
    assert _snapshot(colleague) == before
    assert not _entries_after(start, AUDITED[route])


@pytest.mark.parametrize("route", ROUTES)
def test_a_stale_second_factor_returns_to_the_confirmation_page(admin_client, colleague, route):
    url = reverse(route, args=[colleague.pk])
    _stale_step_up(admin_client)

    asked = admin_client.get(url)
    assert urlsplit(asked.headers["Location"]).path == reverse("reauth")
    assert parse_qs(urlsplit(asked.headers["Location"]).query) == {"next": [url]}

    # The page was shown in time but the button pressed too late: back to the page, not done.
    session = admin_client.session
    session["otp_verified_at"] = timezone.now().timestamp()
    session.save()
    form = _confirmation_form(admin_client.get(url).content.decode())
    before = _snapshot(colleague)
    _stale_step_up(admin_client)
    late = admin_client.post(form["action"], form["fields"])
    assert parse_qs(urlsplit(late.headers["Location"]).query) == {"next": [url]}
    assert _snapshot(colleague) == before


@pytest.mark.parametrize("route", ROUTES)
def test_an_admin_gets_no_confirmation_page_about_themselves(admin_client, org_admin, route):
    assert admin_client.get(reverse(route, args=[org_admin.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
@pytest.mark.parametrize("route", ROUTES)
def test_other_roles_get_404_for_the_confirmation_page(client, request, colleague, persona, route):
    login_verified(client, request.getfixturevalue(persona))
    response = client.get(reverse(route, args=[colleague.pk]))
    assert response.status_code == 404
    assert colleague.username not in response.content.decode()


# --- 3. pending invitations: listed, withdrawn -------------------------------------------------


def test_pending_invitations_are_listed_with_role_inviter_and_times_but_no_token(
    admin_client, org_admin
):
    _path, token = _invite(admin_client, Role.COORDINATOR)
    invitation = Invitation.objects.get()

    html = admin_client.get(reverse("admin_users")).content.decode()

    assert "Pending invitations" in html
    text = _text(html)
    assert "Coordinator" in text
    assert org_admin.username in text
    assert invitation.created_at.strftime("%Y-%m-%d %H:%M") in text
    assert invitation.expires_at.strftime("%Y-%m-%d %H:%M") in text
    assert f'href="{reverse("admin_invitation_withdraw", args=[invitation.pk])}"' in html
    assert token not in html
    assert token[:12] not in html
    assert bytes(invitation.token_digest).hex() not in html


def test_only_pending_invitations_of_the_admins_organisation_are_listed(
    admin_client, org_admin, outsider
):
    foreign_admin = make_user(
        organisation=outsider.organisation, role=Role.ORG_ADMIN, username="fiona"
    )
    foreign = _invitation_of(foreign_admin)
    used = _invitation_of(org_admin)
    services.accept_invitation(token=used[1], username="newcomer", password=PASSPHRASE)
    withdrawn = _invitation_of(org_admin)
    services.withdraw_invitation(admin=org_admin, invitation=withdrawn[0])
    expired = _invitation_of(org_admin)
    pending = _invitation_of(org_admin)

    Invitation.objects.filter(pk=expired[0].pk).update(expires_at=timezone.now())
    html = admin_client.get(reverse("admin_users")).content.decode()

    assert str(pending[0].pk) in html
    for invitation, _token in (foreign, used, withdrawn, expired):
        assert str(invitation.pk) not in html


def _invitation_of(admin: User, role: Role = Role.CASEWORKER) -> tuple[Invitation, str]:
    token = services.create_invitation(admin=admin, role=role)
    return Invitation.objects.get(token_digest=services.invitation_digest(token)), token


def test_there_is_a_word_for_no_pending_invitation(admin_client):
    assert (
        "No invitation link is waiting to be used." in admin_client.get(USERS_PATH).content.decode()
    )


def test_withdrawing_asks_first_and_then_the_link_says_withdrawn(admin_client, org_admin):
    path, _token = _invite(admin_client, Role.AUDITOR)
    invitation = Invitation.objects.get()
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    text = _text(page.content.decode())
    assert "Auditor" in text and org_admin.username in text
    assert "The link stops working at once" in text
    assert "Yes, withdraw the invitation" in text
    assert Invitation.objects.get().withdrawn_at is None
    assert Client().get(path).status_code == 200  # still works until the button is pressed

    form = _confirmation_form(page.content.decode())
    done = admin_client.post(form["action"], form["fields"], follow=True)

    assert done.redirect_chain == [(reverse("admin_users"), 302)]
    assert "The invitation was withdrawn" in done.content.decode()
    assert Invitation.objects.get().withdrawn_at is not None
    assert str(invitation.pk) not in done.content.decode()
    for response in (Client().get(path), _accept(Client(), path, "latecomer")):
        assert response.status_code == 410
        assert "was withdrawn" in response.content.decode()
    assert not User.objects.filter(username="latecomer").exists()


def test_a_withdrawal_is_audited_once_with_ids_only(admin_client, org_admin):
    _path, token = _invite(admin_client)
    invitation = Invitation.objects.get()
    start = _last_seq()

    url = reverse("admin_invitation_withdraw", args=[invitation.pk])
    admin_client.post(url, {"confirm": "yes", "next": url})

    events = _entries_after(start, Action.INVITATION_WITHDRAWN)
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == org_admin.pk
    assert event.organisation_id == org_admin.organisation_id
    assert event.target_type == "accounts.invitation"
    assert event.target_id == str(invitation.pk)
    assert event.details == {}
    assert event.client == "127.0.0.0/24"
    text = json.dumps(event.details) + repr([getattr(event, f.attname) for f in event._meta.fields])
    assert token not in text
    assert bytes(invitation.token_digest).hex() not in text


def test_a_withdrawal_whose_audit_entry_fails_does_not_happen(org_admin, monkeypatch):
    invitation, _token = _invitation_of(org_admin)

    def unavailable(*args, **kwargs):
        raise AuditUnavailable("audit entry not written: test")

    monkeypatch.setattr(services, "record", unavailable)
    with pytest.raises(AuditUnavailable):
        services.withdraw_invitation(admin=org_admin, invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None


def test_a_withdrawal_post_without_confirm_yes_changes_nothing(admin_client):
    path, _token = _invite(admin_client)
    invitation = Invitation.objects.get()
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])

    response = admin_client.post(url, {"next": USERS_PATH})

    assert response.headers["Location"] == url
    assert Invitation.objects.get().withdrawn_at is None
    assert not AuditEvent.objects.filter(action=Action.INVITATION_WITHDRAWN).exists()
    assert Client().get(path).status_code == 200


def test_a_withdrawal_needs_a_fresh_second_factor(admin_client):
    path, _token = _invite(admin_client)
    invitation = Invitation.objects.get()
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])
    _stale_step_up(admin_client)

    for response in (
        admin_client.get(url),
        admin_client.post(url, {"confirm": "yes", "next": url}),
    ):
        assert urlsplit(response.headers["Location"]).path == reverse("reauth")
        assert parse_qs(urlsplit(response.headers["Location"]).query) == {"next": [url]}
    assert Invitation.objects.get().withdrawn_at is None
    assert Client().get(path).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_invitation_of_another_organisation_is_404_like_a_missing_one(
    admin_client, outsider, method
):
    foreign_admin = make_user(
        organisation=outsider.organisation, role=Role.ORG_ADMIN, username="fiona"
    )
    invitation, token = _invitation_of(foreign_admin, Role.ORG_ADMIN)
    unknown = uuid.uuid4()
    data = {"confirm": "yes", "next": USERS_PATH}

    send = getattr(admin_client, method)
    foreign = send(reverse("admin_invitation_withdraw", args=[invitation.pk]), data)
    missing = send(reverse("admin_invitation_withdraw", args=[unknown]), data)

    assert foreign.status_code == missing.status_code == 404
    foreign_page = _without_csrf(foreign.content).replace(str(invitation.pk).encode(), b"ID")
    missing_page = _without_csrf(missing.content).replace(str(unknown).encode(), b"ID")
    assert foreign_page == missing_page
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None
    assert not AuditEvent.objects.filter(action=Action.INVITATION_WITHDRAWN).exists()
    assert services.find_invitation(token) == invitation


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_roles_cannot_withdraw_an_invitation(client, request, org_admin, persona, method):
    invitation, _token = _invitation_of(org_admin)
    login_verified(client, request.getfixturevalue(persona))
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])
    response = getattr(client, method)(url, {"confirm": "yes", "next": url})
    assert response.status_code == 404
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None


def test_a_withdrawal_without_a_csrf_token_is_refused(org_admin):
    client = login_verified(Client(enforce_csrf_checks=True), org_admin)
    invitation, _token = _invitation_of(org_admin)
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])
    assert client.post(url, {"confirm": "yes", "next": url}).status_code == 403
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None


@pytest.mark.parametrize("state", ["used", "withdrawn", "expired"])
def test_an_invitation_that_no_longer_works_is_not_withdrawn_again(admin_client, org_admin, state):
    invitation, token = _invitation_of(org_admin)
    if state == "used":
        services.accept_invitation(token=token, username="newcomer", password=PASSPHRASE)
    elif state == "withdrawn":
        services.withdraw_invitation(admin=org_admin, invitation=invitation)
    else:
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    before = Invitation.objects.get(pk=invitation.pk).withdrawn_at
    start = _last_seq()
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])

    for response in (admin_client.get(url), admin_client.post(url, {"confirm": "yes"})):
        assert response.headers["Location"] == reverse("admin_users")
    page = admin_client.get(reverse("admin_users")).content.decode()
    assert "already used, withdrawn or expired; nothing changed" in page
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at == before
    assert not _entries_after(start, Action.INVITATION_WITHDRAWN)


def test_a_link_withdrawn_while_its_form_is_filled_in_creates_no_user(org_admin, monkeypatch):
    invitation, token = _invitation_of(org_admin)
    # The form was opened (find_invitation passed) before the admin withdrew the link.
    seen_before = services.find_invitation(token)
    services.withdraw_invitation(admin=org_admin, invitation=invitation)
    monkeypatch.setattr(services, "find_invitation", lambda _token: seen_before)
    with pytest.raises(services.InvitationInvalid, match="withdrawn"):
        services.accept_invitation(token=token, username="newcomer", password=PASSPHRASE)
    assert not User.objects.filter(username="newcomer").exists()


def test_a_link_accepted_while_the_confirmation_page_is_open_is_not_withdrawn(
    admin_client, org_admin
):
    invitation, token = _invitation_of(org_admin)
    url = reverse("admin_invitation_withdraw", args=[invitation.pk])
    form = _confirmation_form(admin_client.get(url).content.decode())
    services.accept_invitation(token=token, username="newcomer", password=PASSPHRASE)
    start = _last_seq()

    response = admin_client.post(form["action"], form["fields"], follow=True)

    assert "already used, withdrawn or expired" in response.content.decode()
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None
    assert User.objects.get(username="newcomer").is_active
    assert not _entries_after(start, Action.INVITATION_WITHDRAWN)


def test_a_withdrawal_is_decided_on_the_locked_row(org_admin):
    invitation, token = _invitation_of(org_admin)
    seen_before = Invitation.objects.get(pk=invitation.pk)  # loaded before the acceptance
    services.accept_invitation(token=token, username="newcomer", password=PASSPHRASE)
    with pytest.raises(services.InvitationInvalid, match="used"):
        services.withdraw_invitation(admin=org_admin, invitation=seen_before)
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None
    assert not AuditEvent.objects.filter(action=Action.INVITATION_WITHDRAWN).exists()


@pytest.mark.django_db(transaction=True)
def test_a_link_accepted_and_withdrawn_at_the_same_moment_is_one_or_the_other(org_admin):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this test there")
    for round_number in range(5):
        invitation, token = _invitation_of(org_admin)
        username = f"racer{round_number}"
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        accept = {"token": token, "username": username, "password": PASSPHRASE}
        withdraw = {"admin": org_admin, "invitation": invitation}
        threads = [
            threading.Thread(
                target=_raced,
                args=(barrier, outcomes, "accepted", services.accept_invitation),
                kwargs=accept,
            ),
            threading.Thread(
                target=_raced,
                args=(barrier, outcomes, "withdrawn", services.withdraw_invitation),
                kwargs=withdraw,
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        fresh = Invitation.objects.get(pk=invitation.pk)
        assert len(outcomes) == 1, outcomes
        assert (fresh.withdrawn_at is not None) == (outcomes == ["withdrawn"])
        assert User.objects.filter(username=username).exists() == (outcomes == ["accepted"])
        withdrawals = AuditEvent.objects.filter(
            action=Action.INVITATION_WITHDRAWN, target_id=str(invitation.pk)
        )
        assert withdrawals.count() == (1 if outcomes == ["withdrawn"] else 0)


def _raced(barrier, outcomes, outcome, service, **kwargs) -> None:
    from django.db import connections

    try:
        barrier.wait()
        service(**kwargs)
        outcomes.append(outcome)
    except services.InvitationInvalid:
        pass
    finally:
        connections.close_all()
