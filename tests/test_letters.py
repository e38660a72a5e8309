"""Support letters: request, issue, seal, store, download, verify, revoke, correct (issue 7).

The attacker's moves are tests here too: hostile letter text, another organisation's
coordinator, a caseworker trying to issue, a stale second factor, a tampered PDF.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.models import LETTER_LANGUAGES, Case, Consent, Route
from casework.cases.services import (
    case_assign,
    case_create,
    case_transition,
    consent_record,
    document_upload,
    document_verify,
    route_attempt_add,
)
from casework.cases.uploads import sniff
from casework.cases.workflow import CaseFacts
from casework.letters import codes, services
from casework.letters.models import Letter, LetterSequence
from casework.letters.rendering import RenderFailed, renderer
from casework.letters.signing import certificate_of
from tests.conftest import login_verified, make_totp, make_user

pytestmark = pytest.mark.django_db
# The fixture letter quotes a witness in Cyrillic: a warning the coordinator accepts.
ACCEPT = {"accept_warnings": "yes"}

NAME = "ŽEMAITYTĖ ŠARŪNĖ"  # Lithuanian diacritics in the passport spelling
CYRILLIC = "Шарунэ Жемайтите"
PASSPORT = "TEST-000777"
BIRTH = datetime.date(1993, 7, 14)
ORIENTATION = "lesbian-canary-orientation"
SALUTATIONS = {
    "en": "Dear Sir or Madam,",
    "de": "Sehr geehrte Damen und Herren,",
    "fr": "Madame, Monsieur,",
    "pl": "Szanowni Państwo,",
    "lt": "Gerbiamieji,",
    "cs": "Vážené dámy, vážení pánové,",
    "ru": "Уважаемые дамы и господа,",
}


# The organisation's profile as letters print it, in every letter language.
ABOUT = {
    "en": "Alpha Aid supports LGBT+ people at risk since 2015.",
    "de": "Alpha Aid unterstützt seit 2015 gefährdete LGBT+-Personen.",
    "fr": "Alpha Aid soutient depuis 2015 les personnes LGBT+ en danger.",
    "pl": "Alpha Aid wspiera zagrożone osoby LGBT+ od 2015 roku.",
    "lt": "Alpha Aid nuo 2015 metų padeda pavojuje esantiems LGBT+ žmonėms.",
    "cs": "Alpha Aid od roku 2015 podporuje ohrožené LGBT+ osoby.",
    "ru": "Alpha Aid с 2015 года поддерживает ЛГБТ+ людей, находящихся в опасности.",
}
SIGNATORY_TITLES = {
    "en": "Coordinator",
    "de": "Koordinatorin",
    "fr": "Coordinatrice",
    "pl": "Koordynatorka",
    "lt": "Koordinatorė",
    "cs": "Koordinátorka",
    "ru": "Координатор",
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _seals(settings, tmp_path):
    settings.CASEWORK_SEAL_DIR = tmp_path / "seals"


@pytest.fixture
def issued_codes(monkeypatch):
    """The codes issued during the test (the real generator, observed)."""
    seen: list[str] = []
    real = codes.new_code

    def observed() -> str:
        seen.append(real())
        return seen[-1]

    monkeypatch.setattr(codes, "new_code", observed)
    return seen


def facts(**changes):
    base = {
        "verification_completed": True,
        "approved_letter": False,
        "disclosure_consent_for_authority": False,
        "visa_validity_recorded": False,
        "closure_reason": None,
        "reason": None,
        "actor_is_coordinator": True,
        "emergency": False,
    }
    return CaseFacts(**(base | changes))


def make_case(coordinator, caseworker, *, verified=True, consent=True, sogi_consent=False):
    organisation = coordinator.organisation
    organisation.legal_name = "Alpha Aid e.V."
    organisation.registration = "VR 12345, Amtsgericht Berlin, Germany"
    organisation.signatory_name = "Dana Example"
    organisation.signatory_title = "Coordinator"
    organisation.verification_contact = "Dana Example, verify@alpha.example, +49 30 000000"
    organisation.about = dict(ABOUT)
    organisation.signatory_titles = dict(SIGNATORY_TITLES)
    organisation.save()
    case = case_create(
        actor=coordinator,
        applicant_fields={
            "legal_name_latin": NAME,
            "legal_name_cyrillic": CYRILLIC,
            "date_of_birth": BIRTH,
            "international_passport_no": PASSPORT,
            "sexual_orientation": ORIENTATION,
            "current_country": "AM",
        },
        priority="urgent",
    )
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    route = Route.objects.get(code="lt-national-humanitarian")
    complete_names(route)
    attempt = route_attempt_add(actor=coordinator, case=case, route=route, mission=None)
    passport = document_upload(
        actor=coordinator,
        case=case,
        content=PDF,
        kind=sniff(PDF),
        doc_type="passport_intl",
        title=None,
    )
    document_verify(
        actor=caseworker, case=case, document=passport, status="verified", method="original_seen"
    )
    steps = ["screening", "verification", "route_planning"] if verified else ["screening"]
    for step in steps:
        case_transition(actor=coordinator, case=case, target=step, facts=facts())
    if consent:
        consent_record(
            actor=coordinator,
            case=case,
            purpose=Consent.Purpose.DISCLOSURE,
            route=route,
            counterparty="",
            text_version="disclosure-v2",
            language="ru",
            includes_sogi=sogi_consent,
        )
    return Case.objects.get(pk=case.pk), attempt


def complete_names(route):
    """The route's printed names in every letter language (the seeded ones are kept), and
    letters expected in any of them, so that a test's letter has nothing to warn about."""
    names = dict(route.letter_names)
    for code, language in LETTER_LANGUAGES:
        names.setdefault(
            code,
            {
                "procedure": f"humanitarian visa ({language})",
                "legal_basis": f"humanitarian law ({language})",
                "authority": f"Ministry of Foreign Affairs of Lithuania ({language})",
            },
        )
    route.letter_names = names
    route.letter_languages = [code for code, _language in LETTER_LANGUAGES]
    route.save(update_fields=["letter_names", "letter_languages"])


