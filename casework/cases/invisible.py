"""Characters that change how text reads without showing themselves (issue 12, finding 9).

A right-to-left override (U+202E) turns "ZEMAITYTE<RLO>SARUNE" into "ZEMAITYTEENURAS" once
printed; a zero-width space makes two passport numbers look alike that are not. Whatever a
letter prints is refused when it holds one of them: on input (the case, route and letter
forms) and again when a letter is issued, for data that came in another way.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Every Unicode "format" character (category Cf) is invisible by design: the direction
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the zero-width
# space, joiners and direction marks (U+200B-U+200F), the Arabic letter mark (U+061C), the
# byte order mark (U+FEFF), the soft hyphen, the word joiner and invisible operators, tag
# characters... So are line and paragraph separators and the control characters other
# than tab and line breaks. These few letters and marks are blank too, and used to spoof.
OTHER_CATEGORIES = {"Cf", "Zl", "Zp"}
ALLOWED_CONTROLS = {"\t", "\n", "\r"}
BLANK = {
    "\u034f",  # combining grapheme joiner
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\u17b4",  # Khmer vowel inherent aq
    "\u17b5",  # Khmer vowel inherent aa
    "\u180b",  # Mongolian free variation selectors
    "\u180c",
    "\u180d",
    "\u180f",
    "\u3164",  # Hangul filler
    "\uffa0",  # halfwidth Hangul filler
    *(chr(code) for code in range(0xFE00, 0xFE10)),  # variation selectors
}


def is_invisible(character: str) -> bool:
    category = unicodedata.category(character)
    if category == "Cc":
        return character not in ALLOWED_CONTROLS
    return category in OTHER_CATEGORIES or character in BLANK


def invisible_characters(text: str | None) -> list[str]:
    """The invisible characters in ``text`` as code points ("U+202E"), each once, in order."""
    found: list[str] = []
    for character in text or "":
        if is_invisible(character):
            point = f"U+{ord(character):04X}"
            if point not in found:
                found.append(point)
    return found


MESSAGE = _(
    "Remove the invisible characters (%(found)s): text-direction controls, zero-width "
    "spaces and the like can make what is printed read differently from what was typed."
)


def refuse_invisible(value: Any) -> None:
    """A form field validator: the message names the code points, never the value."""
    found = invisible_characters(value if isinstance(value, str) else None)
    if found:
        raise ValidationError(MESSAGE, code="invisible", params={"found": ", ".join(found)})
