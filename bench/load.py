"""Load test: the application as an operator runs it (migrate, init_keys, seed_demo, gunicorn
on PostgreSQL), worked by simulated caseworkers and coordinators through real HTTP, then
checked: no 5xx, an intact audit chain, no lost update, every uploaded document readable.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/casework \\
        .venv/bin/python bench/load.py [--users 20] [--workers 2] [--seconds 60 | --short]
        [--threads 1] [--think 1.0] [--applicants N] [--json PATH] [--keep]

``--short`` runs 15 seconds (tests/ops/test_load_short.py); ``--seconds 600`` is the form
that says whether the workers' memory grows (sampled every 5 s: first and last sample, peak,
and the growth over the second half, when start-up and warm-up are over). ``--json`` writes
the figures: requests_per_second, p50/p95/p99_ms, case_list_p50/p95/p99_ms, per kind
figures, errors_by_status, errors_5xx, lost_updates, documents_*, worker_rss (per worker),
worker_rss_start_kib / worker_rss_end_kib, target_met, and the failures.

A data directory of its own (under CASEWORK_DATA_DIR if set, else var/) and a PostgreSQL
database of its own (``<name in DATABASE_URL>_load_<pid>``, dropped at the end); gunicorn
on a free port of 127.0.0.1, configured as deploy/casework.service runs it (sync workers,
``--threads 1`` unless asked otherwise). The data directory is removed at the end unless a
check failed (its server.log then holds the tracebacks) or ``--keep`` is given.

Who works: the demo accounts (one caseworker and one coordinator per demo organisation) and,
for more users, colleagues added to the demo organisations with their own password and
authenticator: one simulated person per account, because an account keeps at most three
sessions (accounts.services.MAX_SESSIONS) and accepts each authenticator code once. About
one in four is a coordinator. The caseworkers are assigned the demo cases of their
organisation; a few of them ("hot" cases) are edited by everyone, so that edits collide.

What each person does, one step after another with a pause (``--think``, seconds on
average) as a person reads: signs in (password, then authenticator code), and again when
signed out; the dashboard; the case list (first and later pages, filters, sorting); case
pages; search by name (names seen on case pages, and unknown ones); edits a case (the form's
``version`` makes a concurrent save a conflict); uploads a small PDF; reveals a masked
field; downloads a document; caseworkers request letters, coordinators issue them (with the
step-up code when the second factor is older than CASEWORK_STEP_UP_SECONDS).

The client uses the standard library only (urllib, one cookie jar per person) and sends what
a browser sends: the form's CSRF token, ``Origin`` and ``Sec-Fetch-Site: same-origin`` on
every POST, the page's address as ``Referer``. It runs on the same machine as the server
and takes CPU from it; its share is printed.

Prints one table and the checks; exits 1 when a check fails, with one line per reason.
Nothing it prints holds a password, an authenticator secret or anything of a case.
Target (stated, not checked): the case list's p95 under 150 ms with 2 workers on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import html
import http.client
import http.cookiejar
import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/casework"
TARGET_CASE_LIST_P95_MS = 150.0
ORGANISATIONS = ("rainbow", "northern")  # casework.core.demo.DEMO_ORGANISATIONS, in order
HOT_CASES = 2  # per organisation: the cases everyone edits, so that edits collide
SHARED_CASES = 300  # per organisation: the demo caseworker's cases the colleagues share
REQUEST_TIMEOUT = 120.0  # gunicorn's own is 90 s (deploy/casework.service)
TOTP_STEP = 30
CONFLICT_TEXT = "Someone else saved this case while you were editing"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NAME_ON_PAGE = re.compile(r"<dt>Legal name \((?:Latin|Cyrillic)\)</dt><dd>([^<]+)</dd>")


# --- the instance ----------------------------------------------------------------------------


class Database:
    """A PostgreSQL database of this run's own, next to the one DATABASE_URL names."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.name = f"{parts.path.lstrip('/') or 'casework'}_load_{os.getpid()}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))

    def create(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def vacuum(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command as the operator does; its output is returned, never shown
    (seed_demo prints passwords)."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"manage.py {args[0]} failed: {last}")
    return done.stdout


class Server:
    """gunicorn as deploy/casework.service starts it, on a port the kernel chose."""

    def __init__(self, env: dict[str, str], log: Path, workers: int, threads: int) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))  # held from now on: nobody else can take it
        self.listener.listen(1024)
        self.listener.set_inheritable(True)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.env, self.log, self.workers, self.threads = env, log, workers, threads
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        fd = self.listener.fileno()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "casework.wsgi",
                    f"--bind=fd://{fd}",
                    f"--workers={self.workers}",
                    f"--threads={self.threads}",
                    "--timeout=90",
                    "--graceful-timeout=30",
                    "--no-control-socket",
                ],
                cwd=ROOT,
                env=self.env,
                pass_fds=[fd],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start; see {self.log}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response,  # noqa: S310
            ):
                if response.status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            time.sleep(0.3)
        raise SystemExit(f"the server did not answer within 90 s; see {self.log}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        master = self.process.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text()
        except OSError:
            return []
        return sorted(int(pid) for pid in children.split())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.listener.close()


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process, in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class MemorySampler(threading.Thread):
    """Samples every gunicorn worker's RSS every few seconds while the load runs."""

    def __init__(self, server: Server, interval: float) -> None:
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.samples: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.stopping = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while True:
            self.sample()
            if self.stopping.wait(self.interval):
                self.sample()
                return

    def sample(self) -> None:
        now = time.monotonic() - self.started_at
        for pid in self.server.worker_pids():
            kib = rss_kib(pid)
            if kib is not None:
                self.samples[pid].append((now, kib))

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def figures(self) -> list[dict[str, Any]]:
        """Per worker: RSS at its first and last sample, the peak, and the growth over the
        second half of its life (steady state: start-up and warm-up are over by then)."""
        rows = []
        for pid, samples in sorted(self.samples.items()):
            first, last = samples[0], samples[-1]
            middle = next(s for s in samples if s[0] >= (first[0] + last[0]) / 2)
            rows.append(
                {
                    "pid": pid,
                    "samples": len(samples),
                    "start_kib": first[1],
                    "end_kib": last[1],
                    "peak_kib": max(kib for _t, kib in samples),
                    "growth_kib": last[1] - first[1],
                    "second_half_growth_kib": last[1] - middle[1],
                }
            )
        return rows


# --- the people: added to the demo organisations by a child process with Django ------------


@dataclass(frozen=True)
class Seat:
    organisation: str  # the demo organisation's slug
    role: str  # "caseworker" or "coordinator"
    username: str


def seats(users: int) -> list[Seat]:
    """Who works: about one coordinator in four, both organisations alike; the demo accounts
    take the first seat of their kind in their organisation, colleagues the others."""
    coordinators = max(1, round(users / 4)) if users > 1 else 0
    kinds = ["coordinator"] * coordinators + ["caseworker"] * (users - coordinators)
    taken: Counter[tuple[str, str]] = Counter()
    chosen = []
    for number, role in enumerate(sorted(kinds, key=lambda r: r != "caseworker")):
        organisation = ORGANISATIONS[number % len(ORGANISATIONS)]
        taken[(organisation, role)] += 1
        count = taken[(organisation, role)]
        name = f"{organisation}-{role}" if count == 1 else f"load-{organisation}-{role}-{count}"
        chosen.append(Seat(organisation, role, name))
    return chosen


def add_people(path: Path, users: int) -> None:
    """(Child process, with Django) Create the colleagues the seats need, assign every
    caseworker the demo cases of their organisation, and write each account's sign-in
    details and the hot cases to ``path`` (mode 0600)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import transaction

    from casework.accounts.models import Organisation, User
    from casework.cases.access import visible_cases
    from casework.cases.services import case_assign
    from casework.cases.workflow import Status
    from casework.core.demo import (
        DEMO_ORGANISATIONS,
        credentials_path,
        demo_passphrase,
        demo_totp_secret,
        load_passwords,
    )
    from casework.keystore import members

    passwords = load_passwords(credentials_path(settings.DATA_DIR))
    wanted = seats(users)
    # The demo coordinators check the outcome at the end, whether or not they work.
    checkers = [Seat(slug, "coordinator", f"{slug}-coordinator") for slug in ORGANISATIONS]
    accounts = []
    hot: dict[str, list[str]] = {}
    keys: dict[str, Any] = {}  # each demo organisation's key, unlocked by its coordinator
    with transaction.atomic():
        for seat in [*wanted, *(c for c in checkers if c not in wanted)]:
            user = User.objects.filter(username=seat.username).first()
            if user is None:
                organisation = Organisation.objects.get(name=DEMO_ORGANISATIONS[seat.organisation])
                user = User.objects.create_user(seat.username, organisation=organisation)
                passwords[seat.username] = demo_passphrase()
                user.set_password(passwords[seat.username])
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=seat.role))
                # A colleague's key pair, and the organisation's key granted by its demo
                # coordinator, as an invitation and a grant would (issue 16): without them
                # every case page is "waiting for access".
                members.password_set(user, passwords[seat.username], content=True)
                coordinator = User.objects.get(username=f"{seat.organisation}-coordinator")
                if seat.organisation not in keys:  # one Argon2id per organisation
                    keys[seat.organisation] = members.unlock(
                        coordinator, passwords[coordinator.username]
                    )
                members.grant(granter=coordinator, unlocked=keys[seat.organisation], member=user)
            accounts.append(
                {
                    "organisation": seat.organisation,
                    "role": seat.role,
                    "username": seat.username,
                    "password": passwords[seat.username],
                    "secret": demo_totp_secret(user),
                    "works": seat in wanted,
                }
            )
        for slug in ORGANISATIONS:
            coordinator = User.objects.get(username=f"{slug}-coordinator")
            demo_caseworker = User.objects.get(username=f"{slug}-caseworker")
            colleagues = [
                User.objects.get(username=s.username)
                for s in wanted
                if s.organisation == slug and s.role == "caseworker"
            ]
            # A few hundred of the demo caseworker's cases are shared with the colleagues:
            # with --applicants 100000 assigning all of them took longer than the run.
            cases = list(visible_cases(demo_caseworker).order_by("code")[:SHARED_CASES])
            for case in cases:
                current = list(case.caseworkers.all())
                missing = [c for c in colleagues if c not in current]
                if missing:
                    case_assign(actor=coordinator, case=case, caseworkers=current + missing)
            open_cases = [c for c in cases if c.status != Status.CLOSED]
            hot[slug] = [str(c.pk) for c in open_cases[:HOT_CASES]]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"accounts": accounts, "hot": hot}, handle)


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    method: str
    path: str
    status: int  # 0: no response (connection refused or reset, timeout)
    ms: float


class Recorder:
    """Every request's kind, status and time; thread-safe."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.measuring = True

    def add(self, sample: Sample) -> None:
        with self.lock:
            if self.measuring:
                self.samples.append(sample)


KINDS = (
    # (method or "*", path pattern, kind) in order; the first match names the request
    ("GET", r"/", "dashboard"),
    ("GET", r"/login/", "sign-in page"),
    ("POST", r"/login/", "sign-in: password"),
    ("GET", r"/login/verify/", "sign-in: code page"),
    ("POST", r"/login/verify/", "sign-in: code"),
    ("*", r"/account/reauthenticate/", "step-up code"),
    ("GET", r"/cases/", "case list"),
    ("GET", r"/cases/search/", "search page"),
    ("POST", r"/cases/search/", "search"),
    ("GET", rf"/cases/{UUID}/", "case page"),
    ("GET", rf"/cases/{UUID}/edit/", "edit form"),
    ("POST", rf"/cases/{UUID}/edit/", "edit save"),
    ("POST", rf"/cases/{UUID}/reveal/", "reveal"),
    ("POST", rf"/cases/{UUID}/documents/", "upload"),
    ("GET", rf"/cases/{UUID}/documents/{UUID}/", "document download"),
    ("POST", rf"/cases/{UUID}/letters/", "letter request"),
    ("GET", rf"/cases/{UUID}/letters/{UUID}/", "letter page"),
    ("POST", rf"/cases/{UUID}/letters/{UUID}/issue/", "letter issue"),
    ("GET", rf"/cases/{UUID}/letters/{UUID}/pdf/", "letter pdf"),
)


def kind_of(method: str, path: str) -> str:
    for wanted, pattern, kind in KINDS:
        if wanted in ("*", method) and re.fullmatch(pattern, path):
            return kind
    return f"other {method}"


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


# --- the browser -----------------------------------------------------------------------------


class NoResponse(Exception):
    """The server gave no answer (refused, reset, timed out)."""


class SignedOut(Exception):
    """The application sent the person back to the sign-in page."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # each hop is a request of its own, timed and recorded


@dataclass
class Response:
    status: int
    path: str  # of the last hop, with its query
    body: bytes
    history: list[int] = field(default_factory=list)  # statuses of the redirects followed

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    def page(self) -> Page:
        return Page.parse(self.text)


class Browser:
    """One person's browser: its own cookies, the headers a browser sends, redirects
    followed as separate requests."""

    def __init__(self, base: str, recorder: Recorder) -> None:
        self.base, self.recorder = base, recorder
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.current = "/"  # the page the person is on: the Referer of what they do next

    def get(self, path: str) -> Response:
        return self.request("GET", path, None, None)

    def post(
        self, path: str, fields: list[tuple[str, str]], files: list[FilePart] | None = None
    ) -> Response:
        if files:
            body, content_type = multipart(fields, files)
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        return self.request("POST", path, body, content_type)

    def request(
        self, method: str, path: str, body: bytes | None, content_type: str | None
    ) -> Response:
        history: list[int] = []
        for _hop in range(6):
            status, location, content = self._send(method, path, body, content_type)
            if status not in (301, 302, 303) or not location:
                break
            history.append(status)
            method, body, content_type = "GET", None, None
            path = urllib.parse.urljoin(path, location)
        if method == "GET" and status == 200:
            self.current = path
        return Response(status, path, content, history)

    def _send(
        self, method: str, path: str, body: bytes | None, content_type: str | None
    ) -> tuple[int, str, bytes]:
        headers = {
            "User-Agent": "casework-load/1 (urllib)",
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Accept-Language": "en-GB,en;q=0.8",
            "Referer": self.base + self.current,
        }
        if method == "POST":
            headers |= {"Origin": self.base, "Sec-Fetch-Site": "same-origin"}
            headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
        request = urllib.request.Request(  # noqa: S310 (our own http://127.0.0.1 server)
            self.base + path, data=body, headers=headers, method=method
        )
        kind = kind_of(method, urlsplit(path).path)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as answer:
                status, location, content = (
                    answer.status,
                    answer.headers.get("Location"),
                    answer.read(),
                )
        except urllib.error.HTTPError as refused:
            status, location, content = (
                refused.code,
                refused.headers.get("Location"),
                refused.read(),
            )
        except (OSError, http.client.HTTPException) as exc:
            ms = (time.perf_counter() - started) * 1000
            self.recorder.add(Sample(kind, method, path, 0, ms))
            raise NoResponse(f"{method} {path}: {exc}") from None
        ms = (time.perf_counter() - started) * 1000
        self.recorder.add(Sample(kind, method, path, status, ms))
        return status, location or "", content


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    mime: str
    content: bytes


def multipart(fields: list[tuple[str, str]], files: list[FilePart]) -> tuple[bytes, str]:
    boundary = f"----casework-load-{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for part in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{part.name}"; '
            f'filename="{part.filename}"\r\nContent-Type: {part.mime}\r\n\r\n'
        )
        parts.append(head.encode() + part.content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- reading pages ---------------------------------------------------------------------------


@dataclass
class Control:
    tag: str  # input, select, textarea
    type: str  # of an input; the tag's name for the others
    name: str
    value: str = ""
    checked: bool = False
    disabled: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)
    multiple: bool = False


@dataclass
class Form:
    action: str
    controls: list[Control] = field(default_factory=list)
    buttons_disabled: bool = False

    def values(self) -> list[tuple[str, str]]:
        """What a browser submits: the successful controls, in document order."""
        sent: list[tuple[str, str]] = []
        for control in self.controls:
            if control.disabled or not control.name:
                continue
            if control.tag == "select":
                chosen = [v for v, selected in control.options if selected]
                if not chosen and control.options and not control.multiple:
                    chosen = [control.options[0][0]]
                sent += [(control.name, v) for v in chosen]
            elif control.type in ("checkbox", "radio"):
                if control.checked:
                    sent.append((control.name, control.value or "on"))
            elif control.type not in ("submit", "button", "reset", "image", "file"):
                sent.append((control.name, control.value))
        return sent

    def get(self, name: str) -> Control | None:
        return next((c for c in self.controls if c.name == name), None)

    def set(self, name: str, value: str) -> None:
        control = self.get(name)
        if control is None:
            raise KeyError(name)
        if control.tag == "select":
            control.options = [(v, v == value) for v, _s in control.options]
        else:
            control.value = value

    def tick(self, name: str, value: str | None = None) -> None:
        for control in self.controls:
            if control.name == name and (value is None or control.value == value):
                control.checked = True


class Page(HTMLParser):
    """The forms of a page, read as a browser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Control | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: Control | None = None

    @classmethod
    def parse(cls, text: str) -> Page:
        page = cls()
        page.feed(text)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""))
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "select", "textarea"):
            control = Control(
                tag,
                a.get("type", tag).lower(),
                a.get("name", ""),
                a.get("value", ""),
                checked="checked" in a,
                disabled="disabled" in a,
                multiple="multiple" in a,
            )
            self._form.controls.append(control)
            self._select = control if tag == "select" else self._select
            self._textarea = control if tag == "textarea" else None
        elif tag == "option" and self._select is not None:
            self._close_option()
            self._option, self._option_text = (a.get("value"), "selected" in a), ""
        elif tag == "button" and "disabled" in a and a.get("type", "submit") == "submit":
            self._form.buttons_disabled = True

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        elif self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            self._textarea.value = self._textarea.value.removeprefix("\n")
            self._textarea = None
        elif tag == "option":
            self._close_option()
        elif tag == "select":
            self._close_option()
            self._select = None
        elif tag == "form":
            self._form = None

    def _close_option(self) -> None:
        if self._option is not None and self._select is not None:
            value, selected = self._option
            text = self._option_text.strip()  # an option without a value sends its text
            self._select.options.append((text if value is None else value, selected))
        self._option = None

    def form(self, action_pattern: str) -> Form | None:
        """The first form whose action matches (a full match of the action's path)."""
        for form in self.forms:
            if re.fullmatch(action_pattern, urlsplit(form.action).path):
                return form
        return None


