"""Demo data for development instances: fictional organisations, one user per role, and
fictional cases (DOMAIN.md section 10 plus generated ones).

The passwords are random, made on first seeding, and kept in the data directory
(mode 0600) so that every later ``make run`` can print the login steps again.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import random
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from casework.accounts.models import Organisation, TOTPDevice, User
from casework.accounts.roles import Role
from casework.accounts.services import new_totp_device
from casework.cases.models import (
    Applicant,
    Case,
    CaseUserObjectPermission,
    Consent,
    Document,
    Mission,
    Priority,
    Route,
    SubjectRequest,
    VisaApplication,
)
from casework.cases.retention import months_after
from casework.cases.services import (
    CODE_ALPHABET,
    attempt_update,
    case_assign,
    case_create,
    case_transition,
    case_update,
    consent_record,
    document_upload,
    document_verify,
    route_attempt_add,
)
from casework.cases.subject_requests import request_record
from casework.cases.uploads import sniff
from casework.cases.workflow import CaseFacts, ClosureReason, Status
from casework.keystore import members, vault
from casework.keystore.members import current_key
from casework.keystore.models import DataKey
from casework.letters.models import Letter
from casework.letters.services import letter_issue, letter_request
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields, search
from casework.lib.planner import refresh_statistics
from crypto import new_data_key

DEMO_ORGANISATIONS = {
    "rainbow": "Rainbow Bridge Aid (demo)",
    "northern": "Northern Lights Network (demo)",
}


@dataclass(frozen=True)
class DemoLogin:
    organisation: str
    role: Role
    username: str
    password: str
    totp_secret: str


def demo_totp_secret(user: User) -> str:
    """The demo user's authenticator secret (base32), creating a confirmed device if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = new_totp_device(user, name="Demo authenticator", confirmed=True)
    return base64.b32encode(bytes.fromhex(device.key)).decode("ascii").rstrip("=")


def demo_passphrase() -> str:
    """Five random words' worth of entropy as hex groups: long, random, not reused."""
    return "-".join(secrets.token_hex(3) for _ in range(5))


@contextmanager
def demo_keys(passwords: dict[str, str] | None = None) -> Iterator[None]:
    """The demo organisations' keys, unlocked with the demo coordinators' passwords (this
    data directory's, unless given) and held for the block only, as a coordinator's sign-in
    holds them for a request (issue 16)."""
    if passwords is None:
        passwords = load_passwords(credentials_path(Path(settings.DATA_DIR)))
    keys = []
    for slug in DEMO_ORGANISATIONS:
        username = f"{slug}-coordinator"
        user = User.objects.filter(username=username).first()
        if user is not None and username in passwords:
            unlocked = members.unlock(user, passwords[username])
            if unlocked is not None:
                keys.append(unlocked)
    with vault.holding(*keys):
        yield


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "demo-logins.json"


def load_passwords(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def save_passwords(path: Path, passwords: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


@transaction.atomic
def seed_accounts(data_dir: Path) -> tuple[list[DemoLogin], int]:
    """Create what is missing; return every demo login and how many users were created."""
    path = credentials_path(data_dir)
    passwords = load_passwords(path)
    logins: list[DemoLogin] = []
    created = 0
    for slug, name in DEMO_ORGANISATIONS.items():
        # Passkeys are not required here, so a new user can try every role with an app.
        organisation, _ = Organisation.objects.get_or_create(
            name=name, defaults={"passkeys_required_for_privileged": False}
        )
        for role in Role:
            if role == Role.REFERENCE_EDITOR and slug != "rainbow":
                continue  # one reference data editor serves the whole installation
            username = f"{slug}-{role.value.replace('_', '-')}"
            user = User.objects.filter(username=username).first()
            if user is None or username not in passwords:
                passwords[username] = demo_passphrase()
                if user is None:
                    user = User.objects.create_user(username, organisation=organisation)
                    created += 1
                user.set_password(passwords[username])
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role.value))
            logins.append(
                DemoLogin(name, role, username, passwords[username], demo_totp_secret(user))
            )
        _demo_keys(slug, passwords)
    save_passwords(path, passwords)
    return logins, created


def _demo_keys(slug: str, passwords: dict[str, str]) -> None:
    """As the demo's people would do it: the coordinator's sign-in makes the organisation key
    (members.unlock, with their password), the caseworker's makes their key pair, and the
    coordinator grants them the key (issue 16)."""
    coordinator = User.objects.get(username=f"{slug}-coordinator")
    unlocked = members.unlock(coordinator, passwords[coordinator.username])
    caseworker = User.objects.get(username=f"{slug}-caseworker")
    members.unlock(caseworker, passwords[caseworker.username])
    if not members.holds_key(caseworker):
        members.grant(granter=coordinator, unlocked=unlocked, member=caseworker)


# --- Demo cases --------------------------------------------------------------------------------
#
# Everything below is invented (DOMAIN.md section 10 and a seeded generator). The cases go
# through the same services as the UI (case_create, case_assign, case_transition), so they
# come with their audit trail and status history; only ``seed_bulk`` (scale tests) does not.

DEMO_SEED = 2026
GENERATED_CASES = 30
DESTINATIONS = ("DE", "FR", "LT", "LV", "PL", "CZ", "ES")

# Russian part of ICAO Doc 9303 (what Russian passports print since 2013).
_ICAO = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
        "я": "ia",
    }
)  # fmt: skip


def icao_latin(cyrillic: str) -> str:
    """The passport (ICAO 9303) spelling of a Russian name, upper case: Артём -> ARTEM."""
    return cyrillic.lower().translate(_ICAO).upper()


@dataclass(frozen=True)
class SampleCase:
    """One of the three fictional sample cases of DOMAIN.md section 10."""

    applicant: dict[str, Any]
    priority: str
    destination_state: str
    narrative: str
    path: tuple[Status, ...]  # the statuses it is moved through, in order
    flags: dict[str, bool] = field(default_factory=dict)  # overlay flags, set by the coordinator
    priority_reason: str | None = None  # why the coordinator set this priority (audited)


@dataclass(frozen=True)
class CaseLine:
    """What the command may print about a case: never a name."""

    code: str
    priority: str
    status: str


@dataclass(frozen=True)
class CaseSeedResult:
    created: int  # 0 when the demo cases were already there
    samples: list[CaseLine]
    letters: list[str] = field(default_factory=list)  # e.g. "LTR-2026-000001 issued (SP-26-...)"


S = Status
# To LETTER_REVIEW at most: LETTER_REVIEW -> SUBMITTED needs an issued letter and consent,
# which do not exist yet while the cases are moved (the sample letters come afterwards, and
# submitting stays a step for the user to try).
MAIN_PATH = (S.SCREENING, S.VERIFICATION, S.ROUTE_PLANNING, S.DOCUMENTS, S.LETTER_DRAFTING,
             S.LETTER_REVIEW)  # fmt: skip
FAST_PATH = (S.SCREENING, S.ROUTE_PLANNING, S.DOCUMENTS, S.LETTER_DRAFTING, S.LETTER_REVIEW)


