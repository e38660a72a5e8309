"""Two application processes, one PostgreSQL database and one shared file store: what one
process does, the other sees (sessions, documents, letters), and the audit chain stays whole.

This is how an installation scales out (two gunicorn services behind one proxy, or a restart
of one while the other serves): nothing may live in one process's memory alone.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ops.servers import Browser, Instance, Server, installation, require_postgresql, serve

# A small valid PDF; the marker shows it is this upload that came back.
PDF = b"%PDF-1.4\n% two processes " + b"x" * 2000 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def instance(tmp_path_factory, pytestconfig) -> Iterator[Instance]:
    require_postgresql()
    with installation("two", tmp_path_factory, pytestconfig) as instance:
        yield instance


@pytest.fixture(scope="module")
def servers(instance) -> Iterator[tuple[Server, Server]]:
    with serve(instance, "a") as first, serve(instance, "b") as second:
        yield first, second


def draft_letter(instance: Instance) -> tuple[Any, Any]:
    """(case id, letter id) of the demo's draft letter, the one waiting for a coordinator."""
    [(case_id, letter_id)] = instance.database.query(
        "SELECT case_id, id FROM letters_letter WHERE status = 'draft'"
    )
    return case_id, letter_id


def test_two_processes_share_sessions_files_letters_and_one_audit_chain(instance, servers):
    first, second = servers
    assert first.url != second.url
    coordinator = instance.account("rainbow-coordinator")
    on_a = Browser(first.url)
    assert "Dashboard" in on_a.sign_in(coordinator).text
    on_b = on_a.at(second.url)

    # The session made by A is the session B knows: no second sign-in.
    dashboard = on_b.get("/")
    assert dashboard.status == 200, dashboard.status
    assert "Dashboard" in dashboard.text and coordinator.username in dashboard.text

    # A document uploaded through A is downloaded, byte for byte, through B.
    case_id, letter_id = draft_letter(instance)
    case_page = f"/cases/{case_id}/"
    uploaded = on_a.submit(
        case_page,
        f"/cases/{case_id}/documents/",
        {"doc_type": "passport_intl", "title": "", "language": "", "translation_status": ""},
        files={"file": ("passport.pdf", PDF)},
    )
    assert uploaded.status == 302, uploaded.text[:1000]
    [(document_id,)] = instance.database.query(
        "SELECT id FROM cases_document WHERE case_id = %s AND sha256 = %s",
        case_id,
        hashlib.sha256(PDF).hexdigest(),
    )
    download = on_b.get(f"/cases/{case_id}/documents/{document_id}/")
    assert download.status == 200 and download.body == PDF

    # A letter issued through B is downloaded through A, and verifies publicly on A.
    letter_page = f"/cases/{case_id}/letters/{letter_id}/"
    issued = on_b.submit(letter_page, f"{letter_page}issue/", {"accept_warnings": "yes"})
    assert issued.status == 302, issued.text[:1000]
    assert "The letter was issued, sealed and stored encrypted." in on_b.follow(issued).text
    [(status, reference, digest)] = instance.database.query(
        "SELECT status, reference, pdf_sha256 FROM letters_letter WHERE id = %s", letter_id
    )
    assert status == "issued" and reference
    pdf = on_a.get(f"{letter_page}pdf/")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.body).hexdigest() == digest
    verdict = Browser(first.url).get(f"/verify/{verification_code(pdf.body)}/")
    assert "VALID: this letter was issued" in verdict.text, verdict.text[:2000]
    assert hashlib.sha256(pdf.body).hexdigest() in verdict.text  # the file A gave out

    # Every entry both processes appended is in one unbroken chain.
    done = instance.manage("verify_audit")
    assert "Audit log intact" in done.stdout


def verification_code(pdf: bytes) -> str:
    """The 13 words printed on the letter (as tests/e2e reads them)."""
    from casework.letters import codes

    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    words = re.findall(r"[a-z]+", text)
    for start in range(len(words) - 12):
        code = codes.canonical(" ".join(words[start : start + 13]))
        if code is not None:
            return code
    raise AssertionError("no verification code in the letter's text")


def test_it_skips_without_postgresql(monkeypatch):
    """On SQLite the module says why it does not run, rather than failing."""
    monkeypatch.setenv("DATABASE_URL", "")
    with pytest.raises(pytest.skip.Exception, match="needs PostgreSQL"):
        require_postgresql()
