from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from casework.audit.models import Action
from casework.audit.services import record
from casework.keystore.models import DataKey
from casework.lib import datakeys
from casework.lib.keys import keyring, save_keyring
from casework.lib.progress import Progress
from crypto import CryptoError


class Command(BaseCommand):
    help = (
        "Re-wrap every data key under the active KEK (online, resumable, idempotent). "
        "With --new-kek, first add a new KEK and make it active."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-kek", action="store_true", help="add and activate a new KEK")
        parser.add_argument(
            "--retire",
            type=int,
            metavar="VERSION",
            help="remove an old KEK from the key file once no data key uses it",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            if options["new_kek"]:
                self._add_kek()
            self._rewrap_all(options["batch_size"])
            if options["retire"] is not None:
                self._retire(options["retire"])
        except CryptoError as exc:
            raise CommandError(str(exc)) from None

    def _add_kek(self) -> None:
        ring = keyring()
        version = ring.add()
        ring.activate(version)
        save_keyring(ring)
        self.stdout.write(f"Added KEK version {version} and made it active.")

    def _rewrap_all(self, batch_size: int) -> None:
        active = keyring().active_version
        pending = DataKey.objects.filter(wrapped__isnull=False).exclude(kek_version=active)
        progress = Progress(self.stderr, pending.count(), "re-wrapping data keys")
        rewrapped = 0
        after = None
        while True:
            # Walk by primary key, so each key is visited once even if it cannot be re-wrapped.
            page = pending if after is None else pending.filter(pk__gt=after)
            with transaction.atomic():
                batch = list(page.select_for_update().order_by("pk")[:batch_size])
                if not batch:
                    break
                rewrapped += datakeys.rewrap_batch(batch)
            after = batch[-1].pk
            progress.advance(len(batch))
        seconds = progress.finish()
        record(Action.KEYS_ROTATED, kek_version=active, rewrapped=rewrapped)
        self.stdout.write(
            f"Re-wrapped {rewrapped} data keys under KEK version {active} in {seconds:.1f} s."
        )

    def _retire(self, version: int) -> None:
        ring = keyring()
        if version == ring.active_version:
            raise CommandError(f"KEK version {version} is active; activate another first.")
        if version not in ring.versions:
            raise CommandError(f"KEK version {version} is not in the key file.")
        still = DataKey.objects.filter(kek_version=version).count()
        if still:
            raise CommandError(f"{still} data keys still use KEK version {version}; not retired.")
        ring.retire(version)
        save_keyring(ring)
        self.stdout.write(f"Retired KEK version {version}.")
