"""The seeded routes and missions (cases migration 0003) match DOMAIN.md sections 1 and 6.

The expected values are written out here, not imported from the migration, so a broken or
edited migration fails these tests instead of agreeing with itself.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from casework.cases.models import Mission, Route

pytestmark = pytest.mark.django_db

MIGRATION = ("cases", "0003_reference_routes_and_missions")

# DOMAIN.md section 1.2, "Modelling takeaways".
TAKEAWAY_CODES = [
    "DE_AUFENTHG_22_S1",
    "DE_AUFENTHG_22_S2",
    "FR_VISA_ASILE",
    "LT_NATIONAL_HUMANITARIAN",
    "LV_HUMANITARIAN",
    "PL_D21",
    "CZ_CIVIL_SOCIETY",
    "ES_LEY12_2009_ART38",
    "SCHENGEN_LTV_ART25",
    "SCHENGEN_C_HUMANITARIAN",
    "ASYLUM_ON_ARRIVAL",
]
# EU-level codes exist once per state, prefixed with its ISO code.
GENERIC_CODES = {"SCHENGEN_LTV_ART25", "SCHENGEN_C_HUMANITARIAN", "ASYLUM_ON_ARRIVAL"}

# DOMAIN.md section 6.1 (ISO 3166-1 alpha-2; Greece is GR, not the EU's "EL").
SCHENGEN = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IS",
    "IT",
    "LV",
    "LI",
    "LT",
    "LU",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    "CH",
}
# DOMAIN.md section 6.2.
TRANSIT_COUNTRIES = {"GE", "AM", "KZ", "RS", "TR", "KG", "UZ", "AE", "ME", "BY", "RU"}
# States of the per-state table, section 1.2.
TABLE_STATES = {"DE", "FR", "LT", "LV", "PL", "CZ", "EE", "FI", "ES", "NL"}

DOCUMENT_TYPES = {
    "passport_intl",
    "passport_internal",
    "birth_cert",
    "summons",
    "criminal_case_doc",
    "police_report",
    "court_decision",
    "medical_report",
    "threat_screenshot",
    "media_article",
    "partner_org_letter",
    "membership_proof",
    "photo",
    "translation",
    "other",
}
VISA_TYPES = {"C", "LTV", "D", "asylum-visa"}
MISSION_KINDS = {"embassy", "consulate", "visa_centre"}


def slug(code: str) -> str:
    return code.lower().replace("_", "-")


def route(code: str) -> Route:
    return Route.objects.get(code=code)


def max_length(model, name: str) -> int:
    limit = model._meta.get_field(name).max_length
    assert limit is not None
    return limit


# --- Routes -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", TAKEAWAY_CODES)
def test_every_takeaway_legal_basis_has_a_route(code):
    if code in GENERIC_CODES:
        pattern = rf"^[a-z]{{2}}-{re.escape(slug(code))}$"
        routes = list(Route.objects.filter(code__regex=pattern))
        assert routes, code
        for found in routes:
            assert found.code[:2].upper() == found.destination_state
    else:
        found = route(slug(code))
        assert found.destination_state == code[:2]


def test_generic_routes_cover_the_states_domain_ties_them_to():
    ltv = set(
        Route.objects.filter(code__endswith="-schengen-ltv-art25").values_list(
            "destination_state", flat=True
        )
    )
    assert ltv == TABLE_STATES
    assert set(
        Route.objects.filter(code__endswith="-asylum-on-arrival").values_list(
            "destination_state", flat=True
        )
    ) == {"DE", "NL"}
    assert {"FR", "LT", "ES", "NL", "EE"} <= set(
        Route.objects.filter(code__endswith="-schengen-c-humanitarian").values_list(
            "destination_state", flat=True
        )
    )


def test_route_codes_are_unique_slugs():
    codes = list(Route.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code), code
        assert len(code) <= max_length(Route, "code")


def test_every_state_of_the_domain_table_has_a_route():
    states = set(Route.objects.values_list("destination_state", flat=True))
    assert states == TABLE_STATES


def test_destination_states_are_schengen_iso_codes():
    for found in Route.objects.all():
        assert found.destination_state in SCHENGEN, found.code


def test_pre_approval_flags():
    # DE Aufnahmeerklärung, FR ministry agreement, LT MFA confirmation, CZ programme.
    for code in ["de-aufenthg-22-s1", "fr-visa-asile", "lt-national-humanitarian"]:
        assert route(code).needs_pre_approval, code
    assert route("cz-civil-society").needs_pre_approval
    assert route("de-aufenthg-22-s2").needs_pre_approval
    # Routes where the consulate receives the file directly.
    for code in ["pl-d21", "lv-humanitarian", "es-ley12-2009-art38", "nl-asylum-on-arrival"]:
        assert not route(code).needs_pre_approval, code
    assert not Route.objects.filter(visa_type="LTV", needs_pre_approval=True).exists()


def test_visa_types():
    assert set(Route.objects.values_list("visa_type", flat=True)) <= VISA_TYPES
    assert route("fr-visa-asile").visa_type == "asylum-visa"
    for code in ["de-aufenthg-22-s1", "de-aufenthg-22-s2", "lt-national-humanitarian", "pl-d21"]:
        assert route(code).visa_type == "D", code
    assert route("de-schengen-ltv-art25").visa_type == "LTV"


def test_statuses_follow_the_text():
    valid = {choice for choice, _label in Route.Status.choices}
    assert set(Route.objects.values_list("status", flat=True)) <= valid
    # German fast track frozen July 2025, resumed without the accelerated procedure.
    assert route("de-aufenthg-22-s2").status == "restricted"
    # Estonia "restrictive"; Finland "strongly limited", status unclear.
    assert set(
        Route.objects.filter(destination_state__in=["EE", "FI"]).values_list("status", flat=True)
    ) == {"restricted"}
    # Open routes NGOs use now.
    for code in ["fr-visa-asile", "lt-national-humanitarian", "pl-d21", "cz-civil-society"]:
        assert route(code).status == "active", code


def test_deciding_authorities_come_from_the_table():
    assert "Auswärtiges Amt" in route("de-aufenthg-22-s1").deciding_authority
    assert "Minister in charge of asylum" in route("fr-visa-asile").deciding_authority
    assert "Ministry of Foreign Affairs" in route("lt-national-humanitarian").deciding_authority
    assert "Polish consul" in route("pl-d21").deciding_authority
    assert "Ambassador" in route("es-ley12-2009-art38").deciding_authority
    assert route("nl-asylum-on-arrival").deciding_authority.startswith("IND")
    for found in Route.objects.all():
        assert found.deciding_authority.strip(), found.code


def test_legal_basis_is_human_readable():
    assert route("de-aufenthg-22-s1").legal_basis.startswith("§22 S.1 AufenthG")
    assert route("de-aufenthg-22-s2").legal_basis.startswith("§22 S.2 AufenthG")
    assert "Ley 12/2009" in route("es-ley12-2009-art38").legal_basis
    for found in Route.objects.all():
        assert found.legal_basis.strip(), found.code
        assert "_" not in found.legal_basis, found.code


def test_checklists_use_only_known_document_types():
    for found in Route.objects.all():
        assert isinstance(found.checklist, list), found.code
        assert found.checklist, found.code
        assert len(found.checklist) == len(set(found.checklist)), found.code
        assert set(found.checklist) <= DOCUMENT_TYPES, found.code
        assert "passport_intl" in found.checklist, found.code


def test_checklists_carry_the_typical_documents_of_the_table():
    de = set(route("de-aufenthg-22-s1").checklist)
    assert {"criminal_case_doc", "summons", "medical_report", "birth_cert"} <= de
    assert "partner_org_letter" in route("fr-visa-asile").checklist  # association support
    assert "partner_org_letter" in route("lt-national-humanitarian").checklist  # NGO motion
    assert "membership_proof" in route("cz-civil-society").checklist  # activism evidence
    assert "birth_cert" in route("lv-humanitarian").checklist  # kinship for family


def test_field_lengths_fit_the_columns():
    # SQLite does not enforce max_length; PostgreSQL would reject the migration.
    for found in Route.objects.all():
        for name in ["legal_basis", "deciding_authority", "visa_type", "status"]:
            assert len(getattr(found, name)) <= max_length(Route, name), (found.code, name)
    for mission in Mission.objects.all():
        for name in ["city", "kind", "name", "state", "host_country"]:
            assert len(getattr(mission, name)) <= max_length(Mission, name), (mission.name, name)


# --- Missions -----------------------------------------------------------------------------


def test_every_mission_state_has_a_route():
    route_states = set(Route.objects.values_list("destination_state", flat=True))
    assert Mission.objects.exists()
    for mission in Mission.objects.all():
        assert mission.state in route_states, mission.name


def test_missions_are_in_transit_countries_with_known_kinds():
    for mission in Mission.objects.all():
        assert mission.host_country in TRANSIT_COUNTRIES, mission.name
        assert mission.host_country not in SCHENGEN, mission.name
        assert mission.kind in MISSION_KINDS, mission.name
        assert mission.city in mission.name, mission.name


def test_mission_keys_are_unique():
    keys = list(Mission.objects.values_list("state", "host_country", "city", "kind"))
    assert len(keys) == len(set(keys))


def test_only_missions_that_domain_names_are_seeded():
    """Reference data must not invent an embassy: a person could be sent to a closed door."""
    assert Mission.objects.count() == 14
    assert not Mission.objects.filter(host_country__in=["RS"]).exists()


@pytest.mark.parametrize(
    ("state", "host", "city", "kind", "name"),
    [
        ("DE", "RU", "Moscow", "embassy", "Embassy of Germany in Moscow"),
        ("DE", "BY", "Minsk", "embassy", "Embassy of Germany in Minsk"),
        ("DE", "KZ", "Astana", "embassy", "Embassy of Germany in Astana"),
        ("FR", "AM", "Yerevan", "embassy", "Embassy of France in Yerevan"),
        ("FR", "TR", "Istanbul", "consulate", "Consulate General of France in Istanbul"),
        ("ES", "RU", "Moscow", "embassy", "Embassy of Spain in Moscow"),
        ("ES", "GE", "Tbilisi", "embassy", "Embassy of Spain in Tbilisi"),
        ("ES", "TR", "Istanbul", "consulate", "Consulate General of Spain in Istanbul"),
        ("LT", "GE", "Tbilisi", "embassy", "Embassy of Lithuania in Tbilisi"),
        ("NL", "RU", "Moscow", "embassy", "Embassy of the Netherlands in Moscow"),
        ("DE", "GE", "Tbilisi", "embassy", "Embassy of Germany in Tbilisi"),
        ("FR", "GE", "Tbilisi", "embassy", "Embassy of France in Tbilisi"),
        ("PL", "GE", "Tbilisi", "consulate", "Consulate of Poland in Tbilisi"),
    ],
)
def test_missions_named_in_domain(state, host, city, kind, name):
    mission = Mission.objects.get(state=state, host_country=host, city=city, kind=kind)
    assert mission.name == name


def test_no_missions_in_russia_or_belarus_beyond_those_domain_names():
    assert set(
        Mission.objects.filter(host_country__in=["RU", "BY"]).values_list(
            "state", "host_country", "city"
        )
    ) == {
        ("DE", "RU", "Moscow"),
        ("DE", "BY", "Minsk"),
        ("ES", "RU", "Moscow"),
        ("NL", "RU", "Moscow"),
    }


# --- The migration itself -----------------------------------------------------------------


def _migration_module():
    return importlib.import_module(f"casework.cases.migrations.{MIGRATION[1]}")


def _historical_apps():
    """The models as the migrations leave them: the seed's code, run against today's table
    (later migrations added columns that 0003's own state does not know)."""
    loader = MigrationLoader(connection)
    return loader.project_state(loader.graph.leaf_nodes("cases")).apps


def _snapshot():
    routes = {
        row["code"]: row
        for row in Route.objects.values(
            "code",
            "destination_state",
            "legal_basis",
            "visa_type",
            "needs_pre_approval",
            "deciding_authority",
            "status",
            "checklist",
        )
    }
    missions = set(Mission.objects.values_list("state", "host_country", "city", "kind", "name"))
    return routes, missions


def test_seed_is_idempotent_and_restores_edited_rows():
    module = _migration_module()
    before = _snapshot()
    ids = set(Route.objects.values_list("id", flat=True))

    Route.objects.filter(code="pl-d21").update(status="suspended", checklist=[])
    names = importlib.import_module("casework.cases.migrations.0014_seed_letter_names")
    for _twice in range(2):
        module.seed(_historical_apps(), None)
        names.seed(_historical_apps(), None)  # what 0014 then changed of 0003's rows

    assert _snapshot() == before
    assert set(Route.objects.values_list("id", flat=True)) == ids


def test_reverse_deletes_exactly_the_seeded_rows():
    module = _migration_module()
    own_route = Route.objects.create(
        code="it-test-route",
        destination_state="IT",
        legal_basis="Added by a coordinator",
        visa_type="D",
        deciding_authority="Test",
    )
    own_mission = Mission.objects.create(
        state="DE", host_country="AM", city="Testville", kind="consulate", name="Test consulate"
    )

    module.unseed(_historical_apps(), None)

    assert list(Route.objects.all()) == [own_route]
    assert list(Mission.objects.all()) == [own_mission]

    module.seed(_historical_apps(), None)
    assert Route.objects.count() == len(module.ROUTES) + 1
    assert Mission.objects.count() == len(module.MISSIONS) + 1
