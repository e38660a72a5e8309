"""Every letter language × every kind of request reads right in the PDF an authority gets.

A letter's kind follows its route (Route.RequestKind): a visa, a ministry's humanitarian
admission, a ministry's pre-approval, or support for an asylum claim after arrival. For each
of the 7 x 4 combinations the letter is rendered by the real worker and read back with
pdftotext, as a clerk's copy-and-paste would read it:

- the nine numbered sections are all there, in order, each with text under it;
- only the names given for the letter's language are printed: never the staff's English
  reference data (legal basis, authority, notes, mission name, signatory function), and in a
  letter that is not English, none of the English names;
- the subject names the kind of request (a German admission letter asks for "Aufnahme", not
  for a visa), and only a visa letter asks for a visa to be issued;
- section 9 tells the reader how to check the verification code.

The 28 PDFs are rendered once, in a module fixture whose database rows are rolled back.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from casework.accounts.models import Organisation
from casework.accounts.roles import Role
from casework.cases.models import LETTER_LANGUAGES, Consent, Document, Mission, Route
from casework.cases.services import case_create, consent_record, route_attempt_add
from casework.letters import codes, services
from casework.letters.rendering import renderer
from casework.lib.keys import forget_cached_keyring
from tests.conftest import make_user

# The mark makes pytest-django create the test database, which the module fixture uses.
pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in LETTER_LANGUAGES]
KINDS = [kind.value for kind in Route.RequestKind]
WITH_MISSION = {"visa", "preapproval"}  # the other two are addressed to the authority alone

# The staff's own reference data, in English: a letter never prints any of it.
STAFF_ONLY = {
    "legal_basis": "STAFF-ONLY legal basis",
    "visa_type": "STAFF-ONLY-TYPE",
    "deciding_authority": "STAFF-ONLY authority",
    "notes": "INTERNAL REMARK: do not print",
}
STAFF_MISSION = {"name": "STAFF-ONLY mission", "city": "STAFF-ONLY city"}
STAFF_SIGNATORY_TITLE = "STAFF-ONLY signatory title"
NEVER_PRINTED = ["STAFF-ONLY", "INTERNAL REMARK"]


def route_names(kind: str) -> dict[str, dict[str, str]]:
    """Distinct names per language and kind, so that a name printed in the wrong letter
    is caught."""
    return {
        language: {
            "procedure": f"procedure-{language}-{kind}",
            "legal_basis": f"basis-{language}-{kind}",
            "authority": f"authority-{language}-{kind}",
        }
        for language in LANGUAGES
    }


MISSION_NAMES = {language: f"mission-{language}-city" for language in LANGUAGES}
ABOUT = {language: f"about-{language}: supports LGBT+ people at risk." for language in LANGUAGES}
SIGNATORY_TITLES = {language: f"signatory-title-{language}" for language in LANGUAGES}
SIGNATORY = "Dana Example"
SIGNATORY_NAMES = {"ru": "Дана Пример"}  # the Russian copy spells the name in Cyrillic
CONTACT = "Dana Example, verify@alpha.example, +49 30 000000"
FACTS = "facts-marker: 2024-02-10 attacked and filmed (Annex 1)."
WHY = "why-marker: a partner organisation receives the applicant."
URGENCY = "urgency-marker: the legal stay ends in three weeks."
ANNEX_TITLE = "annex-title-marker"

# What the templates print, per language: the nine headings, the closing, the footer's
# first and last words, the opening of each kind's subject and the verification help.
HEADINGS = {
    "en": [
        "About our organisation",
        "How we know the applicant and how we verified",
        "Facts establishing the risk",
        "Legal and country context",
        "Why this state and this procedure",
        "Request",
        "Consent and confidentiality",
        "Annexes",
        "Contact for verification",
    ],
    "de": [
        "Über unsere Organisation",
        "Woher wir die antragstellende Person kennen und wie wir ihre Angaben überprüft haben",
        "Tatsachen, aus denen sich die Gefährdung ergibt",
        "Rechtlicher Rahmen und Lage im Herkunftsstaat",
        "Warum dieser Staat und dieses Verfahren",
        "Anliegen",
        "Einwilligung und Vertraulichkeit",
        "Anlagen",
        "Kontakt für die Überprüfung",
    ],
    "fr": [
        "Présentation de notre organisation",
        "Comment nous connaissons la personne demandeuse et comment nous avons vérifié ses "
        "déclarations",
        "Faits établissant le risque",
        "Contexte juridique et situation dans le pays d'origine",
        "Pourquoi cet État et cette procédure",
        "Demande",
        "Consentement et confidentialité",
        "Pièces jointes",
        "Contact pour la vérification",
    ],
    "pl": [
        "O naszej organizacji",
        "Skąd znamy osobę wnioskującą i w jaki sposób zweryfikowaliśmy jej dane",
        "Fakty potwierdzające zagrożenie",
        "Kontekst prawny i sytuacja w kraju pochodzenia",
        "Dlaczego to państwo i ta procedura",
        "Wniosek",
        "Zgoda i poufność",
        "Załączniki",
        "Kontakt w celu weryfikacji",
    ],
    "lt": [
        "Apie mūsų organizaciją",
        "Iš kur pažįstame prašymą teikiantį asmenį ir kaip patikrinome jo pateiktą informaciją",
        "Faktai, patvirtinantys grėsmę",
        "Teisinis kontekstas ir padėtis kilmės šalyje",
        "Kodėl ši valstybė ir ši procedūra",
        "Prašymas",
        "Sutikimas ir konfidencialumas",
        "Priedai",
        "Kontaktai patikrai",
    ],
    "cs": [
        "O naší organizaci",
        "Odkud žádající osobu známe a jak jsme ověřili její údaje",
        "Skutečnosti prokazující ohrožení",
        "Právní rámec a situace v zemi původu",
        "Proč tento stát a tento postup",
        "Žádost",
        "Souhlas a důvěrnost",
        "Přílohy",
        "Kontakt pro ověření",
    ],
    "ru": [
        "О нашей организации",
        "Откуда мы знаем заявителя и как проверили представленные сведения",
        "Факты, подтверждающие угрозу",
        "Правовой контекст и положение в стране происхождения",
        "Почему именно это государство и эта процедура",
        "Просьба",
        "Согласие и конфиденциальность",
        "Приложения",
        "Контакт для проверки",
    ],
}
CLOSINGS = {
    "en": "Yours faithfully,",
    "de": "Mit freundlichen Grüßen",
    "fr": "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
    "pl": "Z wyrazami szacunku",
    "lt": "Pagarbiai",
    "cs": "S pozdravem",
    "ru": "С уважением",
}
SALUTATIONS = {
    "en": "Dear Sir or Madam,",
    "de": "Sehr geehrte Damen und Herren,",
    "fr": "Madame, Monsieur,",
    "pl": "Szanowni Państwo,",
    "lt": "Gerbiamieji,",
    "cs": "Vážené dámy, vážení pánové,",
    "ru": "Уважаемые дамы и господа,",
}
FOOTERS = {  # first words and last word of the running footer
    "en": ("This letter is valid only", "Confidential."),
    "de": ("Dieses Schreiben ist nur", "Vertraulich."),
    "fr": ("La présente lettre n'est valable", "Confidentiel."),
    "pl": ("Niniejsze pismo jest ważne", "Poufne."),
    "lt": ("Šis raštas galioja tik", "Konfidencialu."),
    "cs": ("Tento dopis je platný pouze", "Důvěrné."),
    "ru": ("Настоящее письмо действительно только", "Конфиденциально."),
}
SUBJECTS = {
    "en": {
        "visa": "Support for a visa application",
        "admission": "Request for humanitarian admission",
        "preapproval": "Request for pre-approval",
        "asylum": "Support for an asylum application",
    },
    "de": {
        "visa": "Unterstützung eines Visumantrags",
        "admission": "Bitte um Aufnahme",
        "preapproval": "Bitte um Vorabzustimmung",
        "asylum": "Unterstützung eines Asylantrags",
    },
    "fr": {
        "visa": "Soutien à une demande de visa",
        "admission": "Demande d'admission pour raisons humanitaires",
        "preapproval": "Demande d'accord préalable",
        "asylum": "Soutien à une demande d'asile",
    },
    "pl": {
        "visa": "Poparcie wniosku wizowego",
        "admission": "Wniosek o przyjęcie ze względów humanitarnych",
        "preapproval": "Wniosek o wyrażenie uprzedniej zgody",
        "asylum": "Poparcie wniosku o udzielenie ochrony międzynarodowej",
    },
    "lt": {
        "visa": "Palaikomasis raštas dėl prašymo išduoti vizą",
        "admission": "Prašymas dėl priėmimo humanitariniais pagrindais",
        "preapproval": "Prašymas dėl išankstinio pritarimo",
        "asylum": "Palaikomasis raštas dėl prašymo suteikti prieglobstį",
    },
    "cs": {
        "visa": "Podpora žádosti o udělení víza",
        "admission": "Žádost o přijetí z humanitárních důvodů",
        "preapproval": "Žádost o předchozí souhlas",
        "asylum": "Podpora žádosti o mezinárodní ochranu",
    },
    "ru": {
        "visa": "О поддержке заявления на визу",
        "admission": "О приёме по гуманитарным основаниям",
        "preapproval": "О предварительном согласии",
        "asylum": "О поддержке ходатайства о предоставлении убежища",
    },
}
# The word each kind's subject must carry (lower case, stem), and the stems of "visa".
KIND_WORDS = {
    "en": {"visa": "visa", "admission": "admission", "preapproval": "pre-approval"},
    "de": {"visa": "visum", "admission": "aufnahme", "preapproval": "vorabzustimmung"},
    "fr": {"visa": "visa", "admission": "admission", "preapproval": "accord préalable"},
    "pl": {"visa": "wiz", "admission": "przyjęcie", "preapproval": "uprzedniej zgody"},
    "lt": {"visa": "viz", "admission": "priėmimo", "preapproval": "pritarimo"},
    "cs": {"visa": "víz", "admission": "přijetí", "preapproval": "předchozí souhlas"},
    "ru": {"visa": "виз", "admission": "приём", "preapproval": "предварительном согласии"},
}
ASYLUM_WORDS = {
    "en": "asylum",
    "de": "asyl",
    "fr": "asile",
    "pl": "ochrony międzynarodowej",
    "lt": "prieglobst",
    "cs": "mezinárodní ochranu",
    "ru": "убежищ",
}
VISA_STEMS = {
    "en": ["visa"],
    "de": ["visum", "visa"],
    "fr": ["visa"],
    "pl": ["wiz"],
    "lt": ["viz"],
    "cs": ["víz"],
    "ru": ["виз"],
}
VERIFY_HELP = {  # {page} is the public page where a code is typed
    "en": "scan the QR code, or open {page} and type the words of the verification code "
    "printed above. The page confirms the letter's issuer, date, addressee and status",
    "de": "scannen Sie den QR-Code oder öffnen Sie die Seite {page} und geben Sie die Wörter "
    "des oben abgedruckten Prüfcodes ein. Die Seite bestätigt die ausstellende "
    "Organisation, das Datum, die adressierte Behörde und den Status",
    "fr": "scannez le code QR ou ouvrez la page {page} et saisissez les mots du code de "
    "vérification indiqué ci-dessus. Cette page confirme l'organisation émettrice, la date, "
    "l'autorité destinataire et le statut",
    "pl": "należy zeskanować kod QR albo otworzyć stronę {page} i wpisać słowa podanego "
    "powyżej kodu weryfikacyjnego. Strona potwierdza, kto i kiedy wystawił pismo",
    "lt": "nuskaitykite QR kodą arba atidarykite puslapį {page} ir įveskite pirmiau nurodyto "
    "patikros kodo žodžius. Šiame puslapyje patvirtinama, kas ir kada išdavė šį raštą",
    "cs": "naskenujete QR kód nebo otevřete stránku {page} a zadáte slova výše uvedeného "
    "ověřovacího kódu. Stránka potvrdí, kdo a kdy dopis vydal",
    "ru": "отсканируйте QR-код или откройте страницу {page} и введите слова указанного выше "
    "кода проверки. Страница подтверждает, кем и когда выдано письмо",
}
NO_PERSONAL_DATA = {
    "en": "shows no personal data",
    "de": "zeigt keine personenbezogenen Daten an",
    "fr": "n'affiche aucune donnée personnelle",
    "pl": "nie wyświetla żadnych danych osobowych",
    "lt": "asmens duomenys jame nerodomi",
    "cs": "nezobrazuje žádné osobní údaje",
    "ru": "персональные данные на ней не отображаются",
}


def squash(text: str) -> str:
    """Text without any whitespace: line breaks fall wherever the layout puts them."""
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class Printed:
    language: str
    kind: str
    text: str  # pdftotext -layout, as it came
    names: dict[str, str]  # the route's names in the letter's language
    mission_name: str  # "" when the letter has no mission

    @property
    def flat(self) -> str:
        return squash(self.text)

    @property
    def body(self) -> str:
        """The letter without its running footer and page numbers, squashed."""
        text = re.sub(r"[ \t]+\d+ ?/ ?\d+[ \t]*$", "", self.text, flags=re.MULTILINE)
        first, last = FOOTERS[self.language]
        return re.sub(f"{re.escape(squash(first))}.*?{re.escape(squash(last))}", "", squash(text))

    @property
    def subject(self) -> str:
        """From the kind's opening words to the salutation, squashed."""
        body = self.body
        start = body.find(squash(SUBJECTS[self.language][self.kind]))
        end = body.find(squash(SALUTATIONS[self.language]), max(start, 0))
        assert 0 <= start < end, (self.language, self.kind, "subject not found")
        return body[start:end]

    def sections(self) -> list[str]:
        """The text under each numbered heading 1–9 (the ninth ends at the closing)."""
        body = self.body
        spans, cursor = [], 0
        for number, heading in enumerate(HEADINGS[self.language], 1):
            marker = squash(f"{number}. {heading}")
            found = body.find(marker, cursor)
            assert found >= 0, (self.language, self.kind, f"heading {number} missing")
            cursor = found + len(marker)
            spans.append((found, cursor))
        closing = body.find(squash(CLOSINGS[self.language]), cursor)
        assert closing >= 0, (self.language, self.kind, "closing missing")
        starts = [start for start, _end in spans[1:]] + [closing]
        return [body[end:start] for (_start, end), start in zip(spans, starts, strict=True)]


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def make_world(
    *,
    names_for=route_names,
    mission_names: dict[str, str] = MISSION_NAMES,
) -> dict[str, Any]:
    """An organisation with its letterhead in every language, a case with two verified
    documents, one route (and consent to disclose to it) per kind, and one mission."""
    organisation = Organisation.objects.create(
        name="Alpha Aid (letter languages)",
        passkeys_required_for_privileged=False,
        legal_name="Alpha Aid e.V.",
        registration="VR 12345, Amtsgericht Berlin, Germany",
        address="Beispielstraße 1, 10115 Berlin",
        website="https://alpha.example",
        letter_contact="office@alpha.example",
        verification_contact=CONTACT,
        signatory_name=SIGNATORY,
        signatory_title=STAFF_SIGNATORY_TITLE,
        signatory_names=SIGNATORY_NAMES,
        signatory_titles=SIGNATORY_TITLES,
        about=ABOUT,
    )
    coordinator = make_user(organisation=organisation, role=Role.COORDINATOR)
    caseworker = make_user(organisation=organisation, role=Role.CASEWORKER)
    case = case_create(
        actor=coordinator,
        applicant_fields={
            "legal_name_latin": "ŽEMAITYTĖ ŠARŪNĖ",
            "legal_name_cyrillic": "Шарунэ Жемайтите",
            "date_of_birth": datetime.date(1993, 7, 14),
            "international_passport_no": "TEST-000777",
            "sexual_orientation": "orientation-marker",
            "current_country": "AM",
        },
        priority="urgent",
    )
    documents = []
    for doc_type, title in (("passport_intl", ""), ("summons", ANNEX_TITLE)):
        document = Document(
            organisation=organisation,
            applicant_id=case.applicant_id,
            case=case,
            doc_type=doc_type,
            title=title,
            language="ru",
            storage_name=f"absent-{doc_type}",
            sha256="0" * 64,
            mime="application/pdf",
            size=1,
            uploaded_by=caseworker,
            translation_status="certified",
            verification_status="verified",
            verification_method="original_seen",
            verified_by=coordinator,
            verified_at=timezone.now(),
        )
        document.save()
        documents.append(document)
    mission = Mission.objects.create(
        state="DE", host_country="AM", kind="embassy", letter_names=mission_names, **STAFF_MISSION
    )
    attempts = {}
    for kind in KINDS:
        route = Route.objects.create(
            code=f"test-letter-languages-{kind}",
            destination_state="DE",
            request_kind=kind,
            letter_names=names_for(kind),
            **STAFF_ONLY,
        )
        attempts[kind] = route_attempt_add(
            actor=coordinator, case=case, route=route, mission=mission
        )
        consent_record(
            actor=coordinator,
            case=case,
            purpose=Consent.Purpose.DISCLOSURE,
            route=route,
            counterparty="",
            text_version="disclosure-v2",
            language="ru",
            includes_sogi=True,
        )
    return {
        "coordinator": coordinator,
        "case": case,
        "attempts": attempts,
        "mission": mission,
        "documents": documents,
    }


