"""Rotating an organisation key (issue 16) after a suspected compromise: a removed member's
kept copy of the old key opens nothing once the data keys have moved; members who hold the
key go on reading, through the rotation and after it; the move is resumable, batch by batch.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.keystore import members, vault
from casework.keystore.models import DataKey, KeyGrant, MemberKey, OrganisationKey
from casework.lib import datakeys
from casework.lib.keys import keyring
from crypto import DecryptionError, decrypt
from crypto.member_keys import open_sealed_secret, unlock_private_key
from tests.conftest import login_unlocked, person
from tests.factories import make_case
from tests.test_member_access import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

CANARY = "KINGFISHER CANARY NINE"


@pytest.fixture
def first_key(carol, casey):
    """Version 1, made by the coordinator's sign-in and granted to the caseworker."""
    key = members.unlock(carol, PASSWORD)
    members.unlock(casey, PASSWORD)
    members.grant(granter=carol, unlocked=key, member=casey)
    return key


def open_cases(key, caseworker, count=1, name=CANARY):
    with vault.holding(key), datakeys.dek_cache():
        return [make_case(caseworker=caseworker, legal_name_latin=name) for _ in range(count)]


def data_keys_opened_by(secret: bytes) -> int:
    """The attacker's move: with the key file and an organisation key, how many applicant
    data keys of the database open (under whichever version each says it is)."""
    opened = 0
    for row in DataKey.objects.filter(subject_type=DataKey.SubjectType.APPLICANT):
        token = keyring().unwrap_layered(bytes(row.wrapped), datakeys.wrap_context(row))
        for version in range(1, 4):
            try:
                decrypt(secret, token, datakeys.organisation_context(row, version))
            except DecryptionError:
                continue
            opened += 1
    return opened


def kept_copy(user) -> bytes:
    """What a member who saved a copy of the database (their key pair and grant) and knows
    their own password opens: the organisation key of that moment."""
    grant = KeyGrant.objects.select_related("organisation_key").get(user=user)
    locked = bytes(MemberKey.objects.get(user=user).locked_private_key)
    private = unlock_private_key(locked, PASSWORD.encode(), members.lock_context(user.pk))
    version = grant.organisation_key.version
    context = members.grant_context(user.organisation_id, version, user.pk)
    return open_sealed_secret(private, bytes(grant.sealed), context)


def test_a_removed_members_kept_copy_opens_nothing_after_rotation(carol, casey, first_key):
    open_cases(first_key, casey, count=3)
    old = kept_copy(casey)
    assert data_keys_opened_by(old) == 3  # the attack works before the rotation
    members.remove(casey, reason="deactivated")
    new = members.rotate(coordinator=carol, unlocked=first_key)
    with vault.holding(new):
        datakeys.layer_legacy_keys(new, datakeys.LAYER_BATCH)
    assert data_keys_opened_by(old) == 0
    assert data_keys_opened_by(new.secret) == 3
    applicants = DataKey.objects.filter(subject_type=DataKey.SubjectType.APPLICANT)
    assert set(applicants.values_list("organisation_key_version", flat=True)) == {2}


def test_rotation_gives_the_new_key_to_every_holder_and_no_one_else(
    organisation, carol, casey, first_key
):
    waiting = person(organisation, Role.CASEWORKER, "wendy")
    members.unlock(waiting, PASSWORD)  # a key pair, no grant: pending
    auditor = person(organisation, Role.AUDITOR, "aubrey")
    new = members.rotate(coordinator=carol, unlocked=first_key)
    assert new.version == 2 and new.secret != first_key.secret
    holders = KeyGrant.objects.filter(organisation_key__version=2).values_list(
        "user__username", flat=True
    )
    assert sorted(holders) == ["carol", "casey"]
    assert not KeyGrant.objects.filter(organisation_key__version=1).exists()
    assert members.unlock(casey, PASSWORD) == new
    assert members.unlock(waiting, PASSWORD) is None
    assert members.unlock(auditor, PASSWORD) is None
    entry = AuditEvent.objects.get(action=Action.ORGANISATION_KEY_ROTATED)
    assert entry.details == {"organisation_key_version": 2, "holders": 2}


def test_a_session_holding_an_older_version_cannot_rotate(carol, first_key):
    members.rotate(coordinator=carol, unlocked=first_key)
    with pytest.raises(members.GrantRefused):
        members.rotate(coordinator=carol, unlocked=first_key)
    assert OrganisationKey.objects.filter(organisation=carol.organisation).count() == 2


def test_members_read_data_keys_not_yet_moved_through_two_rotations(carol, casey, first_key):
    (case,) = open_cases(first_key, casey)
    second = members.rotate(coordinator=carol, unlocked=first_key)
    third = members.rotate(coordinator=carol, unlocked=second)
    assert DataKey.objects.get(subject_id=case.applicant_id).organisation_key_version == 1
    client = login_unlocked(Client(), casey, PASSWORD)  # holds version 3 alone
    assert members.current_key(casey.organisation_id).version == third.version == 3
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200 and CANARY in page.content.decode()
    assert DataKey.objects.get(subject_id=case.applicant_id).organisation_key_version == 3


def test_the_move_is_resumable_batch_by_batch(carol, casey, first_key, monkeypatch):
    open_cases(first_key, casey, count=5)
    members.rotate(coordinator=carol, unlocked=first_key)
    monkeypatch.setattr(datakeys, "LAYER_BATCH", 2)
    client = login_unlocked(Client(), carol, PASSWORD)
    progress = []
    for _ in range(3):
        client.get(reverse("home"))
        progress.append(members.key_progress(carol.organisation_id))
    assert progress == [(2, 5), (4, 5), (5, 5)]


def test_rotating_from_the_page_signs_everyone_else_out(organisation, carol, casey, first_key):
    (case,) = open_cases(first_key, casey)
    casey_client = sign_in(casey)
    carol_client = sign_in(carol)
    confirm = carol_client.get(reverse("rotate_organisation_key"))
    assert confirm.status_code == 200
    assert "sign everyone else out" in confirm.content.decode()
    assert OrganisationKey.objects.filter(organisation=organisation).count() == 1  # GET: none
    done = carol_client.post(reverse("rotate_organisation_key"))
    assert done.status_code == 302 and done["Location"] == reverse("content_access")
    assert members.current_key(organisation.pk).version == 2
    # The caseworker's session is over; signed in again, they hold the new key and read.
    assert casey_client.get(reverse("home")).status_code == 302
    casey_client = sign_in(casey)
    page = casey_client.get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200 and CANARY in page.content.decode()
    # The coordinator's own session goes on with the new key and shows the move.
    access = carol_client.get(reverse("content_access"))
    assert "Version 2" in access.content.decode()
    assert DataKey.objects.get(subject_id=case.applicant_id).organisation_key_version == 2


def test_caseworkers_cannot_rotate(casey, first_key):
    client = sign_in(casey)
    assert client.get(reverse("rotate_organisation_key")).status_code == 404
    assert client.post(reverse("rotate_organisation_key")).status_code == 404
    assert members.current_key(casey.organisation_id).version == 1
