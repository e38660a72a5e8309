"""Content roles take two people (finding 13): an org admin asks, a coordinator of the
organisation confirms. The attack: an org admin invites a second account of their own as
coordinator (or caseworker), or resets a caseworker's second factor and uses the link, and
reads cases. The bootstrap: an organisation with no coordinator gets one from an operator."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.accounts import services
from casework.accounts.models import Invitation, RoleGrant, User
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified, make_user
from tests.factories import make_case

pytestmark = pytest.mark.django_db

PASSPHRASE = "lantern orchard velvet compass drizzle"
NEW_PASSPHRASE = "quiet harbour saffron tumble window"
USERS_PATH = "/admin/users/"


def _groups(user: User) -> list[str]:
    return sorted(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def _link(response) -> str:
    match = re.search(r"https?://[^/\s<]+(/invitation/[A-Za-z0-9_-]+/)", response.content.decode())
    assert match is not None, "the page shows no link"
    return match.group(1)


def _invite_and_join(admin_client: Client, role: Role, username: str) -> User:
    """The admin's invitation, accepted (by whoever holds the link)."""
    response = admin_client.post(reverse("admin_invite"), {"role": role.value})
    path = _link(response)
    joined = Client().post(
        path,
        {"username": username, "new_password": PASSPHRASE, "new_password_again": PASSPHRASE},
    )
    assert joined.status_code == 302
    return User.objects.get(username=username)


def _grant_of(user: User) -> RoleGrant:
    return RoleGrant.objects.pending().get(user=user)


@pytest.fixture
def admin_client(client, org_admin) -> Client:
    return login_verified(client, org_admin)


@pytest.fixture
def coordinator_client(coordinator) -> Client:
    return login_verified(Client(), coordinator)


# --- 1. the attack ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.CASEWORKER])
def test_an_org_admins_own_invited_account_reads_no_case(admin_client, caseworker, role):
    case = make_case(caseworker=caseworker)
    sock_puppet = _invite_and_join(admin_client, role, "sock-puppet")
    assert _groups(sock_puppet) == []
    puppet = login_verified(Client(), sock_puppet)
    home = puppet.get(reverse("home")).content.decode()
    assert "has to confirm your role" in home
    assert case.code not in home
    assert puppet.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert puppet.get(reverse("case_list")).status_code == 404


def test_an_org_admin_cannot_confirm_the_request_even_with_a_second_admin_account(
    admin_client, organisation, coordinator
):
    sock_puppet = _invite_and_join(admin_client, Role.COORDINATOR, "sock-puppet")
    grant = _grant_of(sock_puppet)
    second_admin = make_user(organisation=organisation, role=Role.ORG_ADMIN, username="olga2")
    for admin in (second_admin,):
        other = login_verified(Client(), admin)
        assert other.get(reverse("role_grants")).status_code == 404
        assert other.post(reverse("role_grant_confirm", args=[grant.pk])).status_code == 404
    with pytest.raises(services.GrantInvalid):
        services.confirm_grant(coordinator=second_admin, grant_id=grant.pk)
    assert _groups(sock_puppet) == []


def test_the_admins_role_change_to_a_content_role_waits(admin_client, auditor):
    auditor_client = login_verified(Client(), auditor)
    data = {"role": Role.COORDINATOR.value, "next": USERS_PATH}
    response = admin_client.post(reverse("admin_role", args=[auditor.pk]), data, follow=True)
    assert "has to confirm this role" in response.content.decode()
    assert _groups(auditor) == [Role.AUDITOR.value]  # keeps the role they had
    assert auditor_client.get(reverse("home")).status_code == 200  # nothing changed yet
    grant = _grant_of(auditor)
    assert (grant.role, grant.reason) == (Role.COORDINATOR.value, RoleGrant.Reason.ROLE_CHANGE)
    event = AuditEvent.objects.get(action=Action.ROLE_GRANT_REQUESTED)
    assert event.target_id == str(auditor.pk)
    assert event.details == {"role": "coordinator", "grant": str(grant.pk)}
    assert not AuditEvent.objects.filter(action=Action.ROLE_CHANGED).exists()


