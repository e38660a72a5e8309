"""Seed what letters print for the routes and missions of 0003, and tidy their staff text.

Source: /work/shared/DOMAIN.md
  - section 1.1 (Visa Code Art. 25(1)(a) LTV visa; Schengen visas under Reg. 810/2009),
  - section 1.2 (per-state table: route, who decides, where the letter goes, NGO role),
  - section 3.2 (addressee examples: "Auswärtiges Amt", "Ministère de l'Intérieur – via
    Ambassade de France à Erevan", "Konsul RP w …", "MZV ČR – program Občanská
    společnost", "Embassy of the Republic of Lithuania in Tbilisi"),
  - section 3.3 (languages the authorities expect letters in),
  - section 7, "Gaps / to verify" (what is not cited to the exact point),
  - section 10 (sample cases: Ambassade de France Yerevan, Polish consulate in Tbilisi).

For every route: ``request_kind`` (what a letter asks for), ``letter_languages`` (section
3.3; a language that is no letter language, such as Latvian or Spanish, leaves English),
``letter_names`` ({language: {"procedure", "legal_basis", "authority"}}), ``notes`` (the
internal remarks, never printed) and a remark-free ``legal_basis`` and
``deciding_authority`` for the staff. For every mission: ``letter_names`` ({language: name
with its city}).

Names are given in English, Russian, the route's letter languages and the destination's
official language; the routes and missions of DE, FR, PL, LT and CZ in all seven letter
languages. An authority keeps its official name; in another language a translation follows
in parentheses. A legal basis is cited as in the destination state (a statute's own short
title), with a gloss in another language. Where DOMAIN.md leaves the exact provision
unverified (Poland's Art. 60 point, the French and Lithuanian visa provisions, Finland's
status), the law is cited without the point.

Migrations must not import application code: every value is written out here. Rows are
looked up by route code and by (state, host country, city); a row that an editor deleted
is skipped. Reversing leaves the values (they are reference data, not schema).
"""

from __future__ import annotations

from django.db import migrations

# --- Shared wording ----------------------------------------------------------------------

# Regulation (EC) No 810/2009, the Visa Code (section 1.1), as each language cites it.
VISA_CODE = {
    "en": "Regulation (EC) No 810/2009 (Community Code on Visas)",
    "de": "Verordnung (EG) Nr. 810/2009 (Visakodex der Gemeinschaft)",
    "fr": "règlement (CE) n° 810/2009 (code communautaire des visas)",
    "pl": "rozporządzenie (WE) nr 810/2009 (Wspólnotowy Kodeks Wizowy)",
    "lt": "Reglamentas (EB) Nr. 810/2009 (Bendrijos vizų kodeksas)",
    "cs": "nařízení (ES) č. 810/2009 (vízový kodex Společenství)",
    "ru": "Регламент (ЕС) № 810/2009 (Визовый кодекс Сообщества)",
    "lv": "Regula (EK) Nr. 810/2009 (Kopienas Vīzu kodekss)",
    "et": "määrus (EÜ) nr 810/2009 (ühenduse viisaeeskiri)",
    "fi": "asetus (EY) N:o 810/2009 (yhteisön viisumisäännöstö)",
    "es": "Reglamento (CE) n.º 810/2009 (Código comunitario sobre visados)",
    "nl": "Verordening (EG) nr. 810/2009 (gemeenschapscode inzake visa)",
}
# Art. 25(1)(a) of the Visa Code: the LTV visa on humanitarian grounds (section 1.1).
VISA_CODE_ART_25 = {
    "en": "Article 25(1)(a) of Regulation (EC) No 810/2009 (Visa Code)",
    "de": "Art. 25 Abs. 1 Buchst. a der Verordnung (EG) Nr. 810/2009 (Visakodex)",
    "fr": "article 25, paragraphe 1, point a), du règlement (CE) n° 810/2009 (code des visas)",
    "pl": "art. 25 ust. 1 lit. a rozporządzenia (WE) nr 810/2009 (kodeks wizowy)",
    "lt": "Reglamento (EB) Nr. 810/2009 (Vizų kodeksas) 25 straipsnio 1 dalies a punktas",
    "cs": "čl. 25 odst. 1 písm. a) nařízení (ES) č. 810/2009 (vízový kodex)",
    "ru": "ст. 25(1)(a) Регламента (ЕС) № 810/2009 (Визовый кодекс)",
    "lv": "Regulas (EK) Nr. 810/2009 (Vīzu kodekss) 25. panta 1. punkta a) apakšpunkts",
    "et": "määruse (EÜ) nr 810/2009 (viisaeeskiri) artikli 25 lõike 1 punkt a",
    "fi": "asetuksen (EY) N:o 810/2009 (viisumisäännöstö) 25 artiklan 1 kohdan a alakohta",
    "es": "artículo 25, apartado 1, letra a), del Reglamento (CE) n.º 810/2009 (Código de visados)",
    "nl": "artikel 25, lid 1, onder a), van Verordening (EG) nr. 810/2009 (Visumcode)",
}
LTV_PROCEDURE = {
    "en": "visa with limited territorial validity (LTV) on humanitarian grounds",
    "de": "Visum mit räumlich beschränkter Gültigkeit aus humanitären Gründen",
    "fr": "visa à validité territoriale limitée pour raisons humanitaires",
    "pl": "wiza o ograniczonej ważności terytorialnej ze względów humanitarnych",
    "lt": "riboto teritorinio galiojimo viza dėl humanitarinių priežasčių",
    "cs": "vízum s omezenou územní platností z humanitárních důvodů",
    "ru": "виза с ограниченной территориальной действительностью по гуманитарным основаниям",
    "lv": "vīza ar ierobežotu teritoriālo derīgumu humānu apsvērumu dēļ",
    "et": "piiratud territoriaalse kehtivusega viisa humanitaarsetel põhjustel",
    "fi": "alueellisesti rajoitettu viisumi humanitaarisista syistä",
    "es": "visado de validez territorial limitada por razones humanitarias",
    "nl": "visum met territoriaal beperkte geldigheid om humanitaire redenen",
}
SCHENGEN_C_PROCEDURE = {
    "en": "short-stay Schengen visa (type C) on humanitarian grounds",
    "de": "Schengen-Visum für einen kurzfristigen Aufenthalt (Typ C) aus humanitären Gründen",
    "fr": "visa Schengen de court séjour (type C) pour raisons humanitaires",
    "pl": "wiza Schengen krótkoterminowa (typu C) ze względów humanitarnych",
    "lt": "trumpalaikė Šengeno viza (C tipo) dėl humanitarinių priežasčių",
    "cs": "krátkodobé schengenské vízum (typ C) z humanitárních důvodů",
    "ru": "краткосрочная шенгенская виза (тип C) по гуманитарным основаниям",
    "et": "lühiajaline Schengeni viisa (C-viisa) humanitaarsetel põhjustel",
    "es": "visado Schengen de corta duración (tipo C) por razones humanitarias",
    "nl": "Schengenvisum voor kort verblijf (type C) om humanitaire redenen",
}
NATIONAL_HUMANITARIAN_PROCEDURE = {
    "en": "national (D) visa on humanitarian grounds",
    "de": "nationales Visum (D) aus humanitären Gründen",
    "fr": "visa national (D) pour raisons humanitaires",
    "pl": "wiza krajowa (D) ze względów humanitarnych",
    "lt": "nacionalinė viza (D) dėl humanitarinių priežasčių",
    "cs": "národní vízum (D) z humanitárních důvodů",
    "ru": "национальная виза (D) по гуманитарным основаниям",
}