def request_letter(client, case, attempt, **fields):
    data = {
        "attempt": attempt.pk,
        "annexes": [document.pk for document in case.documents.all()],
        "language": "en",
        "delivery": "direct_to_authority",
        "facts": "2024-02-10: attacked and filmed (Annex 1). Иван Петров witnessed it.",
        "why_route": "A partner NGO registered in Lithuania receives the applicant.",
        "urgency": "the applicant's legal stay ends in three weeks.",
    } | fields
    response = client.post(reverse("letter_request", args=[case.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Letter.objects.filter(case=case).order_by("-requested_at").first()


def issue(client, letter, *, accept_warnings=True):
    data = {"accept_warnings": "yes"} if accept_warnings else {}
    return client.post(reverse("letter_issue", args=[letter.case_id, letter.pk]), data)


def pdf_of(client, letter):
    response = client.get(reverse("letter_download", args=[letter.case_id, letter.pk]))
    assert response.status_code == 200
    return response.content


def text_of(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


@pytest.fixture
def world(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    worker_client = login_verified(Client(), caseworker)
    letter = request_letter(worker_client, case, attempt)
    login_verified(client, coordinator)
    return case, attempt, letter


# --- the flow -------------------------------------------------------------------------------


def test_a_caseworker_requests_and_a_coordinator_issues(client, world, issued_codes):
    case, _attempt, letter = world
    assert letter.status == "draft" and letter.requested_by.username == "alice"
    requested = AuditEvent.objects.get(action=Action.LETTER_REQUESTED)
    assert requested.case_id == case.pk and requested.details["language"] == "en"
    response = issue(client, letter)
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == "issued"
    assert re.fullmatch(rf"LTR-{timezone.now().year}-000001", letter.reference)
    assert letter.code_digest == codes.digest(issued_codes[0])
    entry = AuditEvent.objects.get(action=Action.LETTER_ISSUED)
    assert entry.details["reference"] == letter.reference
    assert entry.details["sha256"] == letter.pdf_sha256
    assert issued_codes[0] not in str(entry.details)


def test_the_pdf_reads_as_the_embassy_reads_it(client, world, issued_codes):
    _case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    text = text_of(pdf_of(client, letter))
    assert SALUTATIONS["en"] in text
    assert NAME in text and "Иван Петров" in text
    assert BIRTH.strftime("%d.%m.%Y") in text and PASSPORT in text
    assert letter.reference in text
    assert codes.printed(issued_codes[0]).split()[0] in text
    assert " ".join(issued_codes[0].split("-")) in " ".join(text.replace("  ", " ").split())
    pages = re.findall(r"\b(\d) ?/ ?(\d)\b", text)  # page numbers "x / y"
    assert pages and pages[0][0] == "1" and pages[-1][0] == pages[-1][1]
    assert "Lithuania" in text  # the route's deciding authority is the addressee


@pytest.mark.parametrize("language", list(SALUTATIONS))
@pytest.mark.parametrize("kind", ["visa", "preapproval", "admission", "asylum"])
def test_every_language_and_kind_renders_its_salutation_and_the_name(
    client, coordinator, caseworker, language, kind
):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    Route.objects.filter(pk=attempt.route_id).update(request_kind=kind)
    letter = request_letter(client, case, attempt, language=language)
    assert issue(client, letter).status_code == 302
    letter.refresh_from_db()
    assert letter.status == "issued", language
    text = text_of(pdf_of(client, letter))
    assert SALUTATIONS[language] in text
    assert NAME in text and "Иван Петров" in text
    assert letter.reference in text


def test_the_pdf_is_well_formed_pdfa_sealed_and_neutral(client, world):
    case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    pdf = pdf_of(client, letter)
    check = subprocess.run(["qpdf", "--check", "-"], input=pdf, capture_output=True)
    if check.returncode != 0:  # older qpdf cannot read stdin
        path = Path(tempfile.mkdtemp()) / "letter.pdf"
        path.write_bytes(pdf)
        check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True)
        path.unlink()
    assert check.returncode == 0, check.stdout + check.stderr
    with pikepdf.open(io.BytesIO(pdf)) as document:
        info = {str(k): str(v) for k, v in document.docinfo.items()}
        assert info["/Author"] == "Alpha Aid e.V."
        assert info["/Creator"] == "Safe Passage casework"
        assert info["/Producer"].startswith("Safe Passage casework")
        assert "WeasyPrint" not in info["/Producer"]
        xmp = str(document.open_metadata())
        assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp
        everything = xmp + str(info)
        for personal in (NAME, CYRILLIC, PASSPORT, "alice", "carol"):
            assert personal not in everything
        for forbidden in ("/JavaScript", "/OpenAction", "/AA", "/EmbeddedFiles"):
            assert all(
                forbidden not in obj
                for obj in document.objects
                if isinstance(obj, pikepdf.Dictionary)
            )
        assert "/EmbeddedFiles" not in document.Root.get("/Names", {})
        assert document.Root.Lang == "en"
        fonts = {
            str(font.get("/BaseFont"))
            for page in document.pages
            for font in page.Resources.get("/Font", {}).values()
        }
        assert any("DejaVu" in font for font in fonts)


def test_the_seal_validates_and_a_changed_byte_breaks_it(client, world, coordinator):
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    _case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    pdf = pdf_of(client, letter)
    root = translate_pyca_cryptography_cert_to_asn1(certificate_of(coordinator.organisation_id))
    context = ValidationContext(trust_roots=[root])
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    tampered = bytearray(pdf)
    spot = pdf.index(b"Dear Sir") if b"Dear Sir" in pdf else len(pdf) // 3
    tampered[spot] ^= 0x01
    signature = PdfFileReader(io.BytesIO(bytes(tampered))).embedded_signatures[0]
    assert not validate_pdf_signature(signature, context).intact


def test_the_download_is_an_attachment_that_matches_its_fingerprint(client, world):
    _case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    response = client.get(reverse("letter_download", args=[letter.case_id, letter.pk]))
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="letter-[0-9a-f]{8}\.pdf"', disposition)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(response.content).hexdigest() == letter.pdf_sha256
    assert AuditEvent.objects.filter(action=Action.LETTER_DOWNLOADED).count() == 1


@pytest.fixture
def own_temp_dir(tmp_path, monkeypatch):
    """This process's temporary directory, private to the test: the shared system one is
    written by other processes at any time, so a test watching it fails for their reasons."""
    own = tmp_path / "process-tmp"
    own.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(own))
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    assert tempfile.gettempdir() == str(own)
    return own


def _files(*roots: Path) -> set[Path]:
    return {p for root in roots for p in root.rglob("*") if p.is_file()}


def test_the_stored_letter_is_encrypted_and_no_plaintext_is_left_behind(
    client, world, own_temp_dir
):
    _case, _attempt, letter = world
    worker_temp = renderer().temp_dir
    before = _files(own_temp_dir, worker_temp)
    issue(client, letter)
    # Rendering, sealing and storing happened in this process and in the render worker:
    # neither left a file in its temporary directory that holds the letter, as a PDF or as
    # its text (both directories are private, so anything new is theirs).
    new = _files(own_temp_dir, worker_temp) - before
    assert [p for p in new if _holds_the_letter(p)] == []
    letter.refresh_from_db()
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    files = [p for p in (root / "letter").rglob("*") if p.is_file()]  # besides the annex
    assert [p.relative_to(root).as_posix() for p in files] == [letter.pdf_storage_name]
    stored = files[0].read_bytes()
    assert b"%PDF" not in stored and NAME.encode() not in stored
    render_dir = Path(settings.DATA_DIR) / "render"
    assert not any(p.suffix == ".pdf" for p in render_dir.rglob("*"))


def test_the_render_worker_has_a_private_temp_dir_under_the_data_directory(world):
    worker = renderer()
    worker.render("<html><body>warm</body></html>")
    temp = worker.temp_dir
    assert temp.is_relative_to(Path(settings.DATA_DIR))
    assert temp.stat().st_mode & 0o777 == 0o700
    environ = Path(f"/proc/{worker._process.pid}/environ").read_bytes().split(b"\0")
    assert f"TMPDIR={temp}".encode() in environ


def test_the_worker_refuses_a_temp_dir_others_can_enter(tmp_path):
    from casework.letters.worker import use_private_temp_dir

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    shared.chmod(0o777)
    with pytest.raises(SystemExit, match="open to others"):
        use_private_temp_dir(shared)


def _holds_the_letter(path: Path) -> bool:
    try:
        content = path.read_bytes()
    except OSError:  # gone already, or another user's
        return False
    return b"%PDF" in content or NAME.encode() in content


def test_an_assigned_caseworker_may_download_others_may_not(client, world, organisation):
    case, _attempt, letter = world
    issue(client, letter)
    alice = Client()
    login_verified(alice, letter.requested_by)
    url = reverse("letter_download", args=[case.pk, letter.pk])
    assert alice.get(url).status_code == 200
    bob = make_user(organisation=organisation, role=Role.CASEWORKER, username="bob")
    assert login_verified(Client(), bob).get(url).status_code == 404
    auditor = make_user(organisation=organisation, role=Role.AUDITOR)
    assert login_verified(Client(), auditor).get(url).status_code == 404


# --- who may issue -------------------------------------------------------------------------


def test_a_caseworker_cannot_issue(world):
    _case, _attempt, letter = world
    alice = login_verified(Client(), letter.requested_by)
    assert issue(alice, letter).status_code == 404
    letter.refresh_from_db()
    assert letter.status == "draft"


def test_a_coordinator_of_another_organisation_gets_404(world, other_organisation):
    _case, _attempt, letter = world
    stranger = make_user(organisation=other_organisation, role=Role.COORDINATOR)
    response = issue(login_verified(Client(), stranger), letter)
    assert response.status_code == 404
    detail = reverse("letter_detail", args=[letter.case_id, letter.pk])
    assert login_verified(Client(), stranger).get(detail).status_code == 404
    letter.refresh_from_db()
    assert letter.status == "draft"


def test_issuing_needs_a_fresh_second_factor(coordinator, world):
    _case, _attempt, letter = world
    start = timezone.now()
    carol = Client()
    with time_machine.travel(start, tick=False):
        login_verified(carol, coordinator)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = issue(carol, letter)
    assert response.headers["Location"].startswith(reverse("reauth"))
    letter.refresh_from_db()
    assert letter.status == "draft"


def test_after_the_step_up_the_coordinator_is_back_on_the_letter(coordinator, world):
    """Issuing with a stale second factor: the code is asked for, then the coordinator lands
    on the letter's page (not the dashboard), told to press the button again."""
    _case, _attempt, letter = world
    letter_url = reverse("letter_detail", args=[letter.case_id, letter.pk])
    device, totp = make_totp(coordinator)
    start = timezone.now()
    carol = Client()
    with time_machine.travel(start, tick=False):
        login_verified(carol, coordinator)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        asked = carol.post(
            reverse("letter_issue", args=[letter.case_id, letter.pk]),
            HTTP_REFERER=f"http://testserver{letter_url}",
        )
        reauth_url = asked.headers["Location"]
        assert reauth_url.startswith(reverse("reauth"))
        page = carol.get(reauth_url).content.decode()
        assert f'name="next" value="{letter_url}"' in page
        back = carol.post(reverse("reauth"), {"code": totp.now(), "next": letter_url})
        assert back.headers["Location"] == letter_url
        landed = carol.get(letter_url).content.decode()
        assert "press the button again to finish" in landed
        assert (
            carol.post(
                reverse("letter_issue", args=[letter.case_id, letter.pk]), ACCEPT
            ).status_code
            == 302
        )
    letter.refresh_from_db()
    assert letter.status == "issued"


def test_a_referer_of_another_site_never_becomes_the_way_back(coordinator, world):
    _case, _attempt, letter = world
    start = timezone.now()
    carol = Client()
    with time_machine.travel(start, tick=False):
        login_verified(carol, coordinator)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        asked = carol.post(
            reverse("letter_issue", args=[letter.case_id, letter.pk]),
            HTTP_REFERER="https://evil.example/cases/",
        )
    # Not even the path of another site's address: back to the dashboard.
    assert asked.headers["Location"] == reverse("reauth") + "?next=%2F"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"verified": False}, "The case&#x27;s verification has not been completed."),
        ({"consent": False}, "There is no disclosure consent for this route&#x27;s authority"),
        ({"facts": ""}, "Section 3, “Facts establishing the risk”, is empty."),
    ],
)
def test_issuing_is_refused_with_its_reason(client, coordinator, caseworker, setup, reason):
    fields = {"facts": setup.pop("facts")} if "facts" in setup else {}
    case, attempt = make_case(coordinator, caseworker, **setup)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, **fields)
    response = client.post(reverse("letter_issue", args=[case.pk, letter.pk]), ACCEPT, follow=True)
    assert reason in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == "draft" and letter.reference == ""
    assert not LetterSequence.objects.exists()


