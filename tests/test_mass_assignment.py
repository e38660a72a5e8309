"""R26: forms list their fields; extra keys in a POST change nothing they do not list."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.accounts.roles import Role
from casework.cases.models import Case
from casework.cases.services import case_assign, case_create
from tests.conftest import login_verified, make_user

pytestmark = pytest.mark.django_db

EXTRA_KEYS = [
    "org",
    "org_id",
    "organisation",
    "organisation_id",
    "assigned_to",
    "caseworkers",
    "coordinator",
    "coordinator_id",
    "status",
    "is_superuser",
    "is_staff",
    "created_by",
    "applicant",
    "applicant_id",
    "code",
    "closed_at",
    "opened_at",
    "erased_at",
    "id",
    "pk",
]


def guarded(case: Case) -> dict[str, object]:
    fresh = Case.objects.get(pk=case.pk)
    return {
        "organisation": fresh.organisation_id,
        "applicant": fresh.applicant_id,
        "status": fresh.status,
        "code": fresh.code,
        "coordinator": fresh.coordinator_id,
        "caseworkers": sorted(str(u) for u in fresh.caseworkers.values_list("pk", flat=True)),
        "opened_at": fresh.opened_at,
        "closed_at": fresh.closed_at,
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    extra=st.dictionaries(
        st.sampled_from(EXTRA_KEYS),
        st.one_of(st.text(max_size=40), st.sampled_from(["1", "true", "closed", "on"])),
        min_size=1,
    ),
    priority=st.sampled_from(["emergency", "urgent", "normal", "info"]),
)
def test_extra_keys_in_a_case_edit_change_nothing_else(
    coordinator, caseworker, other_organisation, extra, priority
):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "A B"})
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    client = login_verified(Client(), caseworker)
    outsider = make_user(organisation=other_organisation, role=Role.COORDINATOR)
    # Values that would do harm if they were taken: another organisation, an outsider.
    hostile = {
        key: str(outsider.pk) if key.endswith(("_id", "organisation", "coordinator")) else value
        for key, value in extra.items()
    }
    before = guarded(case)
    version = Case.objects.get(pk=case.pk).version
    data = {"legal_name_latin": "A B", "priority": priority, "version": version} | hostile
    response = client.post(reverse("case_edit", args=[case.pk]), data)
    assert response.status_code in (302, 400)
    assert guarded(case) == before
    if response.status_code == 302:
        assert Case.objects.get(pk=case.pk).priority == priority
