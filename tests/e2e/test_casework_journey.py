"""One case from the invitation of a new caseworker to a letter an embassy verifies, as the
people who do it: an org admin, the caseworker, a coordinator, an embassy official, an auditor.

The scenarios follow one another (the auditor checks every step before it), so they are one
test, told in steps; each step is a function named after what the person does.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect

from casework.letters import codes
from tests.e2e.helpers import (
    Account,
    assert_accessible,
    shot,
    sign_in,
    sign_out,
    step_up_if_asked,
)

LATIN = "MARTA VOLKOVA"
CYRILLIC = "Марта Волкова"
PASSPORT = "75 7654321"
PASSWORD = "correct horse battery staple, twice over"
TODAY = datetime.datetime.now(tz=datetime.UTC).date()
IN_A_MONTH = (TODAY + datetime.timedelta(days=30)).isoformat()
IN_FOUR_YEARS = (TODAY + datetime.timedelta(days=4 * 365)).isoformat()
# A minimal PDF: the upload checks the content, not the name.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@dataclass
class Story:
    """What the people of the story know as it goes on."""

    screenshots: object
    caseworker: Account | None = None
    case_url: str = ""
    case_code: str = ""
    letter_url: str = ""
    verification_code: str = ""
    page: Any = None  # the caseworker's browser
    coordinator_page: Any = None

    def look(self, page, name: str) -> None:
        """Every key page: a screenshot for people, axe for serious and critical problems."""
        assert_accessible(page, name)
        shot(page, self.screenshots, name)


def test_a_case_from_invitation_to_a_verified_letter(new_context, app, screenshots):
    story = Story(screenshots)
    an_admin_invites_a_caseworker_who_joins(story, new_context, app)
    the_caseworker_opens_and_works_the_case(story, new_context)
    the_caseworker_finds_the_person_by_either_name(story)
    a_coordinator_assigns_reviews_and_issues_the_letter(story, new_context, app)
    the_pdf_reads_right_and_verifies_publicly(story, new_context, app)
    an_auditor_sees_every_step_and_no_case(story, new_context, app)


# --- 1. the invitation ----------------------------------------------------------------------


def an_admin_invites_a_caseworker_who_joins(story, new_context, app):
    admin = app.account("rainbow-org-admin")
    page = new_context().new_page()
    sign_in(page, admin)
    page.get_by_role("link", name="Users").click()
    story.look(page, "10-admin-users")
    page.get_by_label("Role", exact=True).select_option(label="Caseworker")
    page.get_by_role("button", name="Create invitation link").click()
    step_up_if_asked(page, admin)
    expect(page.get_by_role("heading", name="Invitation link")).to_be_visible()
    link = page.locator("code.secret").inner_text().strip()
    story.look(page, "11-invitation-link")
    page.get_by_role("link", name="Back to users").click()
    pending = page.locator("table").filter(has_text="Invited by")
    expect(pending).to_contain_text("Caseworker")
    expect(pending).to_contain_text(admin.username)

    # The new caseworker, in a browser of their own.
    person = new_context().new_page()
    person.goto(link)
    expect(person.get_by_role("heading", name="Create your account")).to_be_visible()
    story.look(person, "12-invitation-accept")
    person.get_by_label("Choose a username").fill("e2e-caseworker")
    person.get_by_label("New password", exact=True).fill(PASSWORD)
    person.get_by_label("New password again").fill(PASSWORD)
    person.get_by_role("button", name="Create account").click()
    expect(person.get_by_text("Your account is ready")).to_be_visible()
    person.get_by_label("Username").fill("e2e-caseworker")
    person.get_by_label("Password").fill(PASSWORD)
    person.get_by_role("button", name="Continue").click()
    expect(person.get_by_role("heading", name="Set up your authenticator")).to_be_visible()
    story.look(person, "13-enrol-authenticator")
    # The person types the key shown under the QR code into their app.
    secret = person.locator("code.secret").inner_text().replace(" ", "")
    account = Account(username="e2e-caseworker", password=PASSWORD, secret=secret)
    person.get_by_label("Code from the app").fill(account.authenticator.code())
    person.get_by_role("button", name="Confirm").click()
    expect(person.get_by_role("heading", name="Your backup codes")).to_be_visible()
    account.backup_codes = person.locator("ol.codes code").all_inner_texts()
    assert len(account.backup_codes) >= 8
    story.look(person, "14-backup-codes")
    person.get_by_role("link", name="I have stored them: continue").click()
    expect(person.get_by_role("heading", name="Dashboard")).to_be_visible()
    # A content role takes two people: until a coordinator confirms, no case is in reach.
    expect(person.get_by_text("has to confirm your role")).to_be_visible()
    sign_out(person)

    coordinator = app.account("rainbow-coordinator")
    desk = new_context().new_page()
    sign_in(desk, coordinator)
    desk.get_by_role("link", name="1 role request waits for a coordinator's confirmation.").click()
    expect(
        desk.get_by_role("heading", name="Role requests waiting for a coordinator")
    ).to_be_visible()
    story.look(desk, "15-role-request")
    desk.get_by_role("button", name="Confirm for e2e-caseworker").click()
    step_up_if_asked(desk, coordinator)
    expect(desk.get_by_text("The role was confirmed")).to_be_visible()
    sign_out(desk)

    sign_in(person, account)
    expect(person.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(person.locator("main")).to_contain_text("Caseworker")
    story.caseworker = account
    story.page = person


# --- 2. intake and the work on the case ---------------------------------------------------------


def the_caseworker_opens_and_works_the_case(story, new_context):
    page = story.page
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_role("link", name="Open a new case").click()
    story.look(page, "20-intake")
    page.get_by_label("Legal name (Latin)").fill(LATIN)
    page.get_by_label("Legal name (Cyrillic)").fill(CYRILLIC)
    page.get_by_label("Date of birth").fill("1996-05-20")
    page.get_by_label("International passport number").fill(PASSPORT)
    page.get_by_label("Passport expiry").fill(IN_FOUR_YEARS)
    page.get_by_label("Safe-contact instructions (kept encrypted)").fill("Signal, evenings only")
    page.get_by_label("русский").check()
    page.get_by_label("Destination state (ISO code, e.g. DE)").fill("DE")
    page.get_by_label("What happened (narrative)").fill("Threatened after a raid on a club.")
    page.get_by_role("button", name="Open case").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Case SP-")
    story.case_code = re.search(r"SP-\d\d-[A-Z0-9]{4}", heading.inner_text())[0]
    story.case_url = page.url
    expect(page.get_by_role("status").first).to_contain_text(f"Case {story.case_code} was opened.")
    story.look(page, "21-case-opened")

    in_section(page, "documents", "Upload a document")
    page.get_by_label("File (PDF, JPEG or PNG)").set_input_files(
        files=[{"name": "passport.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.locator("#documents").get_by_label("Type").select_option(label="international passport")
    page.get_by_role("button", name="Upload and encrypt").click()
    said_in(page, "documents", "The document was encrypted and stored.")
    story.look(page, "22-document-uploaded")

    in_section(page, "deadlines", "Add a deadline")
    page.locator("#deadlines").get_by_label("Kind").select_option(label="appointment")
    page.locator("#deadlines").get_by_label("Due").fill(IN_A_MONTH)
    page.get_by_role("button", name="Add deadline").click()
    said_in(page, "deadlines", "The deadline was added.")
    expect(page.locator(".case-summary")).to_contain_text(IN_A_MONTH)

    page.get_by_label("New note (kept encrypted)").fill("First call done; she is safe tonight.")
    page.get_by_role("button", name="Add note").click()
    said_in(page, "notes", "The note was added.")
    story.look(page, "23-note-added")

    in_section(page, "routes", "Add a route attempt")
    route = choose_option(page.locator("#routes_route"), r"^Germany · §22 S\.1")
    choose_option(page.locator("#routes_mission"), r"Germany in Yerevan")
    page.get_by_role("button", name="Add route attempt").click()
    said_in(page, "routes", "The route attempt was added.")
    expect(page.locator("#routes")).to_contain_text(f"{route} ·")
    expect(page.locator("#routes")).to_contain_text("pending")

    in_section(page, "consent", "Record a consent")
    page.locator("#consent").get_by_label("Purpose").select_option(
        label="disclosure to a named authority"
    )
    page.locator("#consent_route").select_option(label=route)
    page.locator("#consent").get_by_label("Version of the consent text").fill("2026-01")
    page.get_by_role("button", name="Record consent").click()
    said_in(page, "consent", "The consent was recorded.")

    for status in ("Screening", "Verification", "Route planning", "Documents", "Letter drafting"):
        page.locator("#status").get_by_label("Move to").select_option(label=status)
        page.get_by_role("button", name="Change status").click()
        said_in(page, "status", "The status was changed.")
        expect(page.locator(".case-summary")).to_contain_text(status)
    page.locator("#history").get_by_role("link", name="Show every change of status").click()
    expect(page.locator("#history")).to_contain_text("Documents → Letter drafting")
    story.look(page, "24-letter-drafting")

    in_section(page, "letters", "Request a letter")
    letters = page.locator("#letters")
    expect(letters.get_by_label("Route attempt")).to_contain_text(f"{route} ·")
    letters.get_by_label("Language", exact=True).select_option(label="Deutsch")
    letters.get_by_label("Facts establishing the risk").fill(
        "03.10.2026: in einem Bericht über eine Razzia namentlich genannt (Anlage 1)."
    )
    letters.get_by_label("international passport").check()  # the annex
    # Via the route attempt's mission, as the form proposes.
    mission = letters.get_by_label("Via mission (optional)")
    assert "Yerevan" in mission.evaluate("select => select.options[select.selectedIndex].text")
    page.get_by_role("button", name="Request the letter").click()
    expect(page.get_by_text("The letter was requested")).to_be_visible()
    story.letter_url = page.url.split("#")[0]
    story.look(page, "25-letter-requested")


def in_section(page, section: str, opener: str) -> None:
    """Open a section's folded form, as a person clicks "Add a …": the page comes back with
    the form open and its first field focused, ready to type into."""
    page.locator(f"#{section}").get_by_role("link", name=opener, exact=True).click()
    form = page.locator(f"#{section} details.add-form[open] form")
    expect(form.locator("[autofocus]")).to_be_focused()


def said_in(page, section: str, words: str) -> None:
    """Back in the section acted in (the address names it), with the confirmation there."""
    page.wait_for_url(f"**#{section}")
    expect(page.locator(f"#{section} [role=status]")).to_contain_text(words)


def choose_option(select, pattern: str) -> str:
    labels = select.locator("option").all_inner_texts()
    label = next(text for text in labels if re.search(pattern, text))
    select.select_option(label=label)
    return label


def the_caseworker_finds_the_person_by_either_name(story):
    page = story.page
    for name in (LATIN, CYRILLIC):
        page.get_by_role("link", name="Cases", exact=True).click()
        page.get_by_role("link", name="Find a person").click()
        page.get_by_label("Search by").select_option(label="Name (either script)")
        page.get_by_label("Exact value").fill(name)
        page.get_by_role("button", name="Search").click()
        expect(page.locator("main")).to_contain_text(story.case_code)
        assert name not in page.url
    story.look(page, "26-search-result")


# --- 3. the coordinator -------------------------------------------------------------------------


def a_coordinator_assigns_reviews_and_issues_the_letter(story, new_context, app):
    coordinator = app.account("rainbow-coordinator")
    page = new_context().new_page()
    sign_in(page, coordinator)
    signed_in_at = time.monotonic()
    story.look(page, "30-dashboard-coordinator")
    page.goto(story.case_url)
    assignment = page.locator("#assignment")
    assignment.get_by_role("link", name="Change who works on this case").click()
    assignment.get_by_label("e2e-caseworker").check()
    assignment.get_by_label("rainbow-caseworker").check()
    page.get_by_role("button", name="Save assignment").click()
    said_in(page, "assignment", "The assignment was saved.")
    expect(page.locator(".case-summary")).to_contain_text("e2e-caseworker, rainbow-caseworker")

    page.goto(story.letter_url)
    page.get_by_role("link", name="Preview the letter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Preview")
    expect(page.locator("article.letter-paper")).to_contain_text(LATIN)
    expect(page.locator("article.letter-paper")).to_contain_text("Sehr geehrte Damen und Herren")
    # The pre-issue check beside the letter names what is missing, and Issue waits for it.
    check = page.locator("aside.preview-side")
    expect(check).to_contain_text("Section 5, “Why this state and this procedure”, is empty.")
    expect(check.get_by_role("button", name="Issue the letter")).to_be_disabled()
    story.look(page, "31-letter-preview")
    page.get_by_role("link", name="Back to the letter").click()

    page.get_by_label("Why this state and this procedure").fill(
        "Ihr Bruder lebt in Berlin und kann sie aufnehmen."
    )
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("The draft was saved.")).to_be_visible()
    # What is left is a warning (the caseworker's upload was not verified by a second
    # person): issuing needs the coordinator's tick.
    expect(page.locator("#check")).to_contain_text("1 warning to read before issuing")
    expect(page.locator("#check")).not_to_contain_text("stop the letter")

    # Long enough after signing in that issuing asks for the second factor again.
    from tests.e2e.conftest import STEP_UP_SECONDS

    page.wait_for_timeout(max(0, STEP_UP_SECONDS + 1 - (time.monotonic() - signed_in_at)) * 1000)
    page.get_by_label("I have read the warnings and issue the letter as it is").check()
    page.get_by_role("button", name="Issue the letter").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    story.look(page, "32-step-up")
    assert step_up_if_asked(page, coordinator)
    # Back on the letter, not the dashboard; nothing was done behind the person's back.
    assert page.url.split("#")[0] == story.letter_url
    expect(page.get_by_role("status").first).to_contain_text("press the button again")
    story.look(page, "33-back-on-the-letter")
    page.get_by_label("I have read the warnings and issue the letter as it is").check()
    page.get_by_role("button", name="Issue the letter").click()
    expect(page.get_by_text("The letter was issued, sealed and stored encrypted.")).to_be_visible()
    story.look(page, "34-letter-issued")
    story.coordinator_page = page


# --- 4. the PDF and the public verification -----------------------------------------------------


def the_pdf_reads_right_and_verifies_publicly(story, new_context, app):
    page = story.coordinator_page
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the sealed PDF").click()
    pdf = story.screenshots / "letter.pdf"
    download.value.save_as(pdf)
    assert re.fullmatch(r"letter-[0-9a-f]{8}\.pdf", download.value.suggested_filename)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert LATIN in text.upper() or "Volkova" in text
    # A German letter, every word of it: the German names of the route, authority and
    # mission, the admission asked for (not a visa), the code explained in German.
    flat = " ".join(text.split())
    for german in ("Sehr geehrte Damen und Herren", "Aufnahme", "Botschaft", "Prüfcode", "Anlagen"):
        assert german in flat, german
    for english in ("Foreign Office", "Embassy of", "urgent humanitarian reasons", "Annexes"):
        assert english not in flat, english
    story.verification_code = _code_in(text)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )

    official = new_context().new_page()  # no session: an embassy official's browser
    official.goto("/verify/")
    official.get_by_label("Verification code (the 13 words printed on the letter)").fill(
        story.verification_code.replace("-", " ")
    )
    official.get_by_role("button", name="Verify").click()
    expect(official.get_by_text("VALID: this letter was issued")).to_be_visible()
    assert LATIN not in official.content() and CYRILLIC not in official.content()
    story.look(official, "40-verify-valid")
    official.get_by_label("Passport number (optional check)").fill(PASSPORT)
    official.get_by_role("button", name="Check").click()
    expect(official.get_by_text("The passport number matches this letter.")).to_be_visible()
    story.look(official, "41-verify-passport-matches")


def _code_in(text: str) -> str:
    """The 13 words of the verification code, as printed on the letter."""
    words = re.findall(r"[a-z]+", text)
    for start in range(len(words) - 12):
        code = codes.canonical(" ".join(words[start : start + 13]))
        if code is not None:
            return code
    raise AssertionError("no verification code in the letter's text")


# --- 5. the auditor -----------------------------------------------------------------------------


def an_auditor_sees_every_step_and_no_case(story, new_context, app):
    auditor = app.account("rainbow-auditor")
    page = new_context().new_page()
    sign_in(page, auditor)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Case code").fill(story.case_code)
    page.get_by_role("button", name="Apply filters").click()
    log = page.locator("main table").last
    for step in (
        "case created",
        "document uploaded",
        "note added",
        "deadline changed",
        "route attempt added",
        "consent recorded",
        "status changed",
        "case assigned",
        "letter requested",
        "letter issued",
        "letter downloaded",
    ):
        expect(log).to_contain_text(step)
    expect(log).to_contain_text("e2e-caseworker")
    expect(log).to_contain_text("rainbow-coordinator")
    expect(log).to_contain_text(story.case_code)
    story.look(page, "50-audit-log-by-case-code")
    page.get_by_role("button", name="Verify the whole log now").click()
    step_up_if_asked(page, auditor)
    expect(page.locator(".integrity")).to_contain_text("Intact")
    story.look(page, "51-audit-integrity")
    response = page.goto(story.case_url)
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    story.look(page, "52-auditor-gets-404-on-a-case")
