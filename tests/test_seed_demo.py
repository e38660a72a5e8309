from __future__ import annotations

import contextlib
import datetime
import io
import json
import re
import stat

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.access import visible_cases
from casework.cases.models import Applicant, Case, CaseStatusChange
from casework.core.demo import (
    DEMO_ORGANISATIONS,
    DESTINATIONS,
    SAMPLE_CASES,
    demo_keys,
    icao_latin,
)
from casework.lib import datakeys
from casework.lib.fields import search


@pytest.fixture
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    # The demo users' passwords need not cost argon2's 100 MiB here (keeps the file fast).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.mark.django_db
def test_seed_demo_creates_two_organisations_with_every_role(data_dir, capsys):
    call_command("seed_demo")
    assert Organisation.objects.count() == 2
    for organisation in Organisation.objects.all():
        users = User.objects.filter(organisation=organisation)
        roles = sorted(role for user in users for role in user.roles)
        assert roles == sorted(set(Role) - {Role.REFERENCE_EDITOR}) or roles == sorted(Role)
    # One reference data editor serves the whole installation.
    assert User.objects.filter(groups__name=Role.REFERENCE_EDITOR.value).count() == 1
    assert "rainbow-caseworker" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_keeps_passwords(data_dir):
    call_command("seed_demo")
    first = json.loads((data_dir / "demo-logins.json").read_text())
    call_command("seed_demo")
    assert User.objects.count() == 9  # four roles in each organisation, one reference editor
    assert json.loads((data_dir / "demo-logins.json").read_text()) == first
    user = User.objects.get(username="northern-auditor")
    assert user.check_password(first["northern-auditor"])


@pytest.mark.django_db
def test_the_demo_passwords_file_is_private(data_dir):
    call_command("seed_demo")
    mode = stat.S_IMODE((data_dir / "demo-logins.json").stat().st_mode)
    assert mode == 0o600


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production(data_dir, settings):
    settings.PROD = True
    with pytest.raises(CommandError, match="refuses to run with CASEWORK_ENV=prod"):
        call_command("seed_demo")
    assert User.objects.count() == 0


# --- demo cases --------------------------------------------------------------------------------

# DOMAIN.md section 10, as written there (None: the text gives no number).
SAMPLES = {
    "Соколов Артём Сергеевич": {
        "legal_name_latin": "SOKOLOV ARTEM",
        "preferred_name": "Artyom Sokolov",
        "pronouns": "he/him",
        "birth_year": 1997,
        "international_passport_no": "TEST-000001",
        "internal_passport_no": None,
        "current_city": "Yerevan",
        "current_country": "AM",
        "legal_stay_until": datetime.date(2025, 2, 10),
        "case": ("urgent", "FR", "letter_review"),
    },
    "Милана Рустамовна Х.": {
        "legal_name_latin": "Milana Rustamovna Kh.",
        "preferred_name": "Milana Kh.",
        "pronouns": "she/her",
        "birth_year": 2003,
        "international_passport_no": None,
        "internal_passport_no": None,
        "current_city": "Moscow",
        "current_country": "RU",
        "legal_stay_until": None,
        "case": ("emergency", "LT", "documents"),
    },
    "Петров Александр": {
        "legal_name_latin": "PETROV ALEKSANDR",
        "preferred_name": "Alexandra (Sasha) Petrova",
        "pronouns": "she/her",
        "birth_year": 1990,
        "international_passport_no": "TEST-000003",
        "internal_passport_no": None,
        "current_city": "Tbilisi",
        "current_country": "GE",
        "legal_stay_until": None,
        "case": ("normal", "CZ", "letter_review"),
    },
}


_held: list[contextlib.ExitStack] = []


@pytest.fixture(autouse=True)
def _as_signed_in_members():
    """After seed(), the test reads the demo's cases as its coordinators would, signed in:
    their organisations' keys held until the test ends (issue 16)."""
    with contextlib.ExitStack() as stack:
        _held.append(stack)
        yield
        _held.pop()


