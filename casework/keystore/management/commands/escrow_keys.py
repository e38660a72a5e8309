from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.models import Action
from casework.audit.services import record
from casework.keystore.escrow import (
    EscrowError,
    escrow_pages,
    installed_material,
    read_passphrase,
    write_pages,
)
from crypto import CryptoError


class Command(BaseCommand):
    help = (
        "Split the installation's keys (every KEK, the index key and, if readable, the audit "
        "signing key) into SLIP-39 shares: one printable page per trustee (R60)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", required=True, type=Path, metavar="DIR", help="where to write the pages"
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
        try:
            passphrase = read_passphrase(options["passphrase_file"])
            material = installed_material()
            pages = escrow_pages(
                material,
                threshold=options["threshold"],
                shares=options["shares"],
                passphrase=passphrase,
            )
            paths = write_pages(options["out"], pages)
        except (EscrowError, CryptoError) as exc:
            raise CommandError(str(exc)) from None
        # Which keys went to how many trustees; never a word of a share or a key.
        record(
            Action.KEYS_ESCROWED,
            shares=options["shares"],
            threshold=options["threshold"],
            kek_versions=len(material.ring.versions),
            audit_key=material.audit_signing_key is not None,
        )
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