def test_a_reset_link_used_by_the_admin_gives_no_content(admin_client, caseworker, coordinator):
    """The admin holds the link after a reset: the caseworker role is suspended until a
    coordinator confirms it again, so using the link oneself reads nothing."""
    case = make_case(caseworker=caseworker)
    url = reverse("admin_reset_second_factor", args=[caseworker.pk])
    response = admin_client.post(url, {"confirm": "yes"})
    assert response.status_code == 200
    assert "waits for a coordinator" in response.content.decode()
    path = _link(response)
    assert _groups(caseworker) == []
    Client().post(path, {"new_password": NEW_PASSPHRASE, "new_password_again": NEW_PASSPHRASE})
    caseworker.refresh_from_db()
    intruder = login_verified(Client(), caseworker)
    assert intruder.get(reverse("case_detail", args=[case.pk])).status_code == 404
    grant = _grant_of(caseworker)
    assert (grant.role, grant.reason) == (Role.CASEWORKER.value, RoleGrant.Reason.RESET)
    # A coordinator who has checked with the person gives it back.
    services.confirm_grant(coordinator=coordinator, grant_id=grant.pk)
    assert _groups(caseworker) == [Role.CASEWORKER.value]


def test_a_reset_keeps_a_role_without_content(admin_client, auditor):
    admin_client.post(reverse("admin_reset_second_factor", args=[auditor.pk]), {"confirm": "yes"})
    assert _groups(auditor) == [Role.AUDITOR.value]
    assert not RoleGrant.objects.exists()


# --- 2. the coordinator confirms or refuses -------------------------------------------------


def test_a_coordinator_sees_the_request_and_confirms_it(
    admin_client, coordinator_client, coordinator
):
    newcomer = _invite_and_join(admin_client, Role.CASEWORKER, "newcomer")
    newcomer_client = login_verified(Client(), newcomer)
    home = coordinator_client.get(reverse("home")).content.decode()
    assert "1 role request waits" in home
    page = coordinator_client.get(reverse("role_grants")).content.decode()
    assert "newcomer" in page and "Caseworker" in page and "olga" in page
    grant = _grant_of(newcomer)

    response = coordinator_client.post(reverse("role_grant_confirm", args=[grant.pk]))

    assert response.status_code == 302 and response.headers["Location"] == reverse("role_grants")
    assert _groups(newcomer) == [Role.CASEWORKER.value]
    assert newcomer_client.get(reverse("home")).status_code == 302  # a new sign-in, new rights
    assert login_verified(Client(), newcomer).get(reverse("case_list")).status_code == 200
    grant.refresh_from_db()
    assert grant.outcome == RoleGrant.Outcome.CONFIRMED and grant.decided_by == coordinator
    event = AuditEvent.objects.get(action=Action.ROLE_GRANT_CONFIRMED)
    assert event.actor_id == coordinator.pk and event.target_id == str(newcomer.pk)
    assert event.details == {"role": "caseworker", "grant": str(grant.pk)}
    assert "newcomer" not in coordinator_client.get(reverse("role_grants")).content.decode()


def test_a_coordinator_refuses_and_the_account_stays_without(
    admin_client, coordinator_client, coordinator
):
    newcomer = _invite_and_join(admin_client, Role.COORDINATOR, "newcomer")
    grant = _grant_of(newcomer)
    coordinator_client.post(reverse("role_grant_refuse", args=[grant.pk]))
    assert _groups(newcomer) == []
    grant.refresh_from_db()
    assert grant.outcome == RoleGrant.Outcome.REFUSED
    event = AuditEvent.objects.get(action=Action.ROLE_GRANT_REFUSED)
    assert event.decision == "deny" and event.actor_id == coordinator.pk
    # Decided once: a later confirmation changes nothing.
    coordinator_client.post(reverse("role_grant_confirm", args=[grant.pk]))
    assert _groups(newcomer) == []


