"""A plain progress line for long management commands (no dependency, no terminal tricks
beyond a carriage return when the output is a terminal)."""

from __future__ import annotations

import time
from typing import Protocol


class Stream(Protocol):
    def write(self, text: str) -> object: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool: ...


class Progress:
    def __init__(self, stream: Stream, total: int, label: str) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = stream.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= (0.2 if self._tty else 5.0) or self.done >= self.total:
            self._last = now
            self._write()

    def finish(self) -> float:
        self._write()
        if self._tty:
            self.stream.write("\n")
        return time.monotonic() - self.started

    def _write(self) -> None:
        percent = 100.0 if self.total == 0 else 100.0 * self.done / self.total
        line = f"{self.label}: {self.done}/{self.total} ({percent:.0f}%)"
        self.stream.write(f"\r{line}" if self._tty else f"{line}\n")
        self.stream.flush()