def path_to(target: Status, *, fast: bool = False) -> tuple[Status, ...]:
    """The statuses from NEW_REQUEST to ``target``; ``fast`` skips VERIFICATION (emergencies)."""
    path = FAST_PATH if fast and target in FAST_PATH else MAIN_PATH
    if target == S.NEW_REQUEST:
        return ()
    return path[: path.index(target) + 1]


SAMPLE_CASES = (
    # Case 1: "Artyom Sokolov". In the text the DE application is on hold and the FR one has
    # an appointment booked; the demo stops at LETTER_REVIEW, with both letters issued.
    SampleCase(
        applicant={
            "legal_name_cyrillic": "Соколов Артём Сергеевич",
            "legal_name_latin": "SOKOLOV ARTEM",
            "preferred_name": "Artyom Sokolov",
            "pronouns": "he/him",
            "birth_year": 1997,
            "international_passport_no": "TEST-000001",
            "passport_expiry": datetime.date(2029, 5, 31),
            "current_city": "Yerevan",
            "current_country": "AM",
            "legal_stay_until": datetime.date(2025, 2, 10),
            "gender_identity": "man",
            "sexual_orientation": "gay",
            "risk_notes": (
                "Criminal-case proximity (search, summons) +20; outed +20; violence < 90 days "
                "at intake +20; transit-country wanted-list risk +15. Score 75, system "
                "suggests EMERGENCY; coordinator set URGENT (not detained, safe housing in "
                "Yerevan)."
            ),
        },
        priority=Priority.URGENT,
        destination_state="FR",
        narrative=(
            "Artyom Sergeyevich Sokolov, born 1997, from Krasnodar. Journalist for a regional "
            "independent outlet; ran a queer-rights Telegram channel.\n"
            'Feb 2024: lured via a dating app ("fake date"), beaten and filmed; the video was '
            "posted by a nationalist channel (outed).\n"
            'Apr 2024: summoned to the Investigative Committee as a "witness" in a 282.2 case; '
            "home searched.\n"
            "May 2024: left via Verkhny Lars to Georgia; Aug 2024 to Armenia after a friend "
            "was refused re-entry to Georgia. Entered Armenia 2024-08-14; legal stay until "
            "2025-02-10 (180 days).\n"
            "Feasibility: valid international passport (expires 2029); strong documentation "
            "(summons copy, article links); one Schengen tourist visa in 2019.\n"
            "Route: DE (DE_AUFENTHG_22_S2) submitted 2024-10-01, on hold since 2025-07-28 "
            "(programme suspended); re-routed to FR (FR_VISA_ASILE, Ambassade de France, "
            "Yerevan), letter in FR + EN, delivered direct to the authority."
        ),
        path=path_to(S.LETTER_REVIEW),
        priority_reason=(
            "System score 75 suggests EMERGENCY; set to URGENT: not detained, in safe housing "
            "in Yerevan."
        ),
    ),
    # Case 2: "Milana Kh." EMERGENCY, fast path (no verification), ROUTE_PLANNING -> DOCUMENTS.
    SampleCase(
        applicant={
            "legal_name_cyrillic": "Милана Рустамовна Х.",
            "legal_name_latin": "Milana Rustamovna Kh.",
            "preferred_name": "Milana Kh.",
            "pronouns": "she/her",
            "birth_year": 2003,
            "current_city": "Moscow",
            "current_country": "RU",
            "gender_identity": "woman",
            "sexual_orientation": "lesbian",
            "contact_channels": {"signal": "shelter-provided phone"},
            "safe_contact_instructions": (
                "Signal only, on the shelter-provided phone. No documents on her device. "
                "Check-in every 24 h."
            ),
            "risk_notes": (
                "Auto-EMERGENCY: family threat and the family may learn her location. Relatives "
                'have contacts in local police; she fears a "missing person" search. Interim '
                "protection: partner-run shelter."
            ),
        },
        priority=Priority.EMERGENCY,
        destination_state="LT",
        narrative=(
            "Milana Rustamovna Kh. (surname withheld in lists), born 2003, from a North "
            "Caucasus republic.\n"
            "Her family discovered her relationship; a brother confiscated her phone; she was "
            'threatened with "return to the village" and forced marriage. She escaped to '
            "Moscow and is in a partner-run shelter.\n"
            "Only an internal passport; the international passport is held by the family.\n"
            "Route plan: travel on the internal passport to Armenia or Kazakhstan (verify); "
            "apply for a new international passport abroad if feasible (consular risk: flag); "
            "LT MFA consulted on a humanitarian national visa (LT_NATIONAL_HUMANITARIAN, "
            "letter in LT + EN, motivated application from an LT-registered partner NGO); "
            "fallback LV humanitarian. Letter goes direct to the MFA only after she has left "
            "Russia."
        ),
        path=path_to(S.DOCUMENTS, fast=True),
        flags={"emergency_protection": True},
        priority_reason="Auto-EMERGENCY: family threat, and the family may learn her location.",
    ),
    # Case 3: "Alexandra (Sasha) Petrova". CZ and PL letters issued, the EN copy of the CZ
    # letter in review.
    SampleCase(
        applicant={
            "legal_name_cyrillic": "Петров Александр",
            "legal_name_latin": "PETROV ALEKSANDR",
            "preferred_name": "Alexandra (Sasha) Petrova",
            "pronouns": "she/her",
            "birth_year": 1990,
            "international_passport_no": "TEST-000003",
            "passport_expiry": datetime.date(2026, 12, 15),
            "current_city": "Tbilisi",
            "current_country": "GE",
            "gender_identity": "trans woman (passport gender marker M)",
            "health_notes": "HRT access lost after the 2023 ban on gender-affirming care.",
            "risk_notes": (
                "Activism (+); trans without HRT +10; transit-country anti-LGBT law +15; no "
                "direct criminal case. Score 30, NORMAL; re-assess every 60 days."
            ),
        },
        priority=Priority.NORMAL,
        destination_state="CZ",
        narrative=(
            "Alexandra Petrova (legal name in passport: PETROV ALEKSANDR, gender marker M), "
            "born 1990, from Novosibirsk. Volunteer coordinator for a regional LGBT+ initiative "
            '(2016-2022), later listed among "foreign agent"-affiliated persons\' contacts.\n'
            "In Tbilisi since Mar 2023; worried about Georgia's 2024 law and entry refusals on "
            "re-entry. Partner (dependant, cis man, born 1988) travels with her.\n"
            "Feasibility: international passport expires in 2026 (deadline alert); the "
            "name/marker mismatch must be explained in the letter; clean security profile.\n"
            "Route: CZ Civil Society programme (CZ_CIVIL_SOCIETY), letter in CS + EN from the "
            "partner org with activism evidence; contingency PL D21 (Polish consulate in "
            "Tbilisi, mission acceptance to verify)."
        ),
        path=path_to(S.LETTER_REVIEW),
        flags={"family_case": True},  # her partner (Case 3b, dependant) travels with her
        priority_reason="Score 30; re-assess every 60 days.",
    ),
)

