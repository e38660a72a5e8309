"""Seed the reference data for routes and missions.

Source: /work/shared/DOMAIN.md
  - section 1.1 (EU baseline: Visa Code Art. 25 LTV, humanitarian derogations),
  - section 1.2 (per-state table and "Modelling takeaways": legal_basis codes,
    pre-approval, deciding authority, status),
  - sections 2.2, 3.2 and 10 (named missions: German missions in Astana, Yerevan, Tbilisi,
    Minsk and Moscow; French embassy in Yerevan; Lithuanian embassy in Tbilisi),
  - section 6.1 (Schengen states) and 6.2 (common transit / application countries).

Routes and missions are reference data that coordinators edit (DOMAIN.md caveat and
section 0): nothing here is hard-coded elsewhere, and the rows are a starting point whose
facts are marked "(unverified)" in DOMAIN.md where the source is thin. DOMAIN.md gives no
exact dates for any change of status, so effective_from / effective_until stay empty.

Route codes: the lowercase-hyphen slug of the DOMAIN legal_basis code for the national
routes (DE_AUFENTHG_22_S1 -> "de-aufenthg-22-s1"). The three EU-level / generic codes
(SCHENGEN_LTV_ART25, SCHENGEN_C_HUMANITARIAN, ASYLUM_ON_ARRIVAL) apply per issuing or
receiving state ("valid only for the issuing state", section 1.1), and Route.code is unique,
so they get the destination state as a prefix: "lt-schengen-c-humanitarian".

Migrations must not import application code: the document types and every value are
written out here.
"""

from django.db import migrations

# --- Document-type codes (DOMAIN.md section 9, Document.doc_type) used in checklists -------
# Mapping of the "Typical documents" column of section 1.2:
#   passport                          -> passport_intl (Russians need a zagranpasport for
#                                        most routes, section 5.2 B)
#   evidence of persecution / threat /
#   danger / risk to physical integrity -> EVIDENCE below
#   proof of activism / public profile -> membership_proof, media_article (+ photo for CZ,
#                                        as in sample case 3, section 10)
#   civil-status / kinship documents   -> birth_cert
#   host or association commitment,
#   NGO "motivated application"        -> partner_org_letter
#   link to Germany, LT questionnaire  -> other
#   translations of Russian-language annexes (section 3.3) -> translation
EVIDENCE = [
    "criminal_case_doc",
    "summons",
    "police_report",
    "court_decision",
    "medical_report",
    "threat_screenshot",
    "media_article",
]


def _checklist(*items):
    """A checklist in a stable order without duplicates."""
    seen = []
    for item in items:
        for code in [item] if isinstance(item, str) else item:
            if code not in seen:
                seen.append(code)
    return seen


DE_DOCUMENTS = _checklist(
    "passport_intl",
    "criminal_case_doc",  # proof of danger: criminal-case papers
    "summons",
    "medical_report",  # medical certificates
    "membership_proof",  # proof of activism
    "media_article",  # public profile
    "birth_cert",  # for families: civil-status documents
    "other",  # link to Germany
    "translation",  # German is the language of procedure (section 3.3)
)
FR_DOCUMENTS = _checklist("passport_intl", EVIDENCE, "partner_org_letter", "translation")
LT_DOCUMENTS = _checklist(
    "passport_intl",
    EVIDENCE,
    "partner_org_letter",  # motivated application from a registered NGO
    "other",  # security questionnaire for Russian and Belarusian applicants
    "translation",
)

