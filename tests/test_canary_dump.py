"""Nothing that identifies an applicant is readable at rest (R29).

Five applicants carry a unique canary in every encrypted field and one stored file each; the
whole database is dumped (SQLite iterdump, PostgreSQL pg_dump) together with dumpdata and
every stored file, and no canary may appear in any encoding.
"""

from __future__ import annotations

import base64
import datetime
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from casework.cases.models import Applicant
from casework.lib.fields import EncryptedJSONField, encrypted_fields
from casework.lib.files import read_encrypted, store_encrypted
from tests.canaries import CANARIES, find_canaries

pytestmark = pytest.mark.django_db(transaction=True)


def seed_canaries(organisation) -> list[Applicant]:
    fields = [f for f in encrypted_fields(Applicant) if f.name != "date_of_birth"]
    applicants = []
    for number in range(5):
        values = {}
        for index, field in enumerate(fields):
            canary = CANARIES[(number * 3 + index) % len(CANARIES)]
            values[field.name] = (
                {"note": canary} if isinstance(field, EncryptedJSONField) else canary
            )
        applicant = Applicant(
            organisation=organisation, date_of_birth=datetime.date(1990, 1, 1), **values
        )
        applicant.save()
        name = store_encrypted(
            " ".join(CANARIES).encode("utf-8"),
            purpose="document",
            subject_id=applicant.pk,
            organisation_id=organisation.pk,
        )
        assert read_encrypted(
            name, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
        ).decode("utf-8") == " ".join(CANARIES)
        applicants.append(applicant)
    return applicants


def dump_database() -> bytes:
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump()).encode("utf-8")
    params = connection.get_connection_params()
    env = {**os.environ, "PGPASSWORD": str(params.get("password") or "")}
    command = [
        "pg_dump",
        "--no-owner",
        "-h",
        str(params.get("host") or "127.0.0.1"),
        "-p",
        str(params.get("port") or 5432),
        "-U",
        str(params.get("user") or "postgres"),
        str(params["dbname"]),
    ]
    return subprocess.run(command, env=env, check=True, capture_output=True).stdout


def stored_files() -> bytes:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_the_canary_helper_finds_a_planted_canary():
    assert find_canaries(b"xx" + CANARIES[12].encode("utf-16-le") + b"yy") == [CANARIES[12]]
    assert find_canaries(CANARIES[3].lower().encode().hex().encode()) == [CANARIES[3]]


def test_no_canary_in_the_database_dump_dumpdata_or_stored_files(organisation, capsys, caplog):
    caplog.set_level("DEBUG")
    applicants = seed_canaries(organisation)
    assert Applicant.objects.get(pk=applicants[0].pk).legal_name_cyrillic in CANARIES

    database = dump_database()
    assert b"cases_applicant" in database  # the dump really holds the table
    assert find_canaries(database) == []

    call_command("dumpdata")
    assert find_canaries(capsys.readouterr().out.encode("utf-8")) == []

    files = stored_files()
    assert len(files) > 0
    assert find_canaries(files) == []
    assert find_canaries(caplog.text.encode("utf-8")) == []


def test_stored_values_are_version_1_aes_gcm_tokens(organisation):
    """R30: decode the stored envelopes; every header is valid and carries a 16-byte tag."""
    seed_canaries(organisation)
    fields = encrypted_fields(Applicant)
    tokens = [
        value
        for row in Applicant.objects.values_list(*[f.name for f in fields])
        for value in row
        if value is not None
    ]
    assert len(tokens) >= 5 * len(fields)
    for token in tokens:
        assert token[0] == 1 and len(token) >= 1 + 12 + 16


def test_no_key_material_in_the_database_or_settings(organisation):
    """R33: neither a KEK nor the index key appears in a dump or in Django's settings."""
    from django.views.debug import get_default_exception_reporter_filter

    from casework.lib.keys import keyring

    seed_canaries(organisation)
    ring = keyring()
    keys = [ring._keks[v] for v in ring.versions] + [ring.index_key]
    forms = [form for key in keys for form in (key, key.hex().encode(), base64.b64encode(key))]
    database = dump_database()
    safe_settings = repr(get_default_exception_reporter_filter().get_safe_settings()).encode()
    for form in forms:
        assert form not in database
        assert form not in safe_settings
