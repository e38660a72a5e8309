from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.core.backup import BackupError, Meter, create_backup
from casework.lib.progress import Progress


class Command(BaseCommand):
    help = (
        "Write one signed archive of the database and the stored (encrypted) files to FILE "
        "(via FILE.partial: never a half-written FILE). It holds no keys: keep the key file "
        "apart, a backup without it is unreadable (README, 'Backups')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, metavar="FILE", help="the archive to write")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        try:
            result = create_backup(Path(options["out"]), meter=None if quiet else self._meter)
        except BackupError as problem:
            raise CommandError(_one_line(problem)) from None
        except Exception as problem:
            if options.get("traceback"):
                raise
            raise CommandError(f"backup failed: {_one_line(problem)}") from None
        self.stdout.write(
            f"Backup written to {result.path}: {result.vendor} database, {result.entries} audit "
            f"entries, {result.files} stored files, {result.size} bytes, signed"
            + (", encrypted to the backup recipient." if result.encrypted else ".")
        )
        if not result.encrypted:
            self.stderr.write(
                "The archive is not encrypted as a whole (no CASEWORK_BACKUP_RECIPIENT): user "
                "names, case codes and the audit log in it are readable to whoever holds it."
            )

    def _meter(self, total: int, label: str) -> Meter:
        return Progress(self.stderr, total, label)


def _one_line(problem: BaseException) -> str:
    return " ".join(str(problem).split()) or type(problem).__name__