def only(names, *languages):
    """The given languages of a {language: text} table (a state that needs fewer)."""
    return {language: names[language] for language in languages}


def route_names(procedure, legal_basis, authority):
    """{language: {"procedure", "legal_basis", "authority"}} from three tables that must
    cover the same languages (a gap would be a letter that cannot be issued)."""
    languages = set(procedure)
    if set(legal_basis) != languages or set(authority) != languages:
        raise ValueError("route names must cover the same languages in every part")
    return {
        language: {
            "procedure": procedure[language],
            "legal_basis": legal_basis[language],
            "authority": authority[language],
        }
        for language in sorted(languages)
    }


ALL_SEVEN = ("en", "de", "fr", "pl", "lt", "cs", "ru")

# Every LTV route (section 1.1) carries the same remark, moved out of its staff text.
LTV_NOTES = (
    'Visa Code Art. 25(1)(a): issued "exceptionally" on humanitarian grounds, valid only for '
    "the issuing state; a secondary tool (CJEU C-638/16 PPU X and X: no EU-law obligation to "
    "issue a visa sought in order to claim asylum). The deciding consulate is the Visa Code "
    "default, not a DOMAIN.md fact."
)

# --- Germany (DOMAIN.md 1.2 "Germany", 3.2 addressee "Auswärtiges Amt", 3.3: DE + EN) ------

AUSWAERTIGES_AMT = {
    "en": "Auswärtiges Amt (Federal Foreign Office of Germany)",
    "de": "Auswärtiges Amt",
    "fr": "Auswärtiges Amt (ministère fédéral des Affaires étrangères d'Allemagne)",
    "pl": "Auswärtiges Amt (Federalne Ministerstwo Spraw Zagranicznych Niemiec)",
    "lt": "Auswärtiges Amt (Vokietijos federalinė užsienio reikalų ministerija)",
    "cs": "Auswärtiges Amt (Spolkové ministerstvo zahraničních věcí Německa)",
    "ru": "Auswärtiges Amt (Федеральное министерство иностранных дел Германии)",
}
BAMF = {
    "en": "Bundesamt für Migration und Flüchtlinge (Federal Office for Migration and Refugees)",
    "de": "Bundesamt für Migration und Flüchtlinge",
    "fr": "Bundesamt für Migration und Flüchtlinge (Office fédéral des migrations et des réfugiés)",
    "pl": "Bundesamt für Migration und Flüchtlinge (Federalny Urząd do spraw Migracji i Uchodźców)",
    "lt": "Bundesamt für Migration und Flüchtlinge (Federalinė migracijos ir pabėgėlių tarnyba)",
    "cs": "Bundesamt für Migration und Flüchtlinge (Spolkový úřad pro migraci a uprchlíky)",
    "ru": "Bundesamt für Migration und Flüchtlinge (Федеральное ведомство по делам миграции и "
    "беженцев)",
}


def _aufenthg(point):
    """The § 22 AufenthG citation ("§ 22 Satz 1 AufenthG"), the Act named in the other
    languages."""
    cited = f"§ 22 {point} AufenthG"
    return {
        "en": f"{cited} (German Residence Act)",
        "de": cited,
        "fr": f"{cited} (loi allemande sur le séjour des étrangers)",
        "pl": f"{cited} (niemiecka ustawa o pobycie cudzoziemców)",
        "lt": f"{cited} (Vokietijos įstatymas dėl užsieniečių gyvenimo šalyje)",
        "cs": f"{cited} (německý zákon o pobytu cizinců)",
        "ru": f"{cited} (Закон Германии о пребывании иностранцев)",
    }


