"""Row locks in one order (the data key's row, then the case's): an edit saved while a
colleague adds to the same case must not deadlock. The load test found it: on PostgreSQL
a note or an upload (the data key's encryption count first, case_touch last) and an edit
(the case row first, then the data key) each waited for the other, and one answered 503.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from casework.accounts.roles import Role
from casework.cases import services
from casework.cases.models import Case, Note
from tests.conftest import make_user
from tests.factories import make_case


@pytest.mark.django_db(transaction=True)
def test_an_edit_and_a_note_on_the_same_case_at_once_both_land(organisation):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite has one writer); CI runs this there")
    caseworker = make_user(organisation=organisation, role=Role.CASEWORKER, username="casey")
    case = make_case(caseworker=caseworker)
    version = Case.objects.get(pk=case.pk).version
    note_holds_the_data_key = threading.Event()
    touch = services.case_touch
    errors: list[BaseException] = []

    def slow_touch(*, case_id):
        # The note has written under the person's key (its row locked by the count): let
        # the edit start now and reach its locks before the note goes on to the case row.
        note_holds_the_data_key.set()
        time.sleep(1.5)  # more than PostgreSQL's deadlock_timeout (1 s)
        touch(case_id=case_id)

    def add_note():
        try:
            services.note_add(actor=caseworker, case=case, text="Called the embassy.")
        except BaseException as problem:  # noqa: BLE001 - asserted below
            errors.append(problem)
        finally:
            connections.close_all()

    def save_edit():
        note_holds_the_data_key.wait(10)
        try:
            services.case_update(
                actor=caseworker,
                case=case,
                version=version,
                case_fields={"family_case": True},
                applicant_fields={"preferred_name": "Vanya"},
            )
        except BaseException as problem:  # noqa: BLE001 - asserted below
            errors.append(problem)
        finally:
            connections.close_all()

    services.case_touch = slow_touch
    try:
        threads = [threading.Thread(target=add_note), threading.Thread(target=save_edit)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        services.case_touch = touch
    assert errors == []
    assert Note.objects.filter(case=case).count() == 1
    saved = Case.objects.get(pk=case.pk)
    assert saved.family_case and saved.version == version + 1
