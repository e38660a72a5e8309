"""A seized copy of a stopped installation (issue 16): the database, the files and the key
file together open no applicant of an organisation that has its key, through any code path
of the project or with `cryptography` alone; a member who signs in still reads everything.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases.models import Applicant
from casework.keystore import members, vault
from casework.keystore.models import DataKey
from casework.lib import datakeys
from crypto import DecryptionError, wrapped_key_format
from tests.conftest import MEMBER_PASSWORD, login_unlocked, person
from tests.factories import make_case

pytestmark = pytest.mark.django_db

PASSWORD = MEMBER_PASSWORD  # carol and casey (tests/conftest.py) sign in with it
CANARY = "ZEBRAFINCH CANARY SEVEN"


@pytest.fixture
def protected_case(carol, casey):
    """A case opened by a caseworker holding the key: the first coordinator's sign-in made
    it, and they granted it to the caseworker."""
    key = members.unlock(carol, PASSWORD)
    members.unlock(casey, PASSWORD)
    members.grant(granter=carol, unlocked=key, member=casey)
    with vault.holding(key), datakeys.dek_cache():
        return make_case(caseworker=casey, legal_name_latin=CANARY)


def case_page(client, case):
    return client.get(reverse("case_detail", args=[case.pk]))


# --- nobody signed in ------------------------------------------------------------------------


def test_no_code_path_of_the_project_opens_an_applicant(protected_case, tmp_path):
    applicant = Applicant.objects.get(pk=protected_case.applicant_id)
    with pytest.raises(DecryptionError):
        _ = applicant.legal_name_latin
    with datakeys.dek_cache(), pytest.raises(datakeys.OrganisationKeyMissing):
        datakeys.cipher_for(applicant.pk)
    with pytest.raises(CommandError, match="signed-in member"):
        call_command("export_applicant", str(applicant.pk), "--out", str(tmp_path / "x.zip"))
    assert not list(tmp_path.glob("x.zip*"))  # nothing half-written


def test_cryptography_and_every_key_of_the_key_file_open_nothing(protected_case):
    """The attacker's script: SECURITY.md's formats, `cryptography` alone, every key in the
    key file, against the data key and every encrypted value of the applicant."""
    keyfile = json.loads(settings.CASEWORK_KEYS_FILE.read_text())
    keys = [base64.b64decode(k) for k in keyfile["keks"].values()]
    keys.append(base64.b64decode(keyfile["index_key"]))
    row = DataKey.objects.get(subject_id=protected_case.applicant_id)
    wrapped = bytes(row.wrapped)
    assert wrapped_key_format(wrapped) == 2 and len(wrapped) == 94
    context = datakeys.wrap_context(row)
    # The KEK's layer opens (the key file holds the KEK) ...
    token = AESGCM(keys[0]).decrypt(wrapped[5:17], wrapped[17:], wrapped[:5] + context)
    assert len(token) == 61
    # ... and yields no data key: no key of the file opens the organisation's layer.
    hits = opened_by(keys, token, datakeys.organisation_context(row, 1))
    # Nor any value of the applicant, with any key of the file.
    applicant = Applicant.objects.get(pk=protected_case.applicant_id)
    field = Applicant._meta.get_field("legal_name_latin")
    value = bytes(applicant.__dict__[field.attname])  # the stored token, never decrypted
    hits += opened_by(keys, value, field.aad(applicant))
    assert hits == 0


def opened_by(keys: list[bytes], token: bytes, aad: bytes) -> int:
    """How many of ``keys`` open a crypto.aead token (SECURITY.md's layout) with ``aad``."""
    hits = 0
    for key in keys:
        try:
            AESGCM(key).decrypt(token[1:13], token[13:], token[:1] + aad)
            hits += 1
        except InvalidTag:
            pass
    return hits


def test_adding_a_person_needs_the_key_and_writes_nothing_without_it(protected_case, casey):
    before = Applicant.objects.count()
    with pytest.raises(datakeys.OrganisationKeyMissing):
        make_case(caseworker=casey, legal_name_latin="NOT ADDED")
    assert Applicant.objects.count() == before


# --- members ---------------------------------------------------------------------------------


def test_a_member_holding_the_key_reads_the_case(protected_case, casey):
    response = case_page(login_unlocked(Client(), casey, PASSWORD), protected_case)
    assert response.status_code == 200 and CANARY in response.content.decode()


def test_a_pending_member_gets_the_waiting_page_not_an_error(organisation, protected_case):
    cody = person(organisation, Role.COORDINATOR, "cody")  # sees every case; holds no key
    response = case_page(login_unlocked(Client(), cody, PASSWORD), protected_case)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Waiting for access to case content" in page and CANARY not in page
    assert not AuditEvent.objects.filter(action=Action.ALERT).exists()


def test_kek_rotation_needs_no_member(protected_case, casey):
    call_command("rotate_keys", "--new-kek")
    row = DataKey.objects.get(subject_id=protected_case.applicant_id)
    assert row.kek_version == 2 and wrapped_key_format(bytes(row.wrapped)) == 2
    response = case_page(login_unlocked(Client(), casey, PASSWORD), protected_case)
    assert CANARY in response.content.decode()


def test_data_keys_from_before_the_upgrade_are_layered_by_members_requests(carol, casey):
    case = make_case(caseworker=casey, legal_name_latin=CANARY)  # no organisation key yet
    row = DataKey.objects.get(subject_id=case.applicant_id)
    assert wrapped_key_format(bytes(row.wrapped)) == 1
    client = login_unlocked(Client(), carol, PASSWORD)  # the first coordinator: makes the key
    assert client.get(reverse("home")).status_code == 200
    row.refresh_from_db()
    assert wrapped_key_format(bytes(row.wrapped)) == 2 and row.organisation_key_version == 1
    with pytest.raises(DecryptionError):
        _ = Applicant.objects.get(pk=case.applicant_id).legal_name_latin
    assert CANARY in case_page(client, case).content.decode()


def test_erasure_needs_no_member(protected_case):
    call_command("erase_applicant", str(protected_case.applicant_id))
    assert DataKey.objects.get(subject_id=protected_case.applicant_id).wrapped is None


def test_a_data_key_that_does_not_open_is_left_and_the_others_are_layered(carol, casey):
    damaged_case = make_case(caseworker=casey, legal_name_latin=CANARY)  # before the key
    sound_case = make_case(caseworker=casey, legal_name_latin="SOUND")
    row = DataKey.objects.get(subject_id=damaged_case.applicant_id)
    damaged = bytearray(bytes(row.wrapped))
    damaged[-1] ^= 1
    DataKey.objects.filter(pk=row.pk).update(wrapped=bytes(damaged))
    client = login_unlocked(Client(), carol, PASSWORD)
    assert client.get(reverse("home")).status_code == 200
    row.refresh_from_db()
    assert bytes(row.wrapped) == bytes(damaged)  # left as it was
    sound = DataKey.objects.get(subject_id=sound_case.applicant_id)
    assert sound.organisation_key_version == 1


def test_layering_never_fails_the_members_page(carol, casey, monkeypatch):
    make_case(caseworker=casey, legal_name_latin=CANARY)  # before the key existed

    def unavailable(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(datakeys, "layer_legacy_keys", unavailable)
    client = login_unlocked(Client(), carol, PASSWORD)
    assert client.get(reverse("home")).status_code == 200  # the layering failed behind it