GERMANY = {
    "de-aufenthg-22-s1": {
        "request_kind": "admission",
        "letter_languages": ["de", "en"],
        "legal_basis": "§22 S.1 AufenthG (urgent humanitarian reasons)",
        "deciding_authority": "Auswärtiges Amt (review); BMI or BAMF (admission declaration)",
        "notes": (
            'Granted "extremely rarely" (DOMAIN.md 1.2). Applications went by e-mail to the '
            "AA's responsible division (Ref. 508 for family cases) with a detailed "
            "description of the danger and evidence; after 2022 through evacuation and aid "
            "NGOs. The BMI or BAMF declares admission (Aufnahmeerklärung) and assigns a Land; "
            "the local Ausländerbehörde issues the residence permit. The general "
            "requirements of §5 can be waived (§5(3))."
        ),
        "letter_names": route_names(
            procedure={
                "en": "admission from abroad for urgent humanitarian reasons",
                "de": "Aufnahme aus dem Ausland aus dringenden humanitären Gründen",
                "fr": "admission depuis l'étranger pour des raisons humanitaires urgentes",
                "pl": "przyjęcie z zagranicy z pilnych względów humanitarnych",
                "lt": "priėmimas iš užsienio dėl skubių humanitarinių priežasčių",
                "cs": "přijetí ze zahraničí z naléhavých humanitárních důvodů",
                "ru": "приём из-за рубежа по неотложным гуманитарным причинам",
            },
            legal_basis=_aufenthg("Satz 1"),
            authority=AUSWAERTIGES_AMT,
        ),
    },
    "de-aufenthg-22-s2": {
        "request_kind": "admission",
        "letter_languages": ["de", "en"],
        "legal_basis": "§22 S.2 AufenthG (political interests of the Federal Republic)",
        "deciding_authority": "Auswärtiges Amt (review); BMI or BAMF (admission declaration)",
        "notes": (
            "The post-2022 fast track for Russians (about 1,790 permits Feb 2022 to Jul "
            "2025). Frozen late July 2025; resumed Aug 2025 without the accelerated "
            'procedure, reduced to "a couple of cases a year". Applications went through '
            "evacuation and aid NGOs to the AA, which reviews them; the BMI or its designated "
            "body, BAMF, declares admission (letters name BAMF, sent through the AA); the "
            "Ausländerbehörde issues the permit; then a D-visa appointment at a German "
            "mission. Validity of an Aufnahmezusage: unverified."
        ),
        "letter_names": route_names(
            procedure={
                "en": "admission from abroad to safeguard the political interests of the "
                "Federal Republic of Germany",
                "de": "Aufnahme aus dem Ausland zur Wahrung politischer Interessen der "
                "Bundesrepublik Deutschland",
                "fr": "admission depuis l'étranger pour la sauvegarde des intérêts politiques "
                "de la République fédérale d'Allemagne",
                "pl": "przyjęcie z zagranicy w celu ochrony interesów politycznych Republiki "
                "Federalnej Niemiec",
                "lt": "priėmimas iš užsienio siekiant apsaugoti Vokietijos Federacinės "
                "Respublikos politinius interesus",
                "cs": "přijetí ze zahraničí k ochraně politických zájmů Spolkové republiky Německo",
                "ru": "приём из-за рубежа в целях защиты политических интересов Федеративной "
                "Республики Германия",
            },
            legal_basis=_aufenthg("Satz 2"),
            authority=BAMF,  # declares admission for the BMI (1.2)
        ),
    },
    "de-asylum-on-arrival": {
        "request_kind": "asylum",
        "letter_languages": ["de", "en"],
        "legal_basis": "Asylum claim after arrival (§ 13 AsylG)",
        "deciding_authority": "BAMF (Federal Office for Migration and Refugees)",
        "notes": (
            "No §23(2) programme for queer people: the Federal Government declined one and "
            "refers them to individual asylum (DOMAIN.md 1.2). No visa exists for the "
            "purpose; the person arrives on another visa. BAMF as the deciding authority is "
            "general knowledge, not from DOMAIN.md: verify."
        ),
        "letter_names": route_names(
            procedure={
                "en": "asylum application in Germany",
                "de": "Asylantrag in der Bundesrepublik Deutschland",
                "fr": "demande d'asile en Allemagne",
                "pl": "wniosek o udzielenie azylu w Niemczech",
                "lt": "prieglobsčio prašymas Vokietijoje",
                "cs": "žádost o azyl v Německu",
                "ru": "ходатайство о предоставлении убежища в Германии",
            },
            legal_basis={
                "en": "§ 13 AsylG (German Asylum Act)",
                "de": "§ 13 AsylG",
                "fr": "§ 13 AsylG (loi allemande sur l'asile)",
                "pl": "§ 13 AsylG (niemiecka ustawa o azylu)",
                "lt": "§ 13 AsylG (Vokietijos prieglobsčio įstatymas)",
                "cs": "§ 13 AsylG (německý zákon o azylu)",
                "ru": "§ 13 AsylG (Закон Германии об убежище)",
            },
            authority=BAMF,
        ),
    },
    "de-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["de", "en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Germany",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE_ART_25, *ALL_SEVEN),
            authority=AUSWAERTIGES_AMT,
        ),
    },
}

# --- France (DOMAIN.md 1.2 "France", 3.2 "Ministère de l'Intérieur – via Ambassade de France
# à Erevan", 3.3: FR, 10 case 1: letter in FR + EN) ------------------------------------------

MINISTERE_INTERIEUR = {
    "en": "Ministère de l'Intérieur (Ministry of the Interior of the French Republic)",
    "de": "Ministère de l'Intérieur (Innenministerium der Französischen Republik)",
    "fr": "Ministère de l'Intérieur",
    "pl": "Ministère de l'Intérieur (Ministerstwo Spraw Wewnętrznych Republiki Francuskiej)",
    "lt": "Ministère de l'Intérieur (Prancūzijos Respublikos vidaus reikalų ministerija)",
    "cs": "Ministère de l'Intérieur (Ministerstvo vnitra Francouzské republiky)",
    "ru": "Ministère de l'Intérieur (Министерство внутренних дел Французской Республики)",
}
MINISTERE_AFFAIRES_ETRANGERES = {
    "en": "Ministère de l'Europe et des Affaires étrangères (French Ministry for Europe and "
    "Foreign Affairs)",
    "de": "Ministère de l'Europe et des Affaires étrangères (Ministerium für Europa und "
    "auswärtige Angelegenheiten der Französischen Republik)",
    "fr": "Ministère de l'Europe et des Affaires étrangères",
    "pl": "Ministère de l'Europe et des Affaires étrangères (Ministerstwo Europy i Spraw "
    "Zagranicznych Republiki Francuskiej)",
    "lt": "Ministère de l'Europe et des Affaires étrangères (Prancūzijos Europos ir užsienio "
    "reikalų ministerija)",
    "cs": "Ministère de l'Europe et des Affaires étrangères (Ministerstvo pro Evropu a "
    "zahraniční věci Francouzské republiky)",
    "ru": "Ministère de l'Europe et des Affaires étrangères (Министерство Европы и иностранных "
    "дел Французской Республики)",
}

