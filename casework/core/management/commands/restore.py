from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.core.backup import BackupError, Meter, restore_backup
from casework.lib.progress import Progress


class Command(BaseCommand):
    help = (
        "Restore an archive written by `backup` into an empty database and an empty file store: "
        "its signature and every member's SHA-256 are checked first; the audit log is verified "
        "and a sample of every kind of encrypted record is decrypted before anything is kept. "
        "The installation's key file must be configured: a backup holds no keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", metavar="FILE", help="an archive written by backup")
        parser.add_argument(
            "--logical",
            action="store_true",
            help="load the portable dump even when the native one fits this database",
        )
        parser.add_argument(
            "--identity",
            metavar="FILE",
            help="the backup identity (age secret key) that opens an encrypted archive",
        )
        parser.add_argument(
            "--erasures",
            metavar="JOURNAL",
            help="the erasure journal to replay (default: CASEWORK_ERASURE_JOURNAL); everyone "
            "it names is erased again, so that the backup brings back nobody erased since",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        try:
            result = restore_backup(
                Path(options["archive"]),
                logical=options["logical"],
                meter=None if quiet else self._meter,
                erasures=Path(options["erasures"]) if options["erasures"] else None,
                identity=Path(options["identity"]) if options["identity"] else None,
            )
        except BackupError as problem:
            raise CommandError(_one_line(problem)) from None
        except Exception as problem:
            if options.get("traceback"):
                raise
            raise CommandError(f"restore failed, nothing was kept: {_one_line(problem)}") from None
        self.stdout.write(
            f"Restored {options['archive']} ({result.vendor}, {result.method} dump): "
            f"{result.entries} audit entries verified, {result.records} records and "
            f"{result.files_decrypted} of {result.files} stored files decrypted, in "
            f"{result.seconds:.1f} s."
        )
        if result.journal is None:
            self.stderr.write(
                "No erasure journal was found: anyone erased after this backup was taken is "
                "back. Replay the journal kept off this host (--erasures) or erase them again."
            )
        else:
            self.stdout.write(
                f"Erasure journal {result.journal}: {result.erasures_replayed} person(s) "
                "erased since the backup were erased again."
            )

    def _meter(self, total: int, label: str) -> Meter:
        return Progress(self.stderr, total, label)


def _one_line(problem: BaseException) -> str:
    return " ".join(str(problem).split()) or type(problem).__name__
