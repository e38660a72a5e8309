"""Stored files on an S3-compatible object store: moto's server on a free port of 127.0.0.1,
a fresh bucket per test, and the storage casework/settings.py builds from CASEWORK_S3_*.

What the store gets is ciphertext under random names, private; the application reads it back
and serves it decrypted itself; erasure deletes it (and goes on when the store is out of
reach); a backup carries the objects and restores them into an empty bucket; a bad
configuration stops start-up with one line that holds no credential.
"""

from __future__ import annotations

import hashlib
import os
import re
import runpy
import secrets
import socket
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from moto.server import ThreadedMotoServer

from casework.cases import export as exports
from casework.cases.models import Applicant, Document, ErasureCause
from casework.cases.services import (
    applicant_erase,
    case_assign,
    case_create,
    document_upload,
)
from casework.cases.uploads import Kind
from casework.keystore.models import DataKey
from casework.letters.rendering import renderer
from casework.lib import files
from casework.lib.files import read_encrypted, store_encrypted
from casework.lib.reporting import RedactingExceptionReporterFilter
from crypto import TOKEN_VERSION
from tests.canaries import CANARIES, find_canaries
from tests.conftest import login_verified
from tests.factories import make_applicant
from tests.test_cases import PDF, upload
from tests.test_erasure import erase_in_ui
from tests.test_letters import NAME, issue, pdf_of, request_letter
from tests.test_letters import make_case as make_letter_case

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "casework-test-access"
SECRET = f"casework-test-secret-{secrets.token_hex(8)}"  # never in a message or a log line
OBJECT_NAME = re.compile(r"(document|letter|export)/[0-9a-f]{32}\.enc")


# --- the store: moto's server, a bucket, the settings that point at it ------------------------


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    server._server.server_close()


@pytest.fixture(scope="module", autouse=True)
def _letter_renderer_stopped():
    """The letter renderer's worker ends with this module, not at the interpreter's exit."""
    yield
    renderer().stop()