STEP_REASONS = {
    S.SCREENING: "First contact made over a safe channel; screening started.",
    S.VERIFICATION: "Screening done: eligible; identity and story to be verified.",
    S.ROUTE_PLANNING: "Ready for route planning.",
    S.DOCUMENTS: "Route chosen; collecting documents.",
    S.LETTER_DRAFTING: "Documents complete; drafting the support letter.",
    S.LETTER_REVIEW: "Letter drafted; sent for coordinator review.",
}
CLOSURE_REASONS = (
    ClosureReason.INELIGIBLE,
    ClosureReason.REFERRED_ELSEWHERE,
    ClosureReason.DUPLICATE,
    ClosureReason.WITHDRAWN,
    ClosureReason.RELOCATED_INDEPENDENTLY,
)

# --- fictional people ----------------------------------------------------------------------

_MALE_NAMES = ("Артём", "Дмитрий", "Максим", "Иван", "Кирилл", "Никита", "Егор", "Илья",
               "Алексей", "Михаил", "Даниил", "Роман", "Тимур", "Глеб", "Матвей", "Фёдор",
               "Ярослав", "Денис", "Лев", "Станислав", "Виталий", "Георгий")  # fmt: skip
_FEMALE_NAMES = ("Анна", "Мария", "Дарья", "Екатерина", "Полина", "Алиса", "Виктория",
                 "Софья", "Ксения", "Юлия", "Валерия", "Елизавета", "Анастасия", "Вероника",
                 "Ульяна", "Таисия", "Зоя", "Наталья", "Ирина", "Людмила")  # fmt: skip
# (son of, daughter of)
_PATRONYMICS = (("Сергеевич", "Сергеевна"), ("Александрович", "Александровна"),
                ("Дмитриевич", "Дмитриевна"), ("Андреевич", "Андреевна"),
                ("Алексеевич", "Алексеевна"), ("Михайлович", "Михайловна"),
                ("Игоревич", "Игоревна"), ("Владимирович", "Владимировна"),
                ("Николаевич", "Николаевна"), ("Павлович", "Павловна"), ("Олегович", "Олеговна"),
                ("Юрьевич", "Юрьевна"), ("Викторович", "Викторовна"),
                ("Евгеньевич", "Евгеньевна"), ("Иванович", "Ивановна"))  # fmt: skip
# Masculine forms; the feminine form adds "а" (all end in -ов, -ев, -ёв or -ин).
_SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Новиков", "Фёдоров",
             "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
             "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Захаров",
             "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
             "Кузьмин", "Фролов", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин",
             "Максимов", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов",
             "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
             "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов",
             "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Тихонов",
             "Казаков", "Данилов", "Тимофеев", "Фомин", "Чернов", "Назаров", "Калинин",
             "Быков", "Маслов", "Лазарев", "Воронин", "Климов", "Голубев", "Прохоров",
             "Наумов", "Журавлёв", "Леонов", "Соболев", "Ермаков", "Гончаров", "Котов",
             "Громов", "Кириллов", "Панов", "Румянцев", "Галкин", "Скворцов",
             "Цветков")  # fmt: skip
# (legal sex, gender identity, sexual orientation, pronouns, preferred name of the other sex)
_PERSONAS = (
    ("m", "man", "gay", "he/him", False),
    ("m", "man", "gay", "he/him", False),
    ("m", "man", "bisexual", "he/him", False),
    ("f", "woman", "lesbian", "she/her", False),
    ("f", "woman", "lesbian", "she/her", False),
    ("f", "woman", "bisexual", "she/her", False),
    ("m", "trans woman", "", "she/her", True),
    ("f", "trans man", "", "he/him", True),
    ("f", "non-binary", "queer", "they/them", False),
    ("m", "non-binary", "pansexual", "they/them", False),
)
_PLACES = (("GE", "Tbilisi"), ("GE", "Batumi"), ("AM", "Yerevan"), ("KZ", "Almaty"),
           ("KZ", "Astana"), ("RS", "Belgrade"), ("TR", "Istanbul"), ("KG", "Bishkek"),
           ("UZ", "Tashkent"), ("AE", "Dubai"), ("ME", "Budva"), ("RU", "Moscow"),
           ("RU", "Saint Petersburg"), ("RU", "Yekaterinburg"), ("RU", "Kazan"),
           ("RU", "Novosibirsk"))  # fmt: skip
_INCIDENTS = (
    'Attacked after a "fake date" arranged through a dating app; the attackers filmed it.',
    "Outed at work after a colleague found private messages; dismissed the same week.",
    'Questioned by police about a rainbow-flag photo online ("LGBT extremism" charge feared).',
    'Family threatened forced "treatment" and took away the passport for a month.',
    "Received threats on Telegram after a coming-out video; home address was published.",
    "Dismissed from a school job after parents complained; a criminal complaint followed.",
    "Partner detained in a raid on a private party; applicant was listed as a witness.",
    "Volunteer for an LGBT+ hotline that was declared extremist; colleagues were searched.",
    "Neighbours reported the couple to the police; a district officer visits repeatedly.",
    "Blackmailed by a group that had obtained intimate photos; police refused to help.",
)
_SITUATIONS = (
    "Staying with friends, moves every few weeks.",
    "Renting a room; income from remote work is unstable.",
    "In a partner-run shelter; check-ins agreed with the shelter staff.",
    "Still in the home city, avoids public places and keeps a bag packed.",
    "Visa-free stay is running out; no right to work in the transit country.",
)
_SAFE_CONTACT = (
    "Signal only; never call without a message first.",
    "Write in Russian, no names in the first message.",
    "Do not leave voice messages: a relative sometimes uses the phone.",
    "Telegram secret chat only; confirm the code word before discussing the case.",
    "E-mail only from a private computer; reply within working hours.",
)


def fictional_applicant(rng: random.Random, number: int, *, light: bool = False) -> dict[str, Any]:
    """Applicant fields of one invented person; ``light`` leaves out the optional extras."""
    sex, gender, orientation, pronouns, other_name = rng.choice(_PERSONAS)
    female = sex == "f"
    given = rng.choice(_FEMALE_NAMES if female else _MALE_NAMES)
    patronymic = rng.choice(_PATRONYMICS)[1 if female else 0]
    surname = rng.choice(_SURNAMES) + ("а" if female else "")
    preferred = rng.choice(_MALE_NAMES if female else _FEMALE_NAMES) if other_name else given
    born = datetime.date(1968, 1, 1) + datetime.timedelta(days=rng.randrange(38 * 365))
    country, city = rng.choice(_PLACES)
    today = timezone.localdate()
    fields: dict[str, Any] = {
        "legal_name_cyrillic": f"{surname} {given} {patronymic}",
        "legal_name_latin": f"{icao_latin(surname)} {icao_latin(given)}",
        "preferred_name": preferred,
        "pronouns": pronouns,
        "date_of_birth": born,
        "birth_year": born.year,
        "current_city": city,
        "current_country": country,
        "gender_identity": gender,
        "sexual_orientation": orientation or None,
    }
    if rng.random() < 0.85:  # the others have only an internal passport
        fields["international_passport_no"] = f"TEST-{number:06d}"
        fields["passport_expiry"] = today + datetime.timedelta(days=rng.randrange(-90, 3600))
    if country != "RU":
        fields["legal_stay_until"] = today + datetime.timedelta(days=rng.randrange(-10, 180))
    if light:
        return fields
    if rng.random() < 0.5:
        fields["internal_passport_no"] = f"TEST-I{number:06d}"
    handle = f"{icao_latin(given).lower()}.{number}"
    if rng.random() < 0.6:
        fields["email"] = f"{handle}@example.org"
    if rng.random() < 0.7:
        phone = f"+7 900 555-{number // 100 % 100:02d}-{number % 100:02d}"
        fields["phone"] = phone
        fields["contact_channels"] = {"signal": phone}
    else:
        fields["contact_channels"] = {"telegram": f"@{handle.replace('.', '_')}"}
    fields["safe_contact_instructions"] = rng.choice(_SAFE_CONTACT)
    if gender.startswith("trans"):
        fields["health_notes"] = "Needs continued access to hormone therapy."
    return fields


