"""Fail closed: no keys, no plaintext; errors say what happened without showing data."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from casework.lib.keys import key_file_path
from casework.lib.middleware import DataKeyCacheMiddleware
from crypto import DecryptionError, KeyStoreError
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def test_dev_creates_a_missing_key_file_and_says_so(organisation, caplog):
    assert not key_file_path().exists()
    make_applicant(organisation)
    assert key_file_path().exists()
    assert "created a development key file" in caplog.text


def test_prod_refuses_to_encrypt_without_a_key_file(organisation, settings):
    settings.PROD = True
    with pytest.raises(KeyStoreError, match="CASEWORK_KEYS_FILE"), transaction.atomic():
        make_applicant(organisation)
    from casework.cases.models import Applicant

    assert Applicant.objects.count() == 0


def test_a_missing_key_store_is_a_503_page(settings):
    settings.PROD = True
    middleware = DataKeyCacheMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(RequestFactory().get("/"), KeyStoreError("x"))
    assert response.status_code == 503
    assert b"cannot be read right now" in response.content


def test_a_decryption_failure_is_an_error_page_not_ciphertext():
    middleware = DataKeyCacheMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(RequestFactory().get("/"), DecryptionError())
    assert response.status_code == 500
    assert b"cannot be decrypted" in response.content


def test_error_reports_hide_post_data_and_local_variables(rf):
    # Built at run time, so the source lines quoted in the report do not contain them.
    posted, local = "CANARY" + "secretNAME", "CANARY" + "secretLOCAL"
    request = rf.post("/cases/new/", {"legal_name_latin": posted})

    def view_that_fails(name):
        raise ValueError("boom")

    try:
        view_that_fails(local)
    except ValueError as exc:
        reporter = ExceptionReporter(request, type(exc), exc, exc.__traceback__)
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    for report in (text, html):
        assert posted not in report
        assert local not in report


def test_a_decryption_failure_raises_an_alert_for_the_auditors(organisation, rf, caseworker):
    from django.db import connection

    from casework.audit.models import AuditEvent
    from casework.cases.models import Applicant

    applicant = make_applicant(organisation)
    column = Applicant._meta.get_field("legal_name_latin").column
    pk = Applicant._meta.pk.get_db_prep_value(applicant.pk, connection)
    with connection.cursor() as cursor:
        sql = f"UPDATE cases_applicant SET {column} = %s WHERE id = %s"  # noqa: S608
        cursor.execute(sql, [b"\x01" * 40, pk])
    request = rf.get("/")
    request.user = caseworker
    request.session = {}
    try:
        Applicant.objects.get(pk=applicant.pk).legal_name_latin  # noqa: B018
    except DecryptionError as failure:
        response = DataKeyCacheMiddleware(lambda r: HttpResponse()).process_exception(
            request, failure
        )
    assert response.status_code == 500
    alert = AuditEvent.objects.get(action="alert")
    assert alert.details["kind"] == "decryption_failed"
    assert alert.details["field"] == "cases.applicant.legal_name_latin"
    assert alert.details["record"] == str(applicant.pk)
    assert alert.organisation_id == organisation.pk
    assert "IVAN" not in str(alert.details)
