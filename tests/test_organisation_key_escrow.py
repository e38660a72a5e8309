"""Escrow of organisation keys (issue 16): the trustees' shares re-grant a named coordinator
when every member who held the key is gone; nothing on the server opens the escrowed copy.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.keystore import members
from casework.keystore.escrow import (
    EscrowError,
    KeyMaterial,
    deserialise,
    grant_from_escrow,
    read_share_file,
    recover,
    serialise,
)
from casework.keystore.models import KeyGrant, OrganisationKeyEscrow
from casework.lib.keys import key_file_path
from crypto import DecryptionError
from crypto.member_keys import open_sealed_secret
from tests.conftest import login_unlocked, person
from tests.test_member_access import PASSWORD
from tests.test_organisation_key_rotation import CANARY, open_cases

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_audit_key(settings, tmp_path):
    settings.CASEWORK_AUDIT_KEY_FILE = tmp_path / "absent" / "audit-signing.key"


@pytest.fixture
def pages(tmp_path, carol):
    """Five trustee pages, any three of which recover (escrow_keys' defaults)."""
    members.unlock(carol, PASSWORD)  # the organisation's key exists before the escrow
    directory = tmp_path / "escrow"
    call_command("escrow_keys", "--out", str(directory), stdout=io.StringIO())
    return [directory / f"trustee-{n}.txt" for n in range(1, 6)]


def grant_to(username, pages):
    stdout = io.StringIO()
    shares = [item for page in pages for item in ("--share", str(page))]
    call_command("recover_keys", *shares, "--grant-to", username, stdout=stdout)
    return stdout.getvalue()


def coverage():
    stdout = io.StringIO()
    call_command("escrow_keys", "--coverage", stdout=stdout)
    return stdout.getvalue()


def test_three_of_five_shares_restore_a_named_coordinators_access(carol, casey, pages):
    key = members.unlock(carol, PASSWORD)  # a key holder's sign-in seals it to the escrow
    members.unlock(casey, PASSWORD)
    members.grant(granter=carol, unlocked=key, member=casey)
    (case,) = open_cases(key, casey)
    # Every member who held the key is gone (both reset); the coordinator's new key pair
    # waits for a grant nobody can give.
    members.remove(carol, reason="reset")
    members.remove(casey, reason="reset")
    assert members.unlock(carol, PASSWORD) is None
    with pytest.raises(CommandError, match="needs 3"):
        grant_to("carol", pages[:2])
    assert members.unlock(carol, PASSWORD) is None
    said = grant_to("carol", [pages[0], pages[2], pages[4]])
    assert "carol holds version 1" in said
    client = login_unlocked(Client(), carol, PASSWORD)
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200 and CANARY in page.content.decode()
    entry = AuditEvent.objects.get(action=Action.ORGANISATION_KEY_RECOVERED)
    assert entry.target_id == str(carol.pk)
    assert entry.details == {"organisation_key_version": 1}


def test_no_key_of_the_server_opens_the_escrowed_organisation_key(carol, pages, settings):
    members.unlock(carol, PASSWORD)
    escrowed = OrganisationKeyEscrow.objects.get()
    document = json.loads(key_file_path().read_text())
    server_keys = [base64.b64decode(v) for v in (*document["keks"].values(), document["index_key"])]
    context = members.escrow_context(carol.organisation_id, 1, escrowed.escrow_key_id)
    opened = 0
    for candidate in server_keys:
        try:
            open_sealed_secret(candidate, bytes(escrowed.sealed), context)
            opened += 1
        except DecryptionError:
            pass
    assert opened == 0
    # The trustees' pages do open it: the escrow key lives there and nowhere else.
    material = recover([read_share_file(page) for page in pages[:3]])
    assert open_sealed_secret(material.organisation_escrow_key, bytes(escrowed.sealed), context)


def test_a_key_joins_a_new_escrow_at_a_holders_next_sign_in(carol, pages):
    with pytest.raises(CommandError, match="not in the newest escrow"):
        coverage()
    with pytest.raises(CommandError, match="does not hold version 1"):
        grant_to("carol", pages[:3])
    assert members.unlock(carol, PASSWORD) is not None
    assert "held by the newest escrow" in coverage()


def test_a_first_key_and_a_rotated_key_join_the_escrow_at_once(tmp_path, organisation, carol):
    call_command("escrow_keys", "--out", str(tmp_path / "escrow"), stdout=io.StringIO())
    first = members.unlock(carol, PASSWORD)  # the organisation's first key
    assert "Every organisation key is in the newest escrow" in coverage()
    members.rotate(coordinator=carol, unlocked=first)
    assert "version 2, held by the newest escrow" in coverage()
    members.remove(carol, reason="reset")
    members.unlock(carol, PASSWORD)
    pages = sorted((tmp_path / "escrow").glob("trustee-*.txt"))
    assert "carol holds version 2" in grant_to("carol", pages[1:4])
    assert members.unlock(carol, PASSWORD).version == 2


def test_only_an_active_coordinator_with_a_key_pair_is_granted(organisation, carol, casey, pages):
    members.unlock(carol, PASSWORD)
    with pytest.raises(CommandError, match="not an active coordinator"):
        grant_to("casey", pages[:3])
    with pytest.raises(CommandError, match="not an active coordinator"):
        grant_to("nobody", pages[:3])
    second = person(organisation, Role.COORDINATOR, "cora")  # never signed in: no key pair
    with pytest.raises(CommandError, match="cora has no key pair yet"):
        grant_to("cora", pages[:3])
    assert not KeyGrant.objects.filter(user__in=[casey, second]).exists()


def test_an_escrow_from_before_organisation_keys_is_read_and_holds_none(carol, pages):
    material = recover([read_share_file(page) for page in pages[:3]])
    document = json.loads(serialise(material))
    del document["organisation_escrow_key"]
    document["format"] = "casework-escrow/1"
    older = deserialise(json.dumps(document, separators=(",", ":")).encode())
    assert isinstance(older, KeyMaterial) and older.organisation_escrow_key is None
    assert older.ring.to_json() == material.ring.to_json()
    with pytest.raises(EscrowError, match="before organisation keys existed"):
        grant_from_escrow(older, "carol")
