"""The erasure journal: the one record of erasures that lives outside the database.

A backup taken before an erasure still holds the person; restoring it would bring them
back. Every erasure therefore appends, once committed, one line to a plain file kept off
this host (``CASEWORK_ERASURE_JOURNAL``)::

    2026-12-05T04:51:00Z 3f6c1b8e-6d2a-4c1e-9b7a-2f1d0c9e8a77 request

(UTC time, the applicant's id, the cause), and ``restore`` erases again every person the
journal names who is still there. The ids point at nothing once the person is erased; the
file holds no name and no case code.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ([0-9a-f-]{36}) (request|retention)$")


class JournalError(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    at: datetime.datetime
    applicant_id: uuid.UUID
    cause: str


def path() -> Path:
    return Path(settings.CASEWORK_ERASURE_JOURNAL)


def append(applicant_id: uuid.UUID, cause: str, at: datetime.datetime) -> None:
    """One line, written whole and synced. A failure is logged (by id) and not raised: the
    erasure has happened; only a restore from an older backup would miss it."""
    stamp = at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp} {applicant_id} {cause}\n".encode()
    try:
        descriptor = os.open(path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        logger.error(
            "erasure journal %s: could not record the erasure of applicant %s; a restore "
            "from an older backup would bring them back",
            path(),
            applicant_id,
        )


def read(journal: Path) -> list[Entry]:
    """Every entry, in order; JournalError names the first line that is not one."""
    try:
        text = journal.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise JournalError(f"{journal} is not an erasure journal") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        found = LINE.match(line)
        if found is None:
            raise JournalError(f"{journal}, line {number}: not a journal line")
        at = datetime.datetime.strptime(found[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        entries.append(Entry(at, uuid.UUID(found[2]), found[3]))
    return entries
