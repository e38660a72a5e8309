"""What letters print about a route or mission is kept per language (``letter_names``):
reference data editors give the procedure, legal basis and deciding authority of a route,
and a mission's name, in each letter language and in the destination state's own. Editing
itself (roles, audit in partner organisations): tests/test_reference_editing.py and
tests/test_reference_editors.py."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Mission, Route
from tests.conftest import login_verified, make_user

pytestmark = pytest.mark.django_db

ROUTE_CODE = "de-aufenthg-22-s1"
RLO = "\u202e"
GERMAN = {
    "name_de_procedure": "nationales Visum aus humanitären Gründen",
    "name_de_legal_basis": "§ 22 Satz 1 AufenthG",
    "name_de_authority": "Auswärtiges Amt",
}
ENGLISH = {
    "name_en_procedure": "national visa on humanitarian grounds",
    "name_en_legal_basis": "Section 22, first sentence, Residence Act",
    "name_en_authority": "Federal Foreign Office",
}
LATVIAN_ROUTE = {
    "code": "lv-humanitarian-test",
    "destination_state": "lv",
    "request_kind": "visa",
    "legal_basis": "Immigration Law (test)",
    "visa_type": "D",
    "deciding_authority": "Office of Citizenship and Migration Affairs",
    "status": "active",
}


@pytest.fixture
def editor(organisation):
    return make_user(organisation=organisation, role=Role.REFERENCE_EDITOR, username="rita")


@pytest.fixture
def rita(client, editor):
    return login_verified(client, editor)


@pytest.fixture(autouse=True)
def unnamed():
    """The route and missions start without printed names (the seed gives them some), so
    each test sees only what it saved."""
    Route.objects.filter(code=ROUTE_CODE).update(letter_names={})
    Mission.objects.update(letter_names={})


@pytest.fixture
def route():
    return Route.objects.get(code=ROUTE_CODE)


def tag(html, name, value=None):
    """The <input> of that name (and value, for a checkbox) on the page."""
    for found in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in found and (value is None or f'value="{value}"' in found):
            return found
    raise AssertionError(f"no input {name}")


def form_data(client, url, **changes):
    """What the edit page's form holds now, as the browser would send it back."""
    page = client.get(url)
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v not in (None, False)}
    return data | changes


def test_names_are_saved_per_language_and_audited_as_one_field(rita, route):
    url = reverse("route_edit", args=[route.pk])
    assert rita.post(url, form_data(rita, url, **GERMAN, **ENGLISH)).status_code == 302
    route.refresh_from_db()
    assert route.letter_names == {
        "de": {
            "procedure": "nationales Visum aus humanitären Gründen",
            "legal_basis": "§ 22 Satz 1 AufenthG",
            "authority": "Auswärtiges Amt",
        },
        "en": {
            "procedure": "national visa on humanitarian grounds",
            "legal_basis": "Section 22, first sentence, Residence Act",
            "authority": "Federal Foreign Office",
        },
    }
    assert route.printed("de", "authority") == "Auswärtiges Amt"
    entry = AuditEvent.objects.get(action=Action.REFERENCE_CHANGED)
    assert entry.details == {"created": False, "fields": ["letter_names"]}


def test_emptying_a_language_drops_it(rita, route):
    Route.objects.filter(pk=route.pk).update(
        letter_names={"de": {"procedure": "p", "legal_basis": "b", "authority": "a"}}
    )
    url = reverse("route_edit", args=[route.pk])
    data = form_data(rita, url, name_de_procedure="", name_de_legal_basis="  ")
    data |= {"name_de_authority": ""} | ENGLISH
    assert rita.post(url, data).status_code == 302
    route.refresh_from_db()
    assert set(route.letter_names) == {"en"}


