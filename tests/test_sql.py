"""casework.lib.sql: the statements written out read what the ORM reads (issue 15)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from casework.accounts.roles import Role
from casework.cases import services
from casework.cases.access import CASE_WITH, get_case_for_user, visible_cases
from casework.cases.models import (
    Case,
    Consent,
    Deadline,
    Document,
    Mission,
    Note,
    Route,
    VisaApplication,
)
from casework.cases.uploads import sniff
from casework.keystore.models import DataKey
from casework.letters.models import Letter
from casework.lib.aggregates import SEPARATOR
from casework.lib.sql import Beside, Names, row_with, rows_of, rows_with
from tests.canaries import CANARIES
from tests.conftest import make_user
from tests.test_case_list import open_case
from tests.test_cases import PDF
from tests.test_dashboard import draft_letter

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(organisation):
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="bob")


def stored(rows):
    """Each row's columns as the instance holds them (encrypted ones as their tokens)."""
    return [
        {field.attname: row.__dict__[field.attname] for field in row._meta.concrete_fields}
        for row in rows
    ]


def test_rows_of_a_case_are_what_its_related_managers_read(coordinator):
    cases = [open_case(coordinator) for _ in range(3)]
    today = timezone.localdate()
    for case in cases[:2]:
        for days in (9, -2, 30, 4):
            services.deadline_add(
                actor=coordinator, case=case, kind="check_in", due_on=today + timedelta(days)
            )
        for doc_type in ("passport_intl", "other"):
            services.document_upload(
                actor=coordinator,
                case=case,
                content=PDF,
                kind=sniff(PDF),
                doc_type=doc_type,
                title=None,
            )
        draft_letter(coordinator, case)
        draft_letter(coordinator, case)
    Deadline.objects.filter(case=cases[0], due_on=today + timedelta(4)).update(done=True)
    for case in cases:
        for model, related in ((Deadline, "deadlines"), (Document, "documents")):
            expected = list(getattr(case, related).all())
            assert stored(rows_of(model, "case", case.pk)) == stored(expected)
        assert stored(rows_of(Letter, "case", case.pk)) == stored(case.letters.all())
    assert [d.due_on for d in rows_of(Deadline, "case", cases[0].pk)] == sorted(
        today + timedelta(days) for days in (9, -2, 30, 4)
    )
    assert rows_of(Deadline, "case", cases[2].pk) == []


def test_rows_of_keep_a_descending_order(coordinator):
    """Case orders by its opening, newest first: the statement says DESC too."""
    cases = [open_case(coordinator) for _ in range(3)]
    for days, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=days))
    rows = rows_of(Case, "organisation", coordinator.organisation_id)
    assert [case.pk for case in rows] == [case.pk for case in cases]
    assert stored(rows) == stored(Case.objects.filter(organisation=coordinator.organisation_id))


def test_row_with_reads_the_row_and_its_foreign_key_as_select_related_does(
    coordinator, outsider, django_assert_num_queries
):
    ours = open_case(coordinator)
    open_case(outsider)  # a row the statement must not read instead
    orm = Case.objects.select_related("applicant").get(pk=ours.pk)
    with django_assert_num_queries(1):  # the applicant comes with the case
        row = row_with(Case, ("applicant",), id=ours.pk, organisation=coordinator.organisation_id)
        assert row is not None
        assert stored([row.applicant]) == stored([orm.applicant])
    assert stored([row]) == stored([orm])
    assert row.applicant.legal_name_latin == CANARIES[0]  # a usable instance: it decrypts


def test_row_with_finds_nothing_when_one_condition_does_not_hold(coordinator, outsider):
    """Every condition counts: another organisation's case by its own id is no row."""
    open_case(coordinator)  # our organisation has a case: the id must still match
    theirs = open_case(outsider)
    organisation = coordinator.organisation_id
    assert row_with(Case, ("applicant",), id=theirs.pk, organisation=organisation) is None
    assert row_with(Case, ("applicant",), id=uuid.uuid4(), organisation=organisation) is None
    found = row_with(Case, ("applicant",), id=theirs.pk, organisation=outsider.organisation_id)
    assert found is not None and found.pk == theirs.pk


def test_row_with_reads_a_row_beside_and_names_through_a_many_to_many(
    coordinator, caseworker, organisation, django_assert_num_queries
):
    """The case lookup's data key (no foreign key leads to it) and assignees' usernames:
    what the ORM reads for them, in the same statement."""
    other = make_user(organisation=organisation, role=Role.CASEWORKER, username="zoe")
    assigned, alone = open_case(coordinator), open_case(coordinator)
    services.case_assign(actor=coordinator, case=assigned, caseworkers=[other, caseworker])
    organisation_id = coordinator.organisation_id
    for case, usernames in ((assigned, {other.username, caseworker.username}), (alone, set())):
        with django_assert_num_queries(1):
            row = row_with(Case, CASE_WITH, id=case.pk, organisation=organisation_id)
        assert row is not None and row.pk == case.pk
        key = DataKey.objects.get(subject_id=case.applicant_id)
        assert stored([row.applicant_key]) == stored([key])
        assert bytes(row.applicant_key.wrapped) == bytes(key.wrapped)
        names = row.assignee_names
        assert set(names.split(SEPARATOR)) == usernames if usernames else names is None
        assert usernames == {u.username for u in case.caseworkers.all()}
    # No data key (an applicant whose key is missing): None, as a LEFT JOIN gives it.
    DataKey.objects.filter(subject_id=alone.applicant_id).delete()
    beside = (Beside(DataKey, "subject_id", "applicant", "key"),)
    row = row_with(Case, beside, id=alone.pk, organisation=organisation_id)
    assert row is not None and row.key is None
    names = (Names("caseworkers", "username", "names"),)
    assert row_with(Case, names, id=alone.pk, organisation=organisation_id).names is None