def test_confirming_needs_a_fresh_second_factor(admin_client, coordinator_client):
    newcomer = _invite_and_join(admin_client, Role.CASEWORKER, "newcomer")
    grant = _grant_of(newcomer)
    session = coordinator_client.session
    session["otp_verified_at"] = time.time() - 6 * 60
    session.save()
    response = coordinator_client.post(
        reverse("role_grant_confirm", args=[grant.pk]), {"next": reverse("role_grants")}
    )
    assert response.headers["Location"].startswith(reverse("reauth"))
    assert _groups(newcomer) == []


def test_a_coordinator_of_another_organisation_gets_404(admin_client, other_organisation):
    newcomer = _invite_and_join(admin_client, Role.CASEWORKER, "newcomer")
    grant = _grant_of(newcomer)
    stranger = make_user(organisation=other_organisation, role=Role.COORDINATOR, username="sam")
    stranger_client = login_verified(Client(), stranger)
    assert "newcomer" not in stranger_client.get(reverse("role_grants")).content.decode()
    for name in ("role_grant_confirm", "role_grant_refuse"):
        assert stranger_client.post(reverse(name, args=[grant.pk])).status_code == 404
    assert _groups(newcomer) == []
    assert _grant_of(newcomer).outcome == RoleGrant.Outcome.PENDING


@pytest.mark.parametrize("persona", ["caseworker", "auditor", "org_admin"])
def test_other_roles_cannot_decide(admin_client, request, persona):
    newcomer = _invite_and_join(admin_client, Role.CASEWORKER, "newcomer")
    grant = _grant_of(newcomer)
    other = login_verified(Client(), request.getfixturevalue(persona))
    assert other.post(reverse("role_grant_confirm", args=[grant.pk])).status_code == 404
    assert _groups(newcomer) == []


def test_nobody_confirms_their_own_role(admin_client, coordinator, coordinator_client):
    """A coordinator the admin moves to caseworker cannot confirm that for themselves."""
    admin_client.post(reverse("admin_role", args=[coordinator.pk]), {"role": "caseworker"})
    grant = _grant_of(coordinator)
    assert (
        "No role request is waiting."
        in coordinator_client.get(reverse("role_grants")).content.decode()
    )
    response = coordinator_client.post(reverse("role_grant_confirm", args=[grant.pk]), follow=True)
    assert "not yours to decide" in response.content.decode()
    assert _groups(coordinator) == [Role.COORDINATOR.value]


def test_a_withdrawn_invitation_or_a_later_choice_cancels_the_request(
    admin_client, org_admin, auditor
):
    token = services.create_invitation(admin=org_admin, role=Role.CASEWORKER)
    invitation = services.find_invitation(token)
    services.withdraw_invitation(admin=org_admin, invitation=invitation)
    assert RoleGrant.objects.get(invitation=invitation).outcome == RoleGrant.Outcome.CANCELLED

    admin_client.post(reverse("admin_role", args=[auditor.pk]), {"role": "coordinator"})
    admin_client.post(reverse("admin_role", args=[auditor.pk]), {"role": "org_admin"})
    assert _groups(auditor) == [Role.ORG_ADMIN.value]
    assert not RoleGrant.objects.pending().filter(user=auditor).exists()


def test_a_deactivated_account_cannot_be_confirmed(admin_client, org_admin, coordinator):
    newcomer = _invite_and_join(admin_client, Role.CASEWORKER, "newcomer")
    grant = _grant_of(newcomer)
    services.deactivate_user(admin=org_admin, user=newcomer)
    with pytest.raises(services.GrantInvalid):
        services.confirm_grant(coordinator=coordinator, grant_id=grant.pk)
    assert _groups(newcomer) == []


# --- 3. after a reset the old password is dead; the link brings the person back ---------------


