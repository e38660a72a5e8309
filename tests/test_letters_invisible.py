"""Invisible characters never reach a sealed letter (issue 12, finding 9).

The attack: a right-to-left override (U+202E) or a zero-width character in a name, a
passport number, a reference or a letterhead field makes the sealed letter read differently
from what was typed (or two letters look alike that are not). Only the free text was
checked. Now every field a letter prints is checked when the letter is issued, the refusal
names the field (never its value), and the case forms refuse the characters on input.
"""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from casework.accounts.models import Organisation
from casework.cases.invisible import invisible_characters
from casework.cases.models import (
    Applicant,
    Case,
    Consent,
    Document,
    Mission,
    Route,
    VisaApplication,
)
from casework.letters.models import Letter
from tests.conftest import login_verified
from tests.test_letters import make_case, request_letter, text_of

pytestmark = pytest.mark.django_db
ACCEPT = {"accept_warnings": "yes"}  # the fixture letter warns of Cyrillic in its facts

RLO = "\u202e"
HIDDEN = "ZEMAITYTE\u202eSARUNE"  # reads "ZEMAITYTEENURAS" once printed


@pytest.mark.parametrize(
    "character",
    ["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\u200f", "\u061c", "\ufeff"],
)
def test_the_dangerous_characters_are_recognised(character):
    assert invisible_characters(f"AB{character}CD") == [f"U+{ord(character):04X}"]


@pytest.mark.parametrize(
    "text", ["ŽEMAITYTĖ ŠARŪNĖ", "Шарунэ Жемайтите", "75 1234567", "Line one\r\nline two\tend"]
)
def test_ordinary_names_numbers_and_lines_pass(text):
    assert invisible_characters(text) == []