def test_sogi_is_stated_only_when_ticked_and_covered_by_consent(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker, sogi_consent=False)
    login_verified(client, coordinator)
    ticked = request_letter(client, case, attempt, include_sogi="on")
    response = client.post(reverse("letter_issue", args=[case.pk, ticked.pk]), ACCEPT, follow=True)
    assert "does not cover it" in response.content.decode()
    assert Letter.objects.get(pk=ticked.pk).status == "draft"
    unticked = request_letter(client, case, attempt)
    issue(client, unticked)
    assert ORIENTATION not in text_of(pdf_of(client, Letter.objects.get(pk=unticked.pk)))


def test_sogi_covered_by_consent_is_printed_once(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker, sogi_consent=True)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, include_sogi="on")
    issue(client, letter)
    assert text_of(pdf_of(client, Letter.objects.get(pk=letter.pk))).count(ORIENTATION) == 1


# --- hostile input -------------------------------------------------------------------------

HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<img src="../../../../etc/passwd">',
    '<link rel=stylesheet href="http://127.0.0.1:9/">',
    "<style>@import url(http://169.254.169.254/);</style>",
    '<a rel="attachment" href="file:///app/settings.py">x</a>',
    '<div style="background: url(/dev/urandom)">y</div>',
    "{{ settings.SECRET_KEY }} {% load static %}",
]


