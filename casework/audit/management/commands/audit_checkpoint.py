from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.signing import create_signing_key, signing_key
from casework.audit.verification import ExportRefused, sign_checkpoint
from crypto import KeyStoreError
from crypto.audit_chain import public_key_of


class Command(BaseCommand):
    help = (
        "Verify the audit log and sign its tree head (a C2SP checkpoint). --export FILE first "
        "proves that the log extends every checkpoint FILE already holds, then appends the "
        "new ones (FILE is never rewritten); otherwise it exits 1, signs and writes nothing "
        "and raises an alert. --public-key prints the key auditors verify them with. Run it "
        "as the operating-system user that alone can read the signing key (SECURITY.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--init-key", action="store_true", help="create the signing key")
        parser.add_argument(
            "--export", metavar="FILE", help="append the checkpoints FILE lacks to FILE"
        )
        parser.add_argument("--public-key", action="store_true", help="print the public key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["init_key"]:
                self._init_key()
            elif options["public_key"]:
                self.stdout.write(base64.b64encode(public_key_of(signing_key())).decode())
            else:
                self._sign(Path(options["export"]) if options["export"] else None)
        except (KeyStoreError, ExportRefused) as exc:
            raise CommandError(str(exc)) from None

    def _init_key(self) -> None:
        path = Path(settings.CASEWORK_AUDIT_KEY_FILE)
        if not create_signing_key(path):
            raise CommandError(f"audit signing key {path} already exists; refusing to overwrite.")
        self.stdout.write(f"Created audit signing key {path} (mode 0600).")

    def _sign(self, export: Path | None) -> None:
        done = sign_checkpoint(export=export)
        self.stdout.write(
            f"Checkpoint at {done.checkpoint.size} entries, chain head {done.checkpoint.head}"
            + (f"; {done.appended} checkpoints appended to {export}." if export else ".")
        )
