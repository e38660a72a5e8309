"""A person's rights, as a coordinator exercises them in the browser (issue 14): the
dashboard warns of deletions under the retention schedule and one case is kept longer for a
reason; a request of the person is recorded, waits on the dashboard, and the encrypted export
answers it; the downloaded ZIP opens with 7z and the passphrase the page showed once."""

from __future__ import annotations

import datetime
import shutil
import subprocess

from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, shot, sign_in, step_up_if_asked

TODAY = datetime.datetime.now(tz=datetime.UTC).date()


def test_retention_notice_hold_request_and_export(new_context, app, screenshots):
    coordinator = app.account("rainbow-coordinator")
    page = new_context().new_page()
    sign_in(page, coordinator)

    # The demo closed two cases almost a year ago: their details go within 30 days.
    notice = page.locator("#retention-notice")
    expect(notice).to_contain_text("will be deleted within 30 days")
    notice.get_by_role("link", name="Keep longer").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("longer")
    assert_accessible(page, "60-retention-hold")
    page.get_by_role("button", name="Keep the details until this date").click()
    expect(page.locator(".error-summary, [role=alert]").first).to_contain_text(
        "Choose why the details are kept."
    )
    page.get_by_label("Keep the details until").fill(
        (TODAY + datetime.timedelta(days=90)).isoformat()
    )
    page.get_by_label("Why").select_option("appeal")
    page.get_by_label("Explanation (optional)").fill("Appeal hearing in spring.")
    page.get_by_role("button", name="Keep the details until this date").click()
    expect(page.get_by_role("status").first).to_contain_text("are kept until")
    shot(page, screenshots, "61-retention-held")

    # A request for erasure arrives for a sample case; it waits on the dashboard.
    page.goto("/")
    requests = page.locator("section[aria-labelledby=queue-subject-requests]")
    first_request = requests.get_by_role("link").first
    code = first_request.inner_text()
    first_request.click()
    page.get_by_role("link", name="Record a request of the person").click()
    assert_accessible(page, "62-record-request")
    page.get_by_label("a copy of their data (Article 15)").check()
    page.get_by_label("Received on").fill(TODAY.isoformat())
    page.get_by_role("button", name="Record the request").click()
    expect(page.locator("#rights")).to_contain_text("answer due by")

    # The export answers it: encrypted, passphrase shown once, download for 7z.
    page.get_by_role("link", name="Export everything about this person").click()
    step_up_if_asked(page, coordinator)
    assert_accessible(page, "63-export-form")
    page.get_by_role("button", name="Make the export").click()
    if step_up_if_asked(page, coordinator):
        page.get_by_role("button", name="Make the export").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The export is ready")
    assert_accessible(page, "64-export-ready")
    shot(page, screenshots, "64-export-ready")
    passphrase = page.locator("#passphrase").inner_text()
    assert len(passphrase.split("-")) == 12
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == f"{code}-export.zip"
    archive = screenshots / "export.zip"
    download.value.save_as(archive)
    out = screenshots / "export"
    shutil.rmtree(out, ignore_errors=True)
    opened = subprocess.run(
        ["7z", "x", "-y", f"-p{passphrase}", f"-o{out}", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert opened.returncode == 0, opened.stdout + opened.stderr
    summary = (out / "export" / "summary.html").read_text()
    assert f"Case {code}" in summary
    assert (out / "export" / "data.json").exists()

    # Answered: no longer waiting on the dashboard.
    page.goto("/")
    queue = page.locator("section[aria-labelledby=queue-subject-requests]")
    expect(queue).not_to_contain_text(code)
    assert_accessible(page, "65-dashboard-after")
