from __future__ import annotations

import json
import stat

import pytest
from django.core.management import CommandError, call_command

from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role


@pytest.fixture
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_seed_demo_creates_two_organisations_with_every_role(data_dir, capsys):
    call_command("seed_demo")
    assert Organisation.objects.count() == 2
    for organisation in Organisation.objects.all():
        users = User.objects.filter(organisation=organisation)
        assert sorted(role for user in users for role in user.roles) == sorted(Role)
    assert "rainbow-caseworker" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_keeps_passwords(data_dir):
    call_command("seed_demo")
    first = json.loads((data_dir / "demo-logins.json").read_text())
    call_command("seed_demo")
    assert User.objects.count() == 8
    assert json.loads((data_dir / "demo-logins.json").read_text()) == first
    user = User.objects.get(username="northern-auditor")
    assert user.check_password(first["northern-auditor"])


@pytest.mark.django_db
def test_the_demo_passwords_file_is_private(data_dir):
    call_command("seed_demo")
    mode = stat.S_IMODE((data_dir / "demo-logins.json").stat().st_mode)
    assert mode == 0o600


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production(data_dir, settings):
    settings.PROD = True
    with pytest.raises(CommandError, match="refuses to run with CASEWORK_ENV=prod"):
        call_command("seed_demo")
    assert User.objects.count() == 0
