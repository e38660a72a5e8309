"""Verification codes: 130 random bits, written as 13 words of the SLIP-39 word list.

Words can be read out over the phone by a consular clerk and typed back without confusing
0 and O; every word is in the list, so a typo is caught as "not a code" rather than found
as another letter, and the verification page names the word that was not recognised. Only a
SHA-256 digest of the code is stored: a copy of the database does not let anyone look
letters up. The QR code and the verification URL carry the code and
nothing about the applicant.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from shamir_mnemonic.wordlist import WORDLIST

WORDS = 13  # 13 x 10 bits = 130 bits (issue 7: at least 128)
_INDEX = {word: number for number, word in enumerate(WORDLIST)}
_BY_PREFIX = {word[:4]: word for word in WORDLIST}
assert len(WORDLIST) == 1024 and len(_BY_PREFIX) == 1024  # four letters identify a word


def new_code() -> str:
    """A fresh code in its canonical form: lower-case words joined by hyphens."""
    return "-".join(WORDLIST[secrets.randbelow(1024)] for _ in range(WORDS))


def words(typed: str) -> list[str]:
    """The words of what a verifier typed (any case; spaces, hyphens or line breaks)."""
    return [word for word in re.split(r"[\s\-_.,;:/]+", typed.strip().lower()) if word]


def canonical(typed: str) -> str | None:
    """The canonical form of what a verifier typed, or None when it is not a well-formed
    code."""
    found = words(typed)
    if len(found) != WORDS or any(word not in _INDEX for word in found):
        return None
    return "-".join(found)


@dataclass(frozen=True)
class Unknown:
    """A typed word that is not in the list: its place (from 1), and the list's word with
    the same first four letters, if any (in SLIP-39 they identify a word)."""

    position: int
    word: str
    suggestion: str | None


def unknown_words(typed: str) -> list[Unknown]:
    return [
        Unknown(position, word[:30], _BY_PREFIX.get(word[:4]))
        for position, word in enumerate(words(typed), start=1)
        if word not in _INDEX
    ]


def digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def printed(code: str) -> str:
    """How the letter prints it: the words in groups, easy to read aloud."""
    words = code.split("-")
    return "  ".join(" ".join(words[start : start + 4]) for start in range(0, len(words), 4))
