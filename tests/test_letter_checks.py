"""The pre-issue check (issue 13): every problem of a draft at once, on the page and at issue.

A coordinator used to find problems one at a time by pressing Issue: verification, then
consent, then facts. These tests give a draft several problems and expect all of them in one
view and in one refusal; warnings need an explicit tick; and the verification page says which
typed word of a code was not recognised.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Mission, Route
from casework.letters import checks, codes, services
from casework.letters.models import Letter
from casework.letters.rendering import ASSETS_DIR
from tests.conftest import login_verified
from tests.test_letters import issue, make_case, request_letter

pytestmark = pytest.mark.django_db

GERMAN = {
    "language": "de",
    "facts": "Am 10.02.2024 wurde die Person angegriffen und gefilmt (Anlage 1).",
    "why_route": "Eine Partnerorganisation in Litauen nimmt die Person auf.",
    "urgency": "Der legale Aufenthalt endet in drei Wochen.",
}


def change(letter: Letter, **values) -> None:
    """Edit the draft as the service would (encrypted fields are saved, never updated)."""
    for name, value in values.items():
        setattr(letter, name, value)
    letter.save()


def three_problems(letter: Letter) -> None:
    """No German wording for the route, no German 'about' text, Cyrillic in the facts."""
    route = letter.attempt.route
    route.letter_names = {k: v for k, v in route.letter_names.items() if k != "de"}
    route.save()
    organisation = letter.organisation
    organisation.about = {k: v for k, v in organisation.about.items() if k != "de"}
    organisation.save()
    change(letter, facts="Иван Петров hat den Angriff gesehen.")


@pytest.fixture
def draft(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    return request_letter(client, case, attempt, **GERMAN)


def page(client, letter: Letter) -> str:
    response = client.get(reverse("letter_detail", args=[letter.case_id, letter.pk]))
    assert response.status_code == 200
    return response.content.decode()


def check_section(html: str) -> str:
    return html.split('<section class="preissue-check"', 1)[1].split("</section>", 1)[0]


def test_a_complete_draft_has_nothing_to_report_and_issues(client, draft):
    assert checks.problems(draft) == []
    html = page(client, draft)
    assert "Nothing is missing" in check_section(html)
    assert issue(client, draft, accept_warnings=False).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "issued"


def test_a_letter_with_three_problems_shows_three_at_once(client, draft):
    three_problems(draft)
    section = check_section(page(client, draft))
    items = section.count("<li>")
    assert items == 3, section
    assert "no Deutsch wording for the requested procedure, the legal basis, the deciding" in (
        " ".join(section.split())
    )
    assert "Section 1, “About our organisation”, is empty" in section
    assert "looks written in another language than Deutsch" in section
    # A blocker disables the button; the tick for warnings is not offered until then.
    form = page(client, draft).split('class="stacked-form issue-form"', 1)[1].split("</form>")[0]
    assert "disabled" in form and "accept_warnings" not in form


def test_issuing_refuses_with_every_reason_at_once(client, coordinator, draft):
    three_problems(draft)
    with pytest.raises(services.LetterBlocked) as refused:
        services.letter_issue(actor=coordinator, letter=draft, accept_warnings=True)
    found = [str(problem) for problem in refused.value.problems]
    assert len(found) == 3
    assert any("no Deutsch wording" in text for text in found)
    assert any("About our organisation" in text for text in found)
    assert any("another language" in text for text in found)
    # Through the page: refused, still a draft, and the check lists all three again.
    response = issue(client, draft)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert check_section(page(client, draft)).count("<li>") == 3


def test_a_warning_needs_the_tick(client, draft):
    change(draft, facts="Иван Петров hat den Angriff gesehen.")
    found = checks.problems(draft)
    assert [problem.blocker for problem in found] == [False]
    html = page(client, draft)
    assert 'name="accept_warnings"' in html
    assert issue(client, draft, accept_warnings=False).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert issue(client, draft, accept_warnings=True).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "issued"


def test_a_missing_translation_never_prints_english(client, coordinator, draft):
    """The English name exists, the German does not: refused, not printed in English."""
    route = draft.attempt.route
    assert route.printed("en", "authority")
    route.letter_names = {k: v for k, v in route.letter_names.items() if k != "de"} | {
        "de": {"procedure": "humanitäres Visum", "legal_basis": "Gesetz", "authority": ""}
    }
    route.save()
    found = [str(p) for p in checks.blockers(checks.problems(draft))]
    assert found == [
        f"The route “{route.code}” has no Deutsch wording for the deciding authority: a "
        "reference data editor adds it on the route's page."
    ]
    with pytest.raises(services.LetterBlocked):
        services.letter_issue(actor=coordinator, letter=draft, accept_warnings=True)


def test_a_mission_without_a_name_in_the_letters_language_blocks(client, coordinator, draft):
    mission = Mission.objects.create(
        state=draft.attempt.route.destination_state,
        host_country="AM",
        city="Yerevan",
        kind="embassy",
        name="Embassy in Yerevan",
        letter_names={"en": "Embassy of Lithuania, Yerevan"},
    )
    change(draft, mission=mission)
    found = [str(p) for p in checks.problems(draft)]
    assert found == [
        "The mission “Embassy in Yerevan” has no Deutsch name: a reference data editor adds "
        "it on the mission's page."
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"facts": ""}, "Section 3, “Facts establishing the risk”, is empty."),
        ({"why_route": ""}, "Section 5, “Why this state and this procedure”, is empty."),
    ],
)
def test_an_empty_section_blocks(draft, values, expected):
    change(draft, **values)
    assert [str(p) for p in checks.problems(draft)] == [expected]


def test_no_annexes_and_no_signatory_title_block(draft):
    draft.annexes.clear()
    organisation = draft.organisation
    organisation.signatory_titles = {"en": "Coordinator"}
    organisation.save()
    found = [str(p) for p in checks.problems(draft)]
    assert len(found) == 2
    assert "Section 8, “Annexes”, is empty" in found[1]
    assert "The signatory's name or function in Deutsch is missing" in found[0]


def test_verification_and_consent_are_reported_together(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker, verified=False, consent=False)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, **GERMAN)
    found = [str(p) for p in checks.problems(letter)]
    assert found[0] == "The case's verification has not been completed."
    assert found[1].startswith("There is no disclosure consent for this route's authority")
    assert len(found) == 2


def test_sogi_not_covered_by_consent_blocks(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, include_sogi="on", **GERMAN)
    [problem] = checks.problems(letter)
    assert "disclosure consent does not cover it" in str(problem) and problem.blocker


def test_in_production_the_verification_address_must_be_https(settings, draft):
    settings.PROD = True
    settings.CASEWORK_VERIFY_BASE_URL = "http://verify.example.org"
    [problem] = checks.problems(draft)
    assert problem.blocker and "https://" in str(problem)
    settings.CASEWORK_VERIFY_BASE_URL = "https://verify.example.org"
    assert checks.problems(draft) == []


def test_an_english_letter_for_a_route_that_expects_german_warns(draft):
    Route.objects.filter(pk=draft.attempt.route_id).update(letter_languages=["lt"])
    draft.refresh_from_db()
    [problem] = checks.problems(draft)
    assert not problem.blocker
    assert str(problem) == "The authorities of this route expect letters in lietuvių."


@pytest.mark.parametrize(
    ("text", "language", "flagged"),
    [
        ("Der Antrag", "de", False),
        ("Der Antrag von Иван", "de", True),
        ("Заявление от Ivan Petrov", "ru", False),
        ("Only English here", "ru", True),
        ("2024-02-10", "ru", False),
    ],
)
def test_the_script_check(text, language, flagged):
    assert checks._other_script(text, language) is flagged


def test_the_preview_shows_the_check_beside_the_letter(client, draft):
    three_problems(draft)
    html = client.get(reverse("letter_preview", args=[draft.case_id, draft.pk])).content.decode()
    side = html.split('<aside class="preview-side"', 1)[1].split("</aside>", 1)[0]
    assert check_section(side).count("<li>") == 3
    assert "Issue the letter" in side


# --- the verification page names the word that was not recognised -------------------------


def a_code() -> str:
    return codes.new_code()


def test_a_typo_in_one_word_is_named_with_a_suggestion():
    words = a_code().split("-")
    wrong = words[4][:4] + "zz"  # same first four letters: the word it was meant to be
    typed = " ".join(words[:4] + [wrong] + words[5:])
    response = Client().get(reverse("verify_form"), {"code": typed})
    html = response.content.decode()
    assert f"Word 5, “{wrong}”, was not recognised: did you mean “{words[4]}”?" in html


def test_a_missing_word_is_counted():
    typed = " ".join(a_code().split("-")[:12])
    html = Client().get(reverse("verify_form"), {"code": typed}).content.decode()
    assert "You typed 12 words; a verification code has 13." in html


def test_a_scanned_url_with_a_typo_names_the_word_too():
    words = a_code().split("-")
    words[0] = "qqqq"
    response = Client().get(reverse("letter_verify", args=["-".join(words)]))
    assert response.status_code == 404
    assert "Word 1, “qqqq”, was not recognised." in response.content.decode()


# --- the preview prints with the letter's own stylesheet --------------------------------------


def test_the_preview_uses_the_letters_own_css_scoped_to_the_sheet(client, draft):
    html = client.get(reverse("letter_preview", args=[draft.case_id, draft.pk])).content.decode()
    assert f'href="{reverse("letter_preview_css")}"' in html
    response = client.get(reverse("letter_preview_css"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    scoped = response.content.decode()
    assert scoped.startswith("@scope (.letter-paper) {") and "@page" not in scoped
    letter_css = (ASSETS_DIR / "letter.css").read_text(encoding="utf-8")
    rules = re.findall(r"(?m)^([.a-z][^{\n]*\{[^}]*\})", letter_css)
    assert len(rules) > 15
    for rule in rules:  # every rule the PDF is printed with, word for word (the root's
        assert rule.replace("html {", ":scope {", 1) in scoped, rule  # font is the sheet's)


def test_the_request_form_proposes_the_latest_attempts_mission(coordinator, caseworker):
    from casework.cases.services import route_attempt_add
    from casework.letters.forms import LetterRequestForm

    case, attempt = make_case(coordinator, caseworker)
    mission = Mission.objects.filter(state=attempt.route.destination_state).first()
    later = route_attempt_add(actor=coordinator, case=case, route=attempt.route, mission=mission)
    form = LetterRequestForm(case=case)
    assert form.fields["attempt"].initial == later
    assert form.fields["mission"].initial == mission


def test_an_empty_section_is_empty_in_the_preview_not_the_word_none(client, draft):
    change(draft, why_route=None)
    html = client.get(reverse("letter_preview", args=[draft.case_id, draft.pk])).content.decode()
    sheet = html.split('<article class="letter-paper"', 1)[1].split("</article>", 1)[0]
    assert ">None<" not in sheet
    assert "Section 5, “Why this state and this procedure”, is empty." in html
