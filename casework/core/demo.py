"""Demo data for development instances: fictional organisations and one user per role.

The passwords are random, made on first seeding, and kept in the data directory
(mode 0600) so that every later ``make run`` can print the login steps again.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction

from casework.accounts.models import Organisation, TOTPDevice, User
from casework.accounts.roles import Role
from casework.accounts.services import new_totp_device

DEMO_ORGANISATIONS = {
    "rainbow": "Rainbow Bridge Aid (demo)",
    "northern": "Northern Lights Network (demo)",
}


@dataclass(frozen=True)
class DemoLogin:
    organisation: str
    role: Role
    username: str
    password: str
    totp_secret: str


def demo_totp_secret(user: User) -> str:
    """The demo user's authenticator secret (base32), creating a confirmed device if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = new_totp_device(user, name="Demo authenticator", confirmed=True)
    return base64.b32encode(bytes.fromhex(device.key)).decode("ascii").rstrip("=")


def demo_passphrase() -> str:
    """Five random words' worth of entropy as hex groups: long, random, not reused."""
    return "-".join(secrets.token_hex(3) for _ in range(5))


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "demo-logins.json"


def load_passwords(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def save_passwords(path: Path, passwords: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


@transaction.atomic
def seed_accounts(data_dir: Path) -> tuple[list[DemoLogin], int]:
    """Create what is missing; return every demo login and how many users were created."""
    path = credentials_path(data_dir)
    passwords = load_passwords(path)
    logins: list[DemoLogin] = []
    created = 0
    for slug, name in DEMO_ORGANISATIONS.items():
        # Passkeys are not required here, so a new user can try every role with an app.
        organisation, _ = Organisation.objects.get_or_create(
            name=name, defaults={"passkeys_required_for_privileged": False}
        )
        for role in Role:
            username = f"{slug}-{role.value.replace('_', '-')}"
            user = User.objects.filter(username=username).first()
            if user is None or username not in passwords:
                passwords[username] = demo_passphrase()
                if user is None:
                    user = User.objects.create_user(username, organisation=organisation)
                    created += 1
                user.set_password(passwords[username])
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role.value))
            logins.append(
                DemoLogin(name, role, username, passwords[username], demo_totp_secret(user))
            )
    save_passwords(path, passwords)
    return logins, created
