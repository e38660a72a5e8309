from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.keystore.escrow import (
    EscrowError,
    read_passphrase,
    read_share_file,
    recover,
    write_recovered,
)
from crypto import CryptoError


class Command(BaseCommand):
    help = (
        "Rebuild the key file (and the audit signing key, if escrowed) from trustee pages "
        "written by escrow_keys. Never overwrites."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--share",
            action="append",
            required=True,
            type=Path,
            metavar="FILE",
            help="a trustee page (give it once per share)",
        )
        parser.add_argument(
            "--out", required=True, type=Path, metavar="KEYFILE", help="the key file to write"
        )
        parser.add_argument(
            "--audit-key-out",
            type=Path,
            metavar="FILE",
            help="where to write the audit signing key, if the escrow holds it",
        )
        parser.add_argument(
            "--passphrase-file", type=Path, metavar="FILE", help="the escrow's SLIP-39 passphrase"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = read_passphrase(options["passphrase_file"])
            pages = [read_share_file(path) for path in options["share"]]
            material = recover(pages, passphrase)
            write_recovered(material, options["out"], options["audit_key_out"])
        except (EscrowError, CryptoError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Recovered {material.describe()} of {material.installation}, escrowed "
                f"{material.created}. Wrote the key file {options['out']} (mode 0600)."
            )
        )
        if options["audit_key_out"] is not None:
            self.stdout.write(
                f"Wrote the audit signing key {options['audit_key_out']} (mode 0600)."
            )
        elif material.audit_signing_key is not None:
            self.stdout.write("The escrow also holds the audit signing key: add --audit-key-out.")
        self.stdout.write(
            "Next: point CASEWORK_KEYS_FILE at the key file, check that a case opens, and escrow "
            "again if any page was exposed."
        )
