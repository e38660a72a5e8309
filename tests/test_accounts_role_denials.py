"""A refusal by role is audited like any other denied access (R28) and seen by the alerting
(R47): an auditor or org admin probing case URLs, or anyone probing a page of another role,
leaves a deny entry with ids only, and the hourly "access denied" alert."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from casework.audit.alerts import AlertKind, denied_accesses
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _after(start: int, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=start, **filters).order_by("seq"))


@pytest.mark.parametrize("persona", ["auditor", "org_admin"])
def test_probing_a_case_without_a_content_role_is_audited_and_alerted(
    client, request, caseworker, persona
):
    case = make_case(caseworker=caseworker, legal_name_latin="CANARY ZEBRA")
    prober = request.getfixturevalue(persona)
    login_verified(client, prober)
    start = _last_seq()

    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404

    (denied,) = _after(start, action=Action.ACCESS_DENIED)
    assert denied.decision == "deny"
    assert denied.actor_id == prober.pk
    assert denied.organisation_id == prober.organisation_id
    assert denied.details == {"path": f"/cases/{case.pk}/", "requested": str(case.pk)}
    assert "CANARY" not in json.dumps(denied.details)
    (alert,) = _after(start, action=Action.ALERT)
    assert alert.details["kind"] == AlertKind.ACCESS_DENIED
    assert alert.actor_id == prober.pk
    recent, count = denied_accesses(prober.organisation_id)
    assert count == 1 and recent[0].pk == denied.pk


def test_many_probes_leave_an_entry_each_and_one_alert_an_hour(client, auditor, caseworker):
    cases = [make_case(caseworker=caseworker) for _ in range(3)]
    login_verified(client, auditor)
    start = _last_seq()
    for case in cases:
        client.get(reverse("case_detail", args=[case.pk]))
        client.post(reverse("case_note", args=[case.pk]), {"text": "x"})
    client.get(reverse("case_list"))
    assert len(_after(start, action=Action.ACCESS_DENIED)) == 7
    assert len(_after(start, action=Action.ALERT)) == 1


@pytest.mark.parametrize(
    ("persona", "route"),
    [
        ("caseworker", "audit_log"),
        ("coordinator", "admin_users"),
        ("auditor", "role_grants"),
        ("org_admin", "case_list"),
    ],
)
def test_every_page_of_another_role_audits_its_refusal(client, request, persona, route):
    user = request.getfixturevalue(persona)
    login_verified(client, user)
    start = _last_seq()
    assert client.get(reverse(route)).status_code == 404
    (denied,) = _after(start, action=Action.ACCESS_DENIED)
    assert denied.actor_id == user.pk and denied.details == {"path": reverse(route)}


def test_an_allowed_role_leaves_no_deny_entry(client, coordinator):
    login_verified(client, coordinator)
    start = _last_seq()
    assert client.get(reverse("case_list")).status_code == 200
    assert not _after(start, decision="deny")
