"""Tests that fail when a guard of the case routes is loosened (issue 12, "tests that let
defects through"): each was a mutation that survived the whole suite.

- The caseworker's case query without the organisation filter: no test gave a caseworker a
  grant on another organisation's case.
- ``role_required`` loosened on the case list, intake and search: auditors and org admins
  were never sent there.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from guardian.shortcuts import assign_perm

from casework.accounts.roles import Role
from casework.cases import list_views, views
from casework.cases import urls as case_urls
from casework.cases.access import visible_cases
from casework.cases.models import Case
from casework.cases.services import case_create
from casework.letters.models import Letter
from tests.conftest import login_verified, make_user

pytestmark = pytest.mark.django_db


# --- a grant across organisations --------------------------------------------------------------


@pytest.fixture
def foreign_case(other_organisation):
    owner = make_user(organisation=other_organisation, role=Role.COORDINATOR, username="zed")
    return case_create(actor=owner, applicant_fields={"legal_name_latin": "BETA CLIENT"})


def test_a_grant_on_another_organisations_case_still_gives_404(client, caseworker, foreign_case):
    """However a grant across organisations came about (a bug, a restored backup, a hand
    in the database), the organisation comes first: the case stays out of reach."""
    for permission in ("cases.view_case", "cases.change_case"):
        assign_perm(permission, caseworker, foreign_case)
    assert caseworker.has_perm("cases.view_case", foreign_case)  # the grant is real
    assert foreign_case not in visible_cases(caseworker)
    login_verified(client, caseworker)
    response = client.get(reverse("case_detail", args=[foreign_case.pk]))
    assert response.status_code == 404
    assert b"BETA CLIENT" not in response.content and foreign_case.code.encode() not in (
        response.content
    )
    listed = client.get(reverse("case_list")).content.decode()
    assert foreign_case.code not in listed


def test_a_caseworkers_own_grant_still_works(client, caseworker):
    case = case_create(actor=caseworker, applicant_fields={"legal_name_latin": "ALPHA CLIENT"})
    assert list(visible_cases(caseworker)) == [case]
    login_verified(client, caseworker)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


# --- the role ladder over every case route -------------------------------------------------------


def _kwargs(pattern: URLPattern, case: Case) -> dict[str, uuid.UUID]:
    return {
        name: case.pk if name == "case_id" else uuid.uuid4() for name in pattern.pattern.converters
    }


CASE_ROUTES = [p for p in case_urls.urlpatterns if isinstance(p, URLPattern)]


def test_the_ladder_covers_the_list_intake_search_and_the_object_routes():
    names = {p.name for p in CASE_ROUTES}
    assert {"case_list", "case_create", "case_search", "case_detail", "letter_issue"} <= names


@pytest.fixture
def reached(monkeypatch):
    """Calls that got past the role check into the access module (a view resolving a case,
    or listing the cases a user may see)."""
    calls: list[str] = []

    def spy(name, real):
        def called(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return called

    monkeypatch.setattr(views, "get_case_for_user", spy("get_case", views.get_case_for_user))
    monkeypatch.setattr(views, "visible_cases", spy("visible", views.visible_cases))
    monkeypatch.setattr(list_views, "visible_cases", spy("visible", list_views.visible_cases))
    return calls


@pytest.mark.parametrize("pattern", CASE_ROUTES, ids=[p.name for p in CASE_ROUTES])
@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ORG_ADMIN])
@pytest.mark.parametrize("method", ["get", "post"])
def test_auditors_and_org_admins_get_404_before_any_case_is_looked_at(
    organisation, caseworker, reached, pattern, role, method
):
    case = case_create(actor=caseworker, applicant_fields={"legal_name_latin": "ALPHA CLIENT"})
    stranger = login_verified(Client(), make_user(organisation=organisation, role=role))
    cases, letters = Case.objects.count(), Letter.objects.count()
    data = {"legal_name_latin": "MADE BY A STRANGER", "priority": "normal"}
    data |= {"kind": "name", "query": "ALPHA CLIENT"}
    url = reverse(pattern.name, kwargs=_kwargs(pattern, case))
    response = getattr(stranger, method)(url, data) if method == "post" else stranger.get(url)
    # 405: a GET-only page refuses a POST before anything else (the list); never 200.
    assert response.status_code in (404, 405), f"{role} {method} {pattern.name}"
    assert reached == [], f"{role} {method} {pattern.name} got past the role check"
    assert (Case.objects.count(), Letter.objects.count()) == (cases, letters)
    assert b"ALPHA CLIENT" not in response.content
