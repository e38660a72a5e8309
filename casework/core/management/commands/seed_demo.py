from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.db import DatabaseError

from casework.core.demo import seed_accounts, seed_bulk, seed_cases


class Command(BaseCommand):
    help = (
        "Load fictional demo data (development instances only): two organisations with a "
        "user per role, the three sample cases of DOMAIN.md section 10 and about thirty "
        "generated cases, all through the case services (with audit trail). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--applicants",
            type=int,
            default=0,
            metavar="N",
            help=(
                "Also add N generated applicants with one case each to the first demo "
                "organisation, for scale tests. Bulk inserts (encrypted and blind-indexed as "
                "usual) that skip the case services: no audit entries, no status history. "
                "Adds N more on every run."
            ),
        )

    @no_translations  # its report is English, whatever language the calling thread has
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROD:
            raise CommandError("seed_demo refuses to run with CASEWORK_ENV=prod.")
        bulk = options["applicants"]
        if bulk < 0:
            raise CommandError("--applicants needs a number of 0 or more.")
        try:
            logins, created = seed_accounts(settings.DATA_DIR)
            cases = seed_cases()
            if bulk:
                started = time.perf_counter()
                added = seed_bulk(bulk, progress=self._progress(bulk))
                seconds = time.perf_counter() - started
        except DatabaseError as exc:
            raise CommandError(f"cannot write demo data: {exc} (did you run migrate?)") from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created {created} demo users."))
        else:
            self.stdout.write("Demo data already present; nothing created.")
        if cases.created:
            self.stdout.write(self.style.SUCCESS(f"Created {cases.created} demo cases."))
        else:
            self.stdout.write("Demo cases already present")
        if bulk:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Added {added:,} bulk applicants and cases in {seconds:.1f} s "
                    "(no audit trail)."
                )
            )
        self.stdout.write("")
        self.stdout.write("Demo logins (development only, fictional organisations):")
        for login in logins:
            self.stdout.write(
                f"  {login.organisation:32}  {login.role.value:12}  "
                f"username: {login.username:22}  password: {login.password}  "
                f"authenticator secret: {login.totp_secret}"
            )
        if cases.samples:
            self.stdout.write("")
            self.stdout.write(f"Sample cases (DOMAIN.md section 10) in {logins[0].organisation}:")
            for line in cases.samples:
                self.stdout.write(f"  {line.code:12}  {line.priority:10}  {line.status}")
            if cases.letters:
                self.stdout.write(
                    "Their letters (coordinators issue drafts; /verify/ checks codes):"
                )
                for letter_line in cases.letters:
                    self.stdout.write(f"  {letter_line}")
        self.stdout.write("")
        self.stdout.write(
            "Open http://127.0.0.1:8000/ and sign in with one of them. For the second"
        )
        self.stdout.write("step, add the authenticator secret to an authenticator app, or run")
        self.stdout.write("  oathtool --totp -b <authenticator secret>")

    def _progress(self, total: int) -> Callable[[int], None]:
        def report(done: int) -> None:
            self.stderr.write(f"  {done:,} / {total:,} applicants")

        return report