def seed(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    _held[-1].enter_context(demo_keys())
    return out.getvalue(), err.getvalue()


def demo_org(slug="rainbow"):
    return Organisation.objects.get(name=DEMO_ORGANISATIONS[slug])


def counts():
    return (
        Applicant.objects.count(),
        Case.objects.count(),
        CaseStatusChange.objects.count(),
        AuditEvent.objects.count(),
    )


def test_the_sample_names_are_their_icao_passport_spelling():
    assert icao_latin("Соколов Артём") == "SOKOLOV ARTEM"
    assert icao_latin("Петров Александр") == "PETROV ALEKSANDR"
    assert {s.applicant["legal_name_cyrillic"] for s in SAMPLE_CASES} == set(SAMPLES)


@pytest.mark.django_db
def test_seed_demo_creates_the_sample_cases_of_domain_section_10(data_dir):
    out, _ = seed()
    organisation = demo_org()
    caseworker = User.objects.get(username="rainbow-caseworker")
    applicants = Applicant.objects.filter(organisation=organisation)
    with datakeys.dek_cache():
        for cyrillic, expected in SAMPLES.items():
            # Found the way the search page finds people: by blind index, in either script.
            found = search(applicants, Applicant.NAME_FIELDS, organisation.pk, cyrillic)
            assert len(found) == 1, cyrillic
            applicant = Applicant.objects.get(pk=found[0].pk)
            assert applicant.legal_name_cyrillic == cyrillic
            for field, value in expected.items():
                if field != "case":
                    assert getattr(applicant, field) == value, (cyrillic, field)
            latin = expected["legal_name_latin"]
            assert search(applicants, Applicant.NAME_FIELDS, organisation.pk, latin) == found
            case = Case.objects.get(applicant=applicant)
            assert (case.priority, case.destination_state, case.status) == expected["case"]
            assert list(case.caseworkers.all()) == [caseworker]
            assert case.narrative
            # The command prints code, priority and status: never a name.
            assert f"{case.code:12}  {case.priority:10}  {case.status}" in out
            for name in (cyrillic, latin, applicant.preferred_name):
                assert name not in out
        for number in ("TEST-000001", "TEST-000003"):
            assert len(search(applicants, Applicant.PASSPORT_FIELDS, organisation.pk, number)) == 1
    # Only the emergency case took the fast path past verification.
    milana = Case.objects.get(priority="emergency", applicant__in=applicants, status="documents")
    steps = list(milana.history.values_list("to_status", flat=True))
    assert steps[:3] == ["screening", "route_planning", "documents"]
    # The coordinator's overlay flags and priority reasons, set through the edit service.
    with datakeys.dek_cache():
        artyom, milana, sasha = (
            Case.objects.get(
                applicant=search(applicants, Applicant.NAME_FIELDS, organisation.pk, n)[0]
            )
            for n in SAMPLES
        )
        assert "set to URGENT" in artyom.priority_override_reason
        assert milana.emergency_protection and not milana.family_case
        assert sasha.family_case and not sasha.emergency_protection
    updates = AuditEvent.objects.filter(action="case_updated", case_id=milana.pk)
    assert updates.get().details["fields"] == ["emergency_protection", "priority_override_reason"]


@pytest.mark.django_db
def test_seed_demo_generates_about_thirty_varied_cases_with_their_audit_trail(data_dir):
    seed()
    cases = Case.objects.all()
    assert 30 <= cases.count() <= 40
    # The three samples are in the first organisation; the generated ones in both.
    assert cases.filter(organisation=demo_org("rainbow")).count() >= 3 + 10
    assert cases.filter(organisation=demo_org("northern")).count() >= 10
    assert len(set(cases.values_list("status", flat=True))) >= 5
    assert set(cases.values_list("priority", flat=True)) == {
        "emergency",
        "urgent",
        "normal",
        "info",
    }
    assert set(cases.values_list("destination_state", flat=True)) <= set(DESTINATIONS)
    assert len(set(cases.values_list("destination_state", flat=True))) >= 5
    # Every case came through the services: created, assigned and moved, all audited.
    created = set(
        AuditEvent.objects.filter(action=Action.CASE_CREATED).values_list("case_id", flat=True)
    )
    assert created == set(cases.values_list("pk", flat=True))
    assigned = AuditEvent.objects.filter(action=Action.CASE_ASSIGNED)
    assert set(assigned.values_list("case_id", flat=True)) == created
    moved = AuditEvent.objects.filter(action=Action.STATUS_CHANGED).count()
    assert moved == CaseStatusChange.objects.count() > 30
    for case in cases.exclude(status="new_request"):
        assert case.history.exists()
    # Each caseworker sees the cases of their organisation, and only those.
    for slug in DEMO_ORGANISATIONS:
        caseworker = User.objects.get(username=f"{slug}-caseworker")
        assert set(visible_cases(caseworker)) == set(cases.filter(organisation=demo_org(slug)))
    # Varied fictional names, in both scripts.
    with datakeys.dek_cache():
        names = {(a.legal_name_cyrillic, a.legal_name_latin) for a in Applicant.objects.all()}
    assert len(names) == cases.count()


@pytest.mark.django_db
def test_a_second_run_creates_no_demo_case_and_applicants_adds_bulk_ones(data_dir):
    first, _ = seed()
    applicants, cases, history, audit = counts()
    second, err = seed("--applicants", "200")
    assert "Demo cases already present" in second
    samples = [line for line in first.splitlines() if line.startswith("  SP-")]
    assert len(samples) == 3
    assert samples == [line for line in second.splitlines() if line.startswith("  SP-")]
    # Only the bulk applicants are new, and bulk mode leaves no audit trail or history.
    assert counts() == (applicants + 200, cases + 200, history, audit)
    assert "200 / 200 applicants" in err
    assert "Added 200 bulk applicants and cases" in second
    organisation = demo_org()
    bulk = list(Applicant.objects.filter(organisation=organisation).order_by("-created_at")[:200])
    caseworker = User.objects.get(username="rainbow-caseworker")
    with datakeys.dek_cache():
        for applicant in bulk[:20]:
            assert applicant.legal_name_cyrillic and " " in applicant.legal_name_cyrillic
            surname, given = applicant.legal_name_cyrillic.split()[:2]
            assert applicant.legal_name_latin == icao_latin(f"{surname} {given}")
        one = bulk[0]
        found = search(
            Applicant.objects.filter(organisation=organisation),
            Applicant.NAME_FIELDS,
            organisation.pk,
            one.legal_name_cyrillic,
        )
        assert one in found
        narratives = [c.narrative for c in Case.objects.filter(applicant__in=bulk[:20])]
        assert all(narratives)
    assert visible_cases(caseworker).filter(applicant__in=bulk).count() == 200


@pytest.mark.django_db
def test_seed_demo_refuses_a_negative_number_of_applicants(data_dir):
    with pytest.raises(CommandError, match="--applicants"):
        call_command("seed_demo", "--applicants", "-1")


@pytest.mark.django_db
def test_seed_demo_shows_the_letter_flow_issued_letters_and_a_draft(data_dir, settings):
    settings.CASEWORK_SEAL_DIR = data_dir / "seals"
    out, _ = seed()
    from casework.letters.models import Letter

    letters = list(Letter.objects.order_by("requested_at"))
    assert [(x.language, x.status) for x in letters] == [
        ("de", "issued"),
        ("fr", "issued"),
        ("cs", "issued"),
        ("pl", "issued"),
        ("en", "draft"),
    ]
    issued = letters[1]  # Artyom's French letter
    draft = letters[-1]  # the English copy of Sasha's Czech letter
    assert issued.reference.startswith("LTR-") and issued.pdf_sha256 and issued.pdf_storage_name
    assert issued.mission.name == "Embassy of France in Yerevan"
    assert issued.issued_by.username == "rainbow-coordinator"
    assert draft.requested_by.username == "rainbow-caseworker" and draft.reference == ""
    assert draft.attempt.route.code == "cz-civil-society"
    for letter in letters[:-1]:
        assert f"{letter.reference:16} issued" in out
    assert "(draft)" in out
    # Through the services, so with their audit trail.
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "letter_requested",
        "letter_issued",
        "consent_recorded",
        "document_uploaded",
        "document_verified",
    } <= actions
    # The guards held: verification done and a disclosure consent for the French route.
    assert issued.case.history.filter(from_status="verification").exists()
    assert issued.case.applicant.consents.filter(
        purpose="disclosure", route=issued.attempt.route
    ).exists()
    # A second run keeps them and prints them again.
    again, _ = seed()
    assert Letter.objects.count() == 5 and f"{issued.reference:16} issued" in again