@pytest.fixture
def draft(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    letter = request_letter(login_verified(client, coordinator), case, attempt)
    return case, attempt, letter


def issue_refused(client, case, letter):
    """The refusal the coordinator is shown, after the letter stayed a draft: the pre-issue
    check's list, back on the letter's page."""
    response = client.post(reverse("letter_issue", args=[case.pk, letter.pk]), ACCEPT, follow=True)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DRAFT and letter.reference == ""
    *_requested, message = [str(m) for m in response.context["messages"]]
    assert "pre-issue check" in message
    page = html.unescape(response.content.decode())
    return page.split('<section class="preissue-check"', 1)[1].split("</section>", 1)[0]


def test_a_name_with_a_direction_override_never_reaches_the_pdf(client, draft):
    """The attack of the finding: before the fix this letter was issued with the override
    in its text."""
    case, _attempt, letter = draft
    applicant = Applicant.objects.get(pk=case.applicant_id)
    applicant.legal_name_latin = HIDDEN
    applicant.save()
    message = issue_refused(client, case, letter)
    assert "Applicant: legal name (Latin)" in message and "invisible" in message
    assert "ZEMAITYTE" not in message
    assert not Letter.objects.filter(status=Letter.Status.ISSUED).exists()


def _applicant(case, attempt, letter, value):
    applicant = Applicant.objects.get(pk=case.applicant_id)
    applicant.international_passport_no = value
    applicant.save()
    return "Applicant: international passport number"


def _sogi(case, attempt, letter, value):
    applicant = Applicant.objects.get(pk=case.applicant_id)
    applicant.gender_identity = value
    applicant.save()
    Letter.objects.filter(pk=letter.pk).update(include_sogi=True)
    Consent.objects.filter(applicant_id=case.applicant_id).update(includes_sogi=True)
    return "Applicant: gender identity"


def _file_number(case, attempt, letter, value):
    attempt = VisaApplication.objects.get(pk=attempt.pk)
    attempt.authority_file_number = value
    attempt.save()
    return "Route attempt: authority file number"


def _route_name(part):
    """What the English letter prints of the route: its English names, not the staff's."""

    def change(case, attempt, letter, value):
        route = Route.objects.get(pk=attempt.route_id)
        route.letter_names = route.letter_names | {"en": route.letter_names["en"] | {part: value}}
        route.save()
        return "Route: names printed in letters"

    return change


def _mission(case, attempt, letter, value):
    route = Route.objects.get(pk=attempt.route_id)
    mission = Mission.objects.filter(state=route.destination_state).first()
    Mission.objects.filter(pk=mission.pk).update(letter_names={"en": value})
    Letter.objects.filter(pk=letter.pk).update(mission=mission)
    return "Mission: names printed in letters"


def _signatory_title(case, attempt, letter, value):
    Organisation.objects.filter(pk=case.organisation_id).update(signatory_titles={"en": value})
    return "Organisation: signatory's function, per language"


def _letterhead(name):
    def change(case, attempt, letter, value):
        Organisation.objects.filter(pk=case.organisation_id).update(**{name: value})
        label = Organisation._meta.get_field(name).verbose_name
        return f"Organisation: {label}"

    return change


def _about(case, attempt, letter, value):
    Organisation.objects.filter(pk=case.organisation_id).update(about={"en": value})
    return "Organisation: about the organisation, per language"


def _annex(case, attempt, letter, value):
    document = Document(
        organisation_id=case.organisation_id,
        applicant_id=case.applicant_id,
        case=case,
        doc_type="summons",
        title=value,
        storage_name="x",
        sha256="0" * 64,
        mime="application/pdf",
        size=1,
        uploaded_by=letter.requested_by,
    )
    document.save()
    letter.annexes.add(document)
    return "Document: title"


def _free_text(case, attempt, letter, value):
    letter = Letter.objects.get(pk=letter.pk)
    letter.why_route = value
    letter.save()
    return "Letter: why this state and this procedure"


PRINTED = {
    "passport": _applicant,
    "gender identity": _sogi,
    "file number": _file_number,
    "authority": _route_name("authority"),
    "legal basis": _route_name("legal_basis"),
    "procedure": _route_name("procedure"),
    "mission": _mission,
    "legal name": _letterhead("legal_name"),
    "registration": _letterhead("registration"),
    "address": _letterhead("address"),
    "website": _letterhead("website"),
    "letter contact": _letterhead("letter_contact"),
    "signatory": _letterhead("signatory_name"),
    "signatory title": _signatory_title,
    "verification contact": _letterhead("verification_contact"),
    "about": _about,
    "annex": _annex,
    "free text": _free_text,
}


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u2067", "\ufeff"])
@pytest.mark.parametrize("field", list(PRINTED))
def test_every_printed_field_is_refused_at_issue_by_its_label(client, draft, field, character):
    case, attempt, letter = draft
    value = f"SECRET{character}VALUE"
    label = PRINTED[field](case, attempt, letter, value)
    message = issue_refused(client, case, letter)
    assert label in message, field
    assert "SECRET" not in message


def test_a_clean_letter_is_still_issued_and_prints_its_name(client, draft):
    case, _attempt, letter = draft
    response = client.post(reverse("letter_issue", args=[case.pk, letter.pk]), ACCEPT)
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == Letter.Status.ISSUED
    pdf = client.get(reverse("letter_download", args=[case.pk, letter.pk])).content
    assert "ŽEMAITYTĖ ŠARŪNĖ" in text_of(pdf)


# --- on input --------------------------------------------------------------------------------

MESSAGE = "invisible characters"


def test_intake_refuses_an_override_in_a_name_and_keeps_the_input(client, caseworker):
    login_verified(client, caseworker)
    data = {"legal_name_latin": HIDDEN, "email": "kept@example.org", "priority": "normal"}
    response = client.post(reverse("case_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert MESSAGE in html and "U+202E" in html and "kept@example.org" in html
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "legal_name_latin",
        "legal_name_cyrillic",
        "international_passport_no",
        "internal_passport_no",
        "email",
        "phone",
        "preferred_name",
    ],
)
def test_intake_refuses_invisible_characters_in_every_identity_field(client, caseworker, name):
    login_verified(client, caseworker)
    data = {"legal_name_latin": "IVAN PETROV", "priority": "normal", name: "AB\u200bCD"}
    response = client.post(reverse("case_create"), data)
    assert MESSAGE in response.content.decode()
    assert not Case.objects.exists()


def test_the_sogi_fields_refuse_them_at_intake_and_on_edit(client, caseworker):
    login_verified(client, caseworker)
    data = {"legal_name_latin": "IVAN PETROV", "priority": "normal", "gender_identity": RLO}
    assert MESSAGE in client.post(reverse("case_create"), data).content.decode()
    case = make_case_for(caseworker)
    response = client.post(
        reverse("case_edit", args=[case.pk]), edit_data(case) | {"sexual_orientation": f"x{RLO}y"}
    )
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert Applicant.objects.get(pk=case.applicant_id).sexual_orientation is None


def make_case_for(caseworker):
    from casework.cases.services import case_create

    return case_create(actor=caseworker, applicant_fields={"legal_name_latin": "IVAN PETROV"})


def edit_data(case):
    return {"legal_name_latin": "IVAN PETROV", "priority": "normal", "version": case.version}


def test_an_edit_refuses_an_override_in_the_passport_number(client, caseworker):
    login_verified(client, caseworker)
    case = make_case_for(caseworker)
    data = edit_data(case) | {"international_passport_no": f"75{RLO}1234567"}
    response = client.post(reverse("case_edit", args=[case.pk]), data)
    assert MESSAGE in response.content.decode()
    assert Applicant.objects.get(pk=case.applicant_id).international_passport_no is None


def test_a_route_attempts_references_refuse_them(client, caseworker):
    login_verified(client, caseworker)
    case = make_case_for(caseworker)
    route = Route.objects.get(code="lt-national-humanitarian")
    client.post(reverse("route_attempt_add", args=[case.pk]), {"route": route.pk})
    attempt = case.visa_applications.get()
    url = reverse("attempt_edit", args=[case.pk, attempt.pk])
    response = client.post(url, {"authority_file_number": "AZ-1\u2066"})
    assert response.status_code == 400 and MESSAGE in response.content.decode()
    assert VisaApplication.objects.get(pk=attempt.pk).authority_file_number is None


def test_a_document_title_refuses_them(client, caseworker, coordinator):
    from casework.cases.forms import DocumentDetailsForm

    form = DocumentDetailsForm({"title": f"Summons{RLO}"})
    assert not form.is_valid() and MESSAGE in str(form.errors["title"])


@pytest.mark.parametrize("name", ["legal_basis", "visa_type", "deciding_authority"])
def test_reference_data_refuses_them(name):
    from casework.cases.forms import RouteForm

    data = {
        "code": "ee-test",
        "destination_state": "EE",
        "legal_basis": "Aliens Act",
        "visa_type": "D",
        "deciding_authority": "Police and Border Guard Board",
        "status": "active",
    } | {name: f"x{RLO}y"}
    form = RouteForm(data)
    assert not form.is_valid() and MESSAGE in str(form.errors[name])


@pytest.mark.parametrize("name", ["name", "city"])
def test_missions_refuse_them(name):
    from casework.cases.forms import MissionForm

    data = {"state": "LT", "host_country": "KZ", "city": "Astana", "kind": "embassy"}
    data |= {"name": "Embassy"} | {name: "x\u200by"}
    form = MissionForm(data)
    assert not form.is_valid() and MESSAGE in str(form.errors[name])


def test_the_letter_form_refuses_zero_width_characters_too(client, draft):
    case, attempt, _letter = draft
    data = {"attempt": attempt.pk, "language": "en"}
    data |= {"delivery": "direct_to_authority", "facts": "a\u200bb", "why_route": "kept input"}
    response = Client()
    login_verified(response, case.coordinator)
    answer = response.post(reverse("letter_request", args=[case.pk]), data)
    assert answer.status_code == 400
    assert MESSAGE in answer.content.decode() and "kept input" in answer.content.decode()
