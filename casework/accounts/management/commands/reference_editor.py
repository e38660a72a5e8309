from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from casework.accounts import services
from casework.accounts.models import Organisation


class Command(BaseCommand):
    help = (
        "Print a single-use, 24-hour invitation link for a reference data editor: the account "
        "that edits routes and missions for the whole installation. Org admins cannot give "
        "this role (it changes what every organisation's letters say); the operator does, "
        "here. The account belongs to the organisation named, whose log records the "
        "invitation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the organisation the editor works for")
        parser.add_argument(
            "--base-url",
            required=True,
            help="where the application is served, e.g. https://casework.example.org",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(name=options["name"].strip()).first()
        if organisation is None:
            raise CommandError(f"no organisation is named {options['name']!r}.")
        base = options["base_url"].rstrip("/")
        if not base.startswith(("https://", "http://localhost", "http://127.0.0.1")):
            raise CommandError("--base-url must be an https:// address.")
        token = services.create_reference_editor_invitation(organisation=organisation)
        self.stdout.write("Send this link to the reference data editor over a secure channel;")
        self.stdout.write("it works once and expires in 24 hours:")
        self.stdout.write(f"  {base}{reverse('invitation_accept', args=[token])}")
