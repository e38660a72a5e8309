"""Words for what the database keeps as codes: statuses, languages, route attempts.

People read these; codes (``letter_review``, ``ru``) are for the database and the audit log.
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _

from casework.cases.models import DOCUMENT_LANGUAGES, VisaApplication
from casework.cases.workflow import Status

LANGUAGE_NAMES = dict(DOCUMENT_LANGUAGES)

# Which kind of identifier intake's duplicate check matched (the audit entry keeps the code).
DUPLICATE_IDENTIFIERS = {
    "passport": _("passport number"),
    "email": _("e-mail"),
    "name": _("name and year of birth"),
}


def status_label(code: str) -> str:
    """The status's name in the current language; an unknown code is shown as it is."""
    try:
        return str(Status(code).label)
    except ValueError:
        return code


def language_name(code: str) -> str:
    """A language by its own name (русский, English): how speakers recognise it."""
    return str(LANGUAGE_NAMES.get(code, code))


def language_names(codes: list[str]) -> str:
    return ", ".join(language_name(code) for code in codes)


def attempt_label(attempt: VisaApplication) -> str:
    """E.g. "DE · §22 AufenthG · Embassy of Germany in Yerevan · pending": the route, the
    mission and the decision so far (select the route and mission with the attempt)."""
    parts: list[Any] = [attempt.route]
    if attempt.mission_id is not None:
        parts.append(attempt.mission)
    parts.append(attempt.get_decision_display())
    return " · ".join(str(part) for part in parts)


def country_name(code: str) -> str:
    """A country by its name in the current language (Deutschland, Армения), from its ISO
    code; django-countries' catalogues translate it. An unknown code is shown as it is."""
    if not code:
        return ""
    return _country_name(code.upper(), get_language() or "")


@functools.lru_cache(maxsize=4096)
def _country_name(code: str, language: str) -> str:
    """Remembered per language: looking a name up costs django-countries a translation of
    its whole list, and the case page names the same few states dozens of times (issue 15)."""
    from django_countries import countries

    with override(language or None):
        return str(countries.name(code)) or code
