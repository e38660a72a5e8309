"""Browser tests: Debian's Chromium, driven by Playwright, against the application served by
gunicorn on 127.0.0.1 with a data directory (and, on PostgreSQL, a database) of its own.

The Django test client sends no ``Origin`` header and runs no browser policy, which is how a
suite once stayed green while no browser could sign in. Here a real browser types, clicks and
submits, as a person does. Screenshots of every key page go to var/e2e-screenshots/<engine>/
(git-ignored); axe-core checks the pages for serious and critical accessibility violations.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.helpers import Account, App

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CASEWORK_E2E_CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps trying to reach Google, which this network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Step-up ("confirm it is you") is asked for when the last second factor is older than this:
# short here, so that the tests meet the step-up page the way a person meets it after a while.
STEP_UP_SECONDS = 20
LOGIN_LINE = re.compile(
    r"(?P<org>.+?)\s{2,}(?P<role>caseworker|coordinator|auditor|org_admin)\s+"
    r"username: (?P<username>\S+)\s+password: (?P<password>\S+)\s+"
    r"authenticator secret: (?P<secret>\S+)"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = (
        f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium'); "
        "the browser tests need it: make test installs it when run as root."
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message + " Skipped because CI is not set.")


@pytest.fixture(scope="session")
def app(chromium_path, tmp_path_factory) -> Iterator[App]:
    """The application as an operator runs it: migrate, keys, demo data, gunicorn."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    database = _own_database()
    env = {
        **os.environ,
        "CASEWORK_ENV": "dev",
        "CASEWORK_DATA_DIR": str(data_dir),
        "CASEWORK_STEP_UP_SECONDS": str(STEP_UP_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    if database:
        env["DATABASE_URL"] = database.url
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # a port of its own, chosen by the kernel, held from now on
    listener.listen(128)
    listener.set_inheritable(True)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env["CASEWORK_VERIFY_BASE_URL"] = url
    log_path = data_dir / "server.log"
    server = None
    try:
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "init_keys", "--if-missing")
        accounts = _accounts(_manage(env, "seed_demo"))
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "casework.wsgi",
                    f"--bind=fd://{listener.fileno()}",
                    "--workers=2",
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
        _wait_until_up(url, server, log_path)
        yield App(url=url, data_dir=data_dir, accounts=accounts, env=env, log=log_path)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        listener.close()
        if database:
            database.drop()


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}", pytrace=False)
    return done.stdout


def _accounts(seed_output: str) -> dict[str, Account]:
    accounts = {}
    for match in LOGIN_LINE.finditer(seed_output):
        accounts[match["username"]] = Account(
            username=match["username"],
            password=match["password"],
            secret=match["secret"],
            role=match["role"],
        )
    assert accounts, "seed_demo printed no logins"
    return accounts


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer within 60 s:\n{log.read_text()[-3000:]}")


class _Database:
    """A PostgreSQL database of this run's own, next to the one the other tests use."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.name = f"{parts.path.lstrip('/') or 'casework'}_e2e_{os.getpid()}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)


def _own_database() -> _Database | None:
    base = os.environ.get("DATABASE_URL", "")
    return _Database(base) if base else None


@pytest.fixture
def browser(chromium_path) -> Iterator[Any]:
    """A browser per test. Playwright's synchronous API runs an event loop in this thread
    while it is open; kept open for the session, it would make every later database test
    in the same run fail as "async" (SynchronousOnlyOperation)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """var/e2e-screenshots/<engine>/, emptied at the start of each run."""
    engine = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    folder = ROOT / "var" / "e2e-screenshots" / engine
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def new_context(browser, app):
    """A fresh browser profile: no cookies, as a person on another machine."""
    contexts = []

    def make(**options):
        options.setdefault("locale", "en-GB")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=app.url, accept_downloads=True, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()