def render_letter(world: dict[str, Any], language: str, kind: str) -> bytes:
    """A draft letter in ``language`` for the route of ``kind``, rendered as at issue."""
    letter = services.letter_request(
        actor=world["coordinator"],
        case=world["case"],
        attempt=world["attempts"][kind],
        values={
            "language": language,
            "mission": world["mission"] if kind in WITH_MISSION else None,
            "delivery": "direct_to_authority",
            "include_sogi": True,
            "facts": FACTS,
            "why_route": WHY,
            "urgency": URGENCY,
        },
        annexes=world["documents"],
    )
    code = codes.new_code()
    html = services.letter_html(letter, code=code)
    qr = services.qr_svg(services.verify_url(code))
    return renderer().render(html, {"qr.svg": qr}).pdf


@pytest.fixture(scope="module")
def printed(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[tuple[str, str], Printed]:
    """The 28 letters as pdftotext reads them, keyed by (language, kind). The rows are
    made and the PDFs rendered in one transaction, rolled back: nothing outlives it."""
    keys = tmp_path_factory.mktemp("letter-languages") / "keys.json"
    forget_cached_keyring()
    try:
        with (
            override_settings(CASEWORK_KEYS_FILE=keys),
            django_db_blocker.unblock(),
            transaction.atomic(),
        ):
            world = make_world()
            letters = {
                (language, kind): Printed(
                    language,
                    kind,
                    pdf_text(render_letter(world, language, kind)),
                    route_names(kind)[language],
                    MISSION_NAMES[language] if kind in WITH_MISSION else "",
                )
                for language in LANGUAGES
                for kind in KINDS
            }
            transaction.set_rollback(True)
    finally:
        forget_cached_keyring()
    return letters


COMBINATIONS = pytest.mark.parametrize(
    ("language", "kind"), [(language, kind) for language in LANGUAGES for kind in KINDS]
)


@COMBINATIONS
def test_every_numbered_section_has_text_under_it(printed, language, kind):
    letter = printed[language, kind]
    sections = letter.sections()
    for number, text in enumerate(sections, 1):
        assert len(text) >= 10, (language, kind, number, text)
    about, _relationship, facts, _context, why, request, _consent, annexes, contact = sections
    assert squash(ABOUT[language]) in about
    assert squash(FACTS) in facts
    assert squash(WHY) in why
    assert squash(URGENCY) in request  # the case is urgent: the reason follows the request
    assert squash(ANNEX_TITLE) in annexes
    assert squash(CONTACT) in contact


@COMBINATIONS
def test_the_staff_reference_data_is_never_printed(printed, language, kind):
    flat = printed[language, kind].flat
    for staff in NEVER_PRINTED:
        assert squash(staff) not in flat, (language, kind, staff)


@COMBINATIONS
def test_only_the_names_in_the_letters_language_are_printed(printed, language, kind):
    letter = printed[language, kind]
    flat = letter.flat
    assert squash(letter.names["authority"]) in flat  # the addressee
    assert squash(letter.names["procedure"]) in letter.subject
    assert squash(letter.names["legal_basis"]) in letter.subject
    assert squash(ABOUT[language]) in flat and squash(SIGNATORY_TITLES[language]) in flat
    assert squash(SIGNATORY_NAMES.get(language, SIGNATORY)) in flat
    if kind in WITH_MISSION:
        assert squash(letter.mission_name) in flat
    else:
        assert "mission-" not in flat
    for other in LANGUAGES:
        if other == language:
            continue
        others = [*route_names(kind)[other].values(), ABOUT[other], SIGNATORY_TITLES[other]]
        others.append(MISSION_NAMES[other])
        for name in others:
            assert squash(name) not in flat, (language, kind, other, name)


@COMBINATIONS
def test_the_subject_names_the_kind_of_request(printed, language, kind):
    letter = printed[language, kind]
    subject = letter.subject.lower()
    if kind == "asylum":
        assert squash(ASYLUM_WORDS[language]) in subject
    else:
        assert squash(KIND_WORDS[language][kind]) in subject
    visa_words = [stem for stem in VISA_STEMS[language] if stem in subject]
    if kind == "visa":
        assert visa_words and squash(letter.names["procedure"]) in subject
    else:
        assert not visa_words, (language, kind, subject)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["admission", "asylum"])
