"""The pre-issue check: every reason a draft cannot be issued yet, and every warning, at once.

A coordinator sees the whole list on the letter's page and beside the preview, before
pressing Issue; issuing runs the same check again and refuses with every blocker, so no one
goes round the loop finding problems one at a time. Warnings do not stop a letter, but
issuing one with warnings needs an explicit tick. Messages name fields and languages, never
the values (which may be a name or a passport number).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.cases.invisible import invisible_characters
from casework.cases.models import LETTER_LANGUAGES, Priority
from casework.letters import services
from casework.letters.models import Letter

LANGUAGE_NAMES = dict(LETTER_LANGUAGES)

# How each printed part of a route is named to the coordinator.
ROUTE_PARTS = {
    "procedure": pgettext_lazy("route name part", "the requested procedure"),
    "legal_basis": pgettext_lazy("route name part", "the legal basis"),
    "authority": pgettext_lazy("route name part", "the deciding authority"),
}


@dataclass(frozen=True)
class Problem:
    """One finding: a blocker stops issuing; a warning needs the coordinator's tick."""

    message: Any
    blocker: bool = True

    def __str__(self) -> str:
        return str(self.message)


def problems(letter: Letter) -> list[Problem]:
    """Everything that stands between this draft and a letter an authority takes seriously,
    blockers first, in the order a coordinator would fix them."""
    found = [
        *_verification_and_consent(letter),
        *_translations(letter),
        *_sections(letter),
        *_invisible(letter),
        *_verification_address(),
        *_warnings(letter),
    ]
    return sorted(found, key=lambda problem: not problem.blocker)  # stable: blockers first


def blockers(found: list[Problem]) -> list[Problem]:
    return [problem for problem in found if problem.blocker]


def warnings(found: list[Problem]) -> list[Problem]:
    return [problem for problem in found if not problem.blocker]


# --- blockers ------------------------------------------------------------------------------


def _verification_and_consent(letter: Letter) -> list[Problem]:
    found = []
    if not services.verification_completed(letter):
        found.append(Problem(_("The case's verification has not been completed.")))
    consent = services.disclosure_consent(letter)
    withdrawn = services.withdrawn_disclosure(letter) if consent is None else None
    if withdrawn is not None and withdrawn.withdrawn_at is not None:
        found.append(
            Problem(
                format_lazy(
                    _(
                        "The applicant withdrew their consent to disclosure to this route's "
                        "authority on {date}: no letter to it can be issued unless they give "
                        "it again."
                    ),
                    date=withdrawn.withdrawn_at.date().isoformat(),
                )
            )
        )
    elif consent is None:
        found.append(
            Problem(
                _(
                    "There is no disclosure consent for this route's authority: record the "
                    "applicant's consent on the case page."
                )
            )
        )
    elif letter.include_sogi and not consent.includes_sogi:
        found.append(
            Problem(
                _(
                    "The letter states sexual orientation or gender identity, but the "
                    "disclosure consent does not cover it: untick it or record a consent "
                    "that does."
                )
            )
        )
    return found


def _language(letter: Letter) -> Any:
    return LANGUAGE_NAMES.get(letter.language, letter.language)


def _translations(letter: Letter) -> list[Problem]:
    """Reference data a letter prints must be in the letter's language; it never silently
    falls back to the English the staff read."""
    route, language = letter.attempt.route, letter.language
    parts = route.PRINTED_PARTS
    missing = [ROUTE_PARTS[part] for part in parts if not route.printed(language, part)]
    found = []
    if missing:
        found.append(
            Problem(
                format_lazy(
                    _(
                        "The route “{route}” has no {language} wording for {parts}: a "
                        "reference data editor adds it on the route's page."
                    ),
                    route=route.code,
                    language=_language(letter),
                    parts=_join(missing),
                )
            )
        )
    if letter.mission is not None and not letter.mission.printed(language):
        found.append(
            Problem(
                format_lazy(
                    _(
                        "The mission “{mission}” has no {language} name: a reference data "
                        "editor adds it on the mission's page."
                    ),
                    mission=letter.mission.name,
                    language=_language(letter),
                )
            )
        )
    return found


