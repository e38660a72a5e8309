"""The public verification page shows what the letter printed, not today's letterhead
(issue 12, finding 6).

The attack: an org admin changes the organisation's legal name (or a reference editor the
route's deciding authority) after letters were issued; every genuine letter's verification
page then names someone other than the letter does, and stops matching it.
"""

from __future__ import annotations

import pytest

from casework.accounts.models import Organisation
from casework.cases.models import Route
from casework.letters import codes
from casework.letters.models import Letter
from tests.conftest import login_verified
from tests.test_letters import issue, make_case, pdf_of, request_letter, text_of, verify

pytestmark = pytest.mark.django_db

PRINTED_NAME = "Alpha Aid e.V."  # tests.test_letters.make_case sets it
LATER_NAME = "Renamed Aid gGmbH"
LATER_AUTHORITY = "Some Other Ministry"


@pytest.fixture
def draft(client, coordinator, caseworker):
    case, attempt = make_case(coordinator, caseworker)
    letter = request_letter(login_verified(client, coordinator), case, attempt)
    return letter, attempt


@pytest.fixture
def issued(client, draft, monkeypatch):
    letter, attempt = draft
    code = codes.new_code()
    monkeypatch.setattr(codes, "new_code", lambda: code)
    issue(client, letter)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.ISSUED
    return letter, attempt, code


def test_the_letter_keeps_the_issuer_and_addressee_it_printed(client, issued):
    letter, attempt, _code = issued
    printed = text_of(pdf_of(client, letter))
    assert letter.issuer_name == PRINTED_NAME and PRINTED_NAME in printed
    assert letter.authority == attempt.route.printed(letter.language, "authority")
    assert " ".join(letter.authority.split()) in printed


def test_a_later_letterhead_or_route_edit_does_not_change_the_verification_page(issued):
    letter, attempt, code = issued
    Organisation.objects.filter(pk=letter.organisation_id).update(legal_name=LATER_NAME)
    printed = attempt.route.printed(letter.language, "authority")
    route = Route.objects.get(pk=attempt.route_id)
    route.letter_names = route.letter_names | {
        letter.language: route.letter_names[letter.language] | {"authority": LATER_AUTHORITY}
    }
    route.save()
    html = verify(code).content.decode()
    assert PRINTED_NAME in html and printed in html
    assert LATER_NAME not in html and LATER_AUTHORITY not in html


def test_a_draft_has_no_snapshot_until_it_is_issued(draft):
    letter, _attempt = draft
    assert letter.issuer_name == "" and letter.authority == ""


@pytest.fixture
def reference_routes():
    """A transactional test may run after another one emptied the database, seeded routes
    included: seed them again (cases migration 0003 does it with update_or_create)."""
    import importlib

    from django.apps import apps

    seeding = importlib.import_module(
        "casework.cases.migrations.0003_reference_routes_and_missions"
    )
    seeding.seed(apps, None)


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_letters_issued_before_it_their_organisations_name(
    reference_routes, issued
):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    letter, _attempt, _code = issued
    draft = Letter.objects.create(
        organisation=letter.organisation,
        applicant=letter.applicant,
        case=letter.case,
        attempt=letter.attempt,
        kind="visa",
        language="en",
        requested_by=letter.requested_by,
    )
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("letters", "0001_initial")])
        executor.loader.build_graph()
        executor.migrate([("letters", "0002_letter_issuer_snapshot")])
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)
    assert Letter.objects.get(pk=letter.pk).issuer_name == PRINTED_NAME
    assert Letter.objects.get(pk=draft.pk).issuer_name == ""
