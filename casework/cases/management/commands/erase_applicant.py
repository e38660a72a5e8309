from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import User
from casework.cases.models import Applicant
from casework.cases.services import ApplicantNotFound, applicant_erase


class Command(BaseCommand):
    help = (
        "Erase one applicant, exactly as a coordinator does on the case's erase page: destroy "
        "their data key, clear every record encrypted under it, delete their files, remove the "
        "grants on their cases and revoke their letters. Keeps a PII-free tombstone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("applicant_id", help="the applicant's UUID")
        parser.add_argument(
            "--actor",
            metavar="USERNAME",
            help="the staff member who asked for it, named in the audit entry "
            "(of the applicant's organisation); without it the entry names the system",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            applicant_id = uuid.UUID(options["applicant_id"])
        except ValueError:
            raise CommandError("applicant_id must be a UUID.") from None
        organisation_id = (
            Applicant.objects.filter(pk=applicant_id).values_list("organisation_id", flat=True)
        ).first()
        if organisation_id is None:
            raise CommandError(f"no applicant {applicant_id}.")
        actor = _actor(options["actor"], organisation_id)
        try:
            erasure = applicant_erase(applicant_id=applicant_id, actor=actor)
        except ApplicantNotFound:
            raise CommandError(f"no applicant {applicant_id}.") from None
        counts = (
            f"{len(erasure.case_ids)} case(s), {erasure.records_cleared} record(s) cleared, "
            f"{erasure.files_deleted} file(s) deleted, {erasure.letters_revoked} letter(s) "
            f"revoked, {erasure.grants_removed} grant(s) removed"
        )
        if erasure.first_time:
            self.stdout.write(self.style.SUCCESS(f"Erased applicant {applicant_id}: {counts}."))
        else:
            self.stdout.write(
                f"Applicant {applicant_id} was already erased; swept again: {counts}."
            )


def _actor(username: str | None, organisation_id: uuid.UUID) -> User | None:
    if username is None:
        return None
    actor = User.objects.filter(username=username, organisation_id=organisation_id).first()
    if actor is None:
        raise CommandError(f"--actor: no user {username!r} in the applicant's organisation.")
    return actor
