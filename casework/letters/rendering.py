"""Turning letter HTML into a PDF, in the rendering worker process (casework.letters.worker).

One warm worker per web process, used by one request at a time. A render that takes longer
than CASEWORK_LETTER_RENDER_SECONDS is killed with its worker; one that runs out of memory
(CASEWORK_LETTER_RENDER_MEMORY_MIB, RLIMIT_AS) or CPU (RLIMIT_CPU) ends its worker too. The
caller gets RenderFailed with a sentence for the user, and the next letter starts a new
worker (R55). The worker gets a minimal environment: no secret reaches it.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from casework.lib.env import ensure_private_dir

logger = logging.getLogger(__name__)

ASSETS_DIR = Path(settings.BASE_DIR) / "static" / "letters"


class RenderFailed(Exception):
    """The letter could not be rendered; ``message`` is one sentence for the coordinator."""

    def __init__(self, message: Any, detail: str = "") -> None:
        super().__init__(detail or str(message))
        self.message = message


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    refused: list[str]  # outside URLs the document asked for (always refused)
    connections: int  # network connections attempted inside the worker (always refused)


class _WorkerGone(Exception):
    pass


class Renderer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._deadline = 0.0  # of the render in progress (time.monotonic())
        # The worker's home, font cache and temporary directory: private (0700), under the
        # data directory, never the system's temporary directory, which other processes
        # share (R57).
        self.data_dir = Path(settings.DATA_DIR)
        self._private = _private(self.data_dir / "render")
        self.temp_dir = _private(self._private / "tmp")

    def render(
        self,
        html: str,
        assets: dict[str, str] | None = None,
        *,
        late: dict[str, Callable[[], str]] | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> Rendered:
        """The PDF of ``html``. ``late``: assets made here while the worker has already
        started (name → function giving the text; the QR code), sent right after the job.
        ``meanwhile``: work of this process done while the worker renders, on the other
        core (the pre-issue check); if it raises, the render is waited for and dropped, and
        its exception goes on."""
        with self._lock:
            for attempt in (1, 2):
                fresh = self._process is None or self._process.poll() is not None
                process = self._start() if fresh else self._process
                assert process is not None
                try:
                    self._send(process, html, assets or {}, late or {})
                    if meanwhile is not None:
                        self._meanwhile(process, meanwhile)
                        meanwhile = None  # done once, even if the worker must be started again
                    response = self._receive(process)
                except _WorkerGone:
                    self.stop()
                    if attempt == 1 and not fresh:
                        continue  # it had used up its lifetime between letters: try a new one
                    raise RenderFailed(
                        _("The letter is too large or too complex to render; shorten it."),
                        "the rendering worker ended (memory or CPU limit)",
                    ) from None
                except TimeoutError:
                    self.stop()
                    raise RenderFailed(
                        _("Rendering the letter took too long and was stopped; shorten it."),
                        "the rendering worker timed out",
                    ) from None
                return self._result(response)
        raise AssertionError("unreachable")

    def _result(self, response: dict[str, Any]) -> Rendered:
        for url in response.get("refused", []):
            logger.warning("letter renderer refused to fetch %r", url)
        if response.get("connections"):
            logger.warning("letter renderer refused %d connections", response["connections"])
        if not response.get("ok"):
            logger.warning("letter rendering failed: %s", response.get("error", "")[:300])
            raise RenderFailed(
                _("The letter could not be rendered; nothing was issued."),
                str(response.get("error", "")),
            )
        return Rendered(
            base64.b64decode(response["pdf"]),
            list(response.get("refused", [])),
            int(response.get("connections", 0)),
        )

    def _start(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-s",
            "-E",
            "-m",
            "casework.letters.worker",
            "--assets",
            str(ASSETS_DIR),
            "--memory-mib",
            str(settings.CASEWORK_LETTER_RENDER_MEMORY_MIB),
            "--temp-dir",
            str(self.temp_dir),
        ]
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self._private),
            "XDG_CACHE_HOME": str(self._private / "cache"),
            "TMPDIR": str(self.temp_dir),
        }
        self._process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            cwd=settings.BASE_DIR,
        )
        return self._process

    def _send(
        self,
        process: subprocess.Popen[bytes],
        html: str,
        assets: dict[str, str],
        late: dict[str, Callable[[], str]],
    ) -> None:
        seconds = int(settings.CASEWORK_LETTER_RENDER_SECONDS)
        job = {"html": html, "assets": assets, "late": list(late), "cpu_seconds": seconds}
        _write(process, job)
        self._deadline = time.monotonic() + seconds
        try:
            for name, make in late.items():
                _write(process, {"asset": name, "text": make()})
        except _WorkerGone:
            raise
        except BaseException:
            self.stop()  # it waits for an asset that will not come
            raise

    def _meanwhile(self, process: subprocess.Popen[bytes], work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException:
            try:
                self._receive(process)  # the worker is ready for the next letter
            except (_WorkerGone, TimeoutError):
                self.stop()
            raise

    def _receive(self, process: subprocess.Popen[bytes]) -> dict[str, Any]:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        (size,) = struct.unpack(">I", _read_exactly(fd, 4, self._deadline))
        message: dict[str, Any] = json.loads(_read_exactly(fd, size, self._deadline))
        return message

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    # What a write left in the buffer cannot reach a dead worker.
                    with contextlib.suppress(OSError):
                        stream.close()
        self._process = None


def _write(process: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    assert process.stdin is not None
    try:
        process.stdin.write(struct.pack(">I", len(data)) + data)
        process.stdin.flush()
    except (BrokenPipeError, OSError):
        raise _WorkerGone() from None


def _private(path: Path) -> Path:
    """``path``, made if missing, and 0700 even if it existed with a wider mode."""
    ensure_private_dir(path)
    path.chmod(0o700)
    return path


def _read_exactly(fd: int, count: int, deadline: float) -> bytes:
    chunks, remaining = [], count
    while remaining:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError()
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            raise TimeoutError()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise _WorkerGone()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


@atexit.register
def _stop_at_exit() -> None:
    """The warm worker goes with the process that started it. It would end by itself on
    reading the end of its input, but not before this process had been reported as leaving
    a subprocess running. The lock is not taken: a thread stopped in the middle of a render
    may hold it, and exiting must not wait for it."""
    if _renderer is not None:
        _renderer.stop()


def renderer() -> Renderer:
    """This process's renderer (its worker starts with the first letter). It belongs to the
    data directory it was made for: another one (tests switch) gets a renderer of its own."""
    global _renderer
    with _renderer_lock:
        if _renderer is not None and _renderer.data_dir != Path(settings.DATA_DIR):
            _renderer.stop()
            _renderer = None
        if _renderer is None:
            _renderer = Renderer()
        return _renderer
