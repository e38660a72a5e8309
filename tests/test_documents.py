"""Documents: language, translation status, expiry, and verification by a second person."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from casework.audit.models import Action, AuditEvent
from casework.cases.models import Document
from casework.cases.services import case_assign, case_create
from tests.canaries import CANARIES
from tests.conftest import login_verified
from tests.test_cases import upload


@pytest.fixture
def case(caseworker, coordinator):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "A B"})
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    return case


@pytest.fixture
def document(client, caseworker, case):
    login_verified(client, caseworker)
    response = upload(
        client,
        case,
        title=CANARIES[3],
        language="ru",
        translation_status="needed",
        expires_at="2029-05-01",
    )
    assert response.status_code == 302
    return case.documents.get()


def edit_url(document):
    return reverse("document_edit", args=[document.case_id, document.pk])


def verify_url(document):
    return reverse("document_verify", args=[document.case_id, document.pk])


def test_an_upload_keeps_language_translation_status_and_expiry(document):
    assert document.language == "ru"
    assert document.translation_status == "needed"
    assert document.expires_at == datetime.date(2029, 5, 1)
    assert document.verification_status == "unverified"


def test_an_upload_without_a_translation_status_needs_no_translation(client, caseworker, case):
    login_verified(client, caseworker)
    assert upload(client, case).status_code == 302
    assert case.documents.get().translation_status == "not_needed"


def test_the_case_page_shows_translation_and_verification(client, document):
    html = client.get(reverse("case_detail", args=[document.case_id])).content.decode()
    assert "translation needed" in html and "not verified" in html
    assert "expires 2029-05-01" in html


def test_details_are_edited_and_audited_by_field_name(client, document):
    response = client.post(
        edit_url(document),
        {"title": CANARIES[4], "language": "de", "translation_status": "certified"},
    )
    assert response.status_code == 302
    document = Document.objects.get(pk=document.pk)
    assert (document.title, document.language) == (CANARIES[4], "de")
    assert document.translation_status == "certified" and document.expires_at is None
    entry = AuditEvent.objects.get(action=Action.DOCUMENT_UPDATED)
    assert entry.details["fields"] == ["expires_at", "language", "title", "translation_status"]
    assert CANARIES[4] not in str(entry.details)


def test_a_bad_date_re_renders_with_the_input(client, document):
    response = client.post(
        edit_url(document), {"title": "kept", "translation_status": "done?", "expires_at": "x"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="kept"' in html and "Give the date as year-month-day, e.g. 2027-03-31." in html
    assert Document.objects.get(pk=document.pk).title == CANARIES[3]


def test_whoever_uploaded_cannot_verify(client, document):
    response = client.post(
        verify_url(document),
        {"verification_status": "verified", "verification_method": "original_seen"},
    )
    assert response.status_code == 400
    assert "two-person rule" in response.content.decode()
    assert Document.objects.get(pk=document.pk).verification_status == "unverified"
    assert not AuditEvent.objects.filter(action=Action.DOCUMENT_VERIFIED).exists()


def test_a_second_person_verifies_and_it_is_recorded(client, document, coordinator):
    carol = login_verified(client.__class__(), coordinator)
    response = carol.post(
        verify_url(document),
        {"verification_status": "verified", "verification_method": "original_seen"},
    )
    assert response.status_code == 302
    document = Document.objects.get(pk=document.pk)
    assert document.verification_status == "verified"
    assert document.verification_method == "original_seen"
    assert document.verified_by == coordinator and document.verified_at is not None
    entry = AuditEvent.objects.get(action=Action.DOCUMENT_VERIFIED)
    assert entry.actor_id == coordinator.pk and entry.details["status"] == "verified"


def test_verifying_needs_the_method(client, document, coordinator):
    carol = login_verified(client.__class__(), coordinator)
    response = carol.post(verify_url(document), {"verification_status": "verified"})
    assert response.status_code == 400
    assert "Say how the document was checked." in response.content.decode()
    assert Document.objects.get(pk=document.pk).verification_status == "unverified"


def test_a_rejection_needs_no_method_and_shows_on_the_case(client, document, coordinator):
    carol = login_verified(client.__class__(), coordinator)
    assert carol.post(verify_url(document), {"verification_status": "rejected"}).status_code == 302
    html = carol.get(reverse("case_detail", args=[document.case_id])).content.decode()
    assert "<strong>rejected</strong>" in html


def test_the_document_page_is_a_read_of_the_title(client, document):
    before = AuditEvent.objects.count()
    response = client.get(edit_url(document))
    assert response.status_code == 200 and CANARIES[3] in response.content.decode()
    [entry] = AuditEvent.objects.filter(seq__gt=before)
    assert entry.action == Action.CASE_VIEWED and entry.details == {"page": "document"}


def test_a_document_of_another_case_is_404_under_this_one(client, document, coordinator):
    other = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "C D"})
    carol = login_verified(client.__class__(), coordinator)
    url = reverse("document_edit", args=[other.pk, document.pk])
    assert carol.get(url).status_code == 404
    assert carol.post(url, {"title": "x"}).status_code == 404
    assert Document.objects.get(pk=document.pk).title == CANARIES[3]
