"""Rotating the organisation key in the browser (issue 16): the coordinator confirms on a
page that says what will happen, the caseworker's open session ends, and after signing in
again the caseworker reads the case, now under the new key."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, shot, sign_in, step_up_if_asked


def test_a_coordinator_rotates_the_key_and_the_caseworker_reads_again(
    new_context, app, screenshots
):
    caseworker = app.account("rainbow-caseworker")
    coordinator = app.account("rainbow-coordinator")
    desk = new_context().new_page()
    sign_in(desk, caseworker)
    desk.goto("/cases/")
    first_case = desk.get_by_role("link", name=re.compile(r"^SP-\d\d-[A-Z0-9]{4}$")).first
    code = first_case.inner_text()
    first_case.click()
    name = desk.locator("#applicant dd").first.inner_text()  # decrypted, under version 1
    assert name.strip()

    office = new_context().new_page()
    sign_in(office, coordinator)
    office.goto("/access/")
    version = office.locator("#organisation-key + p")
    expect(version).to_contain_text("Version")
    before = version.inner_text()
    office.get_by_role("link", name="Rotate the organisation key…").click()
    step_up_if_asked(office, coordinator)
    expect(office.get_by_role("heading", level=1)).to_have_text("Rotate the organisation key")
    assert_accessible(office, "70-rotate-key")
    office.get_by_role("button", name="Rotate the key and sign everyone else out").click()
    step_up_if_asked(office, coordinator)
    expect(office.get_by_role("status").first).to_contain_text("The organisation key is now")
    shot(office, screenshots, "71-key-rotated")
    assert office.locator("#organisation-key + p").inner_text() != before

    # The caseworker's session ended with the rotation: the next page asks them to sign in.
    desk.goto("/cases/")
    expect(desk).to_have_url(re.compile(r"/login/"))
    sign_in(desk, caseworker)
    desk.goto("/cases/")
    desk.get_by_role("link", name=code, exact=True).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text(code)
    expect(desk.locator("#applicant dd").first).to_have_text(name)  # decrypted again
    shot(desk, screenshots, "72-case-after-rotation")