FRANCE = {
    "fr-visa-asile": {
        "request_kind": "preapproval",
        "letter_languages": ["fr", "en"],
        "legal_basis": "Visa au titre de l'asile (long-stay visa to seek asylum)",
        "deciding_authority": "Minister in charge of asylum (Interior)",
        "notes": (
            'Issuance "is solely within the competence of the minister in charge of asylum" '
            "(Interior). The embassy or consulate of the place of residence receives the "
            "file (in practice Tbilisi, Yerevan, Istanbul). A host or association commitment "
            "strengthens it. Timing very variable: one documented asylum visa took 9 months "
            "at the consulate. NGOs now redirect cases to France. DOMAIN.md names no CESEDA "
            "article, so letters cite the code only."
        ),
        "letter_names": route_names(
            procedure={
                "en": "long-stay visa for the purpose of seeking asylum (visa au titre de l'asile)",
                "de": "Visum für einen langfristigen Aufenthalt zur Stellung eines "
                "Asylantrags (visa au titre de l'asile)",
                "fr": "visa de long séjour au titre de l'asile",
                "pl": "wiza długoterminowa w celu ubiegania się o azyl (visa au titre de l'asile)",
                "lt": "ilgalaikė viza prieglobsčiui prašyti (visa au titre de l'asile)",
                "cs": "dlouhodobé vízum za účelem podání žádosti o azyl (visa au titre de l'asile)",
                "ru": "долгосрочная виза для обращения за убежищем (visa au titre de l'asile)",
            },
            legal_basis={
                "en": "CESEDA (French Code on the Entry and Residence of Foreigners and the "
                "Right of Asylum)",
                "de": "CESEDA (französisches Gesetzbuch über die Einreise und den Aufenthalt "
                "von Ausländern und das Asylrecht)",
                "fr": "code de l'entrée et du séjour des étrangers et du droit d'asile",
                "pl": "CESEDA (francuski kodeks wjazdu i pobytu cudzoziemców oraz prawa azylu)",
                "lt": "CESEDA (Prancūzijos užsieniečių atvykimo ir buvimo bei prieglobsčio "
                "teisės kodeksas)",
                "cs": "CESEDA (francouzský zákoník o vstupu a pobytu cizinců a o právu na azyl)",
                "ru": "CESEDA (Кодекс Франции о въезде и пребывании иностранцев и праве на "
                "убежище)",
            },
            authority=MINISTERE_INTERIEUR,
        ),
    },
    "fr-schengen-c-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["fr", "en"],
        "legal_basis": "Schengen C visa on humanitarian grounds",
        "deciding_authority": "French embassy or consulate",
        "notes": (
            "Ad hoc Schengen visas for dissident journalists, people fighting the regime, "
            "artists and students; case by case with security checks, about 40 days for "
            "Russians."
        ),
        "letter_names": route_names(
            procedure=only(SCHENGEN_C_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE, *ALL_SEVEN),
            authority=MINISTERE_AFFAIRES_ETRANGERES,
        ),
    },
    "fr-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["fr", "en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of France",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE_ART_25, *ALL_SEVEN),
            authority=MINISTERE_AFFAIRES_ETRANGERES,
        ),
    },
}

# --- Lithuania (DOMAIN.md 1.2 "Lithuania", 3.3: LT/EN, 10 case 2: letter in LT + EN) -------

LITHUANIAN_MFA = {
    "en": "Lietuvos Respublikos užsienio reikalų ministerija (Ministry of Foreign Affairs of "
    "the Republic of Lithuania)",
    "de": "Lietuvos Respublikos užsienio reikalų ministerija (Außenministerium der Republik "
    "Litauen)",
    "fr": "Lietuvos Respublikos užsienio reikalų ministerija (ministère des Affaires "
    "étrangères de la République de Lituanie)",
    "pl": "Lietuvos Respublikos užsienio reikalų ministerija (Ministerstwo Spraw "
    "Zagranicznych Republiki Litewskiej)",
    "lt": "Lietuvos Respublikos užsienio reikalų ministerija",
    "cs": "Lietuvos Respublikos užsienio reikalų ministerija (Ministerstvo zahraničních věcí "
    "Litevské republiky)",
    "ru": "Lietuvos Respublikos užsienio reikalų ministerija (Министерство иностранных дел "
    "Литовской Республики)",
}
LITHUANIAN_ALIENS_LAW = "Lietuvos Respublikos įstatymas „Dėl užsieniečių teisinės padėties“"

LITHUANIA = {
    "lt-national-humanitarian": {
        "request_kind": "preapproval",
        "letter_languages": ["lt", "en"],
        "legal_basis": "National (D) visa on humanitarian grounds",
        "deciding_authority": (
            "Ministry of Foreign Affairs (confirmation); Migration Department (national visa)"
        ),
        "notes": (
            "The MFA confirms the humanitarian grounds; the Migration Department "
            "(Migracijos departamentas, under the Interior) processes national visas and "
            "residence permits; State Security Department screening. Since late 2022 Russian "
            "and Belarusian applicants fill in a questionnaire (including their view of the "
            "war); over 1,000 were refused as security threats. Free national visas for "
            "Belarusians on a motivated application by a registered human-rights NGO. "
            "Timing not published (unverified). DOMAIN.md names no article of the Aliens "
            "Law, so letters cite the law only."
        ),
        "letter_names": route_names(
            procedure=NATIONAL_HUMANITARIAN_PROCEDURE,
            legal_basis={
                "en": f"{LITHUANIAN_ALIENS_LAW} (Law on the Legal Status of Aliens)",
                "de": f"{LITHUANIAN_ALIENS_LAW} (Gesetz über die Rechtsstellung von Ausländern)",
                "fr": f"{LITHUANIAN_ALIENS_LAW} (loi relative au statut juridique des étrangers)",
                "pl": f"{LITHUANIAN_ALIENS_LAW} (ustawa o statusie prawnym cudzoziemców)",
                "lt": LITHUANIAN_ALIENS_LAW,
                "cs": f"{LITHUANIAN_ALIENS_LAW} (zákon o právním postavení cizinců)",
                "ru": f"{LITHUANIAN_ALIENS_LAW} (Закон о правовом положении иностранцев)",
            },
            authority=LITHUANIAN_MFA,
        ),
    },
    "lt-schengen-c-humanitarian": {
        "request_kind": "preapproval",
        "letter_languages": ["lt", "en"],
        "legal_basis": "Schengen C visa on humanitarian grounds",
        "deciding_authority": "Ministry of Foreign Affairs (confirmation); Lithuanian consulate "
        "(visa)",
        "notes": (
            "Lithuania issues visas to Russians only for humanitarian purposes; the MFA "
            "confirmation of humanitarian grounds applies to Schengen visas too. State "
            "Security Department screening."
        ),
        "letter_names": route_names(
            procedure=only(SCHENGEN_C_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE, *ALL_SEVEN),
            authority=LITHUANIAN_MFA,
        ),
    },
    "lt-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["lt", "en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Lithuania",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE_ART_25, *ALL_SEVEN),
            authority=LITHUANIAN_MFA,
        ),
    },
}

# --- Latvia (DOMAIN.md 1.2 "Latvia", 3.3: LV/EN, missions interview in English) ------------
# Letters in English; the names in Latvian too (the official language), and Russian.

LATVIAN_MFA = {
    "en": "Latvijas Republikas Ārlietu ministrija (Ministry of Foreign Affairs of the "
    "Republic of Latvia)",
    "lv": "Latvijas Republikas Ārlietu ministrija",
    "ru": "Latvijas Republikas Ārlietu ministrija (Министерство иностранных дел Латвийской "
    "Республики)",
}