# --- Routes (DOMAIN.md sections 1.1 and 1.2) ------------------------------------------------
ROUTES = [
    # Germany
    {
        "code": "de-aufenthg-22-s1",
        "destination_state": "DE",
        "legal_basis": "§22 S.1 AufenthG (urgent humanitarian reasons)",
        "visa_type": "D",  # national D visa at a German mission after the admission
        "needs_pre_approval": True,  # Aufnahmeerklärung
        "deciding_authority": (
            "Auswärtiges Amt (Foreign Office) reviews; BMI or BAMF declares admission "
            "(Aufnahmeerklärung); the local Ausländerbehörde issues the residence permit"
        ),
        # "Extremely rarely" granted, but DOMAIN does not call it restricted or suspended.
        "status": "active",
        "checklist": DE_DOCUMENTS,
    },
    {
        "code": "de-aufenthg-22-s2",
        "destination_state": "DE",
        "legal_basis": "§22 S.2 AufenthG (political interests of the Federal Republic)",
        "visa_type": "D",
        "needs_pre_approval": True,  # Aufnahmeerklärung / Aufnahmezusage
        "deciding_authority": (
            "Auswärtiges Amt (Foreign Office) reviews; BMI or BAMF declares admission "
            "(Aufnahmeerklärung); the local Ausländerbehörde issues the residence permit"
        ),
        # Fast track frozen late July 2025, "resumed" Aug 2025 without the accelerated
        # procedure, reduced to "a couple of cases a year" (sections 0 and 1.2).
        "status": "restricted",
        "checklist": DE_DOCUMENTS,
    },
    {
        # The Federal Government declined a §23(2) programme for queer people and referred
        # them to individual asylum (section 1.2). The deciding authority for asylum in
        # Germany is not named in DOMAIN.md: BAMF is general knowledge, verify.
        "code": "de-asylum-on-arrival",
        "destination_state": "DE",
        "legal_basis": "Individual asylum claim after arrival (no §23 programme for queer people)",
        "visa_type": "C",  # no visa exists for the purpose; arrival on another visa
        "needs_pre_approval": False,
        "deciding_authority": "BAMF (Federal Office for Migration and Refugees)",
        "status": "active",
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    },
    # France
    {
        "code": "fr-visa-asile",
        "destination_state": "FR",
        "legal_basis": "Visa au titre de l'asile (long-stay visa to seek asylum)",
        "visa_type": "asylum-visa",
        "needs_pre_approval": True,  # ministry agreement
        "deciding_authority": (
            "Minister in charge of asylum (Interior); the embassy or consulate of the place "
            "of residence receives the file"
        ),
        "status": "active",  # NGOs now redirect cases to France (sections 0 and 1.2)
        "checklist": FR_DOCUMENTS,
    },
    {
        # Ad hoc Schengen visas for dissident journalists, people fighting the regime,
        # artists, students; case by case with security checks, about 40 days.
        "code": "fr-schengen-c-humanitarian",
        "destination_state": "FR",
        "legal_basis": "Schengen C visa on humanitarian grounds (ad hoc, case by case)",
        "visa_type": "C",
        "needs_pre_approval": False,
        "deciding_authority": "French embassy or consulate (case by case, with security checks)",
        "status": "active",
        "checklist": FR_DOCUMENTS,
    },
    # Lithuania
    {
        "code": "lt-national-humanitarian",
        "destination_state": "LT",
        "legal_basis": "National (D) visa on humanitarian grounds",
        "visa_type": "D",
        "needs_pre_approval": True,  # MFA confirmation of humanitarian grounds
        "deciding_authority": (
            "Ministry of Foreign Affairs confirms humanitarian grounds; Migration Department "
            "(Interior) issues national visas; State Security Department screening"
        ),
        "status": "active",
        "checklist": LT_DOCUMENTS,
    },
    {
        # "Schengen or national (D) visas on humanitarian grounds"; Lithuania issues visas to
        # Russians only for humanitarian purposes. The MFA confirmation applies to both.
        "code": "lt-schengen-c-humanitarian",
        "destination_state": "LT",
        "legal_basis": "Schengen C visa on humanitarian grounds",
        "visa_type": "C",
        "needs_pre_approval": True,
        "deciding_authority": (
            "Ministry of Foreign Affairs confirms humanitarian grounds; Lithuanian consulate "
            "issues the visa; State Security Department screening"
        ),
        "status": "active",
        "checklist": LT_DOCUMENTS,
    },
    # Latvia
    {
        "code": "lv-humanitarian",
        "destination_state": "LV",
        "legal_basis": "Entry on humanitarian considerations (Cabinet Regulation No 123)",
        # DOMAIN does not say whether these are C or D visas: C assumed, verify.
        "visa_type": "C",
        "needs_pre_approval": False,
        "deciding_authority": "Ministry of Foreign Affairs / Latvian diplomatic missions",
        "status": "active",
        # "Documents confirming the purpose of entry" and, for family, kinship.
        "checklist": _checklist("passport_intl", EVIDENCE, "birth_cert", "translation"),
    },
    # Poland
    {
        "code": "pl-d21",
        "destination_state": "PL",
        "legal_basis": "National humanitarian visa D21 (Act on Foreigners, Art. 60)",
        "visa_type": "D",
        "needs_pre_approval": False,
        "deciding_authority": "Polish consul (Ministry of Foreign Affairs)",
        "status": "active",
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    },
    # Czech Republic
    {
        "code": "cz-civil-society",
        "destination_state": "CZ",
        "legal_basis": 'MFA "Civil Society" programme (Schengen and long-term visas)',
        "visa_type": "D",  # the programme issues both Schengen and long-term visas
        "needs_pre_approval": True,  # programme admission by the MFA
        "deciding_authority": (
            "Ministry of Foreign Affairs (Civil Society programme, individual security "
            "assessment, in cooperation with NGOs)"
        ),
        "status": "active",  # quota about 500 a year
        "checklist": _checklist(
            "passport_intl",
            "membership_proof",  # evidence of activism
            "partner_org_letter",
            "photo",
            EVIDENCE,  # evidence of danger
            "translation",
        ),
    },
    # Estonia
    {
        "code": "ee-schengen-c-humanitarian",
        "destination_state": "EE",
        "legal_basis": "Humanitarian exception to the 2022 entry and visa sanctions",
        "visa_type": "C",
        "needs_pre_approval": False,
        "deciding_authority": "Ministry of Foreign Affairs / Police and Border Guard Board",
        "status": "restricted",  # "Restrictive"
        "checklist": _checklist("passport_intl"),  # "Case-specific"
    },
    # Finland
    {
        "code": "fi-national-humanitarian",
        "destination_state": "FI",
        "legal_basis": "National humanitarian visa for dissidents (proposed 2022)",
        "visa_type": "D",
        "needs_pre_approval": False,
        "deciding_authority": "Ministry for Foreign Affairs",
        # "Strongly limited"; status after the 2023 border closures unclear.
        "status": "restricted",
        "checklist": _checklist("passport_intl"),  # DOMAIN lists none
    },
    # Spain
    {
        "code": "es-ley12-2009-art38",
        "destination_state": "ES",
        "legal_basis": "Art. 38 Ley 12/2009 (transfer of an asylum seeker promoted by the embassy)",
        "visa_type": "asylum-visa",
        "needs_pre_approval": False,
        "deciding_authority": (
            "Ambassador promotes the transfer; OAR (Interior) and the CIAR commission decide "
            "on asylum"
        ),
        "status": "active",  # "slow and uncertain", but not described as restricted
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    },
    {
        # 2024: 65 Russian dissidents entered on Schengen visas "on humanitarian grounds" via
        # the Spanish missions in Moscow, Tbilisi and Istanbul.
        "code": "es-schengen-c-humanitarian",
        "destination_state": "ES",
        "legal_basis": "Schengen C visa on humanitarian grounds",
        "visa_type": "C",
        "needs_pre_approval": False,
        "deciding_authority": "Spanish embassy or consulate in the transit country",
        "status": "active",
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    },
    # Netherlands
    {
        "code": "nl-asylum-on-arrival",
        "destination_state": "NL",
        "legal_basis": "Asylum claim in the Netherlands (Russian LGBTI are a risk group)",
        "visa_type": "C",  # no dedicated visa; asylum must be claimed in NL
        "needs_pre_approval": False,
        "deciding_authority": "IND (Immigration and Naturalisation Service)",
        "status": "active",
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    },
    {
        "code": "nl-schengen-c-humanitarian",
        "destination_state": "NL",
        "legal_basis": "Short-stay visa for serious humanitarian reasons",
        "visa_type": "C",
        "needs_pre_approval": False,
        "deciding_authority": "Ministry of Foreign Affairs (Dutch mission)",
        # Short-stay visas in Russia limited to "serious humanitarian reasons".
        "status": "restricted",
        "checklist": _checklist("passport_intl"),  # DOMAIN lists none
    },
]