def _cyrillic(text):
    import unicodedata

    return any(unicodedata.name(ch, "").startswith("CYRILLIC") for ch in text or "")


def _sentences(text):
    """Sentence ends: a full stop before a capital letter or at the end ("2015 r. do" and
    "2018 m. įregistruota" are abbreviations, not ends)."""
    ends = [i for i, ch in enumerate(text) if ch in ".!?"]
    return sum(1 for i in ends if i == len(text) - 1 or text[i + 2 : i + 3].isupper())


# What each issued letter of the demo is: route, what it asks for, via which mission.
DEMO_LETTERS = {
    "de": ("de-aufenthg-22-s2", "admission", None),
    "fr": ("fr-visa-asile", "preapproval", "Ambassade de France à Erevan"),
    "cs": ("cz-civil-society", "preapproval", None),
    "pl": ("pl-d21", "visa", "Wydział Konsularny Ambasady Rzeczypospolitej Polskiej w Tbilisi"),
}


@pytest.mark.django_db
def test_seed_demo_issues_complete_letters_in_german_french_czech_and_polish(data_dir, settings):
    settings.CASEWORK_SEAL_DIR = data_dir / "seals"
    seed()
    from django.utils.html import escape

    from casework.letters import checks
    from casework.letters.models import Letter
    from casework.letters.services import disclosure_consent, letter_html

    issued = {x.language: x for x in Letter.objects.filter(status="issued")}
    assert set(issued) == set(DEMO_LETTERS)
    for language, (code, kind, mission_name) in DEMO_LETTERS.items():
        letter = issued[language]
        route = letter.attempt.route
        assert route.code == code and letter.kind == kind, language
        assert language in route.letter_languages, language
        # The addressee as printed: the route's authority in the letter's language.
        assert letter.authority == route.printed(language, "authority") != "", language
        if mission_name is None:
            assert letter.mission is None, language  # addressed to the authority itself
        else:
            assert letter.mission.printed(language) == mission_name, language
        # Every section has content, and the free text is in the letter's language.
        assert letter.facts.strip() and letter.why_route.strip(), language
        for text in (letter.facts, letter.why_route, letter.urgency):
            assert not _cyrillic(text), language
        if letter.case.priority in ("emergency", "urgent"):
            assert letter.urgency.strip(), language
        annexes = list(letter.annexes.all())
        assert annexes and all(a.verification_status == "verified" for a in annexes), language
        consent = disclosure_consent(letter)
        assert consent is not None and consent.route_id == route.pk, language
        # The pre-issue check finds nothing: no blocker and no warning was waved through.
        found = [str(problem) for problem in checks.problems(letter)]
        assert found == [], (language, found)
        # What the letter prints: the route's and mission's names in its language, the
        # letterhead's section 1 and signatory function, and no Cyrillic anywhere.
        html = letter_html(letter)
        organisation = letter.organisation
        for printed in (
            route.printed(language, "procedure"),
            route.printed(language, "legal_basis"),
            letter.authority,
            organisation.about[language],
            organisation.signatory_titles[language],
        ):
            assert escape(printed) in html, (language, printed)
        if letter.mission is not None:
            assert escape(letter.mission.printed(language)) in html, language
        assert not _cyrillic(html), language
    # Artyom's case is urgent: both his letters say why.
    assert issued["de"].case == issued["fr"].case and issued["de"].urgency.strip()
    assert issued["cs"].case == issued["pl"].case


@pytest.mark.django_db
def test_the_demo_letterheads_speak_every_letter_language(data_dir):
    seed()
    from casework.cases.models import LETTER_LANGUAGES

    languages = {code for code, _name in LETTER_LANGUAGES}
    for organisation in Organisation.objects.all():
        assert set(organisation.about) == languages, organisation.name
        assert set(organisation.signatory_titles) == languages, organisation.name
        for language in languages:
            about = organisation.about[language]
            assert 2 <= _sentences(about) <= 4, (organisation.name, language)
            assert _cyrillic(about) == (language == "ru"), (organisation.name, language)
            title = organisation.signatory_titles[language]
            assert title.strip() and _cyrillic(title) == (language == "ru")
        assert _cyrillic(organisation.signatory_names["ru"]), organisation.name


@pytest.mark.django_db
def test_the_output_is_english_whatever_language_the_process_has_active(data_dir, settings):
    """A test client's request leaves its language active in the thread; the command's
    report is English all the same, as in a fresh process (a flake of the CI's random order)."""
    settings.CASEWORK_SEAL_DIR = data_dir / "seals"
    with translation.override("uk"):
        out, _ = seed()
    assert re.search(r"LTR-\d{4}-000001  issued ", out)
