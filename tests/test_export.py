"""Subject-access export (GDPR Art. 15, issue 14 part 4): one ZIP with everything held about
one person, AES-encrypted under a passphrase shown once, that opens with `7z`; it holds every
canary of that person and none of anyone else's; an unencrypted one only by an explicit,
audited choice; the download works for its maker alone, for an hour."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.audit.models import Action, AuditEvent
from casework.cases import services
from casework.cases.models import Applicant, Document, ExportFile
from casework.letters.models import Letter
from tests.conftest import login_verified, make_user
from tests.test_erasure import (
    CANARIES,
    build,
    issued_codes,  # noqa: F401  (a fixture build needs)
    storage_root,
)

pytestmark = pytest.mark.django_db

SEVEN_ZIP = shutil.which("7z") or "7z"  # a test package (scripts/check-system-packages test)
OTHER = "BYSTANDER-CANARY-IVANOVA"


@pytest.fixture
def world(coordinator, caseworker, issued_codes):  # noqa: F811
    return build(coordinator, caseworker, issued_codes)


@pytest.fixture
def bystander(caseworker):
    return services.case_create(
        actor=caseworker,
        applicant_fields={"legal_name_latin": OTHER, "health_notes": OTHER + "-health"},
    )


def make_export(client, case, **data):
    values = {"protection": "encrypted"} | data
    return client.post(reverse("case_export", args=[case.pk]), values)


def passphrase_of(page: str) -> str:
    return page.split('<code class="secret" id="passphrase">', 1)[1].split("</code>", 1)[0]


def download(client, case):
    stored = ExportFile.objects.filter(case=case).latest("created_at")
    return client.get(reverse("case_export_download", args=[case.pk, stored.pk]))


def unpack(archive: bytes, where: Path, passphrase: str | None) -> subprocess.CompletedProcess[str]:
    path = where / "export.zip"
    path.write_bytes(archive)
    command = [SEVEN_ZIP, "x", "-y", f"-o{where / 'out'}", str(path)]
    command.insert(2, f"-p{passphrase}" if passphrase is not None else "-p")
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def everything_in(folder: Path) -> str:
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in {".json", ".html"}:
            texts.append(path.read_text())
    return "\n".join(texts)


def test_the_encrypted_export_opens_with_7z_and_holds_the_person_and_nobody_else(
    world, bystander, tmp_path
):
    page = make_export(world.client, world.case)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")  # never_cache: not kept anywhere
    passphrase = passphrase_of(page.content.decode())
    assert len(passphrase.split("-")) == 12
    response = download(world.client, world.case)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{world.case.code}-export.zip"'
    )
    archive = response.content
    # Encrypted: nothing of the person is in the archive's bytes, and 7z says AES-256.
    assert not any(canary.encode() in archive for canary in CANARIES)
    (tmp_path / "listing.zip").write_bytes(archive)
    listing = subprocess.run(
        [SEVEN_ZIP, "l", "-slt", f"-p{passphrase}", str(tmp_path / "listing.zip")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Method = AES-256 Deflate" in listing.stdout
    # What the listing shows without the passphrase: numbers, no code, no kind of document.
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert world.case.code not in " ".join(names) and "passport" not in " ".join(names)

    assert unpack(archive, tmp_path, passphrase).returncode == 0
    folder = tmp_path / "out" / "export"
    text = everything_in(folder)
    for canary in CANARIES:
        assert canary in text, canary
    assert OTHER not in text
    data = json.loads((folder / "data.json").read_text())
    assert data["applicant"]["legal_name_latin"] == CANARIES[4]
    [case] = data["cases"]
    assert case["code"] == world.case.code and case["notes"][0]["text"] == CANARIES[0]
    # The documents, byte for byte, and the issued letter's sealed PDF.
    for document in Document.objects.filter(case=world.case):
        [entry] = [d for d in case["documents"] if d["id"] == str(document.pk)]
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == document.sha256
    letter = Letter.objects.get(pk=world.letter.pk)
    [entry] = [e for e in case["letters"] if e["id"] == str(letter.pk)]
    pdf = (folder / entry["file"]).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256
    # The audit entries about them, with who did it.
    entries = json.loads((folder / "audit.json").read_text())
    assert {"case_created", "document_uploaded", "letter_issued"} <= {e["action"] for e in entries}
    assert {e["case"] for e in entries} == {world.case.code}  # nothing of the bystander's case
    assert bystander.code not in (folder / "audit.json").read_text()
    summary = (folder / "summary.html").read_text()
    assert f"Case {world.case.code}" in summary and "Who did what with your information" in summary


def test_a_wrong_passphrase_opens_nothing(world, tmp_path):
    make_export(world.client, world.case)
    result = unpack(download(world.client, world.case).content, tmp_path, "wrong-words")
    assert result.returncode != 0
    assert not any(
        canary in path.read_text(errors="ignore")
        for path in (tmp_path / "out").rglob("*")
        if path.is_file()
        for canary in CANARIES
    )


def test_the_export_is_audited_without_anything_of_the_person(world):
    page = make_export(world.client, world.case).content.decode()
    entry = AuditEvent.objects.filter(action=Action.EXPORT).get()
    assert entry.target_id == str(world.applicant_id) and entry.case_id == world.case.pk
    assert entry.details["encrypted"] is True
    assert entry.details["documents"] == 2 and entry.details["letters"] == 1
    assert passphrase_of(page) not in json.dumps(entry.details)
    assert not any(canary in json.dumps(entry.details) for canary in CANARIES)
    download(world.client, world.case)
    assert AuditEvent.objects.filter(action=Action.EXPORT_DOWNLOADED).count() == 1


def test_an_unencrypted_export_needs_the_explicit_choice_and_says_so_in_the_audit(world):
    refused = make_export(world.client, world.case, protection="unencrypted")
    assert refused.status_code == 400
    assert "Tick this to make an unencrypted copy" in refused.content.decode()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
    assert not ExportFile.objects.exists()

    page = make_export(world.client, world.case, protection="unencrypted", understood="on")
    assert page.status_code == 200
    assert 'id="passphrase"' not in page.content.decode()
    archive = zipfile.ZipFile(io.BytesIO(download(world.client, world.case).content))
    assert CANARIES[0] in archive.read("export/data.json").decode()
    entry = AuditEvent.objects.filter(action=Action.EXPORT).get()
    assert entry.details["encrypted"] is False


def test_the_download_is_for_its_maker_alone_and_for_an_hour(world, coordinator):
    make_export(world.client, world.case)
    stored = ExportFile.objects.get()
    other = make_user(organisation=coordinator.organisation, role=coordinator.roles[0])
    assert download(login_verified(Client(), other), world.case).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()
    # The stored copy is encrypted too (under the person's data key).
    stored_bytes = (storage_root() / stored.storage_name).read_bytes()
    assert not any(canary.encode() in stored_bytes for canary in CANARIES)

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        client = login_verified(Client(), coordinator)
        late = download(client, world.case)
    assert late.status_code == 410
    assert "This export has expired" in late.content.decode()
    assert not ExportFile.objects.exists()
    assert not (storage_root() / stored.storage_name).exists()


def test_only_a_coordinator_with_a_fresh_second_factor_exports(world, caseworker):
    assert make_export(login_verified(Client(), caseworker), world.case).status_code == 404
    session = world.client.session
    session["otp_verified_at"] = time.time() - 3600
    session.save()
    stale = world.client.get(reverse("case_export", args=[world.case.pk]))
    assert stale.status_code == 302 and stale["Location"].startswith(reverse("reauth"))
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_the_summary_is_in_the_applicants_language(world, tmp_path):
    Applicant.objects.filter(pk=world.applicant_id).update(languages=["hy", "ru", "en"])
    make_export(world.client, world.case, protection="unencrypted", understood="on")
    archive = zipfile.ZipFile(io.BytesIO(download(world.client, world.case).content))
    summary = archive.read("export/summary.html").decode()
    assert '<html lang="ru">' in summary
    assert "Всё, что мы о вас храним" in summary
    assert "Everything we hold about you" not in summary


def test_an_erasure_deletes_an_export_waiting_for_download(
    world, django_capture_on_commit_callbacks
):
    make_export(world.client, world.case)
    stored = ExportFile.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.applicant_erase(applicant_id=world.applicant_id)
    assert not ExportFile.objects.exists()
    assert not (storage_root() / stored.storage_name).exists()
    assert download_status(world) == 410


def download_status(world) -> int:
    url = reverse("case_export", args=[world.case.pk])
    return world.client.get(url).status_code


# --- the command -----------------------------------------------------------------------------


def test_the_command_writes_the_encrypted_zip_and_prints_the_passphrase_once(
    world, coordinator, tmp_path
):
    out = io.StringIO()
    target = tmp_path / "export.zip"
    call_command(
        "export_applicant",
        str(world.applicant_id),
        "--out",
        str(target),
        "--actor",
        coordinator.username,
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    asked = next(number for number, line in enumerate(lines) if line.startswith("Passphrase"))
    passphrase = lines[asked + 1]
    assert len(passphrase.split("-")) == 12
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "export.zip.partial").exists()
    assert unpack(target.read_bytes(), tmp_path, passphrase).returncode == 0
    assert CANARIES[1] in everything_in(tmp_path / "out")
    entry = AuditEvent.objects.filter(action=Action.EXPORT).get()
    assert entry.actor_id == coordinator.pk and entry.details["via"] == "command"


def test_the_command_refuses_in_one_line_and_leaves_nothing(world, tmp_path):
    existing = tmp_path / "taken.zip"
    existing.write_bytes(b"mine")
    with pytest.raises(CommandError, match="exists already"):
        call_command("export_applicant", str(world.applicant_id), "--out", str(existing))
    assert existing.read_bytes() == b"mine"
    with pytest.raises(CommandError, match="could not write"):
        call_command(
            "export_applicant", str(world.applicant_id), "--out", str(tmp_path / "no" / "x.zip")
        )
    services.applicant_erase(applicant_id=world.applicant_id)
    with pytest.raises(CommandError, match="was erased: nothing to export"):
        call_command("export_applicant", str(world.applicant_id), "--out", str(tmp_path / "e.zip"))
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "e.zip").exists()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
