from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.cases import export as exports
from casework.cases.management.commands.erase_applicant import _actor
from casework.cases.models import Applicant
from casework.lib.datakeys import OrganisationKeyMissing


class Command(BaseCommand):
    help = (
        "Export everything held about one applicant (GDPR Art. 15) as one ZIP file: a "
        "readable summary in their language, every field as JSON, their documents and "
        "letters, and the audit entries about them. AES-256 encrypted under a passphrase "
        "printed once, unless --unencrypted. Audited like the export from the case page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("applicant_id", help="the applicant's UUID")
        parser.add_argument("--out", required=True, metavar="FILE", help="the ZIP to write")
        parser.add_argument(
            "--unencrypted",
            action="store_true",
            help="write a ZIP anyone can open (recorded as such in the audit log)",
        )
        parser.add_argument(
            "--actor",
            metavar="USERNAME",
            help="the staff member who asked for it, named in the audit entry",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            applicant_id = uuid.UUID(options["applicant_id"])
        except ValueError:
            raise CommandError("applicant_id must be a UUID.") from None
        out = Path(options["out"])
        if out.exists():
            raise CommandError(f"{out} exists already; choose another name.")
        organisation_id = (
            Applicant.objects.filter(pk=applicant_id).values_list("organisation_id", flat=True)
        ).first()
        if organisation_id is None:
            raise CommandError(f"no applicant {applicant_id}.")
        actor = _actor(options["actor"], organisation_id)
        partial = out.with_name(out.name + ".partial")
        try:
            # Opened first: an unwritable place fails before anything is exported or audited.
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as problem:
            raise CommandError(f"could not write {out}: {problem.strerror}.") from None
        try:
            with os.fdopen(descriptor, "wb") as handle:
                made = exports.export_applicant(
                    applicant_id=applicant_id,
                    actor=actor,
                    encrypt=not options["unencrypted"],
                    via="command",
                )
                handle.write(made.content)
                handle.flush()
                os.fsync(handle.fileno())
            partial.rename(out)
        except exports.ExportRefused:
            partial.unlink(missing_ok=True)
            raise CommandError(f"applicant {applicant_id} was erased: nothing to export.") from None
        except OSError as problem:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise CommandError(f"could not write {out}: {problem.strerror}.") from None
        except OrganisationKeyMissing:
            partial.unlink(missing_ok=True)
            raise CommandError(
                "this organisation's case content opens only in a signed-in member's session: "
                "export from the applicant's case page."
            ) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"Wrote {out}: {made.documents} document(s), {made.letters} letter(s), "
            f"{made.entries} audit entries; summary in {made.language}."
        )
        if made.passphrase:
            self.stdout.write(
                "Passphrase (shown once, stored nowhere; pass it on separately from the file):"
            )
            self.stdout.write(made.passphrase)
        else:
            self.stdout.write("The file is NOT encrypted: anyone who gets it can read it.")