def test_hostile_text_is_printed_literally_and_nothing_is_fetched(
    client, coordinator, caseworker, monkeypatch
):
    results = []
    real = type(renderer()).render

    def observed(self, html, assets=None, **late_and_meanwhile):
        results.append(real(self, html, assets, **late_and_meanwhile))
        return results[-1]

    monkeypatch.setattr(type(renderer()), "render", observed)
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, facts="\n".join(HOSTILE))
    assert issue(client, letter).status_code == 302
    letter.refresh_from_db()
    assert letter.status == "issued"
    [rendered] = results
    assert rendered.refused == [] and rendered.connections == 0
    pdf = pdf_of(client, letter)
    text = text_of(pdf)
    for payload in HOSTILE:
        assert " ".join(payload.split()) in text
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/EmbeddedFiles" not in document.Root.get("/Names", {})
        assert len(document.pages) <= 3


def test_the_worker_refuses_outside_urls_and_says_which():
    html = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
        "<body>x</body></html>"
    )
    with pytest.raises(RenderFailed):
        renderer().render(html)
    html = '<html><body><img src="file:///etc/passwd"><p>x</p></body></html>'
    with pytest.raises(RenderFailed) as failed:
        renderer().render(html)
    assert "file:///etc/passwd" in str(failed.value)


