"""Every interface language is complete: a string left untranslated (or fuzzy, which Django
does not use) would show English in the middle of a Russian page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]


def entries(*options: str, language: str) -> list[str]:
    """The msgids msgattrib selects (the header entry, msgid "", is left out)."""
    catalogue = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    done = subprocess.run(
        ["msgattrib", "--no-obsolete", "--no-wrap", *options, str(catalogue)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        line.removeprefix("msgid ")
        for line in done.stdout.splitlines()
        if line.startswith("msgid ") and line != 'msgid ""'
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language):
    assert entries("--untranslated", language=language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_is_left_fuzzy(language):
    assert entries("--only-fuzzy", language=language) == []
