from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from casework.core.demo import seed_accounts


class Command(BaseCommand):
    help = "Load fictional demo data (development instances only). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROD:
            raise CommandError("seed_demo refuses to run with CASEWORK_ENV=prod.")
        try:
            logins, created = seed_accounts(settings.DATA_DIR)
        except DatabaseError as exc:
            raise CommandError(f"cannot write demo data: {exc} (did you run migrate?)") from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created {created} demo users."))
        else:
            self.stdout.write("Demo data already present; nothing created.")
        self.stdout.write("")
        self.stdout.write("Demo logins (development only, fictional organisations):")
        for login in logins:
            self.stdout.write(
                f"  {login.organisation:32}  {login.role.value:12}  "
                f"username: {login.username:22}  password: {login.password}  "
                f"authenticator secret: {login.totp_secret}"
            )
        self.stdout.write("")
        self.stdout.write(
            "Open http://127.0.0.1:8000/ and sign in with one of them. For the second"
        )
        self.stdout.write("step, add the authenticator secret to an authenticator app, or run")
        self.stdout.write("  oathtool --totp -b <authenticator secret>")