LATVIA = {
    "lv-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Entry on humanitarian considerations (Cabinet Regulation No 123)",
        "deciding_authority": "Ministry of Foreign Affairs / Latvian diplomatic missions",
        "notes": (
            "Visa applications from Russians are accepted only in listed categories, "
            'including "persons whose entry is related to humanitarian considerations" and '
            '"threat to a person\'s safety or life"; 161 humanitarian visas by 2022. Latvian '
            "missions interview in English. DOMAIN.md does not say C or D (C assumed). NGO "
            "role not formalised (unverified)."
        ),
        "letter_names": route_names(
            procedure={
                "en": "visa for entry on humanitarian grounds",
                "lv": "vīza ieceļošanai humānu apsvērumu dēļ",
                "ru": "виза для въезда по гуманитарным соображениям",
            },
            legal_basis={
                "en": "Ministru kabineta noteikumi Nr. 123 (Cabinet Regulation No 123 of the "
                "Republic of Latvia)",
                "lv": "Ministru kabineta noteikumi Nr. 123",
                "ru": "Ministru kabineta noteikumi Nr. 123 (Правила Кабинета министров "
                "Латвийской Республики № 123)",
            },
            authority=LATVIAN_MFA,
        ),
    },
    "lv-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Latvia",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, "en", "lv", "ru"),
            legal_basis=only(VISA_CODE_ART_25, "en", "lv", "ru"),
            authority=LATVIAN_MFA,
        ),
    },
}

# --- Poland (DOMAIN.md 1.2 "Poland", 3.2 "Konsul RP w …", 3.3: PL, 10 case 3 contingency) --
# Art. 60 of the Act on Foreigners; the exact point is not re-verified (1.2, section 7), so
# the article is cited without it.

KONSUL_RP = {
    "en": "Konsul Rzeczypospolitej Polskiej (Consul of the Republic of Poland)",
    "de": "Konsul Rzeczypospolitej Polskiej (Konsul der Republik Polen)",
    "fr": "Konsul Rzeczypospolitej Polskiej (consul de la République de Pologne)",
    "pl": "Konsul Rzeczypospolitej Polskiej",
    "lt": "Konsul Rzeczypospolitej Polskiej (Lenkijos Respublikos konsulas)",
    "cs": "Konsul Rzeczypospolitej Polskiej (konzul Polské republiky)",
    "ru": "Konsul Rzeczypospolitej Polskiej (консул Республики Польша)",
}
POLISH_ACT_ART_60 = "art. 60 ustawy z dnia 12 grudnia 2013 r. o cudzoziemcach"

POLAND = {
    "pl-d21": {
        "request_kind": "visa",
        "letter_languages": ["pl", "en"],
        "legal_basis": "National humanitarian visa D21 (Act on Foreigners, Art. 60)",
        "deciding_authority": "Polish consul (Ministry of Foreign Affairs)",
        "notes": (
            "National visa for humanitarian reasons, state interest or international "
            "obligations, valid 1 year. The exact point of Art. 60 is not re-verified, so "
            "letters cite the article only. 659 humanitarian visas to Russians Feb to Aug "
            "2022. Used heavily for Belarusians. Timing not published (unverified). Polish "
            "consulate in Tbilisi: mission acceptance to verify."
        ),
        "letter_names": route_names(
            procedure=NATIONAL_HUMANITARIAN_PROCEDURE,
            legal_basis={
                "en": f"{POLISH_ACT_ART_60} (Article 60 of the Polish Act on Foreigners of "
                "12 December 2013)",
                "de": f"{POLISH_ACT_ART_60} (Art. 60 des polnischen Ausländergesetzes vom "
                "12. Dezember 2013)",
                "fr": f"{POLISH_ACT_ART_60} (article 60 de la loi polonaise du 12 décembre "
                "2013 relative aux étrangers)",
                "pl": POLISH_ACT_ART_60,
                "lt": f"{POLISH_ACT_ART_60} (2013 m. gruodžio 12 d. Lenkijos užsieniečių "
                "įstatymo 60 straipsnis)",
                "cs": f"{POLISH_ACT_ART_60} (čl. 60 polského zákona o cizincích ze dne "
                "12. prosince 2013)",
                "ru": f"{POLISH_ACT_ART_60} (ст. 60 Закона Польши об иностранцах от 12 "
                "декабря 2013 г.)",
            },
            authority=KONSUL_RP,
        ),
    },
    "pl-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["pl", "en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Poland",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE_ART_25, *ALL_SEVEN),
            authority=KONSUL_RP,
        ),
    },
}

# --- Czech Republic (DOMAIN.md 1.2 "Czech Republic", 3.2 "MZV ČR – program Občanská
# společnost", 3.3: CS/EN, 10 case 3: letter in CS + EN) -------------------------------------

CZECH_MFA = {
    "en": "Ministerstvo zahraničních věcí České republiky (Ministry of Foreign Affairs of "
    "the Czech Republic)",
    "de": "Ministerstvo zahraničních věcí České republiky (Außenministerium der "
    "Tschechischen Republik)",
    "fr": "Ministerstvo zahraničních věcí České republiky (ministère des Affaires étrangères "
    "de la République tchèque)",
    "pl": "Ministerstvo zahraničních věcí České republiky (Ministerstwo Spraw Zagranicznych "
    "Republiki Czeskiej)",
    "lt": "Ministerstvo zahraničních věcí České republiky (Čekijos Respublikos užsienio "
    "reikalų ministerija)",
    "cs": "Ministerstvo zahraničních věcí České republiky",
    "ru": "Ministerstvo zahraničních věcí České republiky (Министерство иностранных дел "
    "Чешской Республики)",
}

