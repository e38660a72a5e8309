from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from casework.audit.models import Action
from casework.audit.services import record
from casework.keystore.escrow import (
    EscrowError,
    escrow_coverage,
    escrow_pages,
    installed_material,
    read_passphrase,
    write_pages,
)
from casework.keystore.models import EscrowKey
from crypto import CryptoError
from crypto.member_keys import public_key_of


class Command(BaseCommand):
    help = (
        "Split the installation's keys (every KEK, the index key, if readable the audit "
        "signing key, and a new escrow key the organisation keys are sealed to) into SLIP-39 "
        "shares: one printable page per trustee (R60). --coverage: which organisation keys "
        "the newest escrow holds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, metavar="DIR", help="where to write the pages")
        parser.add_argument(
            "--coverage",
            action="store_true",
            help="say which organisations' keys the newest escrow holds; write nothing",
        )
        parser.add_argument("--threshold", type=int, default=3, help="shares needed (3)")
        parser.add_argument("--shares", type=int, default=5, help="pages to write (5)")
        parser.add_argument(
            "--passphrase-file",
            type=Path,
            metavar="FILE",
            help="an optional SLIP-39 passphrase (printable ASCII), kept apart from the pages",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["coverage"]:
            self._coverage()
            return
        if options["out"] is None:
            raise CommandError("give --out DIR (where to write the pages), or --coverage")
        try:
            passphrase = read_passphrase(options["passphrase_file"])
            material = installed_material()
            pages = escrow_pages(
                material,
                threshold=options["threshold"],
                shares=options["shares"],
                passphrase=passphrase,
            )
            assert material.organisation_escrow_key is not None  # installed_material makes one
            with transaction.atomic():  # the escrow key is kept only if every page is written
                EscrowKey.objects.create(public_key=public_key_of(material.organisation_escrow_key))
                paths = write_pages(options["out"], pages)
                # Which keys went to how many trustees; never a word of a share or a key.
                record(
                    Action.KEYS_ESCROWED,
                    shares=options["shares"],
                    threshold=options["threshold"],
                    kek_versions=len(material.ring.versions),
                    audit_key=material.audit_signing_key is not None,
                )
        except (EscrowError, CryptoError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {len(paths)} trustee pages to {options['out']} (mode 0600); "
                f"any {options['threshold']} recover {material.describe()}."
            )
        )
        self.stdout.write(
            "Next: print each page, give each to a different trustee (in different countries), "
            "then delete the directory (shred -u). "
            + ("Keep the passphrase apart from every page. " if passphrase else "")
            + "Escrow again after every KEK rotation."
        )
        waiting = len(escrow_coverage())
        if waiting:
            keys = (
                "The key of 1 organisation joins"
                if waiting == 1
                else (f"The keys of {waiting} organisations join")
            )
            self.stdout.write(
                f"{keys} this escrow at the next sign-in of a member who holds each: keep the "
                "previous pages until 'manage.py escrow_keys --coverage' says every "
                "organisation is covered."
            )

    def _coverage(self) -> None:
        coverage = escrow_coverage()
        for name, version, covered in coverage:
            state = "held by the newest escrow" if covered else "NOT in the newest escrow yet"
            self.stdout.write(f"{name}: organisation key version {version}, {state}")
        missing = sum(not covered for _name, _version, covered in coverage)
        if missing:
            keys = "1 organisation key is" if missing == 1 else f"{missing} organisation keys are"
            raise CommandError(
                f"{keys} not in the newest escrow yet: each joins it at the next sign-in of a "
                "member who holds it"
            )
        self.stdout.write(
            self.style.SUCCESS("Every organisation key is in the newest escrow.")
            if coverage
            else "No organisation has a key yet."
        )
