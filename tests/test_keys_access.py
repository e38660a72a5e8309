"""The access module's guards, each with a test that fails when the guard goes (R65: these
mutants of casework/cases/access.py survived the suite until these tests)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.access import get_case_for_user, visible_cases
from casework.cases.services import case_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_case(other_organisation):
    owner = make_user(organisation=other_organisation, role=Role.COORDINATOR, username="zora")
    return case_create(actor=owner, applicant_fields={"legal_name_latin": "FOREIGN CASE"})


@pytest.fixture
def own_case(coordinator):
    return case_create(actor=coordinator, applicant_fields={"legal_name_latin": "OWN CASE"})


def test_a_grant_on_another_organisations_case_shows_it_to_nobody_here(caseworker, foreign_case):
    assign_perm("cases.view_case", caseworker, foreign_case)  # by a bug, or by raw SQL
    assert foreign_case not in visible_cases(caseworker)
    with pytest.raises(Http404):
        get_case_for_user(caseworker, foreign_case.pk)


def test_a_global_view_permission_shows_a_caseworker_no_case(caseworker, own_case):
    caseworker.user_permissions.add(Permission.objects.get(codename="view_case"))
    assert list(visible_cases(caseworker)) == []


def test_a_superuser_caseworker_sees_only_the_cases_granted_to_them(caseworker, own_case):
    caseworker.is_superuser = True
    caseworker.save()
    assert list(visible_cases(caseworker)) == []


def test_a_refusal_is_audited_and_alerted_with_who_from_where_and_what(caseworker, foreign_case):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    with pytest.raises(Http404):
        get_case_for_user(caseworker, foreign_case.pk, request)

    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert (denied.actor_id, denied.client, denied.decision) == (
        caseworker.pk,
        "203.0.113.0/24",
        "deny",
    )
    assert denied.details == {"target_type": "cases.case", "requested": str(foreign_case.pk)}
    alert = AuditEvent.objects.get(action=Action.ALERT)
    assert (alert.actor_id, alert.client, alert.organisation_id) == (
        caseworker.pk,
        "203.0.113.0/24",
        caseworker.organisation_id,
    )
    assert alert.details["requested"] == str(foreign_case.pk)


def test_a_case_comes_with_its_applicant_without_another_query(coordinator, own_case):
    case = get_case_for_user(coordinator, own_case.pk)
    with CaptureQueriesContext(connection) as queries:
        assert case.applicant.pk == own_case.applicant_id
    assert len(queries) == 0
