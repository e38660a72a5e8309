from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from casework.accounts.models import Invitation, Organisation, User

pytestmark = pytest.mark.django_db


def test_it_creates_the_organisation_and_a_working_link_for_its_first_admin(client, capsys):
    call_command("create_organisation", "Harbour Aid", "--base-url", "https://cw.example.org")
    output = capsys.readouterr().out
    organisation = Organisation.objects.get(name="Harbour Aid")
    assert organisation.passkeys_required_for_privileged  # R2 on by default
    (path,) = re.findall(r"https://cw\.example\.org(/invitation/[^/\s]+/)", output)
    token = path.split("/")[2]
    assert Invitation.objects.get().token_digest != token.encode()
    response = client.post(
        path,
        {
            "username": "harbour-admin",
            "new_password": "a long and private passphrase",
            "new_password_again": "a long and private passphrase",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == reverse("login")
    admin = User.objects.get(username="harbour-admin")
    assert admin.organisation == organisation
    assert admin.roles[0].value == "org_admin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["  ", "--base-url", "https://x.org"], "must not be empty"),
        (["Harbour Aid", "--base-url", "http://x.org"], "must be an https://"),
    ],
)
def test_bad_input_is_one_clear_line(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_organisation", *args)
    assert not Organisation.objects.exists()


def test_a_duplicate_name_is_refused(organisation):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_organisation", organisation.name, "--base-url", "https://x.org")
