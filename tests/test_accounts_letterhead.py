"""The letterhead is printed on every letter: changing it needs a fresh second factor
(finding 6), like issuing a letter."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from casework.accounts.models import Organisation
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

URL = "/admin/letterhead/"


def _stale(client) -> None:
    session = client.session
    session["otp_verified_at"] = time.time() - 6 * 60
    session.save()


def test_a_stale_second_factor_changes_no_letterhead(client, org_admin, organisation):
    login_verified(client, org_admin)
    _stale(client)
    response = client.post(reverse("admin_letterhead"), {"legal_name": "Forged e.V.", "next": URL})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == reverse("reauth") and parse_qs(location.query) == {"next": [URL]}
    assert Organisation.objects.get(pk=organisation.pk).legal_name == ""
    assert not AuditEvent.objects.filter(action=Action.ORGANISATION_UPDATED).exists()


def test_the_page_asks_for_the_second_factor_before_the_changes_are_typed(client, org_admin):
    login_verified(client, org_admin)
    _stale(client)
    response = client.get(reverse("admin_letterhead"))
    assert urlsplit(response.headers["Location"]).path == reverse("reauth")


def test_a_fresh_second_factor_saves_the_letterhead(client, org_admin, organisation):
    login_verified(client, org_admin)
    assert client.get(reverse("admin_letterhead")).status_code == 200
    response = client.post(reverse("admin_letterhead"), {"legal_name": "Alpha Aid e.V."})
    assert response.status_code == 302
    assert Organisation.objects.get(pk=organisation.pk).legal_name == "Alpha Aid e.V."