def fictional_narrative(rng: random.Random) -> str:
    return f"{rng.choice(_INCIDENTS)}\n{rng.choice(_SITUATIONS)}"


# --- through the services --------------------------------------------------------------------


@dataclass(frozen=True)
class _Staff:
    organisation: Organisation
    caseworker: User
    coordinator: User


def _staff(slug: str) -> _Staff:
    organisation = Organisation.objects.get(name=DEMO_ORGANISATIONS[slug])
    return _Staff(
        organisation,
        User.objects.get(username=f"{slug}-{Role.CASEWORKER.value}"),
        User.objects.get(username=f"{slug}-{Role.COORDINATOR.value}"),
    )


def _facts(
    *, verified: bool, emergency: bool, coordinator: bool = False, closure: str | None = None,
    reason: str | None = None,
) -> CaseFacts:  # fmt: skip
    """The facts the UI would give on the status path the demo takes. It stops at
    LETTER_REVIEW, before any letter, consent or visa guard applies."""
    return CaseFacts(
        verification_completed=verified,
        approved_letter=False,
        disclosure_consent_for_authority=False,
        visa_validity_recorded=False,
        closure_reason=closure,
        reason=reason,
        actor_is_coordinator=coordinator,
        emergency=emergency,
    )


def _open_case(
    staff: _Staff,
    applicant_fields: dict[str, Any],
    *,
    priority: str,
    destination_state: str,
    narrative: str,
    path: tuple[Status, ...],
    closure: str | None = None,
    reopen: bool = False,
) -> Case:
    """Intake by the caseworker, assignment by the coordinator, then the status changes."""
    case = case_create(
        actor=staff.caseworker,
        applicant_fields=applicant_fields,
        priority=priority,
        destination_state=destination_state,
        narrative=narrative,
    )
    case_assign(actor=staff.coordinator, case=case, caseworkers=[staff.caseworker])
    emergency = priority == Priority.EMERGENCY
    verified = False
    current = S.NEW_REQUEST
    for target in path:
        case_transition(
            actor=staff.caseworker,
            case=case,
            target=target,
            facts=_facts(verified=verified, emergency=emergency),
            reason=STEP_REASONS[target],
        )
        verified = verified or current == S.VERIFICATION
        current = target
    if closure is not None:
        case_transition(
            actor=staff.caseworker,
            case=case,
            target=S.CLOSED,
            facts=_facts(verified=verified, emergency=emergency, closure=closure),
            reason="Closed after a call with the applicant.",
        )
        if reopen:
            reason = "New information from the applicant; re-opened for screening."
            case_transition(
                actor=staff.coordinator,
                case=case,
                target=S.SCREENING,
                facts=_facts(
                    verified=verified, emergency=emergency, coordinator=True, reason=reason
                ),
                reason=reason,
            )
    return case


def _open_sample(staff: _Staff, sample: SampleCase) -> Case:
    case = _open_case(
        staff,
        sample.applicant,
        priority=sample.priority,
        destination_state=sample.destination_state,
        narrative=sample.narrative,
        path=sample.path,
    )
    fresh = Case.objects.get(pk=case.pk)
    case_update(
        actor=staff.coordinator,
        case=fresh,
        version=fresh.version,
        case_fields={**sample.flags, "priority_override_reason": sample.priority_reason},
        applicant_fields={},
    )
    return fresh


