from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from casework.accounts import services
from casework.accounts.models import Organisation


class Command(BaseCommand):
    help = (
        "Bootstrap the coordinator of an organisation that has none. A coordinator role "
        "normally takes two people (an org admin asks, a coordinator confirms); where no "
        "coordinator exists, the operator running this command is the second person. "
        "Without --confirm: print a single-use, 24-hour invitation link for a coordinator. "
        "With --confirm USERNAME: confirm that account's waiting coordinator request (the "
        "only coordinator came back after a second-factor reset). Refused whenever the "
        "organisation has an active coordinator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the organisation's name")
        parser.add_argument(
            "--base-url",
            help="where the application is served, e.g. https://casework.example.org",
        )
        parser.add_argument(
            "--confirm",
            metavar="USERNAME",
            help="confirm this account's waiting coordinator request instead",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(name=options["name"].strip()).first()
        if organisation is None:
            raise CommandError(f"no organisation is named {options['name']!r}.")
        try:
            if options["confirm"]:
                services.operator_confirm_first_coordinator(
                    organisation=organisation, username=options["confirm"]
                )
                self.stdout.write(f"{options['confirm']} is now a coordinator of {organisation}.")
                return
            base = (options["base_url"] or "").rstrip("/")
            if not base.startswith(("https://", "http://localhost", "http://127.0.0.1")):
                raise CommandError("--base-url must be an https:// address.")
            token = services.create_first_coordinator_invitation(organisation=organisation)
        except services.BootstrapRefused:
            raise CommandError(
                f"{organisation} has an active coordinator: a coordinator confirms new "
                "coordinators in the application (Role requests)."
            ) from None
        except services.GrantInvalid:
            raise CommandError(
                f"no active account {options['confirm']!r} of {organisation} waits for the "
                "coordinator role."
            ) from None
        self.stdout.write(f"Send this link to the first coordinator of {organisation} over a")
        self.stdout.write("secure channel; it works once and expires in 24 hours:")
        self.stdout.write(f"  {base}{reverse('invitation_accept', args=[token])}")