def _join(parts: list[Any]) -> Any:
    return format_lazy("{}" + ", {}" * (len(parts) - 1), *parts)


def _sections(letter: Letter) -> list[Problem]:
    """Every numbered section of the letter has content."""
    language = _language(letter)
    found = []
    if not services.about_text(letter):
        found.append(
            Problem(
                format_lazy(
                    _(
                        "Section 1, “About our organisation”, is empty: the organisation's "
                        "administrator writes it in {language} on the letterhead page."
                    ),
                    language=language,
                )
            )
        )
    name, title = services.signatory(letter)
    if not name or not title:
        found.append(
            Problem(
                format_lazy(
                    _(
                        "The signatory's name or function in {language} is missing: the "
                        "organisation's administrator adds it on the letterhead page."
                    ),
                    language=language,
                )
            )
        )
    if not (letter.facts or "").strip():
        found.append(Problem(_("Section 3, “Facts establishing the risk”, is empty.")))
    if not (letter.why_route or "").strip():
        found.append(Problem(_("Section 5, “Why this state and this procedure”, is empty.")))
    if not letter.annexes.exists():
        found.append(
            Problem(_("Section 8, “Annexes”, is empty: choose the documents that go with it."))
        )
    return found


def _invisible(letter: Letter) -> list[Problem]:
    return [
        Problem(services.invisible_refusal(label))
        for label, value in services.printed_fields(letter)
        if invisible_characters(value)
    ]


def _verification_address() -> list[Problem]:
    base = str(settings.CASEWORK_VERIFY_BASE_URL)
    if settings.PROD and not base.startswith("https://"):
        return [
            Problem(
                _(
                    "The verification address printed on letters does not start with "
                    "https://: an operator sets CASEWORK_VERIFY_BASE_URL."
                )
            )
        ]
    return []


# --- warnings ------------------------------------------------------------------------------


def _warnings(letter: Letter) -> list[Problem]:
    found = []
    route = letter.attempt.route
    expected = [code for code in (route.letter_languages or []) if code in LANGUAGE_NAMES]
    if expected and letter.language not in expected and letter.language != "ru":
        found.append(
            Problem(
                format_lazy(
                    _("The authorities of this route expect letters in {languages}."),
                    languages=_join([LANGUAGE_NAMES[code] for code in expected]),
                ),
                blocker=False,
            )
        )
    if (
        letter.case.priority in (Priority.EMERGENCY, Priority.URGENT)
        and not (letter.urgency or "").strip()
    ):
        found.append(
            Problem(
                _(
                    "The case is urgent, but the letter does not say why: the request will "
                    "not ask for urgent treatment."
                ),
                blocker=False,
            )
        )
    for label, value in _free_text(letter):
        if _other_script(value, letter.language):
            found.append(
                Problem(
                    format_lazy(
                        _("“{field}” looks written in another language than {language}."),
                        field=label,
                        language=_language(letter),
                    ),
                    blocker=False,
                )
            )
    unverified = [d for d in letter.annexes.all() if d.verification_status != "verified"]
    if unverified:
        found.append(
            Problem(
                format_lazy(
                    _("{count} of the annexes have not been verified by a second person."),
                    count=len(unverified),
                ),
                blocker=False,
            )
        )
    return found


def _free_text(letter: Letter) -> list[tuple[Any, str]]:
    texts = [
        (services.field_label(letter, name), getattr(letter, name) or "")
        for name in ("facts", "why_route", "urgency")
    ]
    about = services.about_text(letter)
    if about:
        texts.append((services.field_label(letter.organisation, "about"), about))
    return texts


def _other_script(text: str, language: str) -> bool:
    """A simple script check: Cyrillic letters in a letter that is not Russian, or a Russian
    letter's text without any Cyrillic. Names and citations in Latin script within Russian
    text are normal, so only text with no Cyrillic at all is flagged there."""
    cyrillic = latin = 0
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            cyrillic += name.startswith("CYRILLIC")
            latin += name.startswith("LATIN")
    if language == "ru":
        return latin > 0 and cyrillic == 0
    return cyrillic > 0