def test_row_with_within_a_queryset_reads_only_its_rows(coordinator, caseworker, bob):
    """A caseworker's cases are those granted to them (visible_cases, through guardian):
    the lookup keeps them to those, and ``within`` nothing is no row, not an error."""
    mine, theirs = open_case(coordinator), open_case(coordinator)
    services.case_assign(actor=coordinator, case=mine, caseworkers=[caseworker])
    services.case_assign(actor=coordinator, case=theirs, caseworkers=[bob])
    organisation_id = coordinator.organisation_id

    def lookup(case, within):
        return row_with(Case, CASE_WITH, id=case.pk, organisation=organisation_id, within=within)

    assert lookup(mine, visible_cases(caseworker)).pk == mine.pk
    assert lookup(theirs, visible_cases(caseworker)) is None
    assert lookup(theirs, visible_cases(bob)).pk == theirs.pk
    assert lookup(mine, Case.objects.none()) is None
    assert lookup(mine, None).pk == mine.pk  # no ``within``: the conditions alone


def test_the_case_lookup_gives_each_role_what_visible_cases_gives(
    coordinator, caseworker, bob, auditor, org_admin, outsider
):
    """get_case_for_user finds exactly the cases visible_cases() lists, for every role,
    with the person, the data key and the assignees read in the one statement."""
    mine, theirs = open_case(coordinator), open_case(coordinator)
    services.case_assign(actor=coordinator, case=mine, caseworkers=[caseworker])
    elsewhere = open_case(make_user(organisation=outsider.organisation, role=Role.COORDINATOR))
    for user in (coordinator, caseworker, bob, auditor, org_admin, outsider):
        for case in (mine, theirs, elsewhere):
            visible = visible_cases(user).filter(pk=case.pk).exists()
            if visible:
                found = get_case_for_user(user, case.pk)
                assert found.pk == case.pk and found.applicant.pk == case.applicant_id
                assert found.applicant_key.subject_id == case.applicant_id
            else:
                with pytest.raises(Http404):
                    get_case_for_user(user, case.pk)
    assert get_case_for_user(caseworker, mine.pk).assignee_names == caseworker.username


def test_rows_with_are_what_select_related_reads(coordinator, caseworker):
    """The case page's notes (with their authors), route attempts (with route and mission,
    which may be empty) and consents (with a route, which may be empty), case by case."""
    cases = [open_case(coordinator) for _ in range(3)]
    states = Mission.objects.values("state")
    route = Route.objects.exclude(status=Route.Status.SUSPENDED).filter(
        destination_state__in=states
    )[0]
    mission = Mission.objects.filter(state=route.destination_state).first()
    for case in cases[:2]:
        for author in (caseworker, coordinator, caseworker):
            services.note_add(actor=author, case=case, text=f"{CANARIES[1]} {author}")
        for where in (mission, None, mission):
            services.route_attempt_add(actor=coordinator, case=case, route=route, mission=where)
        for about in (None, route, None):
            services.consent_record(
                actor=coordinator,
                case=case,
                purpose="processing" if about is None else "disclosure",
                route=about,
                counterparty="",
                text_version="2026-01",
                language="ru",
            )
        # The first note written last: the rows come in the model's order, not the table's.
        first = Note.objects.filter(case=case).order_by("created_at")[0]
        Note.objects.filter(pk=first.pk).update(created_at=timezone.now() + timedelta(hours=1))
    for case in cases:
        for model, related, scope, orm in (
            (Note, ("author",), {"case": case.pk}, case.notes),
            (VisaApplication, ("route", "mission"), {"case": case.pk}, case.visa_applications),
            (Consent, ("route",), {"applicant": case.applicant_id}, case.applicant.consents),
        ):
            expected = list(orm.select_related(*related))
            rows = rows_with(model, related, **scope)
            assert stored(rows) == stored(expected)
            for name in related:
                theirs = [getattr(row, name) for row in rows]
                assert [row is None for row in theirs] == [
                    getattr(row, name) is None for row in expected
                ]
                assert stored(r for r in theirs if r) == stored(
                    getattr(row, name) for row in expected if getattr(row, name)
                )
    notes = rows_with(Note, ("author",), case=cases[0].pk)
    assert [note.author.username for note in notes] == [
        u.username for u in (coordinator, caseworker, caseworker)
    ]
    assert [
        a.mission is None
        for a in rows_with(VisaApplication, ("route", "mission"), case=cases[0].pk)
    ] == [False, True, False]
    assert rows_with(Note, ("author",), case=cases[2].pk) == []
