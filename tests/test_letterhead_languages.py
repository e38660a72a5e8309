"""The letterhead per letter language: the text about the organisation, the signatory's
function and (optionally) a spelling of the signatory's name, each language one fieldset of
the page. The step-up itself: tests/test_accounts_letterhead.py."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse

from casework.accounts.models import Organisation
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

LETTERHEAD = {
    "legal_name": "Alpha Aid e.V.",
    "signatory_name": "Anna Schmidt",
    "signatory_title": "Chair",
}


@pytest.fixture
def olga(client, org_admin):
    return login_verified(client, org_admin)


def tag(html, name):
    for found in re.findall(r"<(?:input|textarea)[^>]*>", html):
        if f'name="{name}"' in found:
            return found
    raise AssertionError(f"no field {name}")


def test_titles_and_names_are_saved_per_language(olga, organisation):
    data = LETTERHEAD | {
        "about_de": "Wir helfen verfolgten Menschen.",
        "signatory_title_de": "Vorsitzende",
        "signatory_title_ru": "Председатель правления",
        "signatory_title_en": "   ",
        "signatory_name_ru": "Анна Шмидт",
        "signatory_name_de": "",
    }
    response = olga.post(reverse("admin_letterhead"), data)
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.signatory_titles == {
        "de": "Vorsitzende",
        "ru": "Председатель правления",
    }
    assert organisation.signatory_names == {"ru": "Анна Шмидт"}
    assert organisation.about == {"de": "Wir helfen verfolgten Menschen."}
    assert organisation.signatory_name == "Anna Schmidt"  # the name above stays
    entry = AuditEvent.objects.get(action=Action.ORGANISATION_UPDATED)
    fields = entry.details["fields"]
    assert {"signatory_titles", "signatory_names", "about"} <= set(fields)
    assert not any(name.startswith("signatory_title_") for name in fields)  # no form names


def test_the_page_shows_each_language_as_a_fieldset_with_its_saved_values(olga, organisation):
    Organisation.objects.filter(pk=organisation.pk).update(
        about={"pl": "Pomagamy."},
        signatory_titles={"pl": "Prezeska zarządu", "ru": "Председатель"},
        signatory_names={"ru": "Анна Шмидт"},
        signatory_name="Anna Schmidt",
    )
    response = olga.get(reverse("admin_letterhead"))
    assert response.status_code == 200
    html = response.content.decode()
    groups = re.findall(r'<fieldset class="group">(.*?)</fieldset>', html, re.S)
    assert len(groups) == 7
    russian = next(group for group in groups if '<legend lang="ru">русский</legend>' in group)
    assert 'value="Председатель"' in russian and 'value="Анна Шмидт"' in russian
    assert "Leave empty to print the name above" in russian
    polish = next(group for group in groups if '<legend lang="pl">polski</legend>' in group)
    assert "Pomagamy.</textarea>" in polish and 'value="Prezeska zarządu"' in polish
    order = [polish.index(f'name="{name}_pl"') for name in ("about", "signatory_title")]
    assert order == sorted(order) and 'name="signatory_name_pl"' in polish
    assert '<label for="id_signatory_title_pl">Signatory&#x27;s function, in polski</label>' in html
    assert 'lang="ru"' in tag(html, "signatory_name_ru")
    assert 'value="Anna Schmidt"' in tag(html, "signatory_name")  # the name above, kept


def test_saving_what_is_shown_changes_nothing(olga, organisation):
    Organisation.objects.filter(pk=organisation.pk).update(
        signatory_titles={"de": "Vorsitzende"}, signatory_names={"ru": "Анна"}
    )
    page = olga.get(reverse("admin_letterhead"))
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    assert olga.post(reverse("admin_letterhead"), data).status_code == 302
    organisation.refresh_from_db()
    assert organisation.signatory_titles == {"de": "Vorsitzende"}
    assert organisation.signatory_names == {"ru": "Анна"}
    entry = AuditEvent.objects.get(action=Action.ORGANISATION_UPDATED)
    assert entry.details["fields"] == []


def test_a_too_long_title_comes_back_with_the_input_and_saves_nothing(olga, organisation):
    data = LETTERHEAD | {"signatory_title_fr": "x" * 201, "signatory_name_fr": "Anne Schmidt"}
    response = olga.post(reverse("admin_letterhead"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error-summary"' in html and 'href="#id_signatory_title_fr"' in html
    assert 'value="Anne Schmidt"' in html
    organisation.refresh_from_db()
    assert organisation.signatory_titles == {} and organisation.legal_name == ""
    assert not AuditEvent.objects.filter(action=Action.ORGANISATION_UPDATED).exists()


def test_a_stale_second_factor_saves_no_title(olga, organisation):
    session = olga.session
    session["otp_verified_at"] = time.time() - 6 * 60
    session.save()
    response = olga.post(reverse("admin_letterhead"), {"signatory_title_de": "Vorsitzende"})
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.signatory_titles == {}


def test_only_the_org_admin_edits_the_letterhead(client, coordinator, organisation):
    carol = login_verified(client, coordinator)
    response = carol.post(reverse("admin_letterhead"), {"signatory_title_de": "Chefin"})
    assert response.status_code == 404
    organisation.refresh_from_db()
    assert organisation.signatory_titles == {}
