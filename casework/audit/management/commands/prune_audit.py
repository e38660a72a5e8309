from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from casework.audit import pruning
from casework.lib.progress import Progress


class Command(BaseCommand):
    help = (
        "Remove the content of audit entries older than CASEWORK_AUDIT_RETENTION_DAYS "
        "(default 730), keeping their place, chain hashes and Merkle leaf so that the log and "
        "every signed checkpoint still verify. Verifies the whole log first and prunes nothing "
        "if it does not. Run it as the database owner (on PostgreSQL nobody else may)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = datetime.timedelta(days=settings.CASEWORK_AUDIT_RETENTION_DAYS)
        planned = pruning.plan(older_than)
        before = planned.cutoff.date().isoformat()
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {planned.todo} audit entries from before {before} would be pruned. "
                "Nothing was changed."
            )
            return
        progress = Progress(self.stderr, planned.todo, "Pruning")
        try:
            pruned = pruning.prune(older_than, progress=progress.advance, planned=planned)
        except pruning.PruneRefused as refused:
            raise CommandError(f"refused: {refused}") from None
        except DatabaseError as error:
            raise CommandError(
                f"pruning stopped ({error.__class__.__name__}: {str(error).splitlines()[0]}); "
                "what was pruned stays pruned and the log still verifies; run it again as the "
                "database owner."
            ) from None
        progress.finish()
        self.stdout.write(
            self.style.SUCCESS(f"Pruned {pruned} audit entries from before {before}.")
        )
