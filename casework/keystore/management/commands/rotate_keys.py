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
from crypto import CryptoError, KeyRing


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
            help="remove an old KEK from the key file once every data key opens without it",
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
                self._retire(options["retire"], options["batch_size"])
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
        # Every wrapped key is visited: rewrap_batch reads the KEK version from the key's
        # authenticated header, because the kek_version column can lie.
        pending = DataKey.objects.filter(wrapped__isnull=False)
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

    def _retire(self, version: int, batch_size: int) -> None:
        ring = keyring()
        if version == ring.active_version:
            raise CommandError(f"KEK version {version} is active; activate another first.")
        if version not in ring.versions:
            raise CommandError(f"KEK version {version} is not in the key file.")
        remaining = ring.without(version)
        checked, stale, damaged = self._prove(ring, remaining, version, batch_size)
        if stale or damaged:
            record(
                Action.KEK_RETIRED,
                decision="deny",
                kek_version=version,
                keys_checked=checked,
                keys_blocking=stale + damaged,
            )
            raise CommandError(_refusal(version, checked, stale, damaged))
        # The ring proved to open every key is the ring saved.
        save_keyring(remaining)
        record(Action.KEK_RETIRED, kek_version=version, keys_checked=checked)
        self.stdout.write(
            f"Retired KEK version {version}: all {checked} data keys open without it."
        )

    def _prove(
        self, ring: KeyRing, remaining: KeyRing, version: int, batch_size: int
    ) -> tuple[int, int, int]:
        """Unwrap every wrapped key with the remaining KEKs: (checked, stale, damaged).

        Stale keys open only with the KEK to retire; damaged ones open with none.
        """
        total = DataKey.objects.filter(wrapped__isnull=False).count()
        progress = Progress(
            self.stderr, total, f"checking that data keys open without KEK version {version}"
        )
        checked = stale = damaged = 0
        for batch in datakeys.wrapped_batches(batch_size):
            for key in batch:
                if datakeys.opens_under(remaining, key):
                    continue
                if datakeys.opens_under(ring, key):
                    stale += 1
                else:
                    damaged += 1
            checked += len(batch)
            progress.advance(len(batch))
        progress.finish()
        return checked, stale, damaged


def _refusal(version: int, checked: int, stale: int, damaged: int) -> str:
    """One line: how many keys block the retirement, and what the operator does about it."""
    line = (
        f"{stale + damaged} of {checked} data keys do not open without KEK version {version}; "
        "not retired."
    )
    if stale and not damaged:
        line += " Run rotate_keys to re-wrap them, then retire again."
    elif stale:
        line += f" Run rotate_keys to re-wrap the {stale} still under it, then retire again."
    if damaged:
        line += (
            f" {damaged} open under no KEK at all (damaged or moved): restore them from a "
            "backup or erase their subjects first."
        )
    return line
