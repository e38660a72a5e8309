from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.models import ChainHead
from casework.audit.verification import verify_and_record
from casework.lib.progress import Progress
from crypto import KeyStoreError


class Command(BaseCommand):
    help = (
        "Verify the whole audit chain and every signed checkpoint, in constant memory. "
        "Exit 0 when intact; otherwise 1 and the first bad sequence number. Run it from cron "
        "or a systemd timer at least daily (SECURITY.md); auditors see the last result."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="also verify against checkpoints exported earlier and kept elsewhere",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        external = None
        if options["checkpoints"]:
            try:
                external = Path(options["checkpoints"]).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    f"cannot read {options['checkpoints']}: {exc.strerror}"
                ) from None
            except UnicodeDecodeError:
                raise CommandError(f"{options['checkpoints']} is not UTF-8") from None
        bar = Progress(self.stderr, ChainHead.objects.get(pk=1).seq, "verifying audit entries")

        def progress(seq: int) -> None:
            bar.advance(seq - bar.done)

        try:
            outcome = verify_and_record(external, progress)
        except KeyStoreError as exc:
            raise CommandError(str(exc)) from None
        bar.done = outcome.checked
        bar.finish()
        if outcome.ok:
            self.stdout.write(f"Audit log intact: {outcome.checked} entries verified.")
            return
        self.stderr.write(
            f"AUDIT LOG DAMAGED: {outcome.damage} at sequence number {outcome.first_bad}"
            + (f" ({outcome.message})" if outcome.message else "")
        )
        sys.exit(1)
