"""The application as an operator runs it, for the operations tests: ``migrate``,
``init_keys`` and ``seed_demo`` into a PostgreSQL database and a data directory (once per test
run; each module gets a copy of both), gunicorn on a port the kernel chose; and a small HTTP
client that behaves like a browser (cookies, the Origin header, the forms' CSRF tokens, no
redirect followed unless asked).

Same pattern as tests/e2e/conftest.py, without the browser.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from tests.e2e.helpers import Account

ROOT = Path(__file__).resolve().parents[2]
DATABASE_PREFIX = "casework_h_ops"
LOGIN_LINE = re.compile(
    r"(?P<org>.+?)\s{2,}(?P<role>caseworker|coordinator|auditor|org_admin)\s+"
    r"username: (?P<username>\S+)\s+password: (?P<password>\S+)\s+"
    r"authenticator secret: (?P<secret>\S+)"
)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def require_postgresql() -> str:
    """The base DATABASE_URL; skips the calling test on SQLite, saying why."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL=postgres://...): runs gunicorn against a "
            "PostgreSQL database of its own, which it cuts off or shares between processes"
        )
    return base


# --- the database -------------------------------------------------------------------------------


class Database:
    """A PostgreSQL database of this run's own (casework_h_ops_<label>_<pid>), dropped after."""

    def __init__(self, base_url: str, label: str) -> None:
        parts = urlsplit(base_url)
        self.name = f"{DATABASE_PREFIX}_{label}_{os.getpid()}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))

    def create(self, *, template: str = "") -> None:
        """A new, empty database; or a copy of ``template`` (which nobody may be connected to)."""
        self.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{self.name}"{copy}')

    def drop(self) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def execute(self, statement: str, *params: Any) -> None:
        """A statement run from the ``postgres`` database, as an administrator would."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement, params or None)  # type: ignore[arg-type]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows read straight from the application's database (what is really stored)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            return connection.execute(sql, params or None).fetchall()  # type: ignore[arg-type]

    def terminate_backends(self) -> int:
        """What a PostgreSQL restart does to the application: every connection cut."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.name],
            ).fetchall()
        return len(rows)

    @contextmanager
    def down(self) -> Iterator[None]:
        """The database refuses connections (as while PostgreSQL restarts), then comes back."""
        self.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        try:
            self.terminate_backends()
            yield
        finally:
            self.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


# --- an installation: database, data directory, keys, demo data ---------------------------------


@dataclass
class Instance:
    database: Database
    data_dir: Path
    env: dict[str, str]
    accounts: dict[str, Account]

    def account(self, username: str) -> Account:
        return self.accounts[username]

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603  # our own interpreter and manage.py
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode != 0:
            pytest.fail(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}", pytrace=False)
        return done


@contextmanager
def installation(label: str, tmp_path_factory: Any, config: Any) -> Iterator[Instance]:
    """An installation of its own: a copy of the one seeded for this test run (its database
    cloned, its data directory copied), dropped afterwards."""
    seeded = _seeded_once(tmp_path_factory, config)
    database = Database(require_postgresql(), label)
    data_dir = tmp_path_factory.mktemp(f"ops-{label}")
    shutil.copytree(seeded.data_dir, data_dir, symlinks=True, dirs_exist_ok=True)
    database.create(template=seeded.database.name)
    try:
        accounts = {
            name: Account(a.username, a.password, a.secret, a.role)  # authenticators of its own
            for name, a in seeded.accounts.items()
        }
        yield Instance(database, data_dir, _environment(database, data_dir), accounts)
    finally:
        database.drop()


# Seeding (migrate, init_keys, seed_demo) takes half a minute on a busy machine: it is done
# once per test run, and each module gets a copy of it.
_SEEDED: list[Instance] = []


def _seeded_once(tmp_path_factory: Any, config: Any) -> Instance:
    if not _SEEDED:
        database = Database(require_postgresql(), "seed")
        data_dir = tmp_path_factory.mktemp("ops-seed")
        database.create()
        config.add_cleanup(database.drop)  # when the test run ends
        instance = Instance(database, data_dir, _environment(database, data_dir), {})
        instance.manage("migrate", "--noinput", "-v0")
        instance.manage("init_keys", "--if-missing")
        instance.accounts = _accounts(instance.manage("seed_demo").stdout)
        _SEEDED.append(instance)
    return _SEEDED[0]


def _environment(database: Database, data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the test run's own instance may leak into this one.
        if not key.startswith(("CASEWORK_", "DJANGO_", "SECRET_KEY")) and key != "DATABASE_URL"
    }
    return env | {
        "CASEWORK_ENV": "dev",
        "CASEWORK_DATA_DIR": str(data_dir),
        "DATABASE_URL": database.url,
        "PYTHONUNBUFFERED": "1",
    }


