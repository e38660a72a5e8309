from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse

from casework.accounts import services
from casework.accounts.models import Organisation
from casework.accounts.roles import Role


class Command(BaseCommand):
    help = (
        "Create a partner organisation and print a single-use, 24-hour invitation link for "
        "its first organisation administrator. No password is ever chosen or seen here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the organisation's name")
        parser.add_argument(
            "--base-url",
            required=True,
            help="where the application is served, e.g. https://casework.example.org",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("the organisation name must not be empty.")
        if Organisation.objects.filter(name=name).exists():
            raise CommandError(f"an organisation named {name!r} already exists.")
        base = options["base_url"].rstrip("/")
        if not base.startswith(("https://", "http://localhost", "http://127.0.0.1")):
            raise CommandError("--base-url must be an https:// address.")
        organisation = Organisation.objects.create(name=name)
        token = services.create_bootstrap_invitation(organisation=organisation, role=Role.ORG_ADMIN)
        self.stdout.write(f"Created organisation {name!r} ({organisation.pk}).")
        self.stdout.write("Send this link to its first administrator over a secure channel;")
        self.stdout.write("it works once and expires in 24 hours:")
        self.stdout.write(f"  {base}{reverse('invitation_accept', args=[token])}")
