from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.keystore.escrow import (
    EscrowError,
    grant_from_escrow,
    read_passphrase,
    read_share_file,
    recover,
    write_recovered,
)
from crypto import CryptoError


class Command(BaseCommand):
    help = (
        "Rebuild the key file (and the audit signing key, if escrowed) from trustee pages "
        "written by escrow_keys, and/or give a named coordinator their organisation's key "
        "again (--grant-to). Never overwrites."
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
        parser.add_argument("--out", type=Path, metavar="KEYFILE", help="the key file to write")
        parser.add_argument(
            "--grant-to",
            metavar="USERNAME",
            help="a coordinator to whom the escrowed organisation key is sealed again",
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
        if options["out"] is None and options["grant_to"] is None:
            raise CommandError("give --out KEYFILE, --grant-to USERNAME or both")
        if options["out"] is None and options["audit_key_out"] is not None:
            raise CommandError("--audit-key-out goes with --out KEYFILE")
        try:
            passphrase = read_passphrase(options["passphrase_file"])
            pages = [read_share_file(path) for path in options["share"]]
            material = recover(pages, passphrase)
            if options["out"] is not None:
                write_recovered(material, options["out"], options["audit_key_out"])
            if options["grant_to"] is not None:
                version = grant_from_escrow(material, options["grant_to"])
        except (EscrowError, CryptoError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Recovered {material.describe()} of {material.installation}, escrowed "
                f"{material.created}."
            )
        )
        if options["grant_to"] is not None:
            self.stdout.write(
                f"{options['grant_to']} holds version {version} of their organisation's key "
                "again, from their next sign-in; they can then grant it to the others."
            )
        if options["out"] is None:
            return
        self.stdout.write(f"Wrote the key file {options['out']} (mode 0600).")
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
