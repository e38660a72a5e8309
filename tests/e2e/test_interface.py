"""The interface as a person meets it: their language kept across signing out, a phone's
narrow screen, and a form that expired in another tab without losing what was typed."""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, shot, sign_in, sign_out


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


# One person per language: each signs in twice, and an authenticator gives two codes at once.
READERS = {
    "ru": "northern-coordinator",
    "uk": "northern-auditor",
    "de": "northern-org-admin",
    "fr": "rainbow-auditor",
}


@pytest.mark.parametrize("language", READERS)
def test_the_language_switch_changes_the_interface_and_outlives_signing_out(
    new_context, app, screenshots, language
):
    account = app.account(READERS[language])
    page = new_context().new_page()
    sign_in(page, account)
    page.get_by_label("Language", exact=True).select_option(language)
    page.get_by_role("button", name="Change language").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(_in(language, "Dashboard"))
    assert_accessible(page, f"dashboard in {language}")
    shot(page, screenshots, f"60-dashboard-{language}")
    page.get_by_role("button", name=_in(language, "Sign out")).click()
    page.wait_for_url("**/login/**")
    # Signing out cleared every cookie; the account remembers the language.
    sign_in_in(page, account, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(_in(language, "Dashboard"))
    page.get_by_label(_in(language, "Language"), exact=True).select_option("en")
    page.get_by_role("button", name=_in(language, "Change language")).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def sign_in_in(page, account, language: str) -> None:
    """Sign in on a page that may already speak ``language`` (after the password step)."""
    page.goto("/login/")
    page.locator("#id_username").fill(account.username)
    page.locator("#id_password").fill(account.password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/login/verify/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#id_code").fill(account.authenticator.code())
    page.locator("main form.stacked-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


PHONE = {"width": 390, "height": 844}


def test_a_phone_sees_a_compact_header_a_scrolling_list_and_checkboxes_by_their_labels(
    new_context, app, screenshots
):
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    sign_in(page, app.account("northern-caseworker"))
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 0.25 * PHONE["height"], header
    page.get_by_role("link", name="Cases", exact=True).click()
    # The page itself never scrolls sideways; the table scrolls inside its own box.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    box = page.locator(".table-scroll").first
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    assert_accessible(page, "case list on a phone")
    shot(page, screenshots, "70-phone-case-list")
    page.get_by_role("link", name="Open a new case").click()
    checkbox = page.get_by_label("русский")
    label = page.locator("label.choice", has=checkbox)
    check, text = checkbox.bounding_box(), label.bounding_box()
    assert check["width"] < 30, check  # its own size, not stretched across the screen
    assert text["y"] <= check["y"] <= text["y"] + text["height"]  # on the label's line
    shot(page, screenshots, "71-phone-intake")


def test_a_form_expired_in_another_tab_keeps_what_was_typed(new_context, app, screenshots):
    """Signing in again in a second tab renews the security token; the note typed in the
    first tab is refused once and sent again with one click, nothing retyped."""
    account = app.account("northern-caseworker")
    context = new_context()
    first = context.new_page()
    sign_in(first, account)
    first.get_by_role("link", name="Cases", exact=True).click()
    first.locator("main table tbody a").first.click()
    case_url = first.url
    first.get_by_label("New note (kept encrypted)").fill("Typed before the other tab signed in")
    second = context.new_page()
    second.goto("/")
    sign_out(second)
    sign_in(second, account)
    first.get_by_role("button", name="Add note").click()
    expect(first.get_by_role("heading", name="This form had expired")).to_be_visible()
    assert_accessible(first, "expired form")
    shot(first, screenshots, "80-expired-form")
    first.get_by_role("button", name="Send it again").click()
    expect(first.locator("#notes")).to_contain_text("Typed before the other tab signed in")
    assert first.url.startswith(case_url)


def test_a_refused_form_brings_its_error_summary_into_focus(new_context, app, screenshots):
    """A keyboard or screen-reader user lands on the list of problems, in its section."""
    page = new_context().new_page()
    sign_in(page, app.account("northern-caseworker"))
    page.get_by_role("link", name="Cases", exact=True).click()
    page.locator("main table tbody a").first.click()
    page.locator("#deadlines").get_by_role("link", name="Add a deadline").click()
    expect(page.locator("#deadlines").get_by_label("Kind")).to_be_focused()
    expect(page.locator("#deadlines").get_by_label("Kind")).to_be_in_viewport()
    page.get_by_role("button", name="Add deadline").click()
    summary = page.locator("#deadlines .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary.get_by_role("link")).to_have_text("Due: This field is required.")
    assert_accessible(page, "case page with a refused form")
    shot(page, screenshots, "81-refused-form-in-its-section")
    summary.get_by_role("link").click()
    expect(page.locator("#deadlines_due_on")).to_be_focused()