CZECHIA = {
    "cz-civil-society": {
        "request_kind": "preapproval",
        "letter_languages": ["cs", "en"],
        "legal_basis": 'MFA "Civil Society" programme (Schengen and long-term visas)',
        "deciding_authority": "Ministry of Foreign Affairs (Civil Society programme)",
        "notes": (
            "Approved 2022; an exception to the general visa ban for persecuted Russians and "
            "Belarusians (civil society, independent journalists, academics); quota about "
            "500 a year. Applications are processed in a special mode with an individual "
            "security assessment; the MFA works closely with NGOs. Numbers withheld for "
            "security reasons."
        ),
        "letter_names": route_names(
            procedure={
                "en": "visa under the “Civil Society” programme (Občanská společnost)",
                "de": "Visum im Rahmen des Programms „Zivilgesellschaft“ (Občanská společnost)",
                "fr": "visa dans le cadre du programme « Société civile » (Občanská společnost)",
                "pl": "wiza w ramach programu „Społeczeństwo obywatelskie” (Občanská společnost)",
                "lt": "viza pagal programą „Pilietinė visuomenė“ (Občanská společnost)",
                "cs": "vízum v rámci programu „Občanská společnost“",
                "ru": "виза в рамках программы «Гражданское общество» (Občanská společnost)",
            },
            legal_basis={
                "en": "the 2022 “Civil Society” programme of the Ministry of Foreign Affairs "
                "of the Czech Republic",
                "de": "Programm „Zivilgesellschaft“ des Außenministeriums der Tschechischen "
                "Republik von 2022",
                "fr": "programme « Société civile » du ministère des Affaires étrangères de "
                "la République tchèque, créé en 2022",
                "pl": "program „Społeczeństwo obywatelskie” Ministerstwa Spraw "
                "Zagranicznych Republiki Czeskiej z 2022 r.",
                "lt": "2022 m. Čekijos Respublikos užsienio reikalų ministerijos programa "
                "„Pilietinė visuomenė“",
                "cs": "program Ministerstva zahraničních věcí „Občanská společnost“ z roku 2022",
                "ru": "программа Министерства иностранных дел Чешской Республики "
                "«Гражданское общество» 2022 года",
            },
            authority=CZECH_MFA,
        ),
    },
    "cz-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["cs", "en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of the Czech Republic",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, *ALL_SEVEN),
            legal_basis=only(VISA_CODE_ART_25, *ALL_SEVEN),
            authority=CZECH_MFA,
        ),
    },
}

# --- Estonia (DOMAIN.md 1.2 "Estonia", 3.3: ET/EN) -------------------------------------------
# Letters in English; names in Estonian too, and Russian.

ESTONIAN_MFA = {
    "en": "Välisministeerium (Ministry of Foreign Affairs of the Republic of Estonia)",
    "et": "Välisministeerium",
    "ru": "Välisministeerium (Министерство иностранных дел Эстонской Республики)",
}

ESTONIA = {
    "ee-schengen-c-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Schengen C visa: humanitarian exception to the 2022 sanctions",
        "deciding_authority": "Ministry of Foreign Affairs",
        "notes": (
            "Entry and visa sanctions since 2022, with an exception for people Estonia "
            '"considers justified on humanitarian grounds". Restrictive. The role of the '
            "Police and Border Guard Board (Politsei- ja Piirivalveamet) is unverified. "
            "Documents are case-specific."
        ),
        "letter_names": route_names(
            procedure=only(SCHENGEN_C_PROCEDURE, "en", "et", "ru"),
            legal_basis=only(VISA_CODE, "en", "et", "ru"),
            authority=ESTONIAN_MFA,
        ),
    },
    "ee-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Estonia",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, "en", "et", "ru"),
            legal_basis=only(VISA_CODE_ART_25, "en", "et", "ru"),
            authority=ESTONIAN_MFA,
        ),
    },
}

# --- Finland (DOMAIN.md 1.2 "Finland", 3.3: FI/EN) -------------------------------------------
# Letters in English; names in Finnish too, and Russian. The national humanitarian visa was
# proposed in 2022 and its status is unverified: the Aliens Act is cited without a section.

FINNISH_MFA = {
    "en": "Ulkoministeriö (Ministry for Foreign Affairs of Finland)",
    "fi": "Ulkoministeriö",
    "ru": "Ulkoministeriö (Министерство иностранных дел Финляндии)",
}

FINLAND = {
    "fi-national-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "National humanitarian visa (Aliens Act)",
        "deciding_authority": "Ministry for Foreign Affairs",
        "notes": (
            "Proposed in 2022 for Russian dissidents, journalists and human-rights "
            'defenders, to be used rarely; the embassy said applications would be "strongly '
            'limited". Status after the 2023 border closures unclear (unverified). DOMAIN.md '
            "lists no documents; letters cite the Aliens Act without a section."
        ),
        "letter_names": route_names(
            procedure={
                "en": "national visa on humanitarian grounds",
                "fi": "kansallinen viisumi humanitaarisin perustein",
                "ru": "национальная виза по гуманитарным основаниям",
            },
            legal_basis={
                "en": "ulkomaalaislaki 301/2004 (Aliens Act of Finland)",
                "fi": "ulkomaalaislaki (301/2004)",
                "ru": "ulkomaalaislaki 301/2004 (Закон Финляндии об иностранцах)",
            },
            authority=FINNISH_MFA,
        ),
    },
    "fi-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Finland",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, "en", "fi", "ru"),
            legal_basis=only(VISA_CODE_ART_25, "en", "fi", "ru"),
            authority=FINNISH_MFA,
        ),
    },
}

# --- Spain (DOMAIN.md 1.2 "Spain", 3.3) -----------------------------------------------------
# Letters in English (Spanish is no letter language here); names in Spanish too, and Russian.

SPANISH_INTERIOR = {
    "en": "Ministerio del Interior – Oficina de Asilo y Refugio (Spanish Ministry of the "
    "Interior, Asylum and Refugee Office)",
    "es": "Ministerio del Interior – Oficina de Asilo y Refugio",
    "ru": "Ministerio del Interior – Oficina de Asilo y Refugio (Министерство внутренних дел "
    "Испании, Управление по делам убежища и беженцев)",
}
SPANISH_MFA = {
    "en": "Ministerio de Asuntos Exteriores, Unión Europea y Cooperación (Spanish Ministry of "
    "Foreign Affairs, European Union and Cooperation)",
    "es": "Ministerio de Asuntos Exteriores, Unión Europea y Cooperación",
    "ru": "Ministerio de Asuntos Exteriores, Unión Europea y Cooperación (Министерство "
    "иностранных дел, по делам Европейского союза и сотрудничества Испании)",
}
LEY_12_2009_ART_38 = (
    "artículo 38 de la Ley 12/2009, de 30 de octubre, reguladora del derecho de asilo y de "
    "la protección subsidiaria"
)

