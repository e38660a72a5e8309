from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from casework.cases import retention
from casework.lib.planner import refresh_statistics
from casework.lib.progress import Progress


class Command(BaseCommand):
    help = (
        "Apply every organisation's retention schedule (R61): crypto-shred the details of "
        "people whose last case closed longer ago than the schedule allows (keeping the "
        "pseudonymised skeleton), and delete skeletons past their time. Safe to run daily: "
        "a second run changes nothing, and an interrupted run is finished by the next."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what is due, change nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        now = timezone.now()
        try:
            planned = retention.plan(now)
            total = sum(len(p.details) + len(p.skeletons) for p in planned)
            progress = Progress(self.stderr, total, "Retention")
            summary = retention.apply(
                now, dry_run=dry_run, progress=progress.advance, planned=planned
            )
        except DatabaseError as error:
            # Each person is one transaction: what was done stays done, the rest waits.
            raise CommandError(
                f"retention stopped ({error.__class__.__name__}); what was done is kept, "
                "run it again to finish."
            ) from None
        progress.finish()
        refresh_statistics()  # the daily job keeps SQLite's planner informed (lib.planner)
        people = len(summary.details)
        skeletons = len(summary.skeletons)
        if dry_run:
            self.stdout.write(
                f"Dry run: details of {people} person(s) ({summary.cases_shredded} case(s)) "
                f"would be deleted, and {skeletons} skeleton(s) ({summary.cases_deleted} "
                "case(s)) would be removed. Nothing was changed."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Retention applied: details of {people} person(s) deleted "
                f"({summary.cases_shredded} case(s), {summary.files_deleted} file(s)), "
                f"{skeletons} skeleton(s) removed ({summary.cases_deleted} case(s))."
            )
        )