# Visa Code Art. 25(1)(a) (section 1.1): any Schengen state may issue an LTV visa
# "exceptionally" on humanitarian grounds, valid only for the issuing state. Seeded for the
# states of the section 1.2 table only, as "restricted" because it is issued exceptionally
# ("a secondary tool"). The deciding consulate is the Visa Code default, not a DOMAIN fact.
LTV_STATES = {
    "DE": "Germany",
    "FR": "France",
    "LT": "Lithuania",
    "LV": "Latvia",
    "PL": "Poland",
    "CZ": "the Czech Republic",
    "EE": "Estonia",
    "FI": "Finland",
    "ES": "Spain",
    "NL": "the Netherlands",
}
ROUTES += [
    {
        "code": f"{iso.lower()}-schengen-ltv-art25",
        "destination_state": iso,
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "visa_type": "LTV",
        "needs_pre_approval": False,
        "deciding_authority": f"Consulate of {name} (issued exceptionally)",
        "status": "restricted",
        "checklist": _checklist("passport_intl", EVIDENCE, "translation"),
    }
    for iso, name in LTV_STATES.items()
]

# --- Missions (DOMAIN.md sections 1.2, 2.2, 6.2 and 10) -------------------------------------
# Only missions DOMAIN.md names: reference data that invents an embassy would send a
# person to a door that does not exist. Coordinators add the rest as they confirm them.
def _mission(state, host, city, kind, name):
    return {"state": state, "host_country": host, "city": city, "kind": kind, "name": name}