def test_a_partly_named_language_comes_back_naming_what_is_missing(rita, route):
    url = reverse("route_edit", args=[route.pk])
    data = form_data(rita, url, name_de_procedure=GERMAN["name_de_procedure"], **ENGLISH)
    response = rita.post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "The legal basis is missing" in html
    assert "The deciding authority is missing" in html
    assert "The procedure&#x27;s name is missing" not in html  # it was given
    # In the summary at the top, each linking to its field; the typed input is kept.
    assert 'href="#id_name_de_legal_basis"' in html and 'href="#id_name_de_authority"' in html
    assert 'value="nationales Visum aus humanitären Gründen"' in html
    assert 'value="Federal Foreign Office"' in html
    route.refresh_from_db()
    assert route.letter_names == {}
    assert not AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED).exists()


@pytest.mark.parametrize("name", ["name_de_procedure", "name_de_legal_basis", "name_de_authority"])
def test_invisible_characters_in_a_name_are_refused(rita, route, name):
    url = reverse("route_edit", args=[route.pk])
    data = form_data(rita, url, **GERMAN) | {name: f"Auswärtiges{RLO}Amt"}
    response = rita.post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "invisible characters" in html
    assert "is missing" not in html  # the refused name counts as given
    route.refresh_from_db()
    assert route.letter_names == {}


def test_request_kind_languages_and_notes_are_saved(rita, route):
    url = reverse("route_edit", args=[route.pk])
    data = form_data(rita, url, request_kind="preapproval", notes="Call the desk first.")
    data["letter_languages"] = ["ru", "de", "en"]
    assert rita.post(url, data).status_code == 302
    route.refresh_from_db()
    assert route.request_kind == "preapproval"
    assert route.letter_languages == ["en", "de", "ru"]  # in the letter languages' order
    assert route.notes == "Call the desk first."
    entry = AuditEvent.objects.get(action=Action.REFERENCE_CHANGED)
    assert entry.details["fields"] == ["letter_languages", "notes", "request_kind"]


def test_a_route_needs_to_say_what_its_letters_ask_for(rita):
    data = {k: v for k, v in LATVIAN_ROUTE.items() if k != "request_kind"}
    response = rita.post(reverse("route_add"), data)
    assert response.status_code == 400
    assert 'href="#id_request_kind"' in response.content.decode()
    response = rita.post(reverse("route_add"), LATVIAN_ROUTE | {"request_kind": "bribe"})
    assert response.status_code == 400
    assert not Route.objects.filter(code=LATVIAN_ROUTE["code"]).exists()


def test_the_edit_page_shows_saved_names_each_language_in_its_fieldset(rita, route):
    Route.objects.filter(pk=route.pk).update(
        letter_names={
            "de": {"procedure": "Visum", "legal_basis": "§ 22 AufenthG", "authority": "AA"}
        },
        letter_languages=["de"],
        notes="Only via the embassy in Yerevan.",
    )
    html = rita.get(reverse("route_edit", args=[route.pk])).content.decode()
    assert '<legend lang="de">Deutsch</legend>' in html
    assert '<legend lang="ru">русский</legend>' in html
    assert '<label for="id_name_de_legal_basis">Legal basis, in Deutsch</label>' in html
    assert 'name="name_de_legal_basis"' in html and 'value="§ 22 AufenthG"' in html
    assert 'lang="de"' in tag(html, "name_de_procedure")
    assert 'lang="ru"' in tag(html, "name_ru_authority")
    assert "Only via the embassy in Yerevan.</textarea>" in html
    assert "For staff only; no letter prints it." in html
    assert "checked" in tag(html, "letter_languages", value="de")
    assert "checked" not in tag(html, "letter_languages", value="en")
    assert "What a letter for this route asks for" in html
    # Germany's own language is a letter language: no eighth language.
    assert '<legend lang="lv">' not in html


