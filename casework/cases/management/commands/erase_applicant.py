from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.cases.services import ApplicantNotFound, applicant_erase


class Command(BaseCommand):
    help = (
        "Crypto-shred one applicant: destroy their data key so that every field, document "
        "and letter of theirs becomes unreadable at once. Keeps a PII-free tombstone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("applicant_id", help="the applicant's UUID")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            applicant_id = uuid.UUID(options["applicant_id"])
        except ValueError:
            raise CommandError("applicant_id must be a UUID.") from None
        try:
            erased = applicant_erase(applicant_id=applicant_id)
        except ApplicantNotFound:
            raise CommandError(f"no applicant {applicant_id}.") from None
        if erased:
            self.stdout.write(self.style.SUCCESS(f"Erased applicant {applicant_id}."))
        else:
            self.stdout.write(f"Applicant {applicant_id} was already erased.")