def _accounts(seed_output: str) -> dict[str, Account]:
    accounts = {
        match["username"]: Account(
            username=match["username"],
            password=match["password"],
            secret=match["secret"],
            role=match["role"],
        )
        for match in LOGIN_LINE.finditer(seed_output)
    }
    assert accounts, "seed_demo printed no logins"
    return accounts


# --- gunicorn -----------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    listener: socket.socket = field(repr=False)

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing to keep
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.listener.close()


@contextmanager
def serve(instance: Instance, name: str, *, workers: int = 2) -> Iterator[Server]:
    """gunicorn on a free port of 127.0.0.1, as the operator's systemd unit runs it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # chosen by the kernel and held from now on
    listener.listen(128)
    listener.set_inheritable(True)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    log_path = instance.data_dir / f"gunicorn-{name}.log"
    env = {"CASEWORK_VERIFY_BASE_URL": url, **instance.env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # our own interpreter and gunicorn
            [
                sys.executable,
                "-m",
                "gunicorn",
                "casework.wsgi",
                f"--bind=fd://{listener.fileno()}",
                f"--workers={workers}",
                "--threads=4",
                "--timeout=120",
                "--graceful-timeout=5",
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[listener.fileno()],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(url, process, log_path, listener)
    try:
        wait_until_up(server, workers=workers)
        yield server
    finally:
        server.stop()


def wait_until_up(server: Server, *, workers: int, seconds: float = 60) -> None:
    """Until /healthz answers 200 and gunicorn runs ``workers`` workers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{server.log_text()[-3000:]}", pytrace=False)
        if len(server.worker_pids()) == workers and Browser(server.url).get("/healthz").ok:
            return
        time.sleep(0.1)
    pytest.fail(f"the server did not answer within {seconds} s:\n{server.log_text()[-3000:]}")


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kill(pid: int) -> None:
    with suppress(ProcessLookupError):  # it ended by itself
        os.kill(pid, signal.SIGKILL)


# --- a browser, without the browser -------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf_token(self) -> str:
        match = CSRF_FIELD.search(self.text)
        assert match, f"no form with a CSRF token on this page ({self.status})"
        return unescape(match[1])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """Cookies kept per host (a cookie set by one port is sent to the other, as a browser
    does for 127.0.0.1), the Origin a browser sends with a form, nothing followed unasked."""

    def __init__(self, url: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.url = url
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.language = "en"
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )

    def at(self, url: str) -> Browser:
        """The same cookies, another server (the other process, same host)."""
        other = Browser(url, self.jar)
        other.language = self.language
        return other

    def get(self, path: str) -> Response:
        return self._send(urllib.request.Request(self.url + path))  # noqa: S310  # http://127.0.0.1

    def post(
        self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
    ) -> Response:
        if files:
            body, content_type = _multipart(fields, files)
        else:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.url + path, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", content_type)
        request.add_header("Origin", self.url)
        request.add_header("Sec-Fetch-Site", "same-origin")
        request.add_header("Referer", self.url + path)
        return self._send(request)

    def submit(
        self,
        form_page: str,
        action: str,
        fields: dict[str, str],
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> Response:
        """Open ``form_page``, take its CSRF token, post ``fields`` to ``action``."""
        token = self.get(form_page).csrf_token()
        return self.post(action, {"csrfmiddlewaretoken": token, **fields}, files)

    def follow(self, response: Response) -> Response:
        while response.status in (301, 302, 303):
            response = self.get(urlsplit(response.location).path or response.location)
        return response

    def sign_in(self, account: Account) -> Response:
        """Password, then the authenticator code; the page the person lands on."""
        answer = self.submit(
            "/login/", "/login/", {"username": account.username, "password": account.password}
        )
        assert answer.location.endswith("/login/verify/"), (answer.status, answer.text[:500])
        answer = self.submit(
            "/login/verify/", "/login/verify/", {"code": account.authenticator.code()}
        )
        assert answer.status == 302 and "/login" not in answer.location, answer.text[:500]
        return self.follow(answer)

    def _send(self, request: urllib.request.Request, timeout: float = 60) -> Response:
        request.add_header("Accept-Language", self.language)
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, _lower(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, _lower(error.headers), error.read())


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body, as a browser sends a form with a file."""
    boundary = f"----ops{secrets.token_hex(12)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = "".join(parts).encode()
    for name, (filename, content) in files.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