def test_the_reset_link_sets_a_new_password_once_and_the_old_one_is_dead(admin_client, caseworker):
    caseworker.set_password(PASSPHRASE)
    caseworker.save()
    response = admin_client.post(
        reverse("admin_reset_second_factor", args=[caseworker.pk]), {"confirm": "yes"}
    )
    path = _link(response)
    old = Client().post(reverse("login"), {"username": "alice", "password": PASSPHRASE})
    assert old.status_code == 200  # the generic refusal: no second step to enrol at

    page = Client().get(path).content.decode()
    assert "Set a new password" in page and "alice" in page
    assert 'name="username"' not in page
    back = Client().post(
        path, {"new_password": NEW_PASSPHRASE, "new_password_again": NEW_PASSPHRASE}
    )
    assert back.status_code == 302
    again = Client().post(path, {"new_password": PASSPHRASE, "new_password_again": PASSPHRASE})
    assert again.status_code == 410
    signed = Client()
    step = signed.post(reverse("login"), {"username": "alice", "password": NEW_PASSPHRASE})
    assert step.headers["Location"] == reverse("login_verify")
    assert signed.get(reverse("login_verify")).headers["Location"] == reverse("login_enrol")
    assert Invitation.objects.get(account=caseworker).accepted_user == caseworker


def test_a_second_reset_or_a_deactivation_kills_the_earlier_link(admin_client, org_admin, auditor):
    first = services.reset_second_factor(admin=org_admin, user=auditor)
    second = services.reset_second_factor(admin=org_admin, user=auditor)
    assert Client().get(reverse("invitation_accept", args=[first])).status_code == 410
    assert Client().get(reverse("invitation_accept", args=[second])).status_code == 200
    services.deactivate_user(admin=org_admin, user=auditor)
    assert Client().get(reverse("invitation_accept", args=[second])).status_code == 410


def test_a_reset_link_expires_after_24_hours(org_admin, auditor):
    token = services.reset_second_factor(admin=org_admin, user=auditor)
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert Client().get(reverse("invitation_accept", args=[token])).status_code == 410


def test_the_reset_is_audited_with_its_link_and_without_secrets(admin_client, org_admin, auditor):
    response = admin_client.post(
        reverse("admin_reset_second_factor", args=[auditor.pk]), {"confirm": "yes"}
    )
    token = _link(response).split("/")[2]
    event = AuditEvent.objects.get(action=Action.SECOND_FACTOR_RESET)
    invitation = Invitation.objects.get(account=auditor)
    assert event.details == {"link": str(invitation.pk)}
    for entry in AuditEvent.objects.all():
        assert token not in repr(entry.details)


# --- 4. bootstrap: an organisation without a coordinator --------------------------------------


def _command(*args) -> str:
    import io

    out = io.StringIO()
    call_command("first_coordinator", *args, stdout=out)
    return out.getvalue()


def test_an_operator_invites_the_first_coordinator(organisation):
    output = _command(organisation.name, "--base-url", "https://cw.example.org")
    (path,) = re.findall(r"https://cw\.example\.org(/invitation/[^/\s]+/)", output)
    Client().post(
        path, {"username": "first", "new_password": PASSPHRASE, "new_password_again": PASSPHRASE}
    )
    assert _groups(User.objects.get(username="first")) == [Role.COORDINATOR.value]
    event = AuditEvent.objects.get(action=Action.INVITATION_CREATED)
    assert event.actor_id is None
    assert event.details == {"role": "coordinator", "operator": "manage.py first_coordinator"}


def test_the_bootstrap_is_refused_where_a_coordinator_exists(coordinator, organisation):
    with pytest.raises(CommandError, match="has an active coordinator"):
        _command(organisation.name, "--base-url", "https://cw.example.org")
    assert not Invitation.objects.exists()


