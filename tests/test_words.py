"""People read words, never codes: no page shows a stored status, role or language code
where a word exists (issue 11, "human words, never machine ones")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from casework.accounts.roles import Role
from casework.cases import services
from casework.cases.models import Route
from casework.cases.workflow import CaseFacts, Status
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db

STATUS_CODES = set(Status.values)
ROLE_CODES = {role.value for role in Role}
CODES = STATUS_CODES | ROLE_CODES


class VisibleText(HTMLParser):
    """The text a person sees: element contents, not attribute values, scripts or titles."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.chunks.append(data.strip())


def codes_shown(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    shown = set()
    for chunk in parser.chunks:
        words = set(re.findall(r"[a-z_]+", chunk))
        # Codes with an underscore are never English; a one-word code only as a whole text.
        shown |= {c for c in CODES if "_" in c and c in words}
        shown |= {c for c in CODES if chunk == c}
    return shown


FACTS = CaseFacts(
    verification_completed=True,
    approved_letter=False,
    disclosure_consent_for_authority=False,
    visa_validity_recorded=False,
    closure_reason=None,
    reason=None,
    actor_is_coordinator=True,
    emergency=False,
)


@pytest.fixture
def worked_case(caseworker, coordinator):
    case = make_case(caseworker=caseworker)
    for target in (Status.SCREENING, Status.VERIFICATION, Status.ROUTE_PLANNING):
        services.case_transition(actor=coordinator, case=case, target=target, facts=FACTS)
    services.route_attempt_add(
        actor=caseworker, case=case, route=Route.objects.first(), mission=None
    )
    case.refresh_from_db()
    return case


def test_no_page_of_the_daily_work_shows_a_status_or_role_code(
    caseworker, coordinator, auditor, worked_case
):
    coordinator_client = login_verified(Client(), coordinator)
    caseworker_client = login_verified(Client(), caseworker)
    auditor_client = login_verified(Client(), auditor)
    pages = {
        "dashboard (coordinator)": coordinator_client.get(reverse("home")),
        "dashboard (caseworker)": caseworker_client.get(reverse("home")),
        "case list": coordinator_client.get(reverse("case_list")),
        "case list by status": coordinator_client.get(
            reverse("case_list"), {"status": "route_planning"}
        ),
        "case page": coordinator_client.get(reverse("case_detail", args=[worked_case.pk])),
        "audit log": auditor_client.get(reverse("audit_log")),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert codes_shown(response.content.decode()) == set(), name


def test_the_check_itself_sees_a_raw_code():
    """The guard above would be worthless if it could not see a code on a page."""
    assert codes_shown("<td>letter_review</td><td>Screening</td>") == {"letter_review"}
    assert codes_shown("<td>caseworker</td>") == {"caseworker"}
    assert codes_shown('<option value="letter_review">Letter review</option>') == set()