# Fictional letterheads: the demo organisations' registered entities in the EU. Section 1 of
# a letter ("About our organisation") and the signatory's function are printed in the
# letter's language, so they are given in all seven letter languages (DOMAIN.md 3.2 item 5:
# registration, mandate, years active); a Russian letter prints the signatory's name in
# Cyrillic.
LETTERHEADS = {
    "rainbow": {
        "legal_name": "Rainbow Bridge Aid e.V. (demo)",
        "registration": "VR 00000 B (fictional), Amtsgericht Berlin, Germany",
        "address": "Musterstraße 1, 10115 Berlin, Germany",
        "website": "rainbow-bridge.example",
        "letter_contact": "letters@rainbow-bridge.example · +49 30 0000000",
        "signatory_name": "Dana Example",
        "signatory_title": "Executive director",
        "verification_contact": "Dana Example, verify@rainbow-bridge.example, +49 30 0000001",
        "signatory_names": {"ru": "Дана Экзампл"},
        "signatory_titles": {
            "en": "Executive Director",
            "de": "Geschäftsführerin",
            "fr": "Directrice exécutive",
            "pl": "Dyrektor wykonawcza",
            "lt": "Vykdomoji direktorė",
            "cs": "Výkonná ředitelka",
            "ru": "Исполнительный директор",
        },
        "about": {
            "en": "Rainbow Bridge Aid e.V. is a non-profit association entered in the register "
            "of associations in Berlin in 2015. Its statutory purpose is the protection of "
            "LGBT+ people from Russia who are at risk of persecution. Since 2015 we have "
            "provided legal counselling, safe housing and relocation assistance, and we "
            "verify every case with partner organisations in the transit countries before "
            "we write a letter.",
            "de": "Rainbow Bridge Aid e.V. ist ein gemeinnütziger Verein, der 2015 in das "
            "Vereinsregister in Berlin eingetragen wurde. Satzungszweck ist der Schutz von "
            "LGBT+-Personen aus Russland, denen Verfolgung droht. Seit 2015 bieten wir "
            "Rechtsberatung, sichere Unterkünfte und Unterstützung bei der Ausreise an; jeden "
            "Fall prüfen wir gemeinsam mit Partnerorganisationen in den Transitländern, bevor "
            "wir ein Schreiben verfassen.",
            "fr": "Rainbow Bridge Aid e.V. est une association à but non lucratif inscrite en "
            "2015 au registre des associations de Berlin. Elle a pour objet statutaire la "
            "protection des personnes LGBT+ de Russie exposées à des persécutions. Depuis "
            "2015, nous apportons conseil juridique, hébergement sûr et aide à la "
            "réinstallation, et nous vérifions chaque dossier avec des organisations "
            "partenaires dans les pays de transit avant de rédiger une lettre.",
            "pl": "Rainbow Bridge Aid e.V. jest stowarzyszeniem o charakterze niezarobkowym, "
            "wpisanym w 2015 r. do rejestru stowarzyszeń w Berlinie. Jego celem statutowym "
            "jest ochrona osób LGBT+ z Rosji zagrożonych prześladowaniem. Od 2015 r. "
            "zapewniamy pomoc prawną, bezpieczne zakwaterowanie i wsparcie w relokacji, a "
            "każdą sprawę weryfikujemy wspólnie z organizacjami partnerskimi w krajach "
            "tranzytowych, zanim wystawimy pismo.",
            "lt": "Rainbow Bridge Aid e.V. yra ne pelno siekianti asociacija, 2015 m. "
            "įregistruota Berlyno asociacijų registre. Jos įstatuose numatytas tikslas – "
            "apsaugoti LGBT+ asmenis iš Rusijos, kuriems gresia persekiojimas. Nuo 2015 m. "
            "teikiame teisines konsultacijas, saugų apgyvendinimą ir pagalbą persikeliant, o "
            "kiekvieną atvejį prieš rašydami raštą patikriname kartu su partnerių "
            "organizacijomis tranzito šalyse.",
            "cs": "Rainbow Bridge Aid e.V. je nezisková organizace, od roku 2015 zapsaná ve "
            "spolkovém rejstříku v Berlíně. Jejím účelem podle stanov je ochrana LGBT+ osob z "
            "Ruska, kterým hrozí pronásledování. Od roku 2015 poskytujeme právní poradenství, "
            "bezpečné ubytování a pomoc při přesídlení a každý případ před vystavením dopisu "
            "ověřujeme s partnerskými organizacemi v tranzitních zemích.",
            "ru": "Rainbow Bridge Aid e.V. — некоммерческая ассоциация, внесённая в 2015 году "
            "в реестр объединений Берлина. Уставная цель организации — защита ЛГБТ+ людей из "
            "России, которым грозит преследование. С 2015 года мы оказываем юридическую "
            "помощь, предоставляем безопасное жильё и помогаем с переездом, а каждый случай "
            "проверяем вместе с партнёрскими организациями в транзитных странах, прежде чем "
            "написать письмо.",
        },
    },
    "northern": {
        "legal_name": "Northern Lights Network MTÜ (demo)",
        "registration": "80000000 (fictional), Tallinn, Estonia",
        "address": "Näidise 1, 10111 Tallinn, Estonia",
        "website": "northern-lights.example",
        "letter_contact": "letters@northern-lights.example",
        "signatory_name": "Kai Example",
        "signatory_title": "Board member",
        "verification_contact": "Kai Example, verify@northern-lights.example",
        "signatory_names": {"ru": "Кай Экзампл"},
        "signatory_titles": {
            "en": "Member of the Management Board",
            "de": "Vorstandsmitglied",
            "fr": "Membre du conseil d'administration",
            "pl": "Członek zarządu",
            "lt": "Valdybos narys",
            "cs": "Člen představenstva",
            "ru": "Член правления",
        },
        "about": {
            "en": "Northern Lights Network MTÜ is a non-profit association entered in the "
            "Estonian register of non-profit associations and foundations in 2018 (registry "
            "code 80000000). Its mandate is to assist LGBT+ refugees from Russia and to "
            "document the risks they face. Since 2018 we have accompanied people through visa "
            "and asylum procedures and, with local partners, provided interim housing in the "
            "transit countries.",
            "de": "Northern Lights Network MTÜ ist ein gemeinnütziger Verein, der 2018 in das "
            "estnische Register der Vereine und Stiftungen eingetragen wurde (Registernummer "
            "80000000). Der Verein unterstützt LGBT+-Geflüchtete aus Russland und dokumentiert "
            "die Gefahren, denen sie ausgesetzt sind. Seit 2018 begleiten wir Menschen durch "
            "Visums- und Asylverfahren und stellen gemeinsam mit örtlichen Partnern "
            "Übergangsunterkünfte in den Transitländern bereit.",
            "fr": "Northern Lights Network MTÜ est une association à but non lucratif inscrite "
            "en 2018 au registre estonien des associations et fondations (code "
            "d'enregistrement 80000000). Elle a pour mission d'aider les réfugiés LGBT+ venant "
            "de Russie et de documenter les risques auxquels ils sont exposés. Depuis 2018, "
            "nous accompagnons les personnes dans leurs démarches de visa et d'asile et leur "
            "fournissons, avec des partenaires locaux, un hébergement temporaire dans les pays "
            "de transit.",
            "pl": "Northern Lights Network MTÜ jest stowarzyszeniem o charakterze "
            "niezarobkowym, wpisanym w 2018 r. do estońskiego rejestru stowarzyszeń i fundacji "
            "(numer rejestrowy 80000000). Jego zadaniem jest pomoc uchodźcom LGBT+ z Rosji "
            "oraz dokumentowanie zagrożeń, na które są narażeni. Od 2018 r. towarzyszymy "
            "ludziom w procedurach wizowych i azylowych, a wraz z lokalnymi partnerami "
            "zapewniamy im tymczasowe zakwaterowanie w krajach tranzytowych.",
            "lt": "Northern Lights Network MTÜ yra ne pelno siekianti asociacija, 2018 m. "
            "įregistruota Estijos ne pelno asociacijų ir fondų registre (registro kodas "
            "80000000). Jos paskirtis – padėti LGBT+ pabėgėliams iš Rusijos ir dokumentuoti "
            "jiems kylančius pavojus. Nuo 2018 m. padedame žmonėms vizų ir prieglobsčio "
            "procedūrose, o kartu su vietos partneriais suteikiame jiems laikiną apgyvendinimą "
            "tranzito šalyse.",
            "cs": "Northern Lights Network MTÜ je nezisková organizace, od roku 2018 zapsaná v "
            "estonském rejstříku neziskových sdružení a nadací (registrační číslo 80000000). "
            "Jejím posláním je pomáhat LGBT+ uprchlíkům z Ruska a dokumentovat rizika, kterým "
            "čelí. Od roku 2018 provázíme lidi vízovým a azylovým řízením a s místními "
            "partnery jim zajišťujeme přechodné ubytování v tranzitních zemích.",
            "ru": "Northern Lights Network MTÜ — некоммерческая ассоциация, внесённая в 2018 "
            "году в эстонский регистр некоммерческих объединений и фондов (регистрационный "
            "код 80000000). Её задача — помогать ЛГБТ+ беженцам из России и документировать "
            "угрозы, с которыми они сталкиваются. С 2018 года мы сопровождаем людей в визовых "
            "процедурах и процедурах предоставления убежища, а вместе с местными партнёрами "
            "предоставляем им временное жильё в транзитных странах.",
        },
    },
}


def _letter_lines(cases: list[Case]) -> list[str]:
    letters = Letter.objects.filter(case__in=cases).select_related("case").order_by("requested_at")
    return [
        f"{letter.reference or '(draft)':16} {letter.get_status_display():10} "
        f"{letter.language}  case {letter.case.code}"
        for letter in letters
    ]


def _letterheads() -> None:
    for slug, letterhead in LETTERHEADS.items():
        Organisation.objects.filter(name=DEMO_ORGANISATIONS[slug]).update(**letterhead)


def _route(code: str) -> Route:
    return Route.objects.get(code=code)


