from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.lib.keys import create_key_file, key_file_path
from crypto import KeyStoreError


class Command(BaseCommand):
    help = "Create the key file (KEK version 1 and the blind-index key). Never overwrites."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="succeed quietly when the key file already exists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CASEWORK_KEYS_FROM_ENV:
            raise CommandError("keys come from CASEWORK_KEYS; there is no key file to create.")
        path = key_file_path()
        if path.exists():
            if options["if_missing"]:
                return
            raise CommandError(f"key file {path} already exists; refusing to overwrite it.")
        try:
            create_key_file(path)
        except (KeyStoreError, OSError) as exc:
            raise CommandError(f"cannot create key file {path}: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Created key file {path} (mode 0600). Back it up offline now.")
        )