def test_an_operator_confirms_the_only_coordinator_back_after_a_reset(org_admin, coordinator):
    services.reset_second_factor(admin=org_admin, user=coordinator)
    assert _groups(coordinator) == []
    with pytest.raises(CommandError, match="no active account"):
        _command(org_admin.organisation.name, "--confirm", "nobody")
    _command(org_admin.organisation.name, "--confirm", "carol")
    assert _groups(coordinator) == [Role.COORDINATOR.value]
    event = AuditEvent.objects.get(action=Action.ROLE_GRANT_CONFIRMED)
    assert event.actor_id is None and event.target_id == str(coordinator.pk)
    assert event.details["operator"] == "manage.py first_coordinator --confirm"


def test_an_operator_cannot_confirm_where_a_coordinator_could(org_admin, coordinator, organisation):
    other = make_user(organisation=organisation, role=Role.COORDINATOR, username="cora")
    services.reset_second_factor(admin=org_admin, user=other)
    with pytest.raises(CommandError, match="has an active coordinator"):
        _command(organisation.name, "--confirm", "cora")
    assert _groups(other) == []
    assert Group.objects.get(name=Role.COORDINATOR.value).user_set.count() == 1


def test_an_org_admin_cannot_hand_out_the_installation_wide_reference_editor_role(
    admin_client, auditor
):
    """Routes and missions are shared by every organisation: one organisation's admin gives
    nobody the right to change them, by invitation or by a role change."""
    data = {"role": Role.REFERENCE_EDITOR.value, "next": USERS_PATH}
    admin_client.post(reverse("admin_invite"), data)
    assert not Invitation.objects.exists()
    admin_client.post(reverse("admin_role", args=[auditor.pk]), data)
    assert _groups(auditor) == [Role.AUDITOR.value]
    assert Role.REFERENCE_EDITOR.value not in admin_client.get(USERS_PATH).content.decode()


def test_the_dashboard_s_role_request_counts_are_the_orm_s(
    organisation, other_organisation, coordinator, org_admin, caseworker, auditor
):
    """services.role_requests_waiting (a statement written out, issue 15) answers what the
    ORM's filtered counts over awaiting_coordinator() answer, in every state a grant can be."""
    from django.db.models import Count, Q

    def orm(user):
        others = ~Q(user=user) & (Q(requested_by__isnull=True) | ~Q(requested_by=user))
        found = (
            RoleGrant.objects.awaiting_coordinator()
            .filter(organisation_id=user.organisation_id)
            .aggregate(mine=Count("pk", filter=Q(user=user)), others=Count("pk", filter=others))
        )
        return found["mine"], found["others"]

    def grant(user, requested_by=None, organisation_=organisation, **extra):
        return RoleGrant.objects.create(
            organisation=organisation_,
            user=user,
            role=Role.CASEWORKER.value,
            reason=RoleGrant.Reason.ROLE_CHANGE,
            requested_by=requested_by,
            **extra,
        )

    viewers = (coordinator, caseworker, auditor, org_admin)
    assert [services.role_requests_waiting(v) for v in viewers] == [(0, 0)] * 4
    grant(caseworker, requested_by=org_admin)  # waits for a coordinator
    grant(auditor, requested_by=coordinator)  # asked for by the coordinator
    grant(coordinator, requested_by=org_admin)  # the coordinator's own
    grant(org_admin)  # asked for by nobody (an operator)
    gone = make_user(organisation=organisation, role=Role.AUDITOR, username="gone-auditor")
    grant(gone, requested_by=org_admin)
    gone.is_active = False
    gone.save()
    grant(None, requested_by=org_admin)  # an invitation not taken up yet
    grant(caseworker, requested_by=org_admin, outcome=RoleGrant.Outcome.CONFIRMED)
    stranger = make_user(organisation=other_organisation, role=Role.AUDITOR, username="olga2")
    grant(stranger, organisation_=other_organisation)
    for viewer in (*viewers, stranger):
        assert services.role_requests_waiting(viewer) == orm(viewer), viewer.username
    assert services.role_requests_waiting(coordinator) == (1, 2)