def _mission(name: str) -> Mission:
    return Mission.objects.get(name=name)


def _disclosure(staff: _Staff, case: Case, route: Route, *, sogi: bool) -> None:
    consent_record(
        actor=staff.caseworker,
        case=case,
        purpose=Consent.Purpose.DISCLOSURE,
        route=route,
        counterparty="",
        text_version="disclosure-2026-01",
        language="ru",
        includes_sogi=sogi,
    )


# A stand-in file for the fictional documents: a PDF that says what it is.
DEMO_PDF = b"%PDF-1.4\n% Fictional demo document (Safe Passage casework demo data)\n%%EOF\n"


def _annex(
    staff: _Staff, case: Case, doc_type: str, *, language: str, translation: str, method: str
) -> Document:
    """A document uploaded by the caseworker and verified by the coordinator (two-person
    rule). No title: a letter then names it by its type, in the letter's language."""
    kind = sniff(DEMO_PDF)
    assert kind is not None
    document = document_upload(
        actor=staff.caseworker,
        case=case,
        content=DEMO_PDF,
        kind=kind,
        doc_type=doc_type,
        title=None,
        details={"language": language, "translation_status": translation},
    )
    document_verify(
        actor=staff.coordinator,
        case=case,
        document=document,
        status=Document.Verification.VERIFIED,
        method=method,
    )
    return document


def _letter(
    staff: _Staff,
    case: Case,
    attempt: VisaApplication,
    annexes: list[Document],
    *,
    issue: bool,
    **values: Any,
) -> Letter:
    """A letter requested by the caseworker and, if ``issue``, issued by the coordinator.
    What it asks for (admission, pre-approval, visa) follows the route."""
    letter = letter_request(
        actor=staff.caseworker,
        case=case,
        attempt=attempt,
        values={
            "mission": attempt.mission,
            "delivery": Letter.Delivery.DIRECT,
            "include_sogi": True,
            **values,
        },
        annexes=annexes,
    )
    if issue:
        # The letters are complete, so the pre-issue check finds no blocker; warnings (none
        # expected) are accepted as a coordinator would after reading them.
        letter = letter_issue(actor=staff.coordinator, letter=letter, accept_warnings=True)
    return letter


# The letters' own text, in each letter's language (DOMAIN.md sections 3.2 and 10). No
# Cyrillic in a letter that is not Russian; annexes are numbered in upload order.
ARTYOM_DE = {
    "language": "de",
    "facts": (
        "Februar 2024: Der Antragsteller wurde über eine Dating-App zu einem vorgetäuschten "
        "Treffen gelockt, geschlagen und dabei gefilmt; ein nationalistischer Kanal "
        "veröffentlichte das Video und machte damit seine sexuelle Orientierung gegen seinen "
        "Willen öffentlich.\n"
        "April 2024: Vorladung zum Ermittlungskomitee der Russischen Föderation als „Zeuge“ in "
        "einem Strafverfahren nach Artikel 282.2 des russischen Strafgesetzbuchs; seine "
        "Wohnung wurde durchsucht (Anlage 2).\n"
        "Mai 2024: Ausreise über den Grenzübergang Werchni Lars nach Georgien; im August 2024 "
        "Weiterreise nach Armenien, nachdem einem Freund die Wiedereinreise nach Georgien "
        "verweigert worden war."
    ),
    "why_route": (
        "Der Antragsteller hat als Journalist eines unabhängigen Regionalmediums und als "
        "Betreiber eines Telegram-Kanals für die Rechte queerer Menschen öffentlich für "
        "Meinungsfreiheit und Menschenrechte Stellung bezogen (Anlage 3) und ist deshalb "
        "individuell besonders gefährdet. Unser Verein hat seinen Sitz in Berlin und begleitet "
        "ihn nach der Einreise mit Unterkunft und Rechtsberatung."
    ),
    "urgency": (
        "Sein rechtmäßiger Aufenthalt in Armenien ist befristet, und in Armenien wurden "
        "wiederholt Personen auf Ersuchen der Russischen Föderation festgenommen."
    ),
}
ARTYOM_FR = {
    "language": "fr",
    "facts": (
        "Février 2024 : attiré dans un guet-apens par une application de rencontre, il a été "
        "frappé et filmé ; la vidéo a été publiée par une chaîne nationaliste, révélant son "
        "orientation sexuelle contre son gré.\n"
        "Avril 2024 : convoqué par le Comité d'enquête de la Fédération de Russie comme "
        "« témoin » dans une affaire pénale fondée sur l'article 282.2 du code pénal russe ; "
        "son domicile a été perquisitionné (annexe 2).\n"
        "Mai 2024 : départ vers la Géorgie par le poste-frontière de Verkhni Lars, puis vers "
        "l'Arménie en août 2024, après qu'un ami s'est vu refuser le retour en Géorgie.\n"
        "Juillet 2025 : la procédure d'admission engagée en Allemagne en octobre 2024 a été "
        "suspendue."
    ),
    "why_route": (
        "La France examine les demandes de visa au titre de l'asile de personnes persécutées "
        "en Russie, alors que la procédure allemande est suspendue. Journaliste, il a animé "
        "une chaîne Telegram de défense des droits des personnes LGBT+ (annexe 3). Une "
        "association partenaire à Paris assurera son hébergement et son accompagnement "
        "juridique à son arrivée."
    ),
    "urgency": (
        "son séjour légal en Arménie est limité et des personnes recherchées par la Russie y "
        "ont déjà été interpellées."
    ),
}
SASHA_CS = {
    "language": "cs",
    "facts": (
        "2016–2022: dobrovolnická koordinátorka regionální LGBT+ iniciativy v Novosibirsku "
        "(příloha 2).\n"
        "Poté byla uvedena mezi kontakty osob spojovaných se „zahraničními agenty“.\n"
        "Po zákazu zdravotní péče související se změnou pohlaví v roce 2023 ztratila přístup k "
        "hormonální léčbě (příloha 3).\n"
        "Od března 2023 žije v Tbilisi; gruzínský zákon z roku 2024 a odmítání vstupu při "
        "opětovném příjezdu ji ohrožují.\n"
        "Jméno a údaj o pohlaví v pasu (PETROV ALEKSANDR, M) neodpovídají její genderové "
        "identitě; jde o tutéž osobu (příloha 1)."
    ),
    "why_route": (
        "Program „Občanská společnost“ je určen pronásledovaným představitelům občanské "
        "společnosti z Ruska. Žadatelka šest let koordinovala dobrovolníky regionální LGBT+ "
        "iniciativy, což potvrzuje partnerská organizace (příloha 2). Po příjezdu jí naše "
        "partnerská organizace v Praze zajistí ubytování a právní pomoc."
    ),
}
SASHA_PL = {
    "language": "pl",
    "facts": (
        "2016–2022: wolontariuszka koordynująca regionalną inicjatywę LGBT+ w Nowosybirsku "
        "(załącznik 2).\n"
        "Następnie znalazła się wśród kontaktów osób powiązanych z „zagranicznymi agentami”.\n"
        "Po wprowadzonym w 2023 r. zakazie opieki medycznej związanej ze zmianą płci straciła "
        "dostęp do terapii hormonalnej (załącznik 3).\n"
        "Od marca 2023 r. przebywa w Tbilisi; gruzińska ustawa z 2024 r. oraz odmowy wjazdu "
        "przy ponownym wjeździe stanowią dla niej zagrożenie.\n"
        "Imię, nazwisko i oznaczenie płci w paszporcie (PETROV ALEKSANDR, M) nie odpowiadają "
        "jej tożsamości płciowej; chodzi o tę samą osobę (załącznik 1)."
    ),
    "why_route": (
        "Polska wydaje wizy krajowe ze względów humanitarnych osobom prześladowanym w Rosji. "
        "Paszport wnioskodawczyni traci ważność w 2026 r., dlatego składa ona wniosek w "
        "Tbilisi, gdzie mieszka. Po przyjeździe organizacja partnerska w Warszawie zapewni jej "
        "zakwaterowanie i pomoc prawną."
    ),
}
# The English copy of the Czech letter (DOMAIN.md section 10: "letter in CS + EN"), drafted
# and waiting for the coordinator.
SASHA_EN = {
    "language": "en",
    "facts": (
        "2016–2022: volunteer coordinator of a regional LGBT+ initiative in Novosibirsk "
        "(Annex 2).\n"
        "Later listed among the contacts of persons linked to “foreign agents”.\n"
        "Lost access to hormone therapy after the 2023 ban on gender-affirming care "
        "(Annex 3).\n"
        "In Tbilisi since March 2023; Georgia's 2024 law and refusals of entry on re-entry put "
        "her at risk.\n"
        "The name and sex marker in her passport (PETROV ALEKSANDR, M) do not match her "
        "gender identity; they refer to the same person (Annex 1)."
    ),
    "why_route": (
        "The “Civil Society” programme is intended for persecuted members of Russian civil "
        "society. The applicant coordinated volunteers of a regional LGBT+ initiative for six "
        "years, as our partner organisation confirms (Annex 2). On arrival, our partner "
        "organisation in Prague will provide housing and legal assistance."
    ),
}


