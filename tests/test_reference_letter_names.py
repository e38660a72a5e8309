"""What letters print for the seeded routes and missions (cases migration 0014).

After the migrations every route says what a letter asks for, which languages its
authorities expect, and its procedure, legal basis and authority in English, Russian, each
of those languages and the destination's own; every mission its name in the same languages.
The internal remarks live in ``notes`` and never in a printed name. Expected values are
written out here (DOMAIN.md sections 1.2, 3.2, 3.3 and 10), not imported from the migration.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import unicodedata

import pytest

from casework.cases.models import LETTER_LANGUAGES, OFFICIAL_LANGUAGE, Mission, Route

pytestmark = pytest.mark.django_db

MIGRATION = "casework.cases.migrations.0014_seed_letter_names"
PARTS = ("procedure", "legal_basis", "authority")
SEVEN = {code for code, _name in LETTER_LANGUAGES}
# States whose routes and missions the demo can show in any letter language.
EVERY_LANGUAGE_STATES = {"DE", "FR", "PL", "LT", "CZ"}

# DOMAIN.md section 3.3; a state whose own language is no letter language gets English.
EXPECTED_LETTER_LANGUAGES = {
    "DE": ["de", "en"],
    "FR": ["fr", "en"],
    "LT": ["lt", "en"],
    "PL": ["pl", "en"],
    "CZ": ["cs", "en"],
    "LV": ["en"],
    "EE": ["en"],
    "FI": ["en"],
    "ES": ["en"],
    "NL": ["en"],
}

# Staff remarks and hedges that must never reach an authority.
REMARKS = re.compile(
    r"unverified|verify|no §\s?23|assumed|general knowledge|DOMAIN|TODO|extremely rarely|"
    r"risk group|issued exceptionally|proposed 2022|\?",
    re.IGNORECASE,
)


def route(code: str) -> Route:
    return Route.objects.get(code=code)


def required_languages(state: str, letter_languages: list[str]) -> set[str]:
    required = {"en", "ru", OFFICIAL_LANGUAGE[state], *letter_languages}
    if state in EVERY_LANGUAGE_STATES:
        required |= SEVEN
    return required


def cyrillic(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CYRILLIC") for ch in text)


def printed_values(found: Route) -> list[tuple[str, str, str]]:
    return [
        (language, part, text)
        for language, names in found.letter_names.items()
        for part, text in names.items()
    ]


# --- routes -------------------------------------------------------------------------------


def test_every_route_has_a_request_kind_and_the_letter_languages_of_its_state():
    kinds = set(Route.RequestKind.values)
    assert Route.objects.count() == 26  # the routes of 0003
    for found in Route.objects.all():
        assert found.request_kind in kinds, found.code
        expected = EXPECTED_LETTER_LANGUAGES[found.destination_state]
        assert found.letter_languages == expected, found.code
        assert set(found.letter_languages) <= SEVEN, found.code


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("de-aufenthg-22-s1", "admission"),
        ("de-aufenthg-22-s2", "admission"),
        ("es-ley12-2009-art38", "admission"),
        ("fr-visa-asile", "preapproval"),
        ("lt-national-humanitarian", "preapproval"),
        ("cz-civil-society", "preapproval"),
        ("de-asylum-on-arrival", "asylum"),
        ("nl-asylum-on-arrival", "asylum"),
        ("pl-d21", "visa"),
        ("lv-humanitarian", "visa"),
        ("de-schengen-ltv-art25", "visa"),
    ],
)
def test_request_kinds_follow_the_domain_table(code, kind):
    assert route(code).request_kind == kind


def test_every_route_names_all_three_parts_in_every_language_it_needs():
    for found in Route.objects.all():
        assert isinstance(found.letter_names, dict), found.code
        for language in required_languages(found.destination_state, found.letter_languages):
            for part in PARTS:
                assert found.printed(language, part), (found.code, language, part)
        for language, names in found.letter_names.items():
            assert set(names) == set(PARTS), (found.code, language)


def test_routes_of_the_demo_states_are_named_in_all_seven_letter_languages():
    for found in Route.objects.filter(destination_state__in=EVERY_LANGUAGE_STATES):
        assert set(found.letter_names) >= SEVEN, found.code


def test_the_official_language_is_kept_even_where_letters_are_in_english():
    for code, language in [
        ("lv-humanitarian", "lv"),
        ("ee-schengen-c-humanitarian", "et"),
        ("fi-national-humanitarian", "fi"),
        ("es-ley12-2009-art38", "es"),
        ("nl-asylum-on-arrival", "nl"),
    ]:
        found = route(code)
        assert language not in found.letter_languages
        assert all(found.printed(language, part) for part in PARTS), code


def test_no_printed_name_carries_a_staff_remark():
    for found in Route.objects.all():
        for language, part, text in printed_values(found):
            assert not REMARKS.search(text), (found.code, language, part, text)
            assert text == text.strip() and "  " not in text, (found.code, language, part)


def test_no_notes_text_appears_in_a_printed_name():
    noted = 0
    for found in Route.objects.all():
        if not found.notes:
            continue
        noted += 1
        sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", found.notes) if s.strip()]
        for _language, _part, text in printed_values(found):
            assert found.notes not in text
            for sentence in sentences:
                if len(sentence) >= 12:
                    assert sentence not in text, (found.code, sentence)
    assert noted == Route.objects.count()  # every route's remarks moved into notes


def test_the_staff_text_is_short_and_remark_free():
    for found in Route.objects.all():
        for name in ("legal_basis", "deciding_authority"):
            value = getattr(found, name)
            assert value.strip(), (found.code, name)
            assert not REMARKS.search(value), (found.code, name, value)
    assert route("de-asylum-on-arrival").legal_basis == "Asylum claim after arrival (§ 13 AsylG)"
    assert "no §23" in route("de-asylum-on-arrival").notes.lower().replace("(2)", "")


def test_names_are_in_the_script_of_their_language():
    for found in Route.objects.all():
        for language, part, text in printed_values(found):
            if language == "ru":
                assert cyrillic(text), (found.code, part)
            else:
                # A letter in a Latin-script language prints no Cyrillic (the pre-issue check
                # would warn about it).
                assert not cyrillic(text), (found.code, language, part)


def test_authorities_fit_what_a_letter_keeps_of_them():
    limit = 300  # Letter.authority
    for found in Route.objects.all():
        for language in found.letter_names:
            assert len(found.printed(language, "authority")) <= limit, (found.code, language)


def test_printed_names_from_the_domain_text():
    s2 = route("de-aufenthg-22-s2")
    assert s2.printed("de", "legal_basis") == "§ 22 Satz 2 AufenthG"
    assert s2.printed("de", "authority") == "Bundesamt für Migration und Flüchtlinge"
    assert route("de-aufenthg-22-s1").printed("de", "authority") == "Auswärtiges Amt"
    assert s2.printed("de", "procedure").startswith("Aufnahme aus dem Ausland")
    assert route("de-aufenthg-22-s1").printed("de", "legal_basis") == "§ 22 Satz 1 AufenthG"
    assert route("de-asylum-on-arrival").printed("de", "authority") == (
        "Bundesamt für Migration und Flüchtlinge"
    )
    asile = route("fr-visa-asile")
    assert asile.printed("fr", "procedure") == "visa de long séjour au titre de l'asile"
    assert asile.printed("fr", "authority") == "Ministère de l'Intérieur"
    # In another language the official name stays, with a translation.
    assert asile.printed("de", "authority").startswith("Ministère de l'Intérieur (")
    assert route("cz-civil-society").printed("cs", "authority") == (
        "Ministerstvo zahraničních věcí České republiky"
    )
    assert "Občanská společnost" in route("cz-civil-society").printed("cs", "procedure")
    assert route("lt-national-humanitarian").printed("lt", "authority") == (
        "Lietuvos Respublikos užsienio reikalų ministerija"
    )
    assert route("pl-d21").printed("pl", "authority") == "Konsul Rzeczypospolitej Polskiej"
    assert "Ley 12/2009" in route("es-ley12-2009-art38").printed("es", "legal_basis")
    assert (
        route("nl-asylum-on-arrival")
        .printed("nl", "authority")
        .startswith("Immigratie- en Naturalisatiedienst")
    )


def test_unverified_points_are_not_cited():
    # DOMAIN.md: Poland's Art. 60 point is "not re-verified": the article, not the point.
    for language, _part, text in printed_values(route("pl-d21")):
        if "art. 60" in text:
            assert "pkt" not in text and "ust." not in text, language
    assert "art. 60" in route("pl-d21").printed("pl", "legal_basis")


# --- missions -----------------------------------------------------------------------------


def test_every_mission_is_named_in_the_languages_of_its_state():
    assert Mission.objects.count() == 14  # the missions of 0003
    for mission in Mission.objects.all():
        letter_languages = EXPECTED_LETTER_LANGUAGES[mission.state]
        for language in required_languages(mission.state, letter_languages):
            assert mission.printed(language), (mission.name, language)
        assert mission.city in mission.printed("en"), mission.name
        for language, text in mission.letter_names.items():
            assert not REMARKS.search(text), (mission.name, language)
            assert cyrillic(text) == (language == "ru"), (mission.name, language)


def test_every_route_language_has_the_mission_names_to_go_with_it():
    for mission in Mission.objects.all():
        for found in Route.objects.filter(destination_state=mission.state):
            assert set(found.letter_names) <= set(mission.letter_names), (
                mission.name,
                found.code,
            )


@pytest.mark.parametrize(
    ("key", "language", "name"),
    [
        (("FR", "AM", "Yerevan"), "fr", "Ambassade de France à Erevan"),
        (("DE", "AM", "Yerevan"), "de", "Botschaft der Bundesrepublik Deutschland Eriwan"),
        (("DE", "AM", "Yerevan"), "en", "Embassy of the Federal Republic of Germany, Yerevan"),
        (("LT", "GE", "Tbilisi"), "lt", "Lietuvos Respublikos ambasada Tbilisyje"),
        (("ES", "GE", "Tbilisi"), "es", "Embajada de España en Tiflis"),
    ],
)
def test_mission_names(key, language, name):
    state, host, city = key
    assert Mission.objects.get(state=state, host_country=host, city=city).printed(language) == (
        name
    )


def test_the_polish_consulate_in_tbilisi_is_named_as_the_consul_works():
    mission = Mission.objects.get(state="PL", host_country="GE", city="Tbilisi")
    assert mission.printed("pl").endswith("Rzeczypospolitej Polskiej w Tbilisi")


# --- the migration itself -----------------------------------------------------------------


def test_the_migration_imports_no_application_code():
    module = importlib.import_module(MIGRATION)
    tree = ast.parse(inspect.getsource(module))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert imported <= {"__future__", "django.db"}


def test_the_migration_covers_every_route_and_mission_of_0003():
    seeded = importlib.import_module(MIGRATION)
    reference = importlib.import_module(
        "casework.cases.migrations.0003_reference_routes_and_missions"
    )
    assert set(seeded.ROUTES) == {row["code"] for row in reference.ROUTES}
    assert set(seeded.MISSIONS) == {
        (row["state"], row["host_country"], row["city"]) for row in reference.MISSIONS
    }