MISSIONS = [
    # German missions in Astana, Yerevan and Tbilisi saw surges after mobilisation (2.2 [61]).
    _mission("DE", "KZ", "Astana", "embassy", "Embassy of Germany in Astana"),
    _mission("DE", "AM", "Yerevan", "embassy", "Embassy of Germany in Yerevan"),
    _mission("DE", "GE", "Tbilisi", "embassy", "Embassy of Germany in Tbilisi"),
    # "French embassy or consulate of the place of residence (in practice: Tbilisi,
    # Yerevan, Istanbul, etc.)" (1.2).
    _mission("FR", "GE", "Tbilisi", "embassy", "Embassy of France in Tbilisi"),
    _mission("FR", "AM", "Yerevan", "embassy", "Embassy of France in Yerevan"),
    # Spanish missions in Moscow, Tbilisi and Istanbul issued the 2024 visas (1.2, 6.2).
    _mission("ES", "GE", "Tbilisi", "embassy", "Embassy of Spain in Tbilisi"),
    # "Embassy of the Republic of Lithuania in Tbilisi – Consular Section" (3.2).
    _mission("LT", "GE", "Tbilisi", "embassy", "Embassy of Lithuania in Tbilisi"),
    # Sample case 3 applies at the Polish consulate in Tbilisi (10).
    _mission("PL", "GE", "Tbilisi", "consulate", "Consulate of Poland in Tbilisi"),
]
# Further missions DOMAIN names.
MISSIONS += [
    # German visa processing in Russia centralised in Moscow in 2023 (section 2.2 [60]).
    {
        "state": "DE",
        "host_country": "RU",
        "city": "Moscow",
        "kind": "embassy",
        "name": "Embassy of Germany in Moscow",
    },
    # German missions in Astana, Yerevan, Baku, Tbilisi and Minsk saw surges after
    # mobilisation (section 2.2 [61]). Baku is not in the section 6.2 list; Belarus is,
    # flagged there as "treat as not safe".
    {
        "state": "DE",
        "host_country": "BY",
        "city": "Minsk",
        "kind": "embassy",
        "name": "Embassy of Germany in Minsk",
    },
    # "French embassy or consulate of the place of residence (in practice: Tbilisi,
    # Yerevan, Istanbul, etc.)" (section 1.2).
    {
        "state": "FR",
        "host_country": "TR",
        "city": "Istanbul",
        "kind": "consulate",
        "name": "Consulate General of France in Istanbul",
    },
    # Spanish missions in Moscow, Tbilisi and Istanbul issued the 2024 humanitarian
    # Schengen visas (sections 1.2 and 6.2).
    {
        "state": "ES",
        "host_country": "RU",
        "city": "Moscow",
        "kind": "embassy",
        "name": "Embassy of Spain in Moscow",
    },
    {
        "state": "ES",
        "host_country": "TR",
        "city": "Istanbul",
        "kind": "consulate",
        "name": "Consulate General of Spain in Istanbul",
    },
    # Dutch short-stay visas "in Russia" limited to serious humanitarian reasons (section
    # 1.2); DOMAIN names no city, so the capital.
    {
        "state": "NL",
        "host_country": "RU",
        "city": "Moscow",
        "kind": "embassy",
        "name": "Embassy of the Netherlands in Moscow",
    },
]

MISSION_KEY = ("state", "host_country", "city", "kind")


def seed(apps, schema_editor):
    Route = apps.get_model("cases", "Route")
    Mission = apps.get_model("cases", "Mission")
    for row in ROUTES:
        defaults = {key: value for key, value in row.items() if key != "code"}
        defaults["checklist"] = list(row["checklist"])
        Route.objects.update_or_create(code=row["code"], defaults=defaults)
    for row in MISSIONS:
        lookup = {key: row[key] for key in MISSION_KEY}
        Mission.objects.update_or_create(**lookup, defaults={"name": row["name"]})


def unseed(apps, schema_editor):
    Route = apps.get_model("cases", "Route")
    Mission = apps.get_model("cases", "Mission")
    Route.objects.filter(code__in=[row["code"] for row in ROUTES]).delete()
    for row in MISSIONS:
        Mission.objects.filter(**{key: row[key] for key in MISSION_KEY}).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_routes_missions_cases"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
