"""Reference data (routes and missions) is shared by every organisation, so no org admin
hands out the role that edits it: the installation's operator does, with a command."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from casework.accounts.forms import ROLE_CHOICES
from casework.accounts.models import Invitation, User
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a long and private passphrase"


def test_no_org_admin_can_offer_the_reference_editor_role():
    assert Role.REFERENCE_EDITOR.value not in dict(ROLE_CHOICES)


def test_the_operator_invites_a_reference_editor_who_gets_exactly_that_role(
    client, organisation, capsys
):
    call_command("reference_editor", organisation.name, "--base-url", "https://cw.example.org")
    (path,) = re.findall(r"https://cw\.example\.org(/invitation/[^/\s]+/)", capsys.readouterr().out)
    data = {"username": "routes-keeper", "new_password": PASSWORD, "new_password_again": PASSWORD}
    assert client.post(path, data).status_code == 302
    editor = User.objects.get(username="routes-keeper")
    assert [role.value for role in editor.roles] == [Role.REFERENCE_EDITOR.value]
    created = AuditEvent.objects.get(action=Action.INVITATION_CREATED)
    assert created.organisation_id == organisation.pk
    assert created.details["operator"] == "manage.py reference_editor"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["No Such Org", "--base-url", "https://x.org"], "no organisation is named"),
        (["{org}", "--base-url", "http://x.org"], "must be an https://"),
    ],
)
def test_bad_input_is_one_clear_line(organisation, args, message):
    args = [a.replace("{org}", organisation.name) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("reference_editor", *args)
    assert not Invitation.objects.exists()


def test_a_reference_editor_finds_routes_and_missions_in_the_menu(client, organisation):
    from tests.conftest import login_verified, make_user

    editor = make_user(organisation=organisation, role=Role.REFERENCE_EDITOR)
    html = login_verified(client, editor).get("/").content.decode()
    menu = html.split('<nav class="site-nav"')[1].split("</nav>")[0]
    assert "/reference/" in menu