def test_only_a_visa_or_preapproval_letter_mentions_a_visa(printed, language, kind):
    """An admission is declared by a ministry and an asylum claim is made after arrival:
    neither letter asks anyone to issue a visa."""
    letter = printed[language, kind]
    after_subject = letter.body[letter.body.find(letter.subject) :].lower()
    for stem in VISA_STEMS[language]:
        assert stem not in after_subject, (language, kind, stem)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_preapproval_letter_leaves_the_visa_to_the_mission(printed, language):
    request = printed[language, "preapproval"].sections()[5].lower()
    assert any(stem in request for stem in VISA_STEMS[language])
    assert squash(MISSION_NAMES[language]) in request


@COMBINATIONS
def test_section_9_explains_the_verification_code(printed, language, kind):
    contact = printed[language, kind].sections()[8]
    page = settings.CASEWORK_VERIFY_BASE_URL + reverse("verify_form")
    assert squash(VERIFY_HELP[language].format(page=page)) in contact
    assert squash(NO_PERSONAL_DATA[language]) in contact


@COMBINATIONS
def test_the_salutation_and_the_closing_are_in_the_letters_language(printed, language, kind):
    flat = printed[language, kind].flat
    assert squash(SALUTATIONS[language]) in flat and squash(CLOSINGS[language]) in flat