SPAIN = {
    "es-ley12-2009-art38": {
        "request_kind": "admission",
        "letter_languages": ["en"],
        "legal_basis": "Art. 38 Ley 12/2009 (transfer of an asylum seeker promoted by the embassy)",
        "deciding_authority": "Ambassador (transfer); OAR and CIAR (asylum decision)",
        "notes": (
            "Spanish ambassadors may promote the transfer to Spain of an asylum seeker who "
            "is not a national of the host country and whose physical integrity is at risk; "
            "Supreme Court STS 1327/2020 confirmed the right to apply at embassies. OAR "
            "(Interior) and the CIAR commission decide on asylum. Slow and uncertain."
        ),
        "letter_names": route_names(
            procedure={
                "en": "transfer to Spain to apply for international protection",
                "es": "traslado a España para solicitar protección internacional",
                "ru": "перемещение в Испанию для подачи ходатайства о международной защите",
            },
            legal_basis={
                "en": "Article 38 of Spanish Law 12/2009 of 30 October on the right of asylum "
                "and subsidiary protection (Ley 12/2009)",
                "es": LEY_12_2009_ART_38,
                "ru": "статья 38 Закона Испании 12/2009 от 30 октября о праве убежища и "
                "субсидиарной защите (Ley 12/2009)",
            },
            authority=SPANISH_INTERIOR,
        ),
    },
    "es-schengen-c-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Schengen C visa on humanitarian grounds",
        "deciding_authority": "Spanish embassy or consulate",
        "notes": (
            "2024: a group of 65 (of 276 planned) Russian dissidents entered on Schengen "
            'visas "on humanitarian grounds" via the Spanish missions in Moscow, Tbilisi and '
            "Istanbul, coordinated by an NGO; they were then left without residence and "
            "several humanitarian residence claims were rejected."
        ),
        "letter_names": route_names(
            procedure=only(SCHENGEN_C_PROCEDURE, "en", "es", "ru"),
            legal_basis=only(VISA_CODE, "en", "es", "ru"),
            authority=SPANISH_MFA,
        ),
    },
    "es-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of Spain",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, "en", "es", "ru"),
            legal_basis=only(VISA_CODE_ART_25, "en", "es", "ru"),
            authority=SPANISH_MFA,
        ),
    },
}

# --- Netherlands (DOMAIN.md 1.2 "Netherlands", 3.3: NL/EN) -----------------------------------
# Letters in English; names in Dutch too, and Russian.

IND = {
    "en": "Immigratie- en Naturalisatiedienst (IND, Immigration and Naturalisation Service)",
    "nl": "Immigratie- en Naturalisatiedienst (IND)",
    "ru": "Immigratie- en Naturalisatiedienst (IND, Служба иммиграции и натурализации Нидерландов)",
}
DUTCH_MFA = {
    "en": "Ministerie van Buitenlandse Zaken (Ministry of Foreign Affairs of the Netherlands)",
    "nl": "Ministerie van Buitenlandse Zaken",
    "ru": "Ministerie van Buitenlandse Zaken (Министерство иностранных дел Нидерландов)",
}

NETHERLANDS = {
    "nl-asylum-on-arrival": {
        "request_kind": "asylum",
        "letter_languages": ["en"],
        "legal_basis": "Asylum claim after arrival (Vreemdelingenwet 2000)",
        "deciding_authority": "IND (Immigration and Naturalisation Service)",
        "notes": (
            "No dedicated humanitarian-visa route. Russian LGBTI asylum seekers are a "
            '"risk group": minor indications of persecution suffice, but asylum must be '
            "claimed in the Netherlands; no visa exists for the purpose."
        ),
        "letter_names": route_names(
            procedure={
                "en": "asylum application in the Netherlands",
                "nl": "asielaanvraag in Nederland",
                "ru": "ходатайство о предоставлении убежища в Нидерландах",
            },
            legal_basis={
                "en": "Vreemdelingenwet 2000 (Aliens Act 2000 of the Netherlands)",
                "nl": "Vreemdelingenwet 2000",
                "ru": "Vreemdelingenwet 2000 (Закон Нидерландов об иностранцах 2000 года)",
            },
            authority=IND,
        ),
    },
    "nl-schengen-c-humanitarian": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Short-stay visa for serious humanitarian reasons",
        "deciding_authority": "Ministry of Foreign Affairs (Dutch mission)",
        "notes": (
            'Short-stay visas in Russia are limited to "serious humanitarian reasons", e.g. '
            "someone who must leave for political reasons. DOMAIN.md lists no documents."
        ),
        "letter_names": route_names(
            procedure=only(SCHENGEN_C_PROCEDURE, "en", "nl", "ru"),
            legal_basis=only(VISA_CODE, "en", "nl", "ru"),
            authority=DUTCH_MFA,
        ),
    },
    "nl-schengen-ltv-art25": {
        "request_kind": "visa",
        "letter_languages": ["en"],
        "legal_basis": "Visa Code Art. 25(1)(a) LTV visa on humanitarian grounds",
        "notes": LTV_NOTES,
        "deciding_authority": "Consulate of the Netherlands",
        "letter_names": route_names(
            procedure=only(LTV_PROCEDURE, "en", "nl", "ru"),
            legal_basis=only(VISA_CODE_ART_25, "en", "nl", "ru"),
            authority=DUTCH_MFA,
        ),
    },
}

ROUTES = {
    **GERMANY,
    **FRANCE,
    **LITHUANIA,
    **LATVIA,
    **POLAND,
    **CZECHIA,
    **ESTONIA,
    **FINLAND,
    **SPAIN,
    **NETHERLANDS,
}

# --- Missions (DOMAIN.md 1.2, 2.2, 3.2 and 10; the 14 missions of 0003) ----------------------
# Keyed by (state, host country, city); each name includes the city, as a letter prints it.