def _sample_routes_and_letters(staff: _Staff, samples: list[Case]) -> None:
    """The route attempts of DOMAIN.md section 10, consents, verified documents and the
    letters: Artyom's German (§22 S.2 admission, to the authority) and French (visa au titre
    de l'asile, via the embassy in Yerevan) letters issued; Sasha's Czech (Civil Society) and
    Polish (D21, via the consulate in Tbilisi) letters issued, and the English copy of the
    Czech letter drafted and waiting for the coordinator."""
    artyom, milana, sasha = samples
    for case in samples:
        consent_record(
            actor=staff.caseworker,
            case=case,
            purpose=Consent.Purpose.PROCESSING,
            route=None,
            counterparty="",
            text_version="processing-2026-01",
            language="ru",
        )
    # Artyom: passport TEST-000001, the summons (RU, translated), a media article (RU,
    # translated). Annexes 1 to 3 in this order.
    artyom_annexes = [
        _annex(staff, artyom, "passport_intl", language="", translation="not_needed",
               method="original_seen"),
        _annex(staff, artyom, "summons", language="ru", translation="translated",
               method="copy_checked"),
        _annex(staff, artyom, "media_article", language="ru", translation="translated",
               method="copy_checked"),
    ]  # fmt: skip
    germany = route_attempt_add(
        actor=staff.caseworker,
        case=artyom,
        route=_route("de-aufenthg-22-s2"),
        mission=None,
    )
    attempt_update(
        actor=staff.caseworker,
        case=artyom,
        attempt=germany,
        values={"submitted_at": datetime.date(2024, 10, 1)},
    )
    _disclosure(staff, artyom, germany.route, sogi=True)
    _letter(staff, artyom, germany, artyom_annexes, issue=True, **ARTYOM_DE)
    france = route_attempt_add(
        actor=staff.caseworker,
        case=artyom,
        route=_route("fr-visa-asile"),
        mission=_mission("Embassy of France in Yerevan"),
    )
    _disclosure(staff, artyom, france.route, sogi=True)
    _letter(staff, artyom, france, artyom_annexes, issue=True, **ARTYOM_FR)
    route_attempt_add(
        actor=staff.caseworker, case=milana, route=_route("lt-national-humanitarian"), mission=None
    )
    # Sasha: passport TEST-000003, the partner organisation's confirmation of her activism,
    # the medical report on her HRT history (RU, translated). Annexes 1 to 3.
    sasha_annexes = [
        _annex(staff, sasha, "passport_intl", language="", translation="not_needed",
               method="original_seen"),
        _annex(staff, sasha, "partner_org_letter", language="en", translation="not_needed",
               method="partner_confirmed"),
        _annex(staff, sasha, "medical_report", language="ru", translation="translated",
               method="copy_checked"),
    ]  # fmt: skip
    poland = route_attempt_add(
        actor=staff.caseworker,
        case=sasha,
        route=_route("pl-d21"),
        mission=_mission("Consulate of Poland in Tbilisi"),
    )
    czechia = route_attempt_add(
        actor=staff.caseworker, case=sasha, route=_route("cz-civil-society"), mission=None
    )
    _disclosure(staff, sasha, czechia.route, sogi=True)
    _letter(staff, sasha, czechia, sasha_annexes, issue=True, **SASHA_CS)
    _disclosure(staff, sasha, poland.route, sogi=True)
    _letter(staff, sasha, poland, sasha_annexes, issue=True, **SASHA_PL)
    _letter(staff, sasha, czechia, sasha_annexes, issue=False, **SASHA_EN)


def _generated_plan(rng: random.Random) -> list[tuple[str, str, Status, str | None]]:
    """(organisation slug, priority, status reached before an optional closure, closure)."""
    priorities = (
        [Priority.EMERGENCY] * 3 + [Priority.URGENT] * 8 + [Priority.NORMAL] * 14
        + [Priority.INFO] * 5
    )  # fmt: skip
    rng.shuffle(priorities)
    slugs = list(DEMO_ORGANISATIONS)
    plan: list[tuple[str, str, Status, str | None]] = []
    for number, priority in enumerate(priorities[:GENERATED_CASES]):
        closure: str | None = None
        if priority == Priority.INFO:
            # Information requests rarely go beyond screening; many are referred elsewhere.
            status = rng.choice((S.NEW_REQUEST, S.SCREENING))
            if rng.random() < 0.4:
                closure = rng.choice((ClosureReason.REFERRED_ELSEWHERE, ClosureReason.INELIGIBLE))
        else:
            status = rng.choice(
                (S.NEW_REQUEST, S.SCREENING, S.VERIFICATION, S.ROUTE_PLANNING, S.DOCUMENTS,
                 S.LETTER_DRAFTING, S.LETTER_REVIEW)
            )  # fmt: skip
            if rng.random() < 0.15:
                closure = rng.choice(CLOSURE_REASONS)
        plan.append((slugs[number % len(slugs)], priority, status, closure))
    return plan


