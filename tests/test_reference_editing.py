"""Reference data editors edit routes and missions (reference data, shared by the
installation); coordinators read them. Who else sees a change: tests/test_reference_editors.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Mission, Route
from tests.conftest import login_verified, make_user

pytestmark = pytest.mark.django_db

ROUTE = {
    "code": "ee-humanitarian-test",
    "destination_state": "ee",
    "request_kind": "visa",
    "legal_basis": "Aliens Act § 62 (test)",
    "visa_type": "D",
    "needs_pre_approval": "on",
    "deciding_authority": "Estonian Police and Border Guard Board",
    "status": "active",
    "effective_from": "2026-01-01",
    "checklist": ["passport_intl", "summons"],
}


@pytest.fixture
def reference_editor(organisation):
    return make_user(organisation=organisation, role=Role.REFERENCE_EDITOR, username="rita")


@pytest.fixture
def carol(client, reference_editor):
    """Logged in as the reference data editor (the fixture's name is kept from when
    coordinators edited routes)."""
    return login_verified(client, reference_editor)


def test_a_reference_editor_adds_a_route_with_its_checklist(carol, reference_editor):
    response = carol.post(reverse("route_add"), ROUTE)
    assert response.status_code == 302
    route = Route.objects.get(code="ee-humanitarian-test")
    assert route.destination_state == "EE" and route.needs_pre_approval
    assert route.checklist == ["passport_intl", "summons"]
    entry = AuditEvent.objects.get(action=Action.REFERENCE_CHANGED)
    assert entry.actor_id == reference_editor.pk and entry.details["created"] is True
    assert entry.target_type == "cases.route" and entry.target_id == str(route.pk)


def test_suspending_a_route_is_audited_by_field_name(carol):
    route = Route.objects.get(code="de-aufenthg-22-s1")
    page = carol.get(reverse("route_edit", args=[route.pk]))
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v not in (None, False)}
    data |= {"status": "suspended", "effective_until": "2025-07-28"}
    assert carol.post(reverse("route_edit", args=[route.pk]), data).status_code == 302
    route.refresh_from_db()
    assert route.status == "suspended"
    entry = AuditEvent.objects.get(action=Action.REFERENCE_CHANGED)
    assert entry.details == {"created": False, "fields": ["effective_until", "status"]}


def test_a_suspended_route_is_not_offered_for_a_new_attempt(carol):
    route = Route.objects.get(code="de-aufenthg-22-s1")
    Route.objects.filter(pk=route.pk).update(status="suspended")
    from casework.cases.forms import RouteAttemptForm

    assert route not in RouteAttemptForm().fields["route"].queryset


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"destination_state": "RU"}, "Give the ISO code of an EU or Schengen state"),
        ({"effective_until": "2025-01-01"}, "A route cannot end before it starts."),
        ({"checklist": ["passport_intl", "not_a_type"]}, "Select a valid choice."),
        ({"code": "de-aufenthg-22-s1"}, "already exists"),
    ],
)
def test_bad_input_re_renders_with_the_input_and_saves_nothing(carol, change, message):
    data = ROUTE | change
    response = carol.post(reverse("route_add"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Estonian Police and Border Guard Board"' in html
    assert not Route.objects.filter(legal_basis=ROUTE["legal_basis"]).exists()
    assert not AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED).exists()


def test_a_reference_editor_adds_and_edits_a_mission(carol):
    data = {
        "state": "lt",
        "host_country": "kz",
        "city": "Astana",
        "kind": "embassy",
        "name": "Embassy of Lithuania (test)",
    }
    assert carol.post(reverse("mission_add"), data).status_code == 302
    mission = Mission.objects.get(name="Embassy of Lithuania (test)")
    assert (mission.state, mission.host_country) == ("LT", "KZ")
    data |= {"kind": "consulate"}
    assert carol.post(reverse("mission_edit", args=[mission.pk]), data).status_code == 302
    mission.refresh_from_db()
    assert mission.kind == "consulate"
    assert AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED).count() == 2


def test_a_mission_with_a_made_up_kind_or_country_is_refused(carol):
    data = {"state": "LT", "host_country": "K1", "city": "X", "kind": "bunker", "name": "Y"}
    response = carol.post(reverse("mission_add"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give a two-letter ISO country code" in html and "Select a valid choice." in html
    assert not Mission.objects.filter(name="Y").exists()


@pytest.mark.parametrize("role", ["caseworker", "auditor", "org_admin", "outsider", "coordinator"])
def test_everyone_but_reference_editors_gets_404_on_edits(client, request, role):
    user = request.getfixturevalue(role)
    login_verified(client, user)
    route = Route.objects.first()
    listed = client.get(reverse("reference_list")).status_code
    assert listed == (200 if role == "coordinator" else 404)  # coordinators read the list
    assert client.get(reverse("route_edit", args=[route.pk])).status_code == 404
    response = client.post(reverse("route_edit", args=[route.pk]), ROUTE)
    assert response.status_code == 404
    assert client.post(reverse("route_add"), ROUTE).status_code == 404
    mission = Mission.objects.first()
    assert client.get(reverse("mission_edit", args=[mission.pk])).status_code == 404
    assert client.post(reverse("mission_add"), {"name": "x"}).status_code == 404
    assert not Route.objects.filter(code=ROUTE["code"]).exists()


def test_an_unknown_route_id_is_404(carol):
    import uuid

    assert carol.get(reverse("route_edit", args=[uuid.uuid4()])).status_code == 404


def test_the_list_shows_routes_and_missions(carol):
    html = carol.get(reverse("reference_list")).content.decode()
    assert "de-aufenthg-22-s1" in html
    assert Mission.objects.first().name in html
