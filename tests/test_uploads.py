"""Uploads never touch the disk as plaintext, and an oversize body is refused while it streams
(issue 12, finding 5).

Django's default handlers spool an upload over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to a
named file in the system temporary directory for the duration of the request, and the
form's size limit is only checked once the whole body has been read.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopFutureHandlers
from django.test import Client
from django.test.client import encode_multipart
from django.urls import reverse

from casework.cases import services
from casework.cases.models import Document
from casework.cases.services import case_assign, case_create
from casework.lib.uploads import MemoryOnlyUploadHandler, RefusedUpload
from tests.canaries import CANARIES
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

BOUNDARY = "CaseworkTestBoundary"
SAME_ORIGIN = {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"}
MB = 1024 * 1024


@pytest.fixture
def case(caseworker, coordinator):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "A B"})
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    return case


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """This test's own temporary directory, in place of the shared one."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def pdf_of(size: int, canary: str = CANARIES[0]) -> bytes:
    head = b"%PDF-1.7\n" + canary.encode() + b"\n"
    return head + b"0" * (size - len(head) - 6) + b"\n%%EOF"


def files_holding(directory: Path, needle: bytes) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes()]


class CountingInput(io.BytesIO):
    """A request body that counts what the server read of it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


def post_counted(client, case, fields: dict[str, object]) -> tuple[object, CountingInput, int]:
    body = encode_multipart(BOUNDARY, fields)
    counted = CountingInput(body)
    response = client.generic(
        "POST",
        reverse("document_upload", args=[case.pk]),
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": counted},
        **SAME_ORIGIN,
    )
    return response, counted, len(body)


def test_a_large_upload_never_touches_a_temporary_directory(
    client, caseworker, case, private_tmp, monkeypatch
):
    content = pdf_of(int(2.9 * MB))
    seen_during_request: list[Path] = []
    real_store = services.store_encrypted

    def store_and_look(content, **kwargs):
        # The moment the plaintext is in the application's hands, mid-request.
        seen_during_request.extend(private_tmp.rglob("*"))
        seen_during_request.extend(files_holding(private_tmp, CANARIES[0].encode()))
        return real_store(content, **kwargs)

    monkeypatch.setattr(services, "store_encrypted", store_and_look)
    login_verified(client, caseworker)

    response = client.post(
        reverse("document_upload", args=[case.pk]),
        {"file": SimpleUploadedFile("scan.pdf", content), "doc_type": "passport_intl"},
    )

    assert response.status_code == 302
    assert seen_during_request == []
    assert list(private_tmp.rglob("*")) == []
    assert services.document_read(actor=caseworker, document=case.documents.get()) == content


def test_a_body_far_over_the_limit_is_refused_before_it_is_all_read(
    client, caseworker, case, private_tmp
):
    login_verified(client, caseworker)
    fields = {"file": SimpleUploadedFile("big.pdf", pdf_of(30 * MB)), "doc_type": "passport_intl"}

    response, counted, size = post_counted(client, case, fields)

    assert response.status_code == 400
    assert "The file is too large; the limit is 25 MB." in response.content.decode()
    assert counted.bytes_read < 1 * MB < size
    assert not Document.objects.exists()
    assert list(private_tmp.rglob("*")) == []


def test_a_file_over_the_limit_is_refused_at_the_limit_while_it_streams(
    client, caseworker, case, private_tmp, settings
):
    # Content-Length says the body could hold an acceptable file; the file itself is larger.
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1 * MB
    login_verified(client, caseworker)
    fields = {
        "file": SimpleUploadedFile("big.pdf", pdf_of(MB + 1)),
        "doc_type": "passport_intl",
        "title": CANARIES[1],
    }

    response, counted, size = post_counted(client, case, fields)

    html = response.content.decode()
    assert response.status_code == 400
    assert "The file is too large; the limit is 1 MB." in html
    assert f'value="{CANARIES[1]}"' in html  # what came after the file is kept
    assert not Document.objects.exists()
    assert list(private_tmp.rglob("*")) == []


def test_a_file_of_exactly_the_limit_is_accepted(client, caseworker, case, settings):
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1 * MB
    login_verified(client, caseworker)
    content = pdf_of(MB)

    response = client.post(
        reverse("document_upload", args=[case.pk]),
        {"file": SimpleUploadedFile("scan.pdf", content), "doc_type": "passport_intl"},
    )

    assert response.status_code == 302
    assert services.document_read(actor=caseworker, document=case.documents.get()) == content


def test_the_csrf_token_before_the_file_is_still_read_when_the_body_is_refused(
    caseworker, case, private_tmp
):
    browser = login_verified(Client(enforce_csrf_checks=True), caseworker)
    browser.get(reverse("case_detail", args=[case.pk]))
    fields = {
        "csrfmiddlewaretoken": browser.cookies[django_settings.CSRF_COOKIE_NAME].value,
        "file": SimpleUploadedFile("big.pdf", pdf_of(30 * MB)),
        "doc_type": "passport_intl",
    }

    response, counted, _size = post_counted(browser, case, fields)

    assert response.status_code == 400  # the form's refusal, not a CSRF 403
    assert "The file is too large" in response.content.decode()
    assert counted.bytes_read < 1 * MB


def test_only_the_memory_handler_receives_uploads():
    assert django_settings.FILE_UPLOAD_HANDLERS == ["casework.lib.uploads.MemoryOnlyUploadHandler"]


def test_a_refused_upload_has_no_content_to_read():
    refused = RefusedUpload(name="big.pdf", content_type="application/pdf", size=30 * MB)
    with pytest.raises(RequestDataTooBig):
        refused.read()
    with pytest.raises(RequestDataTooBig):
        refused.open()


def test_the_handler_stops_nothing_under_the_limit(settings):
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1024
    handler = MemoryOnlyUploadHandler()
    handler.handle_raw_input(io.BytesIO(), {}, 2000, BOUNDARY)
    with pytest.raises(StopFutureHandlers):  # no other handler may see the file
        handler.new_file("file", "a.pdf", "application/pdf", None)
    handler.receive_data_chunk(b"x" * 1024, 0)
    upload = handler.file_complete(1024)
    assert upload.read() == b"x" * 1024 and upload.size == 1024


def test_the_handler_drops_a_file_as_soon_as_it_passes_the_limit(settings):
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1024
    handler = MemoryOnlyUploadHandler()
    handler.handle_raw_input(io.BytesIO(), {}, 1500, BOUNDARY)
    with pytest.raises(StopFutureHandlers):
        handler.new_file("file", "a.pdf", "application/pdf", None)
    handler.receive_data_chunk(b"x" * 1000, 0)
    handler.receive_data_chunk(b"x" * 100, 1000)
    assert handler.buffer is None  # nothing of it is held any more
    refused = handler.file_complete(1100)
    assert isinstance(refused, RefusedUpload) and refused.size == 1100