def case_links(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(rf'href="/cases/({UUID})/"', text)))


# --- what the people did, to check afterwards -------------------------------------------------


@dataclass(frozen=True)
class Edit:
    organisation: str
    case: str
    version: int  # the version the form was loaded at
    value: str  # what was typed into "current city"
    outcome: str  # saved, conflict, refused (form errors), unknown (no answer)


@dataclass(frozen=True)
class Upload:
    organisation: str
    case: str
    sha256: str
    size: int
    saved: bool | None  # None: no answer


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.edits: list[Edit] = []
        self.uploads: list[Upload] = []
        self.events: Counter[str] = Counter()
        self.anomalies: list[str] = []

    def edit(self, edit: Edit) -> None:
        with self.lock:
            self.edits.append(edit)
            self.events[f"edit {edit.outcome}"] += 1

    def upload(self, upload: Upload) -> None:
        with self.lock:
            self.uploads.append(upload)

    def count(self, event: str) -> None:
        with self.lock:
            self.events[event] += 1

    def odd(self, what: str) -> None:
        with self.lock:
            self.events["unexpected answers"] += 1
            if len(self.anomalies) < 50:
                self.anomalies.append(what)


# --- the people ------------------------------------------------------------------------------


@dataclass
class Account:
    organisation: str
    role: str
    username: str
    password: str
    secret: str
    works: bool
    last_step: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def code(self) -> str:
        """The authenticator app: each time step is accepted once, one step either side of
        now; never the previous step (it may expire on the way). Waits when the next step
        is used up, as a person waits for a new code."""
        import pyotp

        with self.lock:
            now = int(time.time()) // TOTP_STEP
            step = max(now, self.last_step + 1)
            if step > now + 1:
                time.sleep(max(0.0, (step - 1) * TOTP_STEP - time.time() + 0.5))
            self.last_step = step
            return str(pyotp.TOTP(self.secret).at(step * TOTP_STEP))


