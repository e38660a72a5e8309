"""Faults an installation meets, and how the application fails: safely, saying so, and coming
back by itself once the fault is gone.

The first three run the application as an operator does (gunicorn, PostgreSQL, a data
directory of its own; tests/ops/servers.py) and break what is under it while it serves: the
database, the key file, the letter renderer. The fourth, a full disk, is checked through the
upload view alone; it runs on SQLite too, as does the 503 page's own check.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from tests.ops.servers import (
    Browser,
    Instance,
    Response,
    Server,
    children_of,
    command_line,
    installation,
    kill,
    require_postgresql,
    serve,
    wait_until_up,
)

PDF = b"%PDF-1.4\n% faults " + b"x" * 2000 + b"\n%%EOF\n"
# On the page of the demo's third sample case, in plaintext: decrypted for the page only.
PLAINTEXT = "PETROV ALEKSANDR"
# What a traceback or an exception's message would show.
LEAKS = ("Traceback", 'File "/', "OperationalError", "psycopg", "KeyStoreError", "keys.json")


@pytest.fixture(scope="module")
def instance(tmp_path_factory, pytestconfig) -> Iterator[Instance]:
    require_postgresql()
    with installation("faults", tmp_path_factory, pytestconfig) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(instance) -> Iterator[Server]:
    with serve(instance, "faults") as server:
        yield server


@pytest.fixture(scope="module")
def sample(instance) -> tuple[Any, Any]:
    """(case id, letter id): the demo's third sample case, whose English letter waits for a
    coordinator as a draft (read before any test here issues it)."""
    [(case_id, letter_id)] = instance.database.query(
        "SELECT case_id, id FROM letters_letter WHERE status = 'draft'"
    )
    return case_id, letter_id


def assert_refusal_page(response: Response, status: int, *sentences: str) -> None:
    assert response.status == status, (response.status, response.text[:2000])
    for sentence in sentences:
        assert sentence in response.text, response.text[:2000]
    for leak in (*LEAKS, PLAINTEXT):
        assert leak not in response.text


def stored_files(instance: Instance) -> set[Path]:
    return {path for path in (instance.data_dir / "files").rglob("*") if path.is_file()}


def count(instance: Instance, table: str, where: str = "TRUE", *params: Any) -> int:
    sql = f"SELECT count(*) FROM {table} WHERE {where}"  # noqa: S608  # the tests' own words
    [(number,)] = instance.database.query(sql, *params)
    return int(number)


# --- 1. PostgreSQL restarts while the application serves ----------------------------------------


def test_a_database_restart_answers_503_and_the_same_session_recovers_without_a_restart(
    instance, server, sample
):
    browser = Browser(server.url)
    browser.sign_in(instance.account("rainbow-coordinator"))
    case_page = f"/cases/{sample[0]}/"
    assert PLAINTEXT in browser.get(case_page).text
    workers = sorted(server.worker_pids())

    # Restarted between two requests: the cut connections are noticed and replaced.
    assert instance.database.terminate_backends() >= 1
    assert browser.get(case_page).status == 200

    # Restarting: every connection cut, new ones refused while it lasts.
    with instance.database.down():
        for _attempt in range(4):  # both workers, whichever thread answers
            refused = browser.get(case_page)
            assert_refusal_page(refused, 503, "Temporarily unavailable", "database")
            assert refused.headers.get("retry-after", "").isdigit()
            assert "no-store" in refused.headers["cache-control"]
        assert_refusal_page(browser.get("/"), 503, "Temporarily unavailable")
        browser.language = "ru"
        assert_refusal_page(browser.get(case_page), 503, "Временно недоступно", 'lang="ru"')
        browser.language = "en"
        assert Browser(server.url).get("/healthz").status == 503

    # Back: the same session works at once, served by the same processes.
    assert PLAINTEXT in browser.get(case_page).text
    assert browser.get("/").status == 200
    assert sorted(server.worker_pids()) == workers


def test_a_database_error_met_by_a_middleware_is_the_503_page_on_any_engine(
    client, caseworker, monkeypatch
):
    """The same page without a server to cut: the session cannot be read, so the failure
    comes from a middleware, before any view (a view's own failure takes the same path)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    from tests.conftest import login_verified

    login_verified(client, caseworker)
    client.raise_request_exception = False

    def refused(store: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "load", refused)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "no-store" in response.headers["Cache-Control"]
    html = response.content.decode()
    assert "Временно недоступно" in html and 'lang="ru"' in html
    assert "connection refused" not in html and "OperationalError" not in html


# --- 2. the key file cannot be read -------------------------------------------------------------

# Root reads a file of mode 000, so as root the file is made group-readable instead: a mode
# the key loader refuses. Either way the running application notices at once (it re-reads
# the key ring when the file's mode, size or times change) and the read fails.
UNREADABLE = 0o000 if os.geteuid() != 0 else 0o640


def test_an_unreadable_key_file_refuses_pages_and_saves_nothing_until_it_is_readable(
    instance, server, sample
):
    keys = instance.data_dir / "keys.json"
    browser = Browser(server.url)
    browser.sign_in(instance.account("rainbow-caseworker"))
    case_id = sample[0]
    case_page = f"/cases/{case_id}/"
    token = browser.get(case_page).csrf_token()  # the page was open before the fault
    documents, notes, files = (
        count(instance, "cases_document"),
        count(instance, "cases_note"),
        stored_files(instance),
    )

    keys.chmod(UNREADABLE)
    try:
        assert_refusal_page(
            browser.get(case_page), 503, "Temporarily unavailable", "encryption keys"
        )
        upload = browser.post(
            f"{case_page}documents/",
            {"csrfmiddlewaretoken": token, "doc_type": "passport_intl"},
            files={"file": ("passport.pdf", PDF)},
        )
        assert_refusal_page(upload, 503, "encryption keys", "Nothing was changed")
        note = browser.post(
            f"{case_page}notes/", {"csrfmiddlewaretoken": token, "text": "Written in the dark"}
        )
        assert_refusal_page(note, 503, "encryption keys")
    finally:
        keys.chmod(0o600)

    # Nothing was stored, encrypted or otherwise.
    assert count(instance, "cases_document") == documents
    assert count(instance, "cases_note") == notes
    assert stored_files(instance) == files
    # Readable again: the same running processes serve and save.
    assert PLAINTEXT in browser.get(case_page).text
    upload = browser.submit(
        case_page,
        f"{case_page}documents/",
        {"doc_type": "passport_intl"},
        files={"file": ("passport.pdf", PDF)},
    )
    assert upload.status == 302, upload.text[:2000]
    assert count(instance, "cases_document") == documents + 1


def test_a_key_file_removed_while_running_refuses_case_pages_until_it_is_back(
    instance, server, sample
):
    """In production a missing key file is refused (503: tests/test_key_failures.py). This
    instance runs in development, which creates a missing key file with new keys: the old
    records then fail to decrypt and are refused as such (500, an alert to the auditors)."""
    keys = instance.data_dir / "keys.json"
    away = keys.with_name("keys.json.away")
    browser = Browser(server.url)
    browser.sign_in(instance.account("rainbow-caseworker"))
    case_page = f"/cases/{sample[0]}/"
    token = browser.get(case_page).csrf_token()
    documents, files = count(instance, "cases_document"), stored_files(instance)

    keys.rename(away)
    try:
        refused = browser.get(case_page)
        assert_refusal_page(refused, 500, "This record cannot be decrypted")
        upload = browser.post(
            f"{case_page}documents/",
            {"csrfmiddlewaretoken": token, "doc_type": "passport_intl"},
            files={"file": ("passport.pdf", PDF)},
        )
        assert_refusal_page(upload, 500, "This record cannot be decrypted")
    finally:
        away.replace(keys)

    assert count(instance, "cases_document") == documents
    assert stored_files(instance) == files
    assert PLAINTEXT in browser.get(case_page).text


# --- 3. the letter renderer dies while a letter is issued ---------------------------------------


def renderer_of(server: Server, *, seconds: float = 60) -> tuple[int, int]:
    """(gunicorn worker, its rendering worker) once a letter is being rendered."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for worker in server.worker_pids():
            for child in children_of(worker):
                if "casework.letters.worker" in command_line(child):
                    return worker, child
        time.sleep(0.02)
    raise AssertionError("no letter was being rendered")


def renderers(server: Server) -> list[int]:
    return [
        child
        for worker in server.worker_pids()
        for child in children_of(worker)
        if "casework.letters.worker" in command_line(child)
    ]


def gone(pid: int, *, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):  # dead, waiting for whoever adopted it to collect it
            return True
        time.sleep(0.1)
    return False


def issue_in_background(
    browser: Browser, letter_page: str, token: str
) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def issue() -> None:
        try:
            outcome["response"] = browser.post(
                f"{letter_page}issue/", {"csrfmiddlewaretoken": token, "accept_warnings": "yes"}
            )
        except OSError as problem:  # the connection dropped with the worker
            outcome["error"] = problem

    thread = threading.Thread(target=issue)
    thread.start()
    return thread, outcome


LETTERS_ISSUED = ("audit_auditevent", "action = 'letter_issued'")


def test_a_letter_whose_renderer_or_worker_dies_mid_issue_stays_a_draft_and_issues_next(
    instance, server, sample
):
    browser = Browser(server.url)
    browser.sign_in(instance.account("rainbow-coordinator"))
    case_id, letter_id = sample
    letter_page = f"/cases/{case_id}/letters/{letter_id}/"
    assert renderers(server) == []  # no letter was rendered by this server yet
    year = time.gmtime().tm_year

    def last_reference_number() -> int:
        [(last,)] = instance.database.query(
            "SELECT s.last FROM letters_lettersequence s JOIN letters_letter l"
            " ON l.organisation_id = s.organisation_id WHERE l.id = %s AND s.year = %s",
            letter_id,
            year,
        )
        return int(last)

    last, issued_entries = last_reference_number(), count(instance, *LETTERS_ISSUED)
    files = stored_files(instance)

    def assert_still_a_draft() -> None:
        [(status, reference, stored)] = instance.database.query(
            "SELECT status, reference, pdf_storage_name FROM letters_letter WHERE id = %s",
            letter_id,
        )
        assert (status, reference, stored) == ("draft", "", "")
        assert last_reference_number() == last  # the number taken was given back
        assert count(instance, *LETTERS_ISSUED) == issued_entries
        assert stored_files(instance) == files

    # The rendering worker is killed (out of memory, an operator's kill -9) mid-render.
    thread, outcome = issue_in_background(
        browser, letter_page, browser.get(letter_page).csrf_token()
    )
    _worker, rendering = renderer_of(server)
    kill(rendering)
    thread.join(60)
    assert outcome["response"].status == 302
    refusal = browser.follow(outcome["response"]).text
    assert "The letter is too large or too complex to render; shorten it." in refusal
    assert_still_a_draft()

    # The gunicorn worker itself is killed while its letter renders, its transaction open
    # and the reference number taken: gunicorn starts another, PostgreSQL rolls back.
    thread, outcome = issue_in_background(
        browser, letter_page, browser.get(letter_page).csrf_token()
    )
    worker, rendering = renderer_of(server)
    kill(worker)
    thread.join(60)
    assert "error" in outcome, outcome  # the person sees the connection fail, nothing else
    wait_until_up(server, workers=2)
    assert worker not in server.worker_pids()
    assert_still_a_draft()

    # The next issue of the same letter, in the same session, works and takes the next number.
    issued = browser.submit(letter_page, f"{letter_page}issue/", {"accept_warnings": "yes"})
    assert issued.status == 302, issued.text[:2000]
    assert "The letter was issued, sealed and stored encrypted." in browser.follow(issued).text
    [(status, reference)] = instance.database.query(
        "SELECT status, reference FROM letters_letter WHERE id = %s", letter_id
    )
    assert (status, reference) == ("issued", f"LTR-{year}-{last + 1:06d}")
    assert count(instance, *LETTERS_ISSUED) == issued_entries + 1
    assert len(stored_files(instance) - files) == 1
    # Every entry of the three attempts is in one unbroken chain.
    assert "Audit log intact" in instance.manage("verify_audit").stdout
    assert gone(rendering), "the killed worker's rendering worker is still running"


# --- 4. the disk is full ------------------------------------------------------------------------


@pytest.fixture
def full_disk_case(db, caseworker, client):
    from tests.conftest import login_verified
    from tests.factories import make_case

    login_verified(client, caseworker)
    return make_case(caseworker=caseworker)


def disk_full(path: str = "") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def files_under(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [path for path in root.rglob("*") if path.is_file()]


def upload_on_a_full_disk(client, case) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    fields = {
        "file": SimpleUploadedFile("passport.pdf", PDF),
        "doc_type": "passport_intl",
        "title": "Passport, first page",
        "language": "ru",
        "expires_at": "2031-05-01",
    }
    return client.post(reverse("document_upload", args=[case.pk]), fields)


def assert_nothing_recorded(case, settings) -> None:
    from casework.audit.models import Action, AuditEvent

    assert not case.documents.exists()
    assert not AuditEvent.objects.filter(action=Action.DOCUMENT_UPLOADED).exists()
    assert files_under(settings) == []


def test_a_full_disk_refuses_the_upload_on_its_form_and_records_nothing(
    client, full_disk_case, settings, monkeypatch
):
    def full(storage, name, content):
        raise disk_full(name)

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    response = upload_on_a_full_disk(client, full_disk_case)
    assert response.status_code == 503
    html = response.content.decode()
    assert "The file could not be stored" in html
    # The form comes back with what was typed (a file field cannot be filled in again).
    assert 'value="Passport, first page"' in html and 'value="2031-05-01"' in html
    assert "Traceback" not in html and "No space left" not in html
    assert_nothing_recorded(full_disk_case, settings)


def test_a_disk_that_fills_mid_write_leaves_no_partial_file(
    client, full_disk_case, settings, monkeypatch
):
    save = FileSystemStorage._save

    class HalfWritten:
        """The first half reaches the disk, then the disk is full (as write(2) says)."""

        def __init__(self, content: Any) -> None:
            self.content = content

        def chunks(self) -> Iterator[bytes]:
            data = self.content.read()
            yield data[: len(data) // 2]
            raise disk_full()

    monkeypatch.setattr(
        FileSystemStorage,
        "_save",
        lambda storage, name, content: save(storage, name, HalfWritten(content)),
    )
    response = upload_on_a_full_disk(client, full_disk_case)
    assert response.status_code == 503
    assert "The file could not be stored" in response.content.decode()
    assert_nothing_recorded(full_disk_case, settings)