def test_a_route_of_a_state_whose_language_letters_are_not_written_in_has_it_too(rita):
    latvian = {
        "name_lv_procedure": "vīza humānu apsvērumu dēļ",
        "name_lv_legal_basis": "Imigrācijas likuma 4. pants",
        "name_lv_authority": "Pilsonības un migrācijas lietu pārvalde",
    }
    response = rita.post(reverse("route_add"), LATVIAN_ROUTE | latvian)
    assert response.status_code == 302
    route = Route.objects.get(code=LATVIAN_ROUTE["code"])
    assert route.letter_names == {
        "lv": {
            "procedure": "vīza humānu apsvērumu dēļ",
            "legal_basis": "Imigrācijas likuma 4. pants",
            "authority": "Pilsonības un migrācijas lietu pārvalde",
        }
    }
    html = rita.get(reverse("route_edit", args=[route.pk])).content.decode()
    assert '<legend lang="lv">latviešu</legend>' in html
    assert 'value="Pilsonības un migrācijas lietu pārvalde"' in html


def test_a_new_route_page_offers_the_letter_languages(rita):
    html = rita.get(reverse("route_add")).content.decode()
    for code in ("en", "de", "fr", "pl", "lt", "cs", "ru"):
        assert f'name="name_{code}_authority"' in html
    assert 'name="name_lv_authority"' not in html


def test_a_coordinator_still_cannot_edit_routes_or_their_names(client, coordinator, route):
    carol = login_verified(client, coordinator)
    url = reverse("route_edit", args=[route.pk])
    assert carol.get(url).status_code == 404
    data = {
        "code": route.code,
        "destination_state": route.destination_state,
        "request_kind": "asylum",
        "legal_basis": route.legal_basis,
        "visa_type": route.visa_type,
        "status": route.status,
    } | GERMAN
    assert carol.post(url, data).status_code == 404
    mission = Mission.objects.first()
    names = {"name_de": "Botschaft"}
    assert carol.post(reverse("mission_edit", args=[mission.pk]), names).status_code == 404
    route.refresh_from_db()
    mission.refresh_from_db()
    assert route.letter_names == {} and route.request_kind != "asylum"
    assert mission.letter_names == {}


# --- missions -------------------------------------------------------------------------------

MISSION = {
    "state": "lv",
    "host_country": "am",
    "city": "Yerevan",
    "kind": "embassy",
    "name": "Embassy of Latvia (test)",
}


def test_a_mission_is_saved_with_its_names_per_language(rita):
    names = {
        "name_en": "Embassy of the Republic of Latvia in Yerevan",
        "name_ru": "Посольство Латвийской Республики в Ереване",
        "name_lv": "Latvijas Republikas vēstniecība Erevānā",
        "name_de": "",
    }
    assert rita.post(reverse("mission_add"), MISSION | names).status_code == 302
    mission = Mission.objects.get(name="Embassy of Latvia (test)")
    assert mission.letter_names == {
        "en": "Embassy of the Republic of Latvia in Yerevan",
        "ru": "Посольство Латвийской Республики в Ереване",
        "lv": "Latvijas Republikas vēstniecība Erevānā",
    }
    assert mission.printed("ru") == "Посольство Латвийской Республики в Ереване"
    html = rita.get(reverse("mission_edit", args=[mission.pk])).content.decode()
    assert '<legend lang="lv">latviešu</legend>' in html
    assert '<label for="id_name_lv">Name with its city, in latviešu</label>' in html
    assert 'value="Latvijas Republikas vēstniecība Erevānā"' in html


def test_a_mission_name_change_is_audited_as_letter_names(rita):
    mission = Mission.objects.filter(state="DE").first()
    url = reverse("mission_edit", args=[mission.pk])
    data = form_data(rita, url, name_de="Botschaft der Bundesrepublik Deutschland Eriwan")
    assert rita.post(url, data).status_code == 302
    mission.refresh_from_db()
    assert mission.letter_names == {"de": "Botschaft der Bundesrepublik Deutschland Eriwan"}
    entry = AuditEvent.objects.get(action=Action.REFERENCE_CHANGED)
    assert entry.details == {"created": False, "fields": ["letter_names"]}


def test_a_mission_name_with_invisible_characters_is_refused(rita):
    response = rita.post(reverse("mission_add"), MISSION | {"name_fr": f"Ambassade{RLO} test"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "invisible characters" in html and 'href="#id_name_fr"' in html
    assert not Mission.objects.filter(name=MISSION["name"]).exists()
