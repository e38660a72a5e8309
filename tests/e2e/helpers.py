"""What the browser tests do the way a person does it: sign in, give a code, look at a page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

TOTP_STEP = 30


@dataclass
class Authenticator:
    """The authenticator app on the person's phone (pyotp computes the codes).

    The server accepts each time step once (no replay) and one step either side of now, so
    a quick second code is the next step's; a third waits for the clock, as a person would.
    A code is never the previous step's: that one expires at the next step boundary, which a
    busy machine may cross between typing the code and the server checking it (a CI run
    once failed so); the current step's stays valid for 30 to 60 seconds.
    """

    secret: str
    last_step: int = -1

    def code(self) -> str:
        now = int(time.time()) // TOTP_STEP
        step = max(now, self.last_step + 1)
        if step > now + 1:
            time.sleep((step - 1) * TOTP_STEP - time.time() + 0.5)
        self.last_step = step
        return pyotp.TOTP(self.secret).at(step * TOTP_STEP)


@dataclass
class Account:
    username: str
    password: str
    secret: str
    role: str = ""
    backup_codes: list[str] = field(default_factory=list)
    _app: Authenticator | None = None

    @property
    def authenticator(self) -> Authenticator:
        if self._app is None:
            self._app = Authenticator(self.secret)
        return self._app


@dataclass
class App:
    url: str
    data_dir: Path
    accounts: dict[str, Account]
    env: dict[str, str]
    log: Path

    def account(self, username: str) -> Account:
        return self.accounts[username]


def sign_in(page, account: Account) -> None:
    """Password, then the authenticator code, typed and submitted as a person does."""
    page.goto("/login/")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    page.get_by_label("Code").fill(account.authenticator.code())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/**")


def step_up_if_asked(page, account: Account) -> bool:
    """Give a fresh code on the "Confirm it is you" page when it appears."""
    if "/account/reauthenticate/" not in page.url:
        return False
    page.get_by_label("Code").fill(account.authenticator.code())
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(lambda url: "/account/reauthenticate/" not in url)
    return True


def shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


SERIOUS = {"serious", "critical"}


def assert_accessible(page, name: str) -> None:
    """axe-core finds no violation of impact serious or critical on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    problems = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    lines = [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in problems
    ]
    assert not problems, f"axe on {name} ({page.url}):\n" + "\n".join(lines)
