"""Blind indexes: keyed, truncated HMACs of normalised values for exact-match search.

The caller normalises (normalise_name, normalise_passport, ...) and then calls blind_index
with the already-normalised value; keeping the two steps explicit makes it visible at the
call site which normaliser a field uses, and the same one must be used for writes and queries.

Leakage: equal values get equal indexes, so whoever can read the index column learns which
records probably share a value. Truncation to `bits` (see index_bits_for_rows) makes every
index shared by several unrelated values, and matches are post-filtered by decrypting.
"""

from __future__ import annotations

import functools
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._primitives import KEY_SIZE, check_key

_INFO_PREFIX = b"casework/blind-index/v1/"
MIN_INDEX_BITS = 1
MAX_INDEX_BITS = 32  # fits a database integer; more bits would leak near-exact equality

# ICAO Doc 9303 Part 3 transliteration of Russian, Ukrainian and Belarusian Cyrillic, applied
# after casefolding (so lowercase keys suffice), plus the ICAO spellings of Latin letters that
# have no Unicode decomposition and would otherwise survive diacritic stripping.
_TRANSLITERATION = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "ґ": "g", "є": "ie", "і": "i", "ї": "i", "ў": "u",
    "æ": "ae", "ø": "oe", "œ": "oe", "þ": "th", "ð": "d", "đ": "d", "ħ": "h", "ł": "l",
    "ı": "i",
}  # fmt: skip
_NAME_TABLE = str.maketrans(_TRANSLITERATION)

# Apostrophes are deleted, not turned into spaces: MRZ names omit them ("O'NEIL" -> ONEIL) and
# the Ukrainian apostrophe sits inside a word ("Мар'яна" -> MARIANA). ʹ is the scholarly soft
# sign, ´ and ` are common mistypes of an apostrophe.
_APOSTROPHES = str.maketrans(dict.fromkeys("'\u2019\u2018\u02bc\u02b9\u00b4`\uff07"))


def normalise_text(value: str) -> str:
    """NFKC, casefold, collapse whitespace runs to one space, strip."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


def normalise_name(value: str) -> str:
    """Normalise a personal name so Cyrillic and Latin spellings of it compare equal.

    "Иван Петров", "IVAN PETROV", " ivan   petrov " and "Ivan-Petrov" all become
    "ivan petrov". Steps: drop apostrophes; NFKC; casefold; ICAO 9303 transliteration; strip
    diacritics (NFKD, drop combining marks); every character that is not a letter or digit
    (hyphen, dot, comma, ...) becomes a separator; collapse whitespace.
    """
    # Apostrophes go before NFKC (which turns ´ into a space and a combining accent) and again
    # after it (which turns a fullwidth apostrophe into a plain one).
    text = unicodedata.normalize("NFKC", value.translate(_APOSTROPHES)).translate(_APOSTROPHES)
    # Transliterate before stripping diacritics (Й must become I, not И) and again after
    # (Ѐ strips to Е, Ǽ strips to Æ, which the table then maps).
    text = _strip_diacritics(text.casefold().translate(_NAME_TABLE)).translate(_NAME_TABLE)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def normalise_passport(value: str) -> str:
    """NFKC, uppercase, remove whitespace, dashes and dots: "75 12-345.67" -> "751234567"."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).upper())
    kept = "".join(ch for ch in text if not _is_passport_separator(ch))
    # Removing a separator can bring a letter next to a combining mark; recompose them.
    return unicodedata.normalize("NFKC", kept)


def normalise_email(value: str) -> str:
    """NFKC, strip, casefold (then NFKC again: casefolding can leave decomposed letters)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).strip().casefold())


def normalise_phone(value: str) -> str:
    """Keep a leading "+" and the digits 0-9 only: "+7 (916) 123-45-67" -> "+79161234567"."""
    text = unicodedata.normalize("NFKC", value).strip()
    digits = "".join(ch for ch in text if ch in "0123456789")
    return "+" + digits if text.startswith("+") and digits else digits


def index_bits_for_rows(rows: int) -> int:
    """Number of index bits L for a table of about `rows` records.

    CipherSweet's guidance is 2 <= C < sqrt(R), where C = R / 2**L is the expected number of
    records per index value: at least two candidates per value (so an index never pins down a
    record) and fewer than sqrt(R) (so a search stays cheap). L = floor(log2(R / 2)) gives
    C in [2, 4), which satisfies both once R > 16; the result is clamped to [1, 32].
    Example: R = 10,000 -> L = 12, C = 2.44.
    """
    if type(rows) is not int or rows < 1:
        raise ValueError("rows must be a positive integer")
    # (rows // 2).bit_length() - 1 == floor(log2(rows / 2)) in exact integer arithmetic.
    bits = (rows // 2).bit_length() - 1
    return min(max(bits, MIN_INDEX_BITS), MAX_INDEX_BITS)


def blind_index(index_key: bytes, field_name: str, value: str, *, bits: int) -> int:
    """Return the top `bits` bits of HMAC-SHA256(subkey(field_name), value) as an int.

    `value` must already be normalised. The subkey is derived per field with HKDF-SHA256, so
    equal values in different fields get unrelated indexes; put the organisation into
    `field_name` to make indexes per organisation too. Result is in [0, 2**bits).
    """
    check_key(index_key, "index key")
    if not isinstance(field_name, str) or not field_name:
        raise ValueError("field_name must be a non-empty string")
    if type(bits) is not int or not MIN_INDEX_BITS <= bits <= MAX_INDEX_BITS:
        raise ValueError(f"bits must be from {MIN_INDEX_BITS} to {MAX_INDEX_BITS}")
    if not isinstance(value, str) or not value:
        raise ValueError("cannot index an empty value")
    mac = HMAC(_field_subkey(index_key, field_name), hashes.SHA256())
    mac.update(value.encode("utf-8"))
    return int.from_bytes(mac.finalize(), "big") >> (256 - bits)


@functools.lru_cache(maxsize=256)
def _field_subkey(index_key: bytes, field_name: str) -> bytes:
    # Cached: a search page computes many indexes, and HKDF per call would be wasted work.
    info = _INFO_PREFIX + field_name.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(index_key)


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_passport_separator(ch: str) -> bool:
    return ch.isspace() or ch == "." or unicodedata.category(ch) == "Pd"