MISSIONS = {
    # Germany: the official style is "Botschaft der Bundesrepublik Deutschland <city>".
    ("DE", "KZ", "Astana"): {
        "en": "Embassy of the Federal Republic of Germany, Astana",
        "de": "Botschaft der Bundesrepublik Deutschland Astana",
        "fr": "Ambassade d'Allemagne à Astana",
        "pl": "Ambasada Republiki Federalnej Niemiec w Astanie",
        "lt": "Vokietijos Federacinės Respublikos ambasada Astanoje",
        "cs": "Velvyslanectví Spolkové republiky Německo v Astaně",
        "ru": "Посольство Федеративной Республики Германия в Астане",
    },
    ("DE", "AM", "Yerevan"): {
        "en": "Embassy of the Federal Republic of Germany, Yerevan",
        "de": "Botschaft der Bundesrepublik Deutschland Eriwan",
        "fr": "Ambassade d'Allemagne à Erevan",
        "pl": "Ambasada Republiki Federalnej Niemiec w Erywaniu",
        "lt": "Vokietijos Federacinės Respublikos ambasada Jerevane",
        "cs": "Velvyslanectví Spolkové republiky Německo v Jerevanu",
        "ru": "Посольство Федеративной Республики Германия в Ереване",
    },
    ("DE", "GE", "Tbilisi"): {
        "en": "Embassy of the Federal Republic of Germany, Tbilisi",
        "de": "Botschaft der Bundesrepublik Deutschland Tiflis",
        "fr": "Ambassade d'Allemagne à Tbilissi",
        "pl": "Ambasada Republiki Federalnej Niemiec w Tbilisi",
        "lt": "Vokietijos Federacinės Respublikos ambasada Tbilisyje",
        "cs": "Velvyslanectví Spolkové republiky Německo v Tbilisi",
        "ru": "Посольство Федеративной Республики Германия в Тбилиси",
    },
    ("DE", "RU", "Moscow"): {
        "en": "Embassy of the Federal Republic of Germany, Moscow",
        "de": "Botschaft der Bundesrepublik Deutschland Moskau",
        "fr": "Ambassade d'Allemagne à Moscou",
        "pl": "Ambasada Republiki Federalnej Niemiec w Moskwie",
        "lt": "Vokietijos Federacinės Respublikos ambasada Maskvoje",
        "cs": "Velvyslanectví Spolkové republiky Německo v Moskvě",
        "ru": "Посольство Федеративной Республики Германия в Москве",
    },
    ("DE", "BY", "Minsk"): {
        "en": "Embassy of the Federal Republic of Germany, Minsk",
        "de": "Botschaft der Bundesrepublik Deutschland Minsk",
        "fr": "Ambassade d'Allemagne à Minsk",
        "pl": "Ambasada Republiki Federalnej Niemiec w Mińsku",
        "lt": "Vokietijos Federacinės Respublikos ambasada Minske",
        "cs": "Velvyslanectví Spolkové republiky Německo v Minsku",
        "ru": "Посольство Федеративной Республики Германия в Минске",
    },
    # France: "Ambassade de France à Erevan" (section 10, case 1).
    ("FR", "GE", "Tbilisi"): {
        "en": "Embassy of France, Tbilisi",
        "de": "Botschaft der Französischen Republik in Tiflis",
        "fr": "Ambassade de France à Tbilissi",
        "pl": "Ambasada Republiki Francuskiej w Tbilisi",
        "lt": "Prancūzijos Respublikos ambasada Tbilisyje",
        "cs": "Velvyslanectví Francouzské republiky v Tbilisi",
        "ru": "Посольство Французской Республики в Тбилиси",
    },
    ("FR", "AM", "Yerevan"): {
        "en": "Embassy of France, Yerevan",
        "de": "Botschaft der Französischen Republik in Eriwan",
        "fr": "Ambassade de France à Erevan",
        "pl": "Ambasada Republiki Francuskiej w Erywaniu",
        "lt": "Prancūzijos Respublikos ambasada Jerevane",
        "cs": "Velvyslanectví Francouzské republiky v Jerevanu",
        "ru": "Посольство Французской Республики в Ереване",
    },
    ("FR", "TR", "Istanbul"): {
        "en": "Consulate General of France, Istanbul",
        "de": "Generalkonsulat der Französischen Republik in Istanbul",
        "fr": "Consulat général de France à Istanbul",
        "pl": "Konsulat Generalny Republiki Francuskiej w Stambule",
        "lt": "Prancūzijos Respublikos generalinis konsulatas Stambule",
        "cs": "Generální konzulát Francouzské republiky v Istanbulu",
        "ru": "Генеральное консульство Французской Республики в Стамбуле",
    },
    # Lithuania: "Embassy of the Republic of Lithuania in Tbilisi – Consular Section" (3.2).
    ("LT", "GE", "Tbilisi"): {
        "en": "Embassy of the Republic of Lithuania, Tbilisi",
        "de": "Botschaft der Republik Litauen in Tiflis",
        "fr": "Ambassade de la République de Lituanie à Tbilissi",
        "pl": "Ambasada Republiki Litewskiej w Tbilisi",
        "lt": "Lietuvos Respublikos ambasada Tbilisyje",
        "cs": "Velvyslanectví Litevské republiky v Tbilisi",
        "ru": "Посольство Литовской Республики в Тбилиси",
    },
    # Poland: "Polish consulate in Tbilisi" (section 10, case 3), the consular section of the
    # embassy there; "Konsul RP w …" decides (3.2).
    ("PL", "GE", "Tbilisi"): {
        "en": "Consular Section of the Embassy of the Republic of Poland, Tbilisi",
        "de": "Konsularabteilung der Botschaft der Republik Polen in Tiflis",
        "fr": "Section consulaire de l'ambassade de la République de Pologne à Tbilissi",
        "pl": "Wydział Konsularny Ambasady Rzeczypospolitej Polskiej w Tbilisi",
        "lt": "Lenkijos Respublikos ambasados Tbilisyje konsulinis skyrius",
        "cs": "Konzulární oddělení Velvyslanectví Polské republiky v Tbilisi",
        "ru": "Консульский отдел Посольства Республики Польша в Тбилиси",
    },
    # Spain: the missions in Moscow, Tbilisi and Istanbul of the 2024 visas (1.2). Letters in
    # English; the names in Spanish and Russian too.
    ("ES", "GE", "Tbilisi"): {
        "en": "Embassy of Spain, Tbilisi",
        "es": "Embajada de España en Tiflis",
        "ru": "Посольство Испании в Тбилиси",
    },
    ("ES", "RU", "Moscow"): {
        "en": "Embassy of Spain, Moscow",
        "es": "Embajada de España en Moscú",
        "ru": "Посольство Испании в Москве",
    },
    ("ES", "TR", "Istanbul"): {
        "en": "Consulate General of Spain, Istanbul",
        "es": "Consulado General de España en Estambul",
        "ru": "Генеральное консульство Испании в Стамбуле",
    },
    # Netherlands: short-stay visas "in Russia" (1.2). Letters in English; Dutch and Russian.
    ("NL", "RU", "Moscow"): {
        "en": "Embassy of the Kingdom of the Netherlands, Moscow",
        "nl": "Ambassade van het Koninkrijk der Nederlanden in Moskou",
        "ru": "Посольство Королевства Нидерландов в Москве",
    },
}


def seed(apps, schema_editor):
    Route = apps.get_model("cases", "Route")
    Mission = apps.get_model("cases", "Mission")
    for code, values in ROUTES.items():
        Route.objects.filter(code=code).update(**values)
    for (state, host_country, city), names in MISSIONS.items():
        Mission.objects.filter(state=state, host_country=host_country, city=city).update(
            letter_names=names
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_reference_letter_names"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
