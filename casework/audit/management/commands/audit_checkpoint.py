from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.models import Checkpoint
from casework.audit.services import write_checkpoint
from casework.audit.signing import create_signing_key, public_key
from crypto import KeyStoreError


class Command(BaseCommand):
    help = (
        "Sign the audit chain head now. --export writes every checkpoint to a file to keep "
        "outside the database; --public-key prints the key auditors verify them with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--init-key", action="store_true", help="create the signing key")
        parser.add_argument("--export", metavar="FILE", help="write all checkpoints to FILE")
        parser.add_argument("--public-key", action="store_true", help="print the public key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["init_key"]:
                self._init_key()
                return
            if options["public_key"]:
                self.stdout.write(base64.b64encode(public_key()).decode())
                return
            checkpoint = write_checkpoint()
        except KeyStoreError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Checkpoint at {checkpoint.size} entries, head {checkpoint.head}.")
        if options["export"]:
            self._export(Path(options["export"]))

    def _init_key(self) -> None:
        path = Path(settings.CASEWORK_AUDIT_KEY_FILE)
        if path.exists():
            raise CommandError(f"audit signing key {path} already exists; refusing to overwrite.")
        create_signing_key(path)
        self.stdout.write(f"Created audit signing key {path} (mode 0600).")

    def _export(self, path: Path) -> None:
        text = "\n".join(c.text for c in Checkpoint.objects.order_by("size"))
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        self.stdout.write(f"Exported {Checkpoint.objects.count()} checkpoints to {path}.")
