from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Create the key pair backups are encrypted with (age X25519, R59): writes the "
        "identity (the secret half) to FILE, mode 0600, never over an existing file, and "
        "prints the recipient to put in CASEWORK_BACKUP_RECIPIENT. Keep the identity "
        "offline, with the key file's escrow, never on the server or beside the backups."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, metavar="FILE", help="the identity file")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        identity = pyrage.x25519.Identity.generate()
        recipient = identity.to_public()
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
        try:
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise CommandError(f"{out} exists already; it is never overwritten.") from None
        except OSError as problem:
            raise CommandError(f"cannot write {out}: {problem.strerror}.") from None
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        self.stdout.write(f"Wrote the backup identity to {out} (keep it offline).")
        self.stdout.write(f"CASEWORK_BACKUP_RECIPIENT={recipient}")
