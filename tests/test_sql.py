"""casework.lib.sql: the statements written out read what the ORM reads (issue 15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.cases import services
from casework.cases.models import Case, Deadline, Document
from casework.cases.uploads import sniff
from casework.letters.models import Letter
from casework.lib.sql import rows_of
from tests.test_case_list import open_case
from tests.test_cases import PDF
from tests.test_dashboard import draft_letter

pytestmark = pytest.mark.django_db


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