@pytest.fixture(autouse=True)
def _no_shared_aws_configuration(monkeypatch, tmp_path):
    """Nothing of this machine's own AWS configuration (files, profiles, endpoints) is read."""
    for name in [name for name in os.environ if name.startswith(("AWS_", "CASEWORK_S3_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def s3_environment(tmp_path: Path, endpoint: str, bucket: str) -> dict[str, str]:
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text(SECRET + "\n")
    return {
        "CASEWORK_DATA_DIR": str(tmp_path / "settings-data"),
        "CASEWORK_STORAGE": "s3",
        "CASEWORK_S3_BUCKET": bucket,
        "CASEWORK_S3_ENDPOINT_URL": endpoint,
        "CASEWORK_S3_REGION": "eu-central-1",
        "CASEWORK_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "CASEWORK_S3_SECRET_ACCESS_KEY_FILE": str(secret_file),
    }


def read_settings(monkeypatch, environment: dict[str, str]) -> dict[str, Any]:
    """casework/settings.py run afresh under ``environment`` (settings are read at import)."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "casework" / "settings.py"))


class Bucket:
    options: dict[str, Any]  # the storage's OPTIONS as the settings build them

    def __init__(self, endpoint: str, name: str) -> None:
        self.name = name
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="eu-central-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET,
        )
        self.client.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )

    def names(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return sorted(entry["Key"] for entry in listed)

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=name)["Body"].read()

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=name, Body=data)


def use_store(settings, options: dict[str, Any]) -> None:
    """Make ``options`` the default storage (the settings change resets Django's cached one)."""
    close_store_connections()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }


def close_store_connections() -> None:
    wrapped = default_storage._wrapped
    connection = getattr(getattr(wrapped, "_connections", None), "connection", None)
    if connection is not None:
        connection.meta.client.close()


@pytest.fixture
def bucket(endpoint, settings, monkeypatch, tmp_path):
    """A fresh bucket, and the storage the settings build for it as the default storage."""
    store = Bucket(endpoint, f"casework-{uuid.uuid4().hex[:16]}")
    configured = read_settings(monkeypatch, s3_environment(tmp_path, endpoint, store.name))
    store.options = configured["STORAGES"]["default"]["OPTIONS"]
    use_store(settings, store.options)
    yield store
    close_store_connections()
    store.client.close()


def unreachable(options: dict[str, Any]) -> dict[str, Any]:
    """The same store on a port nobody listens on, asked once (no retries)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    once = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return {
        **options,
        "endpoint_url": f"http://127.0.0.1:{port}",
        "client_config": options["client_config"].merge(once),
    }


@pytest.fixture
def case(caseworker, coordinator):
    case = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "A B"})
    case_assign(actor=coordinator, case=case, caseworkers=[caseworker])
    return case


# --- documents ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_lands_in_the_bucket_as_ciphertext_and_the_app_serves_it_decrypted(
    client, caseworker, case, bucket
):
    login_verified(client, caseworker)
    assert upload(client, case, title=CANARIES[3]).status_code == 302
    document = case.documents.get()
    assert bucket.names() == [document.storage_name]
    assert OBJECT_NAME.fullmatch(document.storage_name)
    stored = bucket.read(document.storage_name)
    assert stored[0] == TOKEN_VERSION
    assert find_canaries(stored) == [] and b"%PDF" not in stored
    response = client.get(reverse("document_download", args=[case.pk, document.pk]))
    assert response.status_code == 200 and response.content == PDF
    assert "Location" not in response.headers


@pytest.mark.django_db
def test_the_store_learns_nothing_but_the_name_and_the_size(organisation, bucket):
    applicant = make_applicant(organisation)
    name = store_encrypted(
        b"a passport scan",
        purpose="document",
        subject_id=applicant.pk,
        organisation_id=organisation.pk,
    )
    head = bucket.client.head_object(Bucket=bucket.name, Key=name)
    assert head["ContentType"] == "application/octet-stream"
    assert head["Metadata"] == {}
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)  # the owner
    # No address that opens the object is ever made: url() would not even sign one.
    address = default_storage.url(name)
    for signed in ("Signature", "X-Amz-", ACCESS_KEY):
        assert signed not in address


@pytest.mark.django_db
def test_an_existing_object_is_never_overwritten(organisation, bucket, monkeypatch):
    applicant = make_applicant(organisation)
    taken = "0" * 32
    bucket.put(f"document/{taken}.enc", b"someone else's file")
    monkeypatch.setattr(files.secrets, "token_hex", lambda size: taken)
    with pytest.raises(FileExistsError):
        store_encrypted(
            b"new content",
            purpose="document",
            subject_id=applicant.pk,
            organisation_id=organisation.pk,
        )
    assert bucket.names() == [f"document/{taken}.enc"]
    assert bucket.read(f"document/{taken}.enc") == b"someone else's file"


@pytest.mark.django_db
def test_a_file_larger_than_a_part_goes_up_in_parts_and_reads_back(organisation, bucket):
    applicant = make_applicant(organisation)
    content = secrets.token_bytes(9 * 1024 * 1024)  # boto3 uploads from 8 MiB on in parts
    name = store_encrypted(
        content, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
    )
    assert len(bucket.read(name)) == len(content) + 29  # version, nonce and tag
    read = read_encrypted(
        name, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
    )
    assert read == content


# --- letters, exports, erasure --------------------------------------------------------------


def issued_letter(client, coordinator, caseworker):
    """A case with a passport scan and a letter issued by the coordinator signed in."""
    case, attempt = make_letter_case(coordinator, caseworker)
    letter = request_letter(login_verified(Client(), caseworker), case, attempt)
    login_verified(client, coordinator)
    assert issue(client, letter).status_code == 302
    letter.refresh_from_db()
    assert letter.status == "issued"
    return case, letter


@pytest.mark.django_db
def test_an_issued_letter_is_stored_in_the_bucket_and_reads_back(
    client, coordinator, caseworker, bucket
):
    case, letter = issued_letter(client, coordinator, caseworker)
    passport = case.documents.get()
    assert bucket.names() == sorted([passport.storage_name, letter.pdf_storage_name])
    stored = bucket.read(letter.pdf_storage_name)
    assert b"%PDF" not in stored and NAME.encode() not in stored
    pdf = pdf_of(client, letter)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256


@pytest.mark.django_db
def test_an_export_is_built_from_the_bucket_kept_there_and_swept(
    client, coordinator, caseworker, bucket
):
    case, letter = issued_letter(client, coordinator, caseworker)
    made = exports.export_applicant(applicant_id=case.applicant_id, actor=coordinator, encrypt=True)
    assert (made.documents, made.letters) == (1, 1)  # both read back from the bucket
    kept = exports.keep_for_download(
        export=made, applicant=case.applicant, case=case, actor=coordinator
    )
    assert OBJECT_NAME.fullmatch(kept.storage_name) and kept.storage_name in bucket.names()
    assert exports.read_for_download(kept) == made.content
    assert exports.sweep(now=kept.expires_at) == 1
    assert kept.storage_name not in bucket.names()


@pytest.mark.django_db
def test_erasing_the_applicant_deletes_their_objects_and_no_one_elses(
    client, coordinator, caseworker, bucket, django_capture_on_commit_callbacks
):
    case, _letter = issued_letter(client, coordinator, caseworker)
    other = case_create(actor=coordinator, applicant_fields={"legal_name_latin": "C D"})
    kept = document_upload(
        actor=coordinator,
        case=other,
        content=PDF,
        kind=Kind("application/pdf", "pdf"),
        doc_type="passport_intl",
        title=None,
    )
    assert len(bucket.names()) == 3
    assert erase_in_ui(client, case, django_capture_on_commit_callbacks).status_code == 302
    assert bucket.names() == [kept.storage_name]


@pytest.mark.django_db
def test_an_erasure_goes_on_with_the_store_out_of_reach_and_erasing_again_deletes(
    client, coordinator, caseworker, bucket, settings, caplog, django_capture_on_commit_callbacks
):
    case, _letter = issued_letter(client, coordinator, caseworker)
    theirs = bucket.names()
    use_store(settings, unreachable(bucket.options))
    assert erase_in_ui(client, case, django_capture_on_commit_callbacks).status_code == 302
    assert Applicant.objects.get(pk=case.applicant_id).erased_at is not None
    assert DataKey.objects.get(pk=case.applicant_id).wrapped is None
    assert bucket.names() == theirs  # unreadable without the destroyed key, but there
    assert "erase again" in caplog.text and SECRET not in caplog.text
    use_store(settings, bucket.options)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_applicant", str(case.applicant_id))
    assert bucket.names() == []


# --- backups --------------------------------------------------------------------------------


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    """A data directory of the test's own: the backup's staging goes there."""
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    settings.DATA_DIR = folder
    return folder


@pytest.fixture
def stored_document(bucket, caseworker) -> Document:
    case = case_create(actor=caseworker, applicant_fields={"legal_name_latin": CANARIES[0]})
    return document_upload(
        actor=caseworker,
        case=case,
        content=PDF,
        kind=Kind("application/pdf", "pdf"),
        doc_type="passport_intl",
        title=None,
    )


def archived_files(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:") as tar:
        return {
            info.name: tar.extractfile(info).read()
            for info in tar.getmembers()
            if info.name.startswith("files/")
        }


@pytest.mark.django_db(transaction=True)
def test_a_backup_carries_the_objects_and_restores_them_into_an_empty_bucket(
    data_dir, stored_document, bucket, endpoint, settings, tmp_path
):
    name = stored_document.storage_name
    archive = tmp_path / "casework.tar"
    call_command("backup", out=str(archive), verbosity=0)
    assert archived_files(archive) == {f"files/{name}": bucket.read(name)}
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []  # no staging
    call_command("flush", interactive=False, verbosity=0)
    empty = Bucket(endpoint, f"casework-{uuid.uuid4().hex[:16]}")
    use_store(settings, {**bucket.options, "bucket_name": empty.name})
    call_command("restore", str(archive), verbosity=0)
    assert empty.names() == [name] and empty.read(name) == bucket.read(name)
    document = Document.objects.get(pk=stored_document.pk)
    content = read_encrypted(
        name,
        purpose="document",
        subject_id=document.applicant_id,
        organisation_id=document.organisation_id,
    )
    assert content == PDF
    empty.client.close()


@pytest.mark.django_db(transaction=True)
def test_a_backup_made_after_an_erasure_restores_without_the_erased_files(
    data_dir, stored_document, caseworker, bucket, endpoint, settings, tmp_path
):
    case = case_create(actor=caseworker, applicant_fields={"legal_name_latin": CANARIES[1]})
    erased = document_upload(
        actor=caseworker,
        case=case,
        content=PDF,
        kind=Kind("application/pdf", "pdf"),
        doc_type="passport_intl",
        title=None,
    )
    applicant_erase(applicant_id=erased.applicant_id, cause=ErasureCause.REQUEST)
    assert bucket.names() == [stored_document.storage_name]
    archive = tmp_path / "casework.tar"
    call_command("backup", out=str(archive), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    empty = Bucket(endpoint, f"casework-{uuid.uuid4().hex[:16]}")
    use_store(settings, {**bucket.options, "bucket_name": empty.name})
    call_command("restore", str(archive), verbosity=0)
    assert empty.names() == [stored_document.storage_name]
    assert Applicant.objects.get(pk=erased.applicant_id).erased_at is not None
    empty.client.close()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_restore_into_a_bucket_that_is_not_empty(
    data_dir, stored_document, bucket, tmp_path
):
    archive = tmp_path / "casework.tar"
    call_command("backup", out=str(archive), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), verbosity=0)
    assert str(refused.value) == "refused: the bucket (CASEWORK_S3_BUCKET) is not empty"
    assert not Document.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_backup_with_the_store_out_of_reach_stops_with_one_line_and_leaves_nothing(
    data_dir, stored_document, bucket, settings, tmp_path
):
    use_store(settings, unreachable(bucket.options))
    archive = tmp_path / "casework.tar"
    with pytest.raises(CommandError) as failed:
        call_command("backup", out=str(archive), verbosity=0)
    message = str(failed.value)
    assert "\n" not in message and "the object store failed" in message
    assert SECRET not in message and ACCESS_KEY not in message
    assert list(tmp_path.glob("casework.tar*")) == []
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


# --- configuration --------------------------------------------------------------------------


def test_the_settings_build_a_private_store_from_the_environment(monkeypatch, tmp_path):
    environment = s3_environment(tmp_path, "https://s3.example.org", "casework-files")
    options = read_settings(monkeypatch, environment)["STORAGES"]["default"]["OPTIONS"]
    assert options["bucket_name"] == "casework-files"
    assert options["endpoint_url"] == "https://s3.example.org"
    assert (options["access_key"], options["secret_key"]) == (ACCESS_KEY, SECRET)
    assert options["default_acl"] is None and options["querystring_auth"] is False
    assert options["file_overwrite"] is False


def test_without_a_storage_setting_files_stay_in_the_data_directory(monkeypatch, tmp_path):
    configured = read_settings(monkeypatch, {"CASEWORK_DATA_DIR": str(tmp_path / "data")})
    assert configured["STORAGES"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path / "data" / "files"},
    }


def test_an_unknown_storage_stops_start_up_with_one_line(tmp_path):
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CASEWORK_S3_"))},
        "CASEWORK_DATA_DIR": str(tmp_path / "data"),
        "CASEWORK_STORAGE": "ftp",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "Configuration error: CASEWORK_STORAGE must be one of: local, s3 (got 'ftp').\n"
    )


PRODUCTION = {
    "CASEWORK_ENV": "prod",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "casework.example.org",
    "CASEWORK_KEYS_FILE": "/nonexistent/keys.json",
    "CASEWORK_AUDIT_KEY_FILE": "/nonexistent/audit-signing.key",
    "CASEWORK_SEAL_DIR": "/nonexistent/seals",
    "CASEWORK_VERIFY_BASE_URL": "https://verify.example.org",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CASEWORK_S3_BUCKET": None}, "CASEWORK_S3_BUCKET must be set."),
        ({"CASEWORK_S3_BUCKET": "Casework_Files"}, "CASEWORK_S3_BUCKET must be a bucket name"),
        (
            {"CASEWORK_S3_ENDPOINT_URL": f"https://{ACCESS_KEY}:{SECRET}@s3.example.org"},
            "CASEWORK_S3_ENDPOINT_URL must be an https://host[:port] address, with no credentials",
        ),
        ({"CASEWORK_S3_ENDPOINT_URL": "s3.example.org"}, "CASEWORK_S3_ENDPOINT_URL must be"),
        ({"CASEWORK_S3_ENDPOINT_URL": "https://s3.example.org:99999"}, "CASEWORK_S3_ENDPOINT"),
        ({"CASEWORK_S3_ENDPOINT_URL": "https://[::1/"}, "CASEWORK_S3_ENDPOINT_URL must be"),
        (
            {"CASEWORK_S3_ENDPOINT_URL": f"https://s3.example.org/?key={SECRET}"},
            "CASEWORK_S3_ENDPOINT_URL must be",
        ),
        (
            {"CASEWORK_S3_ENDPOINT_URL": "http://s3.example.org", **PRODUCTION},
            "CASEWORK_S3_ENDPOINT_URL must be https:// in production",
        ),
        ({"CASEWORK_S3_ACCESS_KEY_ID": None}, "CASEWORK_S3_ACCESS_KEY_ID must be set."),
        (
            {"CASEWORK_S3_SECRET_ACCESS_KEY_FILE": None},
            "CASEWORK_S3_SECRET_ACCESS_KEY must be set.",
        ),
        (
            {"CASEWORK_S3_SECRET_ACCESS_KEY_FILE": "/nonexistent/s3-secret"},
            "CASEWORK_S3_SECRET_ACCESS_KEY_FILE cannot be read",
        ),
        ({"CASEWORK_S3_ACCESS_KEY_ID": ""}, "CASEWORK_S3_ACCESS_KEY_ID and CASEWORK_S3_SECRET"),
        ({"CASEWORK_S3_ADDRESSING_STYLE": "auto"}, "CASEWORK_S3_ADDRESSING_STYLE must be one of"),
    ],
)
def test_a_misconfigured_store_stops_start_up_with_one_line_and_no_credential(
    monkeypatch, tmp_path, changes, expected
):
    environment = s3_environment(tmp_path, "https://s3.example.org", "casework-files")
    for name, value in changes.items():
        if value is None:
            environment.pop(name)
        else:
            environment[name] = value
    with pytest.raises(ImproperlyConfigured) as refused:
        read_settings(monkeypatch, environment)
    message = str(refused.value)
    assert message.startswith(expected)
    assert "\n" not in message and SECRET not in message


def test_production_takes_http_only_for_a_store_on_this_host(monkeypatch, tmp_path):
    environment = {
        **s3_environment(tmp_path, "http://127.0.0.1:9000", "casework-files"),
        **PRODUCTION,
    }
    options = read_settings(monkeypatch, environment)["STORAGES"]["default"]["OPTIONS"]
    assert options["endpoint_url"] == "http://127.0.0.1:9000"


def test_error_reports_hide_the_store_credentials(bucket):
    safe = RedactingExceptionReporterFilter().get_safe_settings()
    options = safe["STORAGES"]["default"]["OPTIONS"]
    assert options["secret_key"] == RedactingExceptionReporterFilter.cleansed_substitute
    assert SECRET not in str(safe)
