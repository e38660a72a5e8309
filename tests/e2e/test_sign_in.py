"""Signing in from a real browser: with the mouse, with the keyboard alone, and what a forged
form from another site meets."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, shot, sign_in, sign_out


def test_a_caseworker_signs_in_and_out(page, app, screenshots):
    account = app.account("rainbow-caseworker")
    page.goto("/")
    expect(page).to_have_url(f"{app.url}/login/?next=%2F")
    assert_accessible(page, "sign-in")
    shot(page, screenshots, "01-sign-in")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    assert_accessible(page, "second step")
    shot(page, screenshots, "02-second-step")
    page.get_by_label("Code").fill(account.authenticator.code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert_accessible(page, "dashboard")
    shot(page, screenshots, "03-dashboard-caseworker")
    sign_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_code_is_named_and_the_next_right_one_signs_in(page, app):
    account = app.account("northern-caseworker")
    page.goto("/login/")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_contain_text("That code did not work")
    assert_accessible(page, "second step with a wrong code")
    page.wait_for_timeout(1500)  # reading the message; each failure holds codes back briefly
    page.get_by_label("Code").fill(account.authenticator.code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _tab_to(page, selector: str, limit: int = 25) -> None:
    """Press Tab until the element is focused, as a keyboard user does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def test_sign_in_and_opening_a_case_with_the_keyboard_alone(page, app, screenshots):
    account = app.account("rainbow-coordinator")
    page.goto("/login/")
    _tab_to(page, "#id_username")
    page.keyboard.type(account.username)
    page.keyboard.press("Tab")
    page.keyboard.type(account.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/login/verify/")
    _tab_to(page, "#id_code")
    page.keyboard.type(account.authenticator.code())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    _tab_to(page, "main a[href^='/cases/'][href$='/'][href*='-']")
    shot(page, screenshots, "04-keyboard-focus-on-a-case")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cases/*/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SP-")


@pytest.mark.parametrize(
    "attacker",
    [
        "https://attacker.example/",  # another site: the Strict cookies stay at home
        "http://127.0.0.1:9/",  # same site, another origin: the cookies go, the Origin differs
    ],
)
def test_a_form_posted_from_another_origin_changes_nothing(new_context, app, screenshots, attacker):
    """The attacker's move: their page posts a note into a case of a signed-in caseworker.
    Django refuses the Origin; the refusal is our own page, reflects nothing of the forged
    form and offers nothing to send again; the case has no such note."""
    context = new_context()
    page = context.new_page()
    sign_in(page, app.account("rainbow-caseworker"))
    page.get_by_role("link", name="Cases", exact=True).click()
    page.locator("main table tbody a").first.click()
    case_url = page.url
    forged = (
        f'<!doctype html><form method="post" action="{case_url}notes/">'
        '<input name="text" value="forged-by-another-origin"></form>'
    )
    context.route(attacker + "**", lambda r: r.fulfill(body=forged, content_type="text/html"))
    page.goto(attacker)
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")
    expect(page.get_by_role("heading", name="This form had expired")).to_be_visible()
    assert "forged-by-another-origin" not in page.content()
    expect(page.get_by_role("button", name="Send it again")).to_have_count(0)
    where = "same-site" if "127.0.0.1" in attacker else "cross-site"
    shot(page, screenshots, f"05-forged-form-refused-{where}")
    page.goto(case_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("SP-")
    assert "forged-by-another-origin" not in page.content()
