"""One partner no longer edits another's letters (issue 12, finding 7).

Routes and missions are shared by every organisation: a route's deciding authority is the
addressee of every organisation's letters for it. The attack: a coordinator of one
organisation rewrote that authority (or suspended the route) for everyone, and the change
was audited only in the editing organisation. Now only a reference data editor (a role for
the installation) edits them, and every organisation with open route attempts or draft
letters on the changed route or mission finds the change in its own audit log.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from casework.accounts.models import Organisation
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Mission, Route
from casework.cases.services import case_create, case_transition, route_attempt_add
from casework.letters.models import Letter
from tests.conftest import login_verified, make_user
from tests.test_letters import facts

pytestmark = pytest.mark.django_db

ROUTE_CODE = "de-aufenthg-22-s1"


@pytest.fixture
def editor(organisation):
    return make_user(organisation=organisation, role=Role.REFERENCE_EDITOR, username="rita")


def route_data(client, route, **changes):
    page = client.get(reverse("route_edit", args=[route.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    return data | changes


def test_the_reference_editor_group_exists():
    assert Group.objects.filter(name="reference_editor").exists()


@pytest.mark.django_db(transaction=True)
def test_the_cases_migration_creates_the_group():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("cases", "0011_case_duplicate_review")])
        Group.objects.filter(name="reference_editor").delete()
        executor.loader.build_graph()
        executor.migrate([("cases", "0012_reference_editor_group")])
        assert Group.objects.filter(name="reference_editor").exists()
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)


def test_a_coordinator_cannot_rewrite_a_shared_routes_authority_or_suspend_it(
    client, coordinator, editor
):
    """The attack of the finding: before the fix the coordinator's POST was a 302 and the
    route was rewritten for every organisation."""
    route = Route.objects.get(code=ROUTE_CODE)
    data = {
        "code": route.code,
        "destination_state": route.destination_state,
        "legal_basis": route.legal_basis,
        "visa_type": route.visa_type,
        "status": route.status,
        "checklist": route.checklist,
    }
    carol = login_verified(client, coordinator)
    assert carol.get(reverse("route_edit", args=[route.pk])).status_code == 404
    changed = data | {"deciding_authority": "Someone else entirely", "status": "suspended"}
    assert carol.post(reverse("route_edit", args=[route.pk]), changed).status_code == 404
    assert carol.post(reverse("route_add"), changed | {"code": "new-route"}).status_code == 404
    mission = Mission.objects.first()
    assert carol.post(reverse("mission_edit", args=[mission.pk]), {"name": "X"}).status_code == 404
    route.refresh_from_db()
    assert route.deciding_authority != "Someone else entirely" and route.status == "active"
    assert not AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED).exists()


def test_coordinators_still_read_the_list_without_edit_links(client, coordinator, editor):
    html = login_verified(client, coordinator).get(reverse("reference_list")).content.decode()
    assert ROUTE_CODE in html and reverse("route_add") not in html
    route = Route.objects.get(code=ROUTE_CODE)
    assert reverse("route_edit", args=[route.pk]) not in html
    html = login_verified(client.__class__(), editor).get(reverse("reference_list"))
    assert reverse("route_edit", args=[route.pk]) in html.content.decode()


def _partner(name, role=Role.COORDINATOR):
    organisation = Organisation.objects.create(name=name, passkeys_required_for_privileged=False)
    return make_user(organisation=organisation, role=role)


def _open_case_on(route, actor, *, mission=None, closed=False, letter=False):
    case = case_create(actor=actor, applicant_fields={"legal_name_latin": "SOMEONE"})
    attempt = route_attempt_add(actor=actor, case=case, route=route, mission=mission)
    if letter:
        Letter.objects.create(
            organisation=case.organisation,
            applicant=case.applicant,
            case=case,
            attempt=attempt,
            kind="visa",
            language="en",
            requested_by=actor,
        )
    if closed:
        case_transition(
            actor=actor, case=case, target="closed", facts=facts(closure_reason="withdrawn")
        )
    return case


@pytest.fixture
def partners():
    """Three other organisations: one with an open attempt on the route, one whose only case
    on it is closed but has a draft letter, one whose case on it is closed and done with."""
    route = Route.objects.get(code=ROUTE_CODE)
    attempting = _partner("Gamma (open attempt)")
    drafting = _partner("Delta (draft letter)")
    finished = _partner("Epsilon (closed case)")
    untouched = _partner("Zeta (another route)")
    _open_case_on(route, attempting)
    _open_case_on(route, drafting, closed=True, letter=True)
    _open_case_on(route, finished, closed=True)
    _open_case_on(Route.objects.get(code="fr-visa-asile"), untouched)
    return route, attempting, drafting, finished, untouched


def test_a_route_change_is_recorded_in_every_affected_organisation(client, editor, partners):
    route, attempting, drafting, finished, untouched = partners
    rita = login_verified(client, editor)
    data = route_data(rita, route, deciding_authority="Auswärtiges Amt, Referat 999")
    assert rita.post(reverse("route_edit", args=[route.pk]), data).status_code == 302
    entries = AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED)
    by_organisation = {entry.organisation_id: entry for entry in entries}
    assert len(by_organisation) == entries.count() == 3  # one per organisation
    assert set(by_organisation) == {
        editor.organisation_id,
        attempting.organisation_id,
        drafting.organisation_id,
    }
    for organisation_id in (attempting.organisation_id, drafting.organisation_id):
        entry = by_organisation[organisation_id]
        assert entry.actor_id == editor.pk and entry.target_id == str(route.pk)
        assert entry.details["fields"] == ["deciding_authority"]
    assert by_organisation[attempting.organisation_id].details["open_attempts"] == 1
    assert by_organisation[drafting.organisation_id].details["draft_letters"] == 1
    assert "open_attempts" not in by_organisation[editor.organisation_id].details


def test_a_mission_change_is_recorded_where_attempts_or_drafts_name_it(client, editor):
    route = Route.objects.get(code=ROUTE_CODE)
    mission = Mission.objects.filter(state=route.destination_state).first()
    partner = _partner("Eta (via the mission)")
    _open_case_on(route, partner, mission=mission)
    rita = login_verified(client, editor)
    data = {
        "state": mission.state,
        "host_country": mission.host_country,
        "city": mission.city,
        "kind": "consulate",
        "name": mission.name,
    }
    assert rita.post(reverse("mission_edit", args=[mission.pk]), data).status_code == 302
    organisations = set(
        AuditEvent.objects.filter(action=Action.REFERENCE_CHANGED).values_list(
            "organisation_id", flat=True
        )
    )
    assert organisations == {editor.organisation_id, partner.organisation_id}
