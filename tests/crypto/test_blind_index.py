"""Blind indexes: normalisers, leakage bounds, and the keyed index itself."""

from __future__ import annotations

import hashlib
import hmac
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crypto import (
    blind_index,
    index_bits_for_rows,
    new_data_key,
    normalise_email,
    normalise_name,
    normalise_passport,
    normalise_phone,
    normalise_text,
)

INDEX_KEY = bytes(range(32, 64))
FIELD = "applicant.full_name"

# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "Иван Петров",
        "ИВАН ПЕТРОВ",
        "IVAN PETROV",
        "Ivan Petrov",
        " ivan   petrov ",
        "ivan\tpetrov\n",
        "Ivan-Petrov",
        "Ivan, Petrov.",
        "Ива́н Петро́в",
        "ＩＶＡＮ ＰＥＴＲＯＶ",
    ],
)
def test_it_normalises_cyrillic_and_latin_spellings_of_a_name_equally(spelling: str) -> None:
    assert normalise_name(spelling) == "ivan petrov"


def test_it_keeps_names_that_differ_apart() -> None:
    assert normalise_name("Ivan Petrova") != normalise_name("Иван Петров")
    assert normalise_name("Petrov Ivan") != normalise_name("Ivan Petrov")


ICAO_9303 = {
    "А": "a",
    "Б": "b",
    "В": "v",
    "Г": "g",
    "Д": "d",
    "Е": "e",
    "Ё": "e",
    "Ж": "zh",
    "З": "z",
    "И": "i",
    "Й": "i",
    "К": "k",
    "Л": "l",
    "М": "m",
    "Н": "n",
    "О": "o",
    "П": "p",
    "Р": "r",
    "С": "s",
    "Т": "t",
    "У": "u",
    "Ф": "f",
    "Х": "kh",
    "Ц": "ts",
    "Ч": "ch",
    "Ш": "sh",
    "Щ": "shch",
    "Ъ": "ie",
    "Ы": "y",
    "Ь": "",
    "Э": "e",
    "Ю": "iu",
    "Я": "ia",
    "Ґ": "g",
    "Є": "ie",
    "І": "i",
    "Ї": "i",
    "Ў": "u",
}


@pytest.mark.parametrize(("letter", "latin"), ICAO_9303.items())
def test_it_transliterates_each_cyrillic_letter_per_icao_9303(letter: str, latin: str) -> None:
    # Between two Latin letters so that the dropped soft sign still leaves a name.
    assert normalise_name(f"a{letter}a") == f"a{latin}a"
    assert normalise_name(f"a{letter.lower()}a") == f"a{latin}a"


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Олексій Шевченко", "OLEKSII SHEVCHENKO"),  # Ukrainian і
        ("Мар'яна Ґонта", "MARIANA GONTA"),  # apostrophe inside the word, Ґ
        ("Мар’яна", "Mariana"),  # typographic apostrophe
        ("Їжакевич Євгенія", "IZHAKEVICH IEVGENIIA"),  # Ї, Є
        ("Ўладзімір Ёрш", "ULADZIMIR ERSH"),  # Belarusian Ў, Ё
        ("Дарья Подъячева", "DARIA PODIEIACHEVA"),  # soft sign dropped, hard sign IE
        ("Щукина-Хрущёва", "SHCHUKINA KHRUSHCHEVA"),  # hyphen becomes a separator
    ],
)
def test_it_matches_passport_spellings_of_ukrainian_and_belarusian_names(
    cyrillic: str, latin: str
) -> None:
    assert normalise_name(cyrillic) == normalise_name(latin)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Müller", "muller"),
        ("François Lefèvre", "francois lefevre"),
        ("Søren", "soeren"),
        ("Łukasz", "lukasz"),
        ("Straße", "strasse"),
        ("O'Neil", "oneil"),
        ("D´Artagnan", "dartagnan"),
    ],
)
def test_it_strips_latin_diacritics_and_apostrophes(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


# -- other normalisers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "75 1234567",
        "751234567",
        "75-1234567",
        "75.123.45.67",
        "75\u00a01234567",
        "75–1234567",
        "７５１２３４５６７",
    ],
)
def test_it_normalises_passport_numbers_without_separators(spelling: str) -> None:
    assert normalise_passport(spelling) == "751234567"


def test_it_uppercases_passport_numbers() -> None:
    assert normalise_passport("ab 123-45") == "AB12345"


def test_it_normalises_email_by_stripping_and_casefolding() -> None:
    assert normalise_email("  Ivan.Petrov@Example.ORG\n") == "ivan.petrov@example.org"


@pytest.mark.parametrize("spelling", ["+7 (916) 123-45-67", " +7 916 1234567", "+7-916-123-45-67"])
def test_it_normalises_phone_numbers_to_plus_and_digits(spelling: str) -> None:
    assert normalise_phone(spelling) == "+79161234567"


def test_it_keeps_a_plus_only_at_the_start_of_a_phone_number() -> None:
    assert normalise_phone("8 916 123+45+67") == "89161234567"
    assert normalise_phone("+") == ""


def test_it_normalises_free_text_by_case_and_whitespace() -> None:
    assert normalise_text("  Hello\u00a0\t WORLD  ") == "hello world"
    assert normalise_text("ＨＥＬＬＯ") == "hello"