CASE_LIST_QUERIES: tuple[tuple[float, Callable[[random.Random, int], str]], ...] = (
    (40, lambda rng, pages: ""),
    (15, lambda rng, pages: f"?page={rng.randint(2, max(2, pages))}"),
    (12, lambda rng, pages: "?status=" + rng.choice(
        ("screening", "verification", "route_planning", "documents", "letter_review"))),
    (10, lambda rng, pages: "?priority=" + rng.choice(("emergency", "urgent", "normal"))),
    (8, lambda rng, pages: "?mine=1"),
    (5, lambda rng, pages: "?overdue=1"),
    (10, lambda rng, pages: "?sort=" + rng.choice(("-activity", "code", "deadline", "-opened"))),
)  # fmt: skip


class Person(threading.Thread):
    """One simulated caseworker or coordinator, working until the deadline. What it learns
    (case ids, names for searching, where documents and letters are) stays in memory."""

    def __init__(
        self,
        number: int,
        account: Account,
        base: str,
        hot: list[str],
        recorder: Recorder,
        ledger: Ledger,
        think: float,
        seed: int,
    ) -> None:
        super().__init__(name=f"person-{number}", daemon=True)
        self.number, self.account, self.hot = number, account, hot
        self.browser = Browser(base, recorder)
        self.ledger, self.think = ledger, think
        self.rng = random.Random(seed)
        self.coordinator = account.role == "coordinator"
        self.deadline = 0.0
        self.known: list[str] = list(hot)  # cases seen in lists
        self.pages = 1  # of the case list
        self.names: list[str] = []  # seen on case pages, to search for
        self.documents: dict[str, list[str]] = {}  # case -> its documents' addresses
        self.letterable: set[str] = set()  # cases with a route attempt: a letter can be asked
        self.edits = 0

    def steps(self) -> list[tuple[float, Callable[[], None]]]:
        """The mix, as (weight, step)."""
        steps: list[tuple[float, Callable[[], None]]] = [
            (8, self.dashboard),
            (20, self.case_list),
            (24, self.case_page),
            (8, self.search),
            (11, self.edit),
            (5, self.upload),
            (5, self.reveal),
            (4, self.download),
        ]
        if self.account.organisation == ORGANISATIONS[0]:  # the demo cases with route attempts
            steps.append((5, self.issue_letter) if self.coordinator else (2, self.request_letter))
        return steps

    def run(self) -> None:
        steps = self.steps()
        weights = [weight for weight, _step in steps]
        self.attempt(self.sign_in)
        while time.monotonic() < self.deadline:
            self.pause()
            self.attempt(self.rng.choices(steps, weights)[0][1])

    def attempt(self, step: Callable[[], None]) -> None:
        try:
            step()
        except SignedOut:
            self.ledger.count("signed out, signed in again")
            with contextlib.suppress(NoResponse, SignedOut):
                self.sign_in()
        except NoResponse as exc:
            self.ledger.odd(f"no response: {exc}")
        except Exception as exc:  # a page the client cannot read: say so, carry on
            self.ledger.count("client errors")
            self.ledger.odd(f"client error in {step.__name__}: {type(exc).__name__}: {exc}")

    def pause(self, scale: float = 1.0) -> None:
        if self.think > 0:
            time.sleep(self.think * scale * self.rng.uniform(0.5, 1.5))

    # --- moving around

    def get(self, path: str) -> Response:
        response = self.browser.get(path)
        self._check_answer("GET", path, response, (200,))
        return response

    def post(
        self,
        path: str,
        fields: list[tuple[str, str]],
        files: list[FilePart] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Response:
        """Send a form; redirects are followed, so ``expect`` is the last page's status."""
        response = self.browser.post(path, fields, files)
        self._check_answer("POST", path, response, expect)
        return response

    def _check_answer(self, method: str, path: str, response: Response, expect: Any) -> None:
        if response.route.startswith("/login/"):
            raise SignedOut()
        if response.status == 403 and "not signed in any more" in response.text:
            raise SignedOut()
        if response.status not in expect:
            self.ledger.odd(f"{method} {path}: {response.status}")

    def pick_case(self, hot_share: float = 0.3) -> str:
        if self.hot and self.rng.random() < hot_share:
            return self.rng.choice(self.hot)
        return self.rng.choice(self.known)

    def learn(self, text: str) -> None:
        """Remember the cases a list shows, and how many pages it has."""
        for case in case_links(text):
            if case not in self.known:
                self.known.append(case)
        if len(self.known) > 500:  # a person remembers recent ones
            del self.known[len(self.hot) : len(self.hot) + 100]
        pages = [int(p) for p in re.findall(r"[?&;]page=(\d+)", text)]
        self.pages = max([self.pages, *pages])

    def open_case(self, case: str, add: str = "") -> Response:
        """The case page (with its form ``add`` open, as its "Add a…" link opens it), and what
        a person notices on it."""
        response = self.get(f"/cases/{case}/" + (f"?add={add}" if add else ""))
        if response.status != 200:
            return response
        text = response.text
        if len(self.names) < 200:
            self.names += [n for n in NAME_ON_PAGE.findall(text) if n != "—"]
        self.documents[case] = re.findall(rf'href="(/cases/{case}/documents/{UUID}/)"', text)
        if '?add=letter"' in text or f'action="/cases/{case}/letters/"' in text:
            self.letterable.add(case)
        return response

    # --- the steps

    def sign_in(self) -> None:
        """Password, then the authenticator code (a new one if it was refused)."""
        form = self.browser.get("/login/").page().form(r"/login/")
        if form is None:
            return self.ledger.odd("sign-in page without its form")
        form.set("username", self.account.username)
        form.set("password", self.account.password)
        response = self.browser.post(form.action, form.values())
        for _try in range(3):
            form = response.page().form(r"/login/verify/")
            if form is None:
                return self.ledger.odd(f"sign-in: no code form on {response.route}")
            form.set("code", self.account.code())
            response = self.browser.post(form.action, form.values())
            if not response.route.startswith("/login/"):
                self.ledger.count("sign-ins")
                return self.learn(response.text)
            self.ledger.count("authenticator codes refused")
        self.ledger.odd("sign-in: three codes refused")

    def dashboard(self) -> None:
        self.learn(self.get("/").text)

    def case_list(self) -> None:
        weights = [weight for weight, _query in CASE_LIST_QUERIES]
        query = self.rng.choices(CASE_LIST_QUERIES, weights)[0][1](self.rng, self.pages)
        self.learn(self.get(f"/cases/{query}").text)

    def case_page(self) -> None:
        self.open_case(self.pick_case())

    def search(self) -> None:
        """By name: mostly one seen on a case page, sometimes someone who is not there."""
        form = self.get("/cases/search/").page().form(r"/cases/search/")
        if form is None:
            return self.ledger.odd("search page without its form")
        known = self.names and self.rng.random() < 0.8
        name = html.unescape(self.rng.choice(self.names)) if known else f"Nobody {self.number}"
        form.set("kind", "name")
        form.set("query", name)
        self.pause(0.5)  # typing
        self.post(form.action, form.values())

    def edit(self) -> None:
        """Load the form, type, save: saved or refused as a conflict, never lost."""
        case = self.pick_case(hot_share=0.85)
        path = f"/cases/{case}/edit/"
        form = self.get(path).page().form(re.escape(path))
        version = form.get("version") if form else None
        if form is None or version is None:
            return
        self.edits += 1
        value = f"Loadtown {self.number}-{self.edits}"
        form.set("current_city", value)
        self.pause(3.0)  # reading the form, typing: someone else may save meanwhile
        outcome = self._save(path, form)
        self.ledger.edit(Edit(self.account.organisation, case, int(version.value), value, outcome))

    def _save(self, path: str, form: Form) -> str:
        try:
            response = self.post(path, form.values(), expect=(200, 409))
            again = response.page().form(re.escape(path)) if response.status == 200 else None
            if again is not None and again.get("confirm_dates") is not None:
                # A date in the past (an expired passport): the form asks; the person confirms.
                again.tick("confirm_dates")
                response = self.post(path, again.values(), expect=(200, 409))
        except NoResponse:
            return "unknown"
        if response.history and response.route == path.removesuffix("edit/"):
            return "saved"
        if response.status == 409 and CONFLICT_TEXT in response.text:
            return "conflict"
        self.ledger.odd(f"edit not saved: {response.status} on {response.route}")
        return "refused"

    def upload(self) -> None:
        """A small PDF (random bytes inside, so each one is unique) to a case."""
        case = self.pick_case()
        form = self.open_case(case, "upload").page().form(rf"/cases/{case}/documents/")
        if form is None:
            return
        content = b"%PDF-1.4\n% casework load test\n" + secrets.token_bytes(
            self.rng.randint(200, 8000)
        )
        form.set("doc_type", "other")
        form.set("title", f"Load test scan {self.number}")
        upload = Upload(
            self.account.organisation, case, hashlib.sha256(content).hexdigest(), len(content), None
        )
        try:
            answer = self.post(
                form.action,
                form.values(),
                [FilePart("file", "scan.pdf", "application/pdf", content)],
            )
        except NoResponse:
            self.ledger.upload(upload)
            raise
        saved = bool(answer.history) and answer.status == 200
        self.ledger.upload(dataclasses.replace(upload, saved=saved))

    def reveal(self) -> None:
        """Show one masked field; the page that follows shows it (once)."""
        case = self.pick_case()
        page = self.open_case(case).page()
        forms = [f for f in page.forms if f.action == f"/cases/{case}/reveal/"]
        if not forms:
            return
        form = self.rng.choice(forms)
        self.pause(0.3)
        response = self.post(form.action, form.values())
        shown = f'id="revealed-{dict(form.values()).get("field")}"'
        if response.status == 200 and shown not in response.text:
            self.ledger.odd("a revealed field was not shown")

    def download(self) -> None:
        with_documents = [case for case, links in self.documents.items() if links]
        if not with_documents:
            return self.case_page()
        self.get(self.rng.choice(self.documents[self.rng.choice(with_documents)]))

    def request_letter(self) -> None:
        """A caseworker asks for a letter for the case's latest route attempt: a draft."""
        if not self.letterable:
            return self.case_page()
        case = self.rng.choice(sorted(self.letterable))
        form = self.open_case(case, "letter").page().form(rf"/cases/{case}/letters/")
        if form is None:
            return
        language = form.get("language")
        if language is not None and any(value == "en" for value, _s in language.options):
            form.set("language", "en")
        form.set("facts", "March 2023: threatened at work after being outed (Annex 1).")
        form.set("why_route", "The programme is for persecuted members of civil society.")
        form.set("urgency", "The legal stay in the transit country ends soon.")
        annexes = [c for c in form.controls if c.name == "annexes"]
        for control in annexes[:3]:  # the demo's verified documents come first
            control.checked = True
        self.pause(2.0)  # writing it
        response = self.post(form.action, form.values())
        if response.history and "/letters/" in response.route:
            self.ledger.count("letters requested")

    def issue_letter(self) -> None:
        """A coordinator finds a draft, reads it and issues it (step-up if asked)."""
        cases = case_links(self.get("/cases/?letter_draft=1").text)
        if not cases:
            return
        case = self.rng.choice(cases)
        text = self.open_case(case).text
        letters = list(dict.fromkeys(re.findall(rf'href="(/cases/{case}/letters/{UUID}/)"', text)))
        self.rng.shuffle(letters)
        for letter in letters[:3]:
            form = self.get(letter).page().form(rf"{re.escape(letter)}issue/")
            if form is None:
                continue  # issued already
            if form.buttons_disabled:
                self.ledger.count("letter drafts with blockers")
                continue
            self.pause(1.0)  # reading it
            return self._issue(letter, form)

    def _issue(self, letter: str, form: Form) -> None:
        form.tick("accept_warnings")
        response = self.post(form.action, form.values())
        if response.route == "/account/reauthenticate/":
            self._step_up(response)
            again = self.get(letter).page().form(rf"{re.escape(letter)}issue/")
            if again is None:
                return self.ledger.count("letters issued by someone else first")
            again.tick("accept_warnings")
            response = self.post(again.action, again.values())
        if "The letter was issued" in response.text:
            self.ledger.count("letters issued")
            if self.rng.random() < 0.5:
                self.get(f"{letter}pdf/")
        elif "not a draft" in response.text:
            self.ledger.count("letters issued by someone else first")
        else:
            self.ledger.odd(f"letter not issued: {response.status} on {response.route}")

    def _step_up(self, response: Response) -> None:
        form = response.page().form(r"/account/reauthenticate/")
        if form is None:
            return self.ledger.odd("step-up page without its form")
        form.set("code", self.account.code())
        answer = self.post(form.action, form.values())
        self.ledger.count("step-ups")
        if answer.route == "/account/reauthenticate/":
            self.ledger.odd("step-up code refused")


# --- afterwards: what the application kept ---------------------------------------------------


@dataclass
class Outcome:
    """The figures of a run and the checks that failed (one line each)."""

    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_edits(checkers: dict[str, Person], ledger: Ledger, outcome: Outcome) -> None:
    """Every save is in the case's version and the last save's value is what is stored: two
    saves from the same version, or fewer versions than saves, is a lost update."""
    by_case: dict[tuple[str, str], list[Edit]] = defaultdict(list)
    for edit in ledger.edits:
        by_case[(edit.organisation, edit.case)].append(edit)
    lost = 0
    for (organisation, case), edits in sorted(by_case.items()):
        path = f"/cases/{case}/edit/"
        form = checkers[organisation].get(path).page().form(re.escape(path))
        if form is None or form.get("version") is None:
            outcome.failures.append(f"lost update check: cannot read the edit form of case {case}")
            continue
        version = int(form.get("version").value)  # type: ignore[union-attr]
        stored = form.get("current_city").value  # type: ignore[union-attr]
        saved = [e for e in edits if e.outcome == "saved"]
        unknown = sum(1 for e in edits if e.outcome == "unknown")
        base = min(e.version for e in edits)
        twice = sum(n - 1 for n in Counter(e.version for e in saved).values())
        missing = max(twice, len(saved) - (version - base))
        if missing:
            lost += missing
            outcome.failures.append(
                f"lost update: case {case}: {len(saved)} saves acknowledged from version {base}, "
                f"version now {version} ({twice} saved from a version another save had used)"
            )
        elif version - base > len(saved) + unknown:
            outcome.failures.append(
                f"case {case}: version went from {base} to {version} with {len(saved)} saves "
                "acknowledged: a save was answered as not saved"
            )
        elif saved and not unknown and stored != max(saved, key=lambda e: e.version).value:
            lost += 1
            outcome.failures.append(
                f"lost update: case {case}: the stored value is not the last acknowledged save's"
            )
    outcome.figures["edited_cases"] = len(by_case)
    outcome.figures["lost_updates"] = lost


def check_uploads(checkers: dict[str, Person], ledger: Ledger, outcome: Outcome) -> None:
    """Every acknowledged upload downloads, through the application, byte for byte."""
    by_case: dict[tuple[str, str], list[Upload]] = defaultdict(list)
    for upload in ledger.uploads:
        if upload.saved:
            by_case[(upload.organisation, upload.case)].append(upload)
    found = bad = 0
    for (organisation, case), uploads in sorted(by_case.items()):
        checker = checkers[organisation]
        text = checker.get(f"/cases/{case}/").text
        stored: set[str] = set()
        for link in dict.fromkeys(re.findall(rf'href="(/cases/{case}/documents/{UUID}/)"', text)):
            answer = checker.browser.get(link)
            if answer.status == 200:
                stored.add(hashlib.sha256(answer.body).hexdigest())
            else:
                bad += 1
                outcome.failures.append(f"document download failed: {link}: {answer.status}")
        for upload in uploads:
            if upload.sha256 in stored:
                found += 1
            else:
                bad += 1
                outcome.failures.append(
                    f"uploaded document not found intact: case {case} ({upload.size} bytes)"
                )
    outcome.figures["documents_uploaded"] = sum(len(u) for u in by_case.values())
    outcome.figures["documents_intact"] = found
    outcome.figures["documents_bad"] = bad


def verify_audit(env: dict[str, str], outcome: Outcome) -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    outcome.figures["audit_verified"] = done.returncode == 0
    if done.returncode == 0:
        outcome.notes.append(done.stdout.strip().splitlines()[-1])
    else:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        outcome.failures.append(f"manage.py verify_audit failed: {last}")


# --- the report ------------------------------------------------------------------------------


def is_error(sample: Sample) -> bool:
    conflict = sample.kind == "edit save" and sample.status == 409
    return (sample.status >= 400 or sample.status == 0) and not conflict


def summarise(samples: list[Sample], elapsed: float, outcome: Outcome) -> list[list[str]]:
    """Per kind and overall: count, p50/p95/p99/max, errors. Returns the table's rows."""
    order = [kind for _m, _p, kind in KINDS]
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    kinds = sorted(by_kind, key=lambda k: (order.index(k) if k in order else len(order), k))
    rows = []
    figures: dict[str, Any] = {}
    for kind, group in [*((k, by_kind[k]) for k in kinds), ("all requests", samples)]:
        ordered = sorted(s.ms for s in group)
        stats = {
            "n": len(group),
            "p50_ms": round(percentile(ordered, 0.50), 1),
            "p95_ms": round(percentile(ordered, 0.95), 1),
            "p99_ms": round(percentile(ordered, 0.99), 1),
            "max_ms": round(ordered[-1], 1) if ordered else None,
            "errors": sum(1 for s in group if is_error(s)),
        }
        figures[kind] = stats
        rows.append(
            [
                kind,
                str(stats["n"]),
                *(f"{stats[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                str(stats["errors"]) if stats["errors"] else "",
            ]
        )
    errors = Counter(s.status for s in samples if is_error(s))
    overall, listing = figures["all requests"], figures.get("case list", {})
    outcome.figures |= {
        "requests": len(samples),
        "seconds_measured": round(elapsed, 1),
        "requests_per_second": round(len(samples) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": overall["p50_ms"],
        "p95_ms": overall["p95_ms"],
        "p99_ms": overall["p99_ms"],
        "case_list_p50_ms": listing.get("p50_ms"),
        "case_list_p95_ms": listing.get("p95_ms"),
        "case_list_p99_ms": listing.get("p99_ms"),
        "errors_by_status": {str(k): v for k, v in sorted(errors.items())},
        "errors_5xx": sum(n for status, n in errors.items() if status >= 500),
        "no_response": errors.get(0, 0),
        "edit_conflicts_409": sum(1 for s in samples if s.kind == "edit save" and s.status == 409),
        "kinds": {k: v for k, v in figures.items() if k != "all requests"},
    }
    for sample in [s for s in samples if s.status >= 500][:10]:
        outcome.failures.append(
            f"HTTP {sample.status}: {sample.method} {sample.path} ({sample.kind})"
        )
    if outcome.figures["errors_5xx"] > 10:
        outcome.failures.append(f"... {outcome.figures['errors_5xx']} answers 5xx in all")
    if outcome.figures["no_response"]:
        outcome.failures.append(f"{outcome.figures['no_response']} requests got no response")
    return rows


def table(rows: list[list[str]]) -> str:
    header = ["page kind", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for number, row in enumerate([header, *rows]):
        if number == len(rows):  # the "all requests" row, ruled off
            lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def memory_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        lines.append(
            f"  worker {row['pid']}: {mib(row['start_kib'])} -> {mib(row['end_kib'])} "
            f"({row['growth_kib'] / 1024:+.1f} MiB; peak {mib(row['peak_kib'])}; "
            f"second half {row['second_half_growth_kib'] / 1024:+.1f} MiB; "
            f"{row['samples']} samples)"
        )
    return lines


def report(
    args: argparse.Namespace, rows: list[list[str]], ledger: Ledger, outcome: Outcome
) -> None:
    f, events = outcome.figures, ledger.events
    print()
    print(
        f"Load test: {f['users']} users ({f['caseworkers']} caseworkers, {f['coordinators']} "
        f"coordinators), gunicorn {args.workers} workers x {args.threads} thread(s), "
        f"{f['seconds_measured']:.0f} s (arriving over {args.ramp:g} s), think time "
        f"{args.think:g} s, PostgreSQL, {f['cores']} cores; machine load average "
        f"{f['load_average_before']:.1f} before, {f['load_average_after']:.1f} after"
    )
    print(table(rows))
    print(
        f"throughput: {f['requests_per_second']:.1f} requests/s ({f['requests']} requests in "
        f"{f['seconds_measured']:.1f} s); load generator CPU {f['client_cpu_share']:.0%} of "
        f"the machine, gunicorn workers {f['workers_cpu_share']:.0%}"
    )
    errors = ", ".join(f"{k}: {v}" for k, v in f["errors_by_status"].items()) or "none"
    print(
        f"errors by status: {errors} (0: no response); edit conflicts (409, expected): "
        f"{f['edit_conflicts_409']}"
    )
    print(
        f"edits: {events['edit saved']} saved, {events['edit conflict']} refused as conflicts, "
        f"{events['edit refused']} not saved (form errors), {events['edit unknown']} unanswered; "
        f"{f['edited_cases']} cases checked, {f['lost_updates']} lost updates"
    )
    print(
        f"documents: {f['documents_uploaded']} uploaded, {f['documents_intact']} downloaded "
        f"again byte for byte"
    )
    print(
        f"letters: {events['letters requested']} requested, {events['letters issued']} issued "
        f"({events['letters issued by someone else first']} issued by someone else first, "
        f"{events['letter drafts with blockers']} drafts with blockers seen); step-up codes: "
        f"{events['step-ups']}"
    )
    print(
        f"sign-ins: {events['sign-ins']} ({events['signed out, signed in again']} after being "
        f"signed out, {events['authenticator codes refused']} codes refused); other unexpected "
        f"answers: {events['unexpected answers']}"
    )
    for anomaly in ledger.anomalies[:10]:
        print(f"  unexpected: {anomaly}")
    print("worker memory (VmRSS, first and last sample of each worker):")
    print("\n".join(memory_lines(f["worker_rss"])) or "  (no sample)")
    for note in outcome.notes:
        print(note)
    met = f["case_list_p95_ms"] is not None and f["case_list_p95_ms"] < TARGET_CASE_LIST_P95_MS
    print(
        f"target: case list p95 < {TARGET_CASE_LIST_P95_MS:.0f} ms with 2 workers on 2 cores: "
        f"{f['case_list_p95_ms']} ms with {args.workers} workers on {f['cores']} cores, "
        f"{'met' if met else 'NOT met'}"
    )
    f["target_case_list_p95_ms"] = TARGET_CASE_LIST_P95_MS
    f["target_met"] = met


# --- running it ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drive(
    args: argparse.Namespace,
    server: Server,
    accounts: list[Account],
    hot: dict[str, list[str]],
    ledger: Ledger,
    outcome: Outcome,
) -> list[list[str]]:
    recorder = Recorder()
    workers = [a for a in accounts if a.works]
    people = [
        Person(n, a, server.url, hot[a.organisation], recorder, ledger, args.think, args.seed + n)
        for n, a in enumerate(workers, 1)
    ]
    sampler = MemorySampler(server, args.sample_every)
    pids = server.worker_pids()
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    own_before = own_cpu_seconds()
    load_before = os.getloadavg()[0]
    sampler.start()
    started = time.monotonic()
    for person in people:  # arriving over the ramp, not all in the same second
        person.deadline = started + args.seconds
        person.start()
        time.sleep(args.ramp / len(people))
    for person in people:
        person.join(timeout=max(1.0, started + args.seconds + 300 - time.monotonic()))
    elapsed = time.monotonic() - started
    recorder.measuring = False
    sampler.stop()
    cores = os.cpu_count() or 1
    if set(server.worker_pids()) != set(pids):
        outcome.failures.append(
            f"gunicorn workers were replaced during the run: {sorted(pids)} -> "
            f"{server.worker_pids()} (a crash or a timeout; see server.log)"
        )
    workers_cpu = sum(cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in server.worker_pids())
    outcome.figures |= {
        "users": len(people),
        "caseworkers": sum(1 for p in people if not p.coordinator),
        "coordinators": sum(1 for p in people if p.coordinator),
        "workers": args.workers,
        "threads": args.threads,
        "think_seconds": args.think,
        "cores": cores,
        "client_cpu_share": (own_cpu_seconds() - own_before) / (elapsed * cores),
        "workers_cpu_share": workers_cpu / (elapsed * cores),
        "worker_rss": sampler.figures(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }
    outcome.figures["worker_rss_start_kib"] = [
        w["start_kib"] for w in outcome.figures["worker_rss"]
    ]
    outcome.figures["worker_rss_end_kib"] = [w["end_kib"] for w in outcome.figures["worker_rss"]]
    if ledger.events["unexpected answers"]:
        outcome.failures.append(
            f"{ledger.events['unexpected answers']} answers were not the page asked for "
            "(the 'unexpected' lines say which)"
        )
    if ledger.events["client errors"]:
        outcome.failures.append(
            f"the load client could not read pages {ledger.events['client errors']} times "
            "(the 'unexpected' lines say where)"
        )
    if any(p.is_alive() for p in people):
        outcome.failures.append("some simulated people were still busy 300 s after the end")
    return summarise(list(recorder.samples), elapsed, outcome)


def check(server: Server, accounts: list[Account], ledger: Ledger, outcome: Outcome) -> None:
    """Sign in as each demo coordinator (sessions of their own) and read back what was done."""
    checkers = {}
    for account in accounts:
        if (
            account.role == "coordinator"
            and account.username == f"{account.organisation}-coordinator"
        ):
            checker = Person(0, account, server.url, [], Recorder(), Ledger(), 0.0, 0)
            checker.sign_in()
            checkers[account.organisation] = checker
    check_edits(checkers, ledger, outcome)
    check_uploads(checkers, ledger, outcome)


def prepare(args: argparse.Namespace, data_dir: Path, database: Database) -> dict[str, str]:
    """Migrate, keys, demo data, colleagues: as an operator sets up a demo instance."""
    env = {
        **os.environ,
        "CASEWORK_ENV": "dev",
        "CASEWORK_DATA_DIR": str(data_dir),
        "DATABASE_URL": database.url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CASEWORK_DEBUG", None)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("migrate", lambda: manage(env, "migrate", "--noinput", "-v0")),
        ("init_keys", lambda: manage(env, "init_keys", "--if-missing")),
        ("seed_demo", lambda: manage(env, "seed_demo", f"--applicants={args.applicants}")),
        (
            "colleagues",
            lambda: subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    __file__,
                    "--add-people",
                    str(data_dir / "people.json"),
                    "--users",
                    str(args.users),
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=1800,
            ),
        ),
        # As in bench_cases.settle: the freshly loaded tables vacuumed before the run, not by
        # autovacuum during it.
        ("vacuum", database.vacuum),
    ]
    for name, step in steps:
        started = time.perf_counter()
        try:
            step()
        except subprocess.CalledProcessError as failed:
            lines = failed.stderr.decode(errors="replace").strip().splitlines() or ["?"]
            raise SystemExit(f"{name} failed:\n" + "\n".join(lines[-6:])) from None
        say(f"{name}: {time.perf_counter() - started:.1f} s")
    return env


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_accounts(path: Path) -> tuple[list[Account], dict[str, list[str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Account(**a) for a in data["accounts"]], data["hot"]


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise SystemExit(
            "bench/load.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name "
            "(a database of its own is created next to it and dropped afterwards)."
        )
    return url


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20, help="simulated people (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    parser.add_argument("--short", action="store_true", help="15 seconds")
    parser.add_argument(
        "--think", type=float, default=1.0, help="average pause between steps, s (default 1)"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        help="people arrive over this many seconds (default: a tenth of the run, at most 10)",
    )
    parser.add_argument("--applicants", type=int, default=0, help="seed_demo --applicants N")
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling, s")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the people")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--add-people", type=Path, help=argparse.SUPPRESS)  # the child step
    args = parser.parse_args()
    if args.short:
        args.seconds = 15.0
    if args.ramp is None:
        args.ramp = min(10.0, args.seconds / 10)
    if args.users < 1 or args.workers < 1 or args.threads < 1 or args.seconds <= 0:
        parser.error("--users, --workers, --threads and --seconds must be positive")
    return args


def run(args: argparse.Namespace, data_dir: Path, database: Database, outcome: Outcome) -> None:
    env = prepare(args, data_dir, database)
    accounts, hot = load_accounts(data_dir / "people.json")
    server = Server(env, data_dir / "server.log", args.workers, args.threads)
    ledger = Ledger()
    try:
        server.start()
        say(
            f"gunicorn: {args.workers} workers on {server.url}; {args.users} people for "
            f"{args.seconds:g} s"
        )
        rows = drive(args, server, accounts, hot, ledger, outcome)
        check(server, accounts, ledger, outcome)
    finally:
        server.stop()
    verify_audit(env, outcome)
    report(args, rows, ledger, outcome)


def main() -> int:
    args = parse_args()
    if args.add_people:
        add_people(args.add_people, args.users)
        return 0
    database = Database(database_url())
    parent = Path(os.environ.get("CASEWORK_DATA_DIR") or ROOT / "var")
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir = Path(tempfile.mkdtemp(prefix="load-", dir=parent))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below
    outcome = Outcome()
    say(f"data directory {data_dir}; database {database.name}")
    try:
        database.create()
        run(args, data_dir, database, outcome)
    except BaseException:
        outcome.failures.append("the run stopped early")
        raise
    finally:
        database.drop()
        if args.json:
            figures = {**outcome.figures, "failures": outcome.failures}
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        if outcome.failures or args.keep:
            say(f"kept {data_dir} (server.log)")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    if outcome.failures:
        print("\nFAILED:")
        for reason in outcome.failures:
            print(f"  {reason}")
        return 1
    print("\nAll checks passed: no 5xx, audit chain intact, no lost update, documents intact.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