def test_the_worker_serves_only_files_inside_its_asset_directory():
    ok = '<html><head><link rel="stylesheet" href="app:letter.css"></head><body>x</body></html>'
    assert renderer().render(ok).refused == []
    escape = '<html><head><link rel="stylesheet" href="app:../../casework/settings.py"></head>'
    with pytest.raises(RenderFailed):
        renderer().render(escape + "<body>x</body></html>")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("safe \u202egnp.exe", "Remove the invisible characters (U+202E)"),
        ("x" * 20_001, "at most 20000 characters"),
    ],
)
def test_direction_overrides_and_huge_paragraphs_are_refused_with_the_input_kept(
    client, coordinator, caseworker, text, message
):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    data = {"attempt": attempt.pk, "language": "en", "facts": text}
    data |= {"delivery": "direct_to_authority", "why_route": "kept input"}
    response = client.post(reverse("letter_request", args=[case.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("20,000", "20000") and "kept input" in html
    assert not Letter.objects.exists()


# --- failure leaves a draft ------------------------------------------------------------------


def test_a_failed_render_leaves_a_draft_and_nothing_stored(client, world, monkeypatch):
    _case, _attempt, letter = world

    def broken(self, html, assets=None, **late_and_meanwhile):
        raise RenderFailed("The letter could not be rendered; nothing was issued.")

    monkeypatch.setattr(type(renderer()), "render", broken)
    response = client.post(
        reverse("letter_issue", args=[letter.case_id, letter.pk]), ACCEPT, follow=True
    )
    assert "could not be rendered" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == "draft" and letter.reference == "" and letter.pdf_storage_name == ""
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "letter"
    assert not [p for p in root.rglob("*") if p.is_file()]
    assert not AuditEvent.objects.filter(action=Action.LETTER_ISSUED).exists()


def test_a_failure_after_storing_removes_the_stored_file(client, world, monkeypatch):
    _case, _attempt, letter = world

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "passport_digest", broken)
    with pytest.raises(RuntimeError):
        services.letter_issue(actor=letter.case.coordinator, letter=letter, accept_warnings=True)
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "letter"
    assert not [p for p in root.rglob("*") if p.is_file()]
    assert Letter.objects.get(pk=letter.pk).status == "draft"


def test_a_missing_seal_in_production_is_a_clear_refusal(client, world, settings):
    _case, _attempt, letter = world
    settings.PROD = True
    settings.CASEWORK_VERIFY_BASE_URL = "https://verify.example.org"
    response = client.post(
        reverse("letter_issue", args=[letter.case_id, letter.pk]), ACCEPT, follow=True
    )
    assert "letter seal is not installed" in response.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == "draft"


# --- verification page -----------------------------------------------------------------------

CANARIES = (NAME, CYRILLIC, PASSPORT, BIRTH.strftime("%d.%m.%Y"), BIRTH.isoformat(), "1993")


def verify(code, client=None, **data):
    client = client or Client()
    url = reverse("letter_verify", args=[code])
    return client.post(url, data) if data else client.get(url)


def test_the_public_page_shows_a_valid_letter_and_nothing_about_the_person(
    client, world, issued_codes
):
    _case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    response = verify(issued_codes[0])
    assert response.status_code == 200
    html = response.content.decode()
    assert "VALID" in html and "Alpha Aid e.V." in html and letter.pdf_sha256 in html
    assert letter.authority in html and "English" in html
    for canary in CANARIES:
        assert canary not in html
    entry = AuditEvent.objects.filter(action=Action.LETTER_CHECKED).get()
    assert entry.details == {"found": True, "passport_checked": False}
    assert entry.target_id == str(letter.pk) and issued_codes[0] not in str(entry.details)
    assert entry.case_id == letter.case_id  # listed on the case's audit page


def test_the_code_may_be_typed_with_spaces_and_capitals(client, world, issued_codes):
    _case, _attempt, letter = world
    issue(client, letter)
    typed = issued_codes[0].replace("-", " ").upper()
    response = Client().get(reverse("verify_form"), {"code": typed})
    assert response.headers["Location"] == reverse("letter_verify", args=[issued_codes[0]])


def test_an_unknown_or_malformed_code_is_a_404_saying_so(db):
    unknown = "-".join(["academic"] * 13)
    for code in (unknown, "not-a-code"):
        response = verify(code)
        assert response.status_code == 404
        assert "No letter has this verification code" in response.content.decode()


def test_revoked_and_superseded_letters_say_so(client, world, issued_codes):
    case, _attempt, letter = world
    issue(client, letter)
    letter.refresh_from_db()
    correction = client.post(reverse("letter_correct", args=[case.pk, letter.pk]))
    assert correction.status_code == 302
    draft = Letter.objects.get(supersedes=letter)
    assert Letter.objects.get(pk=letter.pk).status == "issued"  # until the correction is issued
    issue(client, draft)
    assert Letter.objects.get(pk=letter.pk).status == "superseded"
    assert "SUPERSEDED" in verify(issued_codes[0]).content.decode()
    revoke = reverse("letter_revoke", args=[case.pk, draft.pk])
    assert client.post(revoke, {"reason": ""}).status_code == 400
    assert client.post(revoke, {"reason": "Sent to the wrong mission."}).status_code == 302
    html = verify(issued_codes[1]).content.decode()
    assert "REVOKED" in html
    for canary in CANARIES:
        assert canary not in html
    assert AuditEvent.objects.filter(action=Action.LETTER_REVOKED).count() == 1


def test_the_passport_check_says_only_match_or_no_match(client, world, issued_codes):
    _case, _attempt, letter = world
    issue(client, letter)
    visitor = Client()
    good = verify(issued_codes[0], visitor, passport="test 000777").content.decode()
    assert "The passport number matches this letter." in good
    bad = verify(issued_codes[0], visitor, passport="TEST-000778").content.decode()
    assert "does not match" in bad
    for html in (good, bad):
        assert PASSPORT not in html and NAME not in html
    checked = AuditEvent.objects.filter(action=Action.LETTER_CHECKED)
    assert all("000777" not in str(e.details) and "000778" not in str(e.details) for e in checked)


def test_the_public_page_is_rate_limited_per_network(world, settings, client, issued_codes):
    _case, _attempt, letter = world
    issue(client, letter)
    settings.CASEWORK_VERIFY_CHECKS_PER_HOUR = 3
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    assert [verify(issued_codes[0], visitor).status_code for _ in range(3)] == [200] * 3
    assert verify(issued_codes[0], visitor).status_code == 429
    neighbour = Client(REMOTE_ADDR="203.0.113.99")  # the same /24: the same budget
    assert verify(issued_codes[0], neighbour).status_code == 429
    assert verify(issued_codes[0], Client(REMOTE_ADDR="198.51.100.1")).status_code == 200
    denied = AuditEvent.objects.filter(action=Action.LETTER_CHECKED, decision="deny")
    assert denied.count() == 2


# --- drafts, preview, templates --------------------------------------------------------------


def test_the_preview_shows_the_escaped_text_and_is_audited(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    login_verified(client, coordinator)
    letter = request_letter(client, case, attempt, facts='<img src="file:///etc/passwd">')
    before = AuditEvent.objects.count()
    response = client.get(reverse("letter_preview", args=[case.pk, letter.pk]))
    html = response.content.decode()
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert '<img src="file' not in html
    [entry] = AuditEvent.objects.filter(seq__gt=before)
    assert entry.details == {"page": "letter_preview"}


def test_the_preview_is_a_page_of_the_application_with_a_way_back(client, world):
    case, _attempt, letter = world
    html = client.get(reverse("letter_preview", args=[case.pk, letter.pk])).content.decode()
    assert 'class="site-header"' in html and '<main id="main"' in html
    assert html.count("<h1") == 1 and "Preview:" in html.split("<h1", 1)[1].split("</h1>")[0]
    assert f'href="{reverse("letter_detail", args=[case.pk, letter.pk])}"' in html
    sheet = html.split('<article class="letter-paper"', 1)[1].split("</article>", 1)[0]
    assert 'class="letterhead"' in sheet
    # The printed page footer comes last on the one long sheet, and no document of its own
    # (a second <html>, <head> or stylesheet) is nested in the page.
    assert sheet.rstrip().endswith("</div>") and sheet.rfind('class="footer"') > sheet.find("<h2")
    assert "<head>" not in sheet and "app:letter.css" not in html


def test_two_simultaneous_draft_edits_conflict(client, world):
    case, _attempt, letter = world
    url = reverse("letter_detail", args=[case.pk, letter.pk])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "annexes"}
    data |= {"mission": "", "include_sogi": ""}
    first = client.post(url, data | {"facts": "first"})
    assert first.status_code == 302
    second = client.post(url, data | {"facts": "second edit"})
    assert second.status_code == 409 and "second edit" in second.content.decode()
    assert Letter.objects.get(pk=letter.pk).facts == "first"


def test_an_issued_letter_cannot_be_edited(client, world):
    case, _attempt, letter = world
    issue(client, letter)
    url = reverse("letter_detail", args=[case.pk, letter.pk])
    data = {"language": "en", "delivery": "direct_to_authority"}
    response = client.post(url, data | {"facts": "changed", "version": 1})
    assert response.status_code in (400, 409)
    assert Letter.objects.get(pk=letter.pk).facts != "changed"


def test_a_case_can_be_submitted_once_its_letter_is_issued(client, world):
    case, _attempt, letter = world
    for step in ("documents", "letter_drafting", "letter_review"):
        case_transition(actor=case.coordinator, case=case, target=step, facts=facts())
    url = reverse("case_transition", args=[case.pk])
    version = Case.objects.get(pk=case.pk).version
    refused = client.post(url, {"target": "submitted", "version": version})
    assert "approved letter" in refused.content.decode()
    issue(client, letter)
    version = Case.objects.get(pk=case.pk).version
    assert client.post(url, {"target": "submitted", "version": version}).status_code == 302
    assert Case.objects.get(pk=case.pk).status == "submitted"


def test_letter_templates_never_mark_data_safe():
    root = Path(settings.BASE_DIR) / "templates" / "letters"
    for path in root.rglob("*.html"):
        text = path.read_text()
        for forbidden in ("|safe", "mark_safe", "autoescape off", "safeseq"):
            assert forbidden not in text, (path, forbidden)


def test_the_delivery_warning_shows_when_the_applicant_is_in_russia(client, world):
    case, _attempt, letter = world
    applicant = case.applicant
    applicant.current_country = "RU"
    applicant.save()
    Letter.objects.filter(pk=letter.pk).update(delivery="via_applicant_paper")
    html = client.get(reverse("letter_detail", args=[case.pk, letter.pk])).content.decode()
    assert "The applicant is in Russia" in html


# --- bounded rendering (R55) -------------------------------------------------------------------


def test_a_huge_or_hostile_document_is_stopped_and_the_next_renders(settings):
    import resource
    import time

    settings.CASEWORK_LETTER_RENDER_SECONDS = 3
    bomb = (
        "<html><body style='font-size: 1e9px'>"
        + "<div>" * 20_000
        + "x"
        + "</div>" * 20_000
        + "</body></html>"
    )
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(RenderFailed) as failed:
        renderer().render(bomb)
    assert time.monotonic() - started < 8
    assert "shorten it" in str(failed.value.message) or "could not be rendered" in str(
        failed.value.message
    )
    fine = "<html><body><p>Dear Sir or Madam,</p></body></html>"
    assert b"%PDF" in renderer().render(fine).pdf[:8]
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before
    assert grown_kib < 50 * 1024  # the web process did not carry the render


# --- R53 / R54 extras --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "too_old"),
    [("68.1", True), ("68.99.1", True), ("69.0", False), ("70.0", False), ("100.2b1", False)],
)
def test_weasyprint_older_than_69_is_a_system_check_error(installed, too_old):
    from casework.lib.checks import check_weasyprint_version, weasyprint_too_old

    assert weasyprint_too_old(installed) is too_old
    assert check_weasyprint_version() == []  # the locked version


def test_each_refused_fetch_is_logged(caplog):
    html = '<html><body><img src="file:///etc/passwd"><p>x</p></body></html>'
    with pytest.raises(RenderFailed):
        renderer().render(html)
    assert "refused to fetch 'file:///etc/passwd'" in caplog.text


@hypothesis_settings(max_examples=60, deadline=None)
@given(payload=st.text(min_size=1, max_size=80))
def test_any_text_in_the_letter_is_only_ever_its_escaped_self(payload):
    """R54: rendering with hostile text equals rendering with a placeholder, the placeholder
    then replaced by the text's escaped form: the text changes nothing but itself."""
    import types

    from django.template.loader import render_to_string
    from django.utils.html import escape

    def render(value):
        letter = types.SimpleNamespace(
            reference="LTR-2026-000001", facts=value, why_route=value, urgency=value
        )
        org = types.SimpleNamespace(
            letter_name=value,
            registration=value,
            address="",
            website="",
            letter_contact="",
            signatory_name=value,
            signatory_title="",
            verification_contact=value,
        )
        context = {"letter": letter, "org": org, "about": value, "authority": value}
        context |= {"issued_on": datetime.date(2026, 1, 2), "code_words": "", "qr_src": ""}
        context |= {"applicant": types.SimpleNamespace(legal_name_latin=value), "annexes": []}
        context |= {"urgent": True, "route": types.SimpleNamespace(legal_basis=value)}
        return render_to_string("letters/en/visa.html", context)

    marker = "QQMARKERQQ"
    assert render(payload) == render(marker).replace(marker, escape(payload))


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuers_never_share_a_reference_number(organisation):
    """The per-organisation, per-year counter is taken under a row lock (PostgreSQL)."""
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this there")
    LetterSequence.objects.create(organisation=organisation, year=2026)
    references: list[str] = []
    errors: list[BaseException] = []

    def issue_five():
        try:
            for _ in range(5):
                with transaction.atomic():
                    references.append(services._next_reference(organisation, 2026))
        except BaseException as problem:  # reported below
            errors.append(problem)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue_five) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(references) == [f"LTR-2026-{n:06d}" for n in range(1, 41)]
