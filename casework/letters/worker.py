"""The letter rendering worker: a separate, long-lived process that turns letter HTML into a
PDF/A-3b with WeasyPrint, under memory and CPU limits (R55).

Run by casework.letters.rendering, never by hand. It imports neither Django nor anything that
holds a key: whatever a hostile input might make WeasyPrint do, it does it here, without the
application's secrets, without network (every socket connect is refused and counted), and
able to read only the project's own letter assets (the ``app:`` scheme). It stays warm
between letters (one import of WeasyPrint, not one per letter) and exits when a limit is hit;
the parent then starts a fresh one.

Protocol on stdin/stdout: each message is a 4-byte big-endian length and a JSON object.
Request ``{"html": str, "assets": {name: text}, "late": [name, ...], "cpu_seconds": int}``,
then one ``{"asset": name, "text": str}`` for each late name, in any order: assets the parent
makes while the worker has started (the QR code), read when the render first asks for one,
and every one of them read before the response whether it asked or not; response
``{"ok": true, "pdf": base64, "refused": [url, ...], "connections": n}`` or
``{"ok": false, "error": str, "refused": [...], "connections": n}``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import mimetypes
import os
import resource
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

APP_SCHEME = "app:"
NEUTRAL_PRODUCER = "Safe Passage casework"
# Objects a letter must never carry: scripts, actions run on opening, attached files.
FORBIDDEN_KEYS = ("/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/Launch")


class Refusals:
    """What the render asked for and did not get: outside URLs and network connections."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.connections = 0

    def reset(self) -> None:
        self.urls, self.connections = [], 0


REFUSED = Refusals()


def _no_network() -> None:
    """Refuse every outgoing connection in this process, and count the attempts."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        REFUSED.connections += 1
        raise OSError("network access is disabled in the letter renderer")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


def make_fetcher(assets_dir: Path) -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    root = assets_dir.resolve()

    class AppFetcher(URLFetcher):  # type: ignore[misc]
        """Serves ``app:<name>`` from the job's own assets (the QR code) or the asset
        directory, by real path inside it; refuses everything else, and the render with it."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"app"}, allow_redirects=False, fail_on_errors=True)
            self.job_assets: dict[str, str] = {}
            self.late: set[str] = set()  # announced by the job, not received yet
            self.receive: Any = None  # reads the next message from the parent

        def start(self, job: dict[str, Any], receive: Any) -> None:
            self.job_assets = dict(job.get("assets", {}))
            self.late = {str(name) for name in job.get("late", [])}
            self.receive = receive

        def receive_late(self, wanted: str | None = None) -> None:
            """Read late assets until ``wanted`` has come (None: until every one has)."""
            while self.late and (wanted is None or wanted in self.late):
                message = self.receive()
                name = message.get("asset") if isinstance(message, dict) else None
                if name not in self.late or not isinstance(message.get("text"), str):
                    sys.exit("the parent sent something other than an announced late asset")
                self.job_assets[name] = message["text"]
                self.late.discard(name)

        def fetch(self, url: str, headers: Any = None) -> Any:
            body = self._lookup(url)
            if body is None:
                REFUSED.urls.append(url[:200])
                raise FatalURLFetchingError(f"refused to fetch {url[:200]!r}")
            mime = mimetypes.guess_type(url[len(APP_SCHEME) :])[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

        def _lookup(self, url: str) -> bytes | None:
            if not url.startswith(APP_SCHEME):
                return None
            name = url[len(APP_SCHEME) :].lstrip("/")
            if name in self.late:
                self.receive_late(name)
            if name in self.job_assets:
                return self.job_assets[name].encode()
            path = (root / name).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                return None
            return path.read_bytes()

    return AppFetcher()


def render(html: str, fetcher: Any) -> bytes:
    from weasyprint import HTML

    document = HTML(string=html, url_fetcher=fetcher, base_url=APP_SCHEME)
    pdf = document.write_pdf(pdf_variant="pdf/a-3b", uncompressed_pdf=False)
    return neutralise(pdf)


def neutralise(pdf_bytes: bytes) -> bytes:
    """Neutral producer and creator (no library versions, no person), and no scripts,
    actions or attachments: refuse the document if any is there (R56)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary):
                for key in FORBIDDEN_KEYS:
                    if key in obj:
                        raise ValueError(f"the PDF carries {key}")
        if "/Names" in pdf.Root and "/EmbeddedFiles" in pdf.Root.Names:
            raise ValueError("the PDF carries embedded files")
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdf:Producer"] = NEUTRAL_PRODUCER
            meta["xmp:CreatorTool"] = NEUTRAL_PRODUCER
        pdf.docinfo["/Producer"] = NEUTRAL_PRODUCER
        pdf.docinfo["/Creator"] = NEUTRAL_PRODUCER
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def use_private_temp_dir(path: Path) -> None:
    """Anything WeasyPrint or its libraries put in a temporary file goes to ``path``, the
    worker's own directory (0700, under the data directory). Python's tempfile would fall
    back to the shared system directory if TMPDIR were unusable: refuse to start instead."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        sys.exit(f"the renderer's temporary directory {path} is not our own directory")
    if stat.S_IMODE(info.st_mode) & 0o077:
        sys.exit(f"the renderer's temporary directory {path} is open to others")
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)


def _read(stream: BinaryIO) -> dict[str, Any] | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    message: dict[str, Any] = json.loads(stream.read(size))
    return message


def _write(stream: BinaryIO, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _limit_cpu(seconds: int) -> None:
    """This job may use ``seconds`` more CPU; past that the kernel ends the process."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + seconds
    if hard != resource.RLIM_INFINITY and soft > hard:
        sys.exit(0)  # the lifetime budget is spent: exit cleanly, the parent starts another
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", required=True, type=Path)
    parser.add_argument("--memory-mib", type=int, default=512)
    parser.add_argument("--lifetime-cpu", type=int, default=600)
    parser.add_argument("--temp-dir", required=True, type=Path)
    args = parser.parse_args()
    use_private_temp_dir(args.temp_dir)
    limit = args.memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (args.lifetime_cpu, args.lifetime_cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump with letter contents
    _no_network()
    fetcher = make_fetcher(args.assets)
    from weasyprint import VERSION
    from weasyprint.urls import FatalURLFetchingError  # and WeasyPrint is warm from here on

    if int(VERSION.split(".")[0]) < 69:  # R53; the web process's system check says why
        sys.exit(f"WeasyPrint {VERSION} is too old to render letters (69 or newer)")

    requests, responses = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the protocol stream
    while (job := _read(requests)) is not None:
        REFUSED.reset()
        _limit_cpu(int(job.get("cpu_seconds", 30)))
        fetcher.start(job, lambda: _read(requests))
        try:
            pdf = render(job["html"], fetcher)
        except MemoryError:
            _write(responses, _failure("the letter needs more memory than a letter may use"))
            os._exit(3)  # the heap may be in any state: start over
        except (Exception, FatalURLFetchingError) as problem:
            fetcher.receive_late()  # the next message must be the next job
            _write(responses, _failure(f"{type(problem).__name__}: {str(problem)[:300]}"))
            continue
        fetcher.receive_late()
        response = {"ok": True, "pdf": base64.b64encode(pdf).decode()}
        _write(responses, response | _refusals())


def _failure(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error} | _refusals()


def _refusals() -> dict[str, Any]:
    return {"refused": REFUSED.urls, "connections": REFUSED.connections}


if __name__ == "__main__":
    main()