NORMALISERS = [normalise_text, normalise_name, normalise_passport, normalise_email, normalise_phone]


@pytest.mark.parametrize("normalise", NORMALISERS, ids=lambda f: f.__name__)
@given(value=st.text())
@example(value="Иван Петров")
@example(value="ǅ ΐ ﬁ İ ŉ ǰ ß ᾼ")
@example(value="\x00 🏳️‍🌈 \u0301")
def test_each_normaliser_is_idempotent(normalise: object, value: str) -> None:
    assert callable(normalise)
    once = normalise(value)
    assert normalise(once) == once


# -- index size -----------------------------------------------------------------------------


def test_it_chooses_12_bits_for_10_000_rows() -> None:
    assert index_bits_for_rows(10_000) == 12


@pytest.mark.parametrize("rows", [17, 100, 1_000, 10_000, 123_457, 10**6, 10**8, 10**10])
def test_it_keeps_2_to_sqrt_rows_candidates_per_index_value(rows: int) -> None:
    candidates = rows / 2 ** index_bits_for_rows(rows)
    assert 2 <= candidates < math.sqrt(rows)


@given(rows=st.integers(17, 2**33))
def test_it_keeps_2_to_sqrt_rows_candidates_for_any_table_size(rows: int) -> None:
    candidates = rows / 2 ** index_bits_for_rows(rows)
    assert 2 <= candidates < math.sqrt(rows)


@pytest.mark.parametrize(("rows", "bits"), [(1, 1), (3, 1), (4, 1), (8, 2), (2**40, 32)])
def test_it_clamps_index_bits_to_1_through_32(rows: int, bits: int) -> None:
    assert index_bits_for_rows(rows) == bits


@pytest.mark.parametrize("rows", [0, -5])
def test_it_refuses_a_row_count_below_one(rows: int) -> None:
    with pytest.raises(ValueError, match="rows"):
        index_bits_for_rows(rows)


# -- the index ------------------------------------------------------------------------------


def independent_blind_index(key: bytes, field: str, value: str, bits: int) -> int:
    """RFC 5869 HKDF-SHA256 and HMAC-SHA256 with the standard library only."""
    prk = hmac.new(bytes(32), key, hashlib.sha256).digest()  # salt=None means 32 zero bytes
    info = b"casework/blind-index/v1/" + field.encode()
    subkey = hmac.new(prk, info + b"\x01", hashlib.sha256).digest()
    digest = hmac.new(subkey, value.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest, "big") >> (256 - bits)


@given(value=st.text(min_size=1), bits=st.integers(1, 32))
def test_it_matches_an_independent_hkdf_and_hmac_computation(value: str, bits: int) -> None:
    expected = independent_blind_index(INDEX_KEY, FIELD, value, bits)
    assert blind_index(INDEX_KEY, FIELD, value, bits=bits) == expected


@given(value=st.text(min_size=1), bits=st.integers(1, 32))
def test_it_returns_a_value_within_the_bit_range(value: str, bits: int) -> None:
    assert 0 <= blind_index(INDEX_KEY, FIELD, value, bits=bits) < 2**bits


def test_it_finds_a_cyrillic_name_by_its_passport_spelling() -> None:
    stored = blind_index(INDEX_KEY, FIELD, normalise_name("Иван Петров"), bits=32)
    searched = blind_index(INDEX_KEY, FIELD, normalise_name("IVAN PETROV"), bits=32)
    other = blind_index(INDEX_KEY, FIELD, normalise_name("Ivan Petrova"), bits=32)
    assert stored == searched != other


def test_it_gives_the_same_value_different_indexes_in_different_fields() -> None:
    name = blind_index(INDEX_KEY, "applicant.full_name", "ivan petrov", bits=32)
    birth_name = blind_index(INDEX_KEY, "applicant.birth_name", "ivan petrov", bits=32)
    assert name != birth_name


def test_it_gives_the_same_value_different_indexes_under_different_keys() -> None:
    assert blind_index(INDEX_KEY, FIELD, "ivan petrov", bits=32) != blind_index(
        new_data_key(), FIELD, "ivan petrov", bits=32
    )


def test_it_truncates_to_the_top_bits_of_the_mac() -> None:
    full = blind_index(INDEX_KEY, FIELD, "ivan petrov", bits=32)
    assert blind_index(INDEX_KEY, FIELD, "ivan petrov", bits=12) == full >> 20


def test_it_refuses_to_index_an_empty_value() -> None:
    with pytest.raises(ValueError, match="empty"):
        blind_index(INDEX_KEY, FIELD, "", bits=12)


@pytest.mark.parametrize("bits", [0, 33, 256, -1])
def test_it_refuses_bits_outside_1_through_32(bits: int) -> None:
    with pytest.raises(ValueError, match="bits"):
        blind_index(INDEX_KEY, FIELD, "ivan petrov", bits=bits)


def test_it_refuses_an_index_key_that_is_not_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        blind_index(bytes(16), FIELD, "ivan petrov", bits=12)


def test_it_refuses_an_empty_field_name() -> None:
    with pytest.raises(ValueError, match="field_name"):
        blind_index(INDEX_KEY, "", "ivan petrov", bits=12)