def _sample_applicants(organisation: Organisation) -> list[Applicant]:
    """The sample applicants, found the way a caseworker finds them: by blind index."""
    found = []
    queryset = Applicant.objects.filter(organisation=organisation)
    for sample in SAMPLE_CASES:
        name = sample.applicant["legal_name_cyrillic"]
        found += search(queryset, Applicant.NAME_FIELDS, organisation.pk, name)
    return found


def _lines(cases: list[Case]) -> list[CaseLine]:
    fresh = Case.objects.in_bulk([case.pk for case in cases])
    return [
        CaseLine(fresh[c.pk].code, fresh[c.pk].priority, fresh[c.pk].status)
        for c in cases
        if c.pk in fresh
    ]


@transaction.atomic
def seed_cases() -> CaseSeedResult:
    """The three sample cases (first demo organisation) and the generated ones (both).

    Needs the demo accounts (seed_accounts). Does nothing if the first demo organisation
    already has a case, and then reports the sample cases it finds.
    """
    rainbow = _staff("rainbow")
    with demo_keys(), datakeys.dek_cache():
        if Case.objects.filter(organisation=rainbow.organisation).exists():
            applicants = _sample_applicants(rainbow.organisation)
            existing = list(
                Case.objects.filter(applicant__in=applicants).order_by("opened_at", "code")
            )
            return CaseSeedResult(0, _lines(existing), _letter_lines(existing))
        staff = {slug: _staff(slug) for slug in DEMO_ORGANISATIONS}
        samples = [_open_sample(rainbow, sample) for sample in SAMPLE_CASES]
        _letterheads()
        _sample_routes_and_letters(rainbow, samples)
        rng = random.Random(DEMO_SEED)  # noqa: S311 (fictional demo data, reproducible)
        for number, (slug, priority, status, closure) in enumerate(_generated_plan(rng), 100):
            fast = priority == Priority.EMERGENCY and rng.random() < 0.7
            _open_case(
                staff[slug],
                fictional_applicant(rng, number),
                priority=priority,
                destination_state=rng.choice(DESTINATIONS),
                narrative=fictional_narrative(rng),
                path=path_to(status, fast=fast),
                closure=closure,
                reopen=closure is not None and rng.random() < 0.3,
            )
        _closed_long_ago(rainbow.organisation)
        # A request for a copy of their data, received 25 days ago: due in a few days.
        request_record(
            actor=rainbow.coordinator,
            case=samples[0],
            kind=SubjectRequest.Kind.ACCESS,
            received_on=timezone.localdate() - datetime.timedelta(days=25),
        )
        return CaseSeedResult(
            len(samples) + GENERATED_CASES, _lines(samples), _letter_lines(samples)
        )


def _closed_long_ago(organisation: Any) -> None:
    """Two of the generated closed cases closed almost a year ago, so that the dashboard's
    retention notice has something to show (their details go in 9 and 20 days)."""
    closed = Case.objects.filter(organisation=organisation, closed_at__isnull=False)
    people = list(closed.order_by("code").values_list("applicant_id", flat=True)[:2])
    now = timezone.now()
    for applicant_id, days_left in zip(people, (9, 20), strict=False):
        closed_at = months_after(now, -organisation.retention_details_months)
        Case.objects.filter(applicant_id=applicant_id).update(
            closed_at=closed_at + datetime.timedelta(days=days_left)
        )


# --- bulk, for scale tests -------------------------------------------------------------------

BULK_BATCH = 5000
_BULK_STATUSES = (S.NEW_REQUEST, S.SCREENING, S.VERIFICATION, S.ROUTE_PLANNING, S.DOCUMENTS,
                  S.LETTER_DRAFTING, S.LETTER_REVIEW, S.CLOSED)  # fmt: skip


def _new_codes(count: int) -> list[str]:
    """``count`` fresh case codes in the format of services.new_case_code, checked in bulk."""
    prefix = f"SP-{timezone.now():%y}-"
    taken = set(Case.objects.filter(code__startswith=prefix).values_list("code", flat=True))
    codes: list[str] = []
    while len(codes) < count:
        code = prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def seed_bulk(count: int, progress: Callable[[int], None] | None = None) -> int:
    """Add ``count`` fictional applicants with one case each to the first demo organisation.

    Fast path for scale tests: data keys wrapped in bulk and rows inserted with
    ``bulk_create`` (fields are still encrypted and blind-indexed), but no audit entries and
    no status history. Cases are assigned to the demo caseworker. Returns how many were added.
    """
    staff = _staff("rainbow")
    organisation = staff.organisation
    permissions = list(
        Permission.objects.filter(
            content_type__app_label="cases", codename__in=["view_case", "change_case"]
        )
    )
    start = Applicant.objects.filter(organisation=organisation).count()
    rng = random.Random(DEMO_SEED + start)  # noqa: S311 (fictional demo data, reproducible)
    now = timezone.now()
    done = 0
    current = current_key(organisation.pk)
    while done < count:
        size = min(BULK_BATCH, count - done)
        with demo_keys(), transaction.atomic(), datakeys.dek_cache():
            applicants, cases, keys = [], [], []
            for number, code in enumerate(_new_codes(size), start + done + 1000):
                applicant = Applicant(
                    organisation=organisation, **fictional_applicant(rng, number, light=True)
                )
                dek = new_data_key()
                datakeys._remember(applicant.pk, dek)
                status = rng.choice(_BULK_STATUSES)
                case = Case(
                    organisation=organisation,
                    applicant=applicant,
                    code=code,
                    status=status,
                    priority=rng.choice(Priority.values),
                    destination_state=rng.choice(DESTINATIONS),
                    coordinator=staff.coordinator,
                    narrative=fictional_narrative(rng),
                )
                if status == S.CLOSED:
                    case.closed_at = now
                    case.closure_reason = rng.choice(CLOSURE_REASONS)
                case.set_sort_keys()  # what save() would have done
                case.has_caseworker = True  # assigned to the demo caseworker below
                key = DataKey(
                    subject_id=applicant.pk,
                    subject_type=DataKey.SubjectType.APPLICANT,
                    organisation_id=organisation.pk,
                    # What EncryptedModel.save() would have counted (nonce budget, R35).
                    encryptions=sum(
                        field.is_dirty(obj)
                        for obj in (applicant, case)
                        for field in encrypted_fields(type(obj))
                    ),
                )
                datakeys.wrap_new(key, dek, current=current)
                keys.append(key)
                applicants.append(applicant)
                cases.append(case)
            DataKey.objects.bulk_create(keys)
            Applicant.objects.bulk_create(applicants)
            Case.objects.bulk_create(cases)
            Case.caseworkers.through.objects.bulk_create(
                Case.caseworkers.through(case_id=case.pk, user_id=staff.caseworker.pk)
                for case in cases
            )
            CaseUserObjectPermission.objects.bulk_create(
                CaseUserObjectPermission(
                    permission=permission, user=staff.caseworker, content_object=case
                )
                for case in cases
                for permission in permissions
            )
        done += size
        if done == size < count:  # the first of several batches
            # Plans made from here on (the foreign-key checks' own, kept for the rest of the
            # connection) see thousands of rows, not the handful before the load (lib.planner).
            refresh_statistics()
        if progress is not None:
            progress(done)
    refresh_statistics()  # the planner, after a load it has never seen
    return done
