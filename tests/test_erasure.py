"""Erasure (R36, R62): after it nothing of that person can be decrypted, even by someone
holding the KEK and an old copy of the ciphertexts; their files are gone, nobody holds a
grant on their cases, their letters say "revoked" on the public page, and every page of
their cases answers calmly that the data was erased.

The attacker comes first: someone with the key file and a copy of every ciphertext and file
taken just before the erasure."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.cases import services
from casework.cases import urls as case_urls
from casework.cases.access import visible_cases
from casework.cases.models import (
    Applicant,
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Consent,
    Deadline,
    Document,
)
from casework.keystore.models import DataKey
from casework.letters import codes
from casework.letters.models import Letter
from casework.lib import datakeys
from casework.lib.fields import EncryptedModel, encrypted_fields, search
from casework.lib.files import read_encrypted, store_encrypted
from casework.lib.keys import keyring
from crypto import DecryptionError, decrypt
from tests.conftest import login_verified, make_user
from tests.factories import make_applicant
from tests.test_cases import upload
from tests.test_letters import facts, issue, request_letter
from tests.test_letters import make_case as make_letter_case

pytestmark = pytest.mark.django_db

NOTE = "erasure-canary-note: met at the safe flat"
NARRATIVE = "erasure-canary-narrative: detained twice"
REASON = "erasure-canary-reason: documents complete"
TITLE = "erasure-canary-title"
PERSON = ("ŽEMAITYTĖ ŠARŪNĖ", "Шарунэ Жемайтите", "TEST-000777", "lesbian-canary-orientation")
CANARIES = (NOTE, NARRATIVE, REASON, TITLE, *PERSON)


# --- the world: one person with everything a case can hold ------------------------------------


@pytest.fixture
def issued_codes(monkeypatch):
    seen: list[str] = []
    real = codes.new_code

    def observed() -> str:
        seen.append(real())
        return seen[-1]

    monkeypatch.setattr(codes, "new_code", observed)
    return seen


def build(coordinator, caseworker, issued_codes):
    """A case with a document, notes, a narrative, a status reason, a consent, a deadline,
    an issued letter, a draft, a grant to a group; and the coordinator signed in."""
    case, attempt = make_letter_case(coordinator, caseworker)
    services.note_add(actor=caseworker, case=case, text=NOTE)
    services.narrative_append(actor=caseworker, case=case, text=NARRATIVE)
    services.case_transition(
        actor=coordinator, case=case, target="documents", facts=facts(), reason=REASON
    )
    services.deadline_add(actor=coordinator, case=case, kind="check_in", due_on="2030-01-01")
    team, _created = Group.objects.get_or_create(name="erasure-test-team")
    assign_perm("cases.view_case", team, case)
    worker = login_verified(Client(), caseworker)
    assert upload(worker, case, title=TITLE).status_code == 302
    letter = request_letter(worker, case, attempt)
    coordinator_client = login_verified(Client(), coordinator)
    assert issue(coordinator_client, letter).status_code == 302
    draft = request_letter(worker, case, attempt)
    return SimpleNamespace(
        case=Case.objects.get(pk=case.pk),
        applicant_id=case.applicant_id,
        attempt=attempt,
        letter=Letter.objects.get(pk=letter.pk),
        draft=draft,
        code=issued_codes[-1],
        client=coordinator_client,
    )


@pytest.fixture
def world(coordinator, caseworker, issued_codes):
    return build(coordinator, caseworker, issued_codes)


@pytest.fixture
def bystander(caseworker):
    """Someone else's case in the same organisation: erasure must not touch it."""
    case = services.case_create(
        actor=caseworker, applicant_fields={"legal_name_latin": "MARIA IVANOVA"}
    )
    assert upload(login_verified(Client(), caseworker), case).status_code == 302
    return case


def erase_url(case):
    return reverse("case_erase", args=[case.pk])


def erase_in_ui(client, case, capture):
    with capture(execute=True):
        return client.post(erase_url(case), {"code": case.code})


def applicant_models() -> list[type[EncryptedModel]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and model.DATA_SUBJECT_TYPE == "applicant"
    ]


def ciphertexts(applicant_id):
    """Every token stored under this person's key: (model, pk, field, token, aad)."""
    found = []
    for model in applicant_models():
        for obj in model.objects.filter(**{model.DATA_SUBJECT_ATTR: applicant_id}):
            for field in encrypted_fields(model):
                token = obj.__dict__.get(field.attname)
                if token is not None:
                    found.append((model, obj.pk, field, bytes(token), field.aad(obj)))
    return found


def storage_root() -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def stored_files(applicant_id) -> list[str]:
    names = list(Document.objects.filter(applicant_id=applicant_id).values_list("storage_name"))
    names += Letter.objects.filter(applicant_id=applicant_id).values_list("pdf_storage_name")
    return [name for (name,) in names if name]


def keys_in_the_key_file() -> list[bytes]:
    """Every KEK and the index key, read from the key file as a thief of it would."""
    ring = json.loads(Path(settings.CASEWORK_KEYS_FILE).read_text())
    return [base64.b64decode(key) for key in [*ring["keks"].values(), ring["index_key"]]]


def every_dek_an_attacker_can_unwrap() -> list[bytes]:
    ring = keyring()
    deks = []
    for key in DataKey.objects.filter(wrapped__isnull=False):
        deks.append(ring.unwrap(bytes(key.wrapped), datakeys.wrap_context(key)))
    return deks


# --- the attacker ----------------------------------------------------------------------------


def test_after_erasure_no_former_ciphertext_decrypts_even_with_the_kek(
    world, bystander, django_capture_on_commit_callbacks
):
    before = ciphertexts(world.applicant_id)
    covered = {model._meta.label_lower for model, *_rest in before}
    assert {
        "cases.applicant",
        "cases.case",
        "cases.casestatuschange",
        "cases.note",
        "cases.document",
        "letters.letter",
    } <= covered
    files = {
        name: (storage_root() / name).read_bytes() for name in stored_files(world.applicant_id)
    }
    assert len(files) == 3  # two documents and the sealed letter

    assert (
        erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks).status_code == 302
    )

    # Gone from the database: every column that held one of their tokens is NULL now.
    for model, pk, field, _token, _aad in before:
        assert model.objects.filter(pk=pk).values_list(field.attname, flat=True).get() is None
    assert ciphertexts(world.applicant_id) == []
    # The data key is destroyed; nothing wrapped is left to unwrap for them.
    assert DataKey.objects.get(pk=world.applicant_id).wrapped is None
    with pytest.raises(datakeys.SubjectErased):
        datakeys.cipher_for(world.applicant_id)
    # The old copies: no key the attacker holds or can unwrap opens any of them.
    candidates = every_dek_an_attacker_can_unwrap() + keys_in_the_key_file()
    assert candidates  # the bystander's key is still there, and useless here
    for _model, _pk, _field, token, aad in before:
        for key in candidates:
            with pytest.raises(DecryptionError):
                decrypt(key, token, aad)
    organisation = world.case.organisation_id
    for name, token in files.items():
        assert not (storage_root() / name).exists()
        purpose = name.split("/")[0]
        aad = f"file:{name}:{purpose}:subject:{world.applicant_id}:org:{organisation}".encode()
        for key in candidates:
            with pytest.raises(DecryptionError):
                decrypt(key, token, aad)


def test_erasure_makes_every_field_and_file_unreadable_even_with_the_kek(organisation):
    applicant = make_applicant(organisation, health_notes="HIV+")
    name = store_encrypted(
        b"passport scan",
        purpose="document",
        subject_id=applicant.pk,
        organisation_id=organisation.pk,
    )

    call_command("erase_applicant", str(applicant.pk))

    # The row left behind is a tombstone.
    tombstone = Applicant.objects.get(pk=applicant.pk)
    assert tombstone.is_erased
    assert all(getattr(tombstone, f.name) is None for f in encrypted_fields(Applicant))
    assert tombstone.legal_name_latin_bidx is None and tombstone.birth_year is None
    key_row = DataKey.objects.get(pk=applicant.pk)
    assert key_row.wrapped is None and key_row.destroyed_at is not None

    # An attacker with the KEK and the old ciphertexts: the DEK is gone, nothing unwraps.
    with pytest.raises(datakeys.SubjectErased):
        datakeys.cipher_for(applicant.pk)
    with pytest.raises(DecryptionError):
        read_encrypted(
            name, purpose="document", subject_id=applicant.pk, organisation_id=organisation.pk
        )


def test_a_backup_from_before_the_erasure_stops_working_once_the_old_kek_is_retired(
    organisation,
):
    """SECURITY.md: backups keep old wrapped DEKs; rotating and retiring the KEK ends that."""
    applicant = make_applicant(organisation)
    column_token = bytes(Applicant.objects.get(pk=applicant.pk).__dict__["legal_name_latin"])
    backup_row = DataKey.objects.get(pk=applicant.pk)  # as an old backup holds it
    aad = Applicant._meta.get_field("legal_name_latin").aad(applicant)
    call_command("erase_applicant", str(applicant.pk))

    # Restored from the old backup, with today's key file, the data is still readable...
    old_dek = keyring().unwrap(bytes(backup_row.wrapped), datakeys.wrap_context(backup_row))
    assert decrypt(old_dek, column_token, aad) == b"IVAN PETROV"

    # ...until the KEK it was wrapped under is rotated away and retired.
    call_command("rotate_keys", "--new-kek", "--retire", "1")
    with pytest.raises(DecryptionError):
        keyring().unwrap(bytes(backup_row.wrapped), datakeys.wrap_context(backup_row))


def test_no_grant_on_their_cases_remains(world, caseworker, django_capture_on_commit_callbacks):
    case = world.case
    assert CaseUserObjectPermission.objects.filter(content_object=case).exists()
    assert CaseGroupObjectPermission.objects.filter(content_object=case).exists()
    erase_in_ui(world.client, case, django_capture_on_commit_callbacks)
    assert CaseUserObjectPermission.objects.filter(content_object=case).count() == 0
    assert CaseGroupObjectPermission.objects.filter(content_object=case).count() == 0
    generic = {"object_pk": str(case.pk)}
    assert not UserObjectPermission.objects.filter(**generic).exists()
    assert not GroupObjectPermission.objects.filter(**generic).exists()
    assert case not in visible_cases(caseworker)
    out = io.StringIO()
    call_command("clean_orphan_obj_perms", stdout=out)
    assert out.getvalue().startswith("Removed 0 object permission")


def test_their_stored_files_are_gone_and_the_bystanders_are_kept(
    world, bystander, django_capture_on_commit_callbacks
):
    theirs = stored_files(world.applicant_id)
    kept = stored_files(bystander.applicant_id)
    assert theirs and kept
    assert all((storage_root() / name).exists() for name in theirs + kept)
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    assert not any((storage_root() / name).exists() for name in theirs)
    assert all((storage_root() / name).exists() for name in kept)
    assert Applicant.objects.get(pk=bystander.applicant_id).legal_name_latin == "MARIA IVANOVA"


def test_a_file_a_failed_deletion_left_goes_when_erasing_again(
    world, monkeypatch, caplog, capsys, django_capture_on_commit_callbacks
):
    names = stored_files(world.applicant_id)
    real = services.default_storage

    class ReadOnlyDisk:
        def exists(self, name):
            return real.exists(name)

        def delete(self, name):
            raise OSError("read-only file system")

    monkeypatch.setattr(services, "default_storage", ReadOnlyDisk())
    assert (
        erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks).status_code == 302
    )
    assert all((storage_root() / name).exists() for name in names)  # unreadable, but there
    assert "erase again" in caplog.text
    for canary in CANARIES:
        assert canary not in caplog.text
    monkeypatch.setattr(services, "default_storage", real)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_applicant", str(world.applicant_id))
    assert "already erased; swept again" in capsys.readouterr().out
    assert not any((storage_root() / name).exists() for name in names)
    assert AuditEvent.objects.filter(action=Action.ERASURE).count() == 2


def test_what_else_could_single_them_out_is_cleared(world, django_capture_on_commit_callbacks):
    Applicant.objects.filter(pk=world.applicant_id).update(
        passport_expiry="2031-05-01", legal_stay_until="2030-02-01", languages=["ru", "hy"]
    )
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    tombstone = Applicant.objects.get(pk=world.applicant_id)
    assert (tombstone.birth_year, tombstone.current_country) == (None, "")
    assert (tombstone.passport_expiry, tombstone.legal_stay_until, tombstone.languages) == (
        None,
        None,
        [],
    )
    assert not Deadline.objects.filter(case=world.case).exists()  # they held their dates
    assert set(
        Consent.objects.filter(applicant_id=world.applicant_id).values_list(
            "counterparty", flat=True
        )
    ) <= {""}
    assert set(
        Document.objects.filter(applicant_id=world.applicant_id).values_list("sha256", flat=True)
    ) == {""}
    assert set(
        Letter.objects.filter(applicant_id=world.applicant_id).values_list(
            "passport_digest", flat=True
        )
    ) == {""}


# --- afterwards: calm pages, revoked letters, the audit trail ----------------------------------


def kwargs_for(pattern, world):
    ids = {
        "case_id": world.case.pk,
        "document_id": world.case.documents.first().pk,
        "letter_id": world.letter.pk,
        "attempt_id": world.attempt.pk,
        "consent_id": Consent.objects.filter(applicant_id=world.applicant_id).first().pk,
        "deadline_id": uuid.uuid4(),  # deleted with the erasure; the page is the same
        "export_id": uuid.uuid4(),  # likewise
    }
    return {name: ids[name] for name in pattern.pattern.converters}


CASE_PAGES = [p for p in case_urls.urlpatterns if "case_id" in p.pattern.converters]


def test_every_page_of_the_case_says_calmly_that_the_data_was_erased(
    world, django_capture_on_commit_callbacks
):
    urls = {p.name: reverse(p.name, kwargs=kwargs_for(p, world)) for p in CASE_PAGES}
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    erased_on = Applicant.objects.get(pk=world.applicant_id).erased_at.strftime("%Y-%m-%d")
    after = AuditEvent.objects.latest("seq").seq
    assert {"case_detail", "document_download", "letter_download", "letter_preview"} <= set(urls)
    assert {"case_reveal", "document_edit", "letter_detail", "case_erase"} <= set(urls)
    for name, url in urls.items():
        for method in ("get", "post"):
            response = getattr(world.client, method)(url, {"field": "health_notes"})
            assert response.status_code == 410, f"{method} {name}"
            page = response.content.decode()
            assert "This person's data was erased on" in page, f"{method} {name}"
            assert erased_on in page and world.case.code in page
            for canary in CANARIES:
                assert canary not in page
    assert not AuditEvent.objects.filter(seq__gt=after, action=Action.ALERT).exists()
    assert not AuditEvent.objects.filter(seq__gt=after, decision="deny").exists()


def test_lists_search_and_the_dashboard_still_work_without_an_alert(
    world, django_capture_on_commit_callbacks
):
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    after = AuditEvent.objects.latest("seq").seq
    listed = world.client.get(reverse("case_list"))
    assert listed.status_code == 200 and world.case.code in listed.content.decode()
    assert world.client.get(reverse("home")).status_code == 200
    found = world.client.post(reverse("case_search"), {"kind": "name", "query": PERSON[0]})
    assert found.status_code == 200 and world.case.code not in found.content.decode()
    assert (
        search(
            Applicant.objects.all(), Applicant.NAME_FIELDS, world.case.organisation_id, PERSON[0]
        )
        == []
    )
    assert not AuditEvent.objects.filter(seq__gt=after, action=Action.ALERT).exists()


def test_the_public_verification_page_says_revoked(world, django_capture_on_commit_callbacks):
    url = reverse("letter_verify", args=[world.code])
    assert "VALID" in Client().get(url).content.decode()
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    response = Client().get(url)
    assert response.status_code == 200
    assert "REVOKED" in response.content.decode()
    letter = Letter.objects.get(pk=world.letter.pk)
    assert letter.status == "revoked" and letter.revoked_at is not None
    assert letter.__dict__["revoke_reason"] is None  # no reason text, not even encrypted
    # The passport digest went with the person: the page answers no passport question.
    checked = Client().post(url, {"passport": PERSON[2]}).content.decode()
    assert "matches this letter" not in checked and "does not match" not in checked
    # A draft no longer waits in the coordinator's queue, and nothing can issue it.
    assert Letter.objects.get(pk=world.draft.pk).status == "revoked"


def test_the_audit_keeps_every_entry_and_one_erasure_entry_names_the_actor(
    world, coordinator, auditor, django_capture_on_commit_callbacks
):
    before = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    kept = list(AuditEvent.objects.filter(seq__lte=before[-1][0]).order_by("seq"))
    assert [(e.seq, e.hash) for e in kept] == before
    [entry] = AuditEvent.objects.filter(action=Action.ERASURE)
    assert entry.actor_id == coordinator.pk and entry.decision == "allow"
    assert entry.target_type == "cases.applicant" and entry.target_id == str(world.applicant_id)
    assert entry.case_id == world.case.pk and entry.organisation_id == coordinator.organisation_id
    assert entry.details == {
        "key_destroyed": True,
        "cause": "request",
        "cases": [str(world.case.pk)],
        "records_cleared": entry.details["records_cleared"],
        "files_deleted": 3,
        "letters_revoked": 2,
        "grants_removed": entry.details["grants_removed"],
        "requests_answered": 0,
    }
    assert (
        entry.details["records_cleared"] > 5 and entry.details["grants_removed"] == 3
    )  # alice: 2, the team: 1
    written = str(entry.details) + entry.client
    for canary in (*CANARIES, world.case.code, world.code):
        assert canary not in written
    page = login_verified(Client(), auditor).get(reverse("audit_case", args=[world.case.pk]))
    assert page.status_code == 200 and "carol" in page.content.decode()


# --- who may erase, and how ------------------------------------------------------------------


def test_the_confirmation_page_says_what_happens_and_that_it_cannot_be_undone(world):
    response = world.client.get(erase_url(world.case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "cannot be undone" in page and world.case.code in page
    assert "revoked" in page  # the issued letter
    for canary in CANARIES:
        assert canary not in page
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased


def test_the_case_page_links_to_erasure_for_coordinators_only(world, caseworker):
    link = erase_url(world.case)
    assert link in world.client.get(reverse("case_detail", args=[world.case.pk])).content.decode()
    alice = login_verified(Client(), caseworker)
    assert link not in alice.get(reverse("case_detail", args=[world.case.pk])).content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_caseworker_gets_404_and_nothing_is_erased(world, caseworker, method):
    alice = login_verified(Client(), caseworker)
    response = getattr(alice, method)(erase_url(world.case), {"code": world.case.code})
    assert response.status_code == 404
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased


def test_a_coordinator_of_another_organisation_gets_404(world, other_organisation):
    stranger = make_user(organisation=other_organisation, role=Role.COORDINATOR)
    response = login_verified(Client(), stranger).post(
        erase_url(world.case), {"code": world.case.code}
    )
    assert response.status_code == 404
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased


def test_without_a_fresh_second_factor_nothing_happens(world, django_capture_on_commit_callbacks):
    session = world.client.session
    session["otp_verified_at"] = time.time() - 3600
    session.save()
    assert world.client.get(erase_url(world.case)).headers["Location"].startswith(reverse("reauth"))
    response = erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response.headers["Location"] != reverse(
        "case_detail", args=[world.case.pk]
    )
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased
    assert DataKey.objects.get(pk=world.applicant_id).wrapped is not None
    assert not AuditEvent.objects.filter(action=Action.ERASURE).exists()


def test_a_wrong_code_is_refused_with_the_input_kept(world):
    response = world.client.post(erase_url(world.case), {"code": "SP-00-NOPE"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error-summary"' in page and 'value="SP-00-NOPE"' in page
    assert not Applicant.objects.get(pk=world.applicant_id).is_erased
    assert not AuditEvent.objects.filter(action=Action.ERASURE).exists()


def test_the_code_may_be_typed_in_lower_case_with_spaces_around(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client.post(
            erase_url(world.case), {"code": f"  {world.case.code.lower()} "}
        )
    assert response.headers["Location"] == reverse("case_detail", args=[world.case.pk])
    assert Applicant.objects.get(pk=world.applicant_id).is_erased


def test_every_case_of_the_person_is_erased_and_the_page_names_them(
    world, django_capture_on_commit_callbacks
):
    second = Case(
        organisation_id=world.case.organisation_id,
        applicant_id=world.applicant_id,
        code=services.new_case_code(),
        narrative="second-case-canary",
    )
    second.save()
    assert second.code in world.client.get(erase_url(world.case)).content.decode()
    erase_in_ui(world.client, world.case, django_capture_on_commit_callbacks)
    assert Case.objects.filter(pk=second.pk).values_list("narrative", flat=True).get() is None
    assert world.client.get(reverse("case_detail", args=[second.pk])).status_code == 410
    [entry] = AuditEvent.objects.filter(action=Action.ERASURE)
    assert sorted(entry.details["cases"]) == sorted([str(world.case.pk), str(second.pk)])


# --- the command does what the interface does --------------------------------------------------


def state(applicant_id):
    """What erasure leaves, with the ids taken out: comparable across two people."""
    models = {}
    for model in applicant_models():
        rows = model.objects.filter(**{model.DATA_SUBJECT_ATTR: applicant_id})
        models[model._meta.label_lower] = sorted(
            tuple(row.__dict__.get(f.attname) is None for f in encrypted_fields(model))
            for row in rows
        )
    letters = Letter.objects.filter(applicant_id=applicant_id)
    cases = Case.objects.filter(applicant_id=applicant_id)
    [entry] = AuditEvent.objects.filter(action=Action.ERASURE, target_id=str(applicant_id))
    return {
        "models": models,
        "applicant": Applicant.objects.filter(pk=applicant_id)
        .values("birth_year", "current_country", "passport_expiry", "legal_stay_until", "languages")
        .get(),
        "erased": Applicant.objects.get(pk=applicant_id).is_erased,
        "key": DataKey.objects.filter(pk=applicant_id, wrapped__isnull=True).exists(),
        "letters": sorted(
            (
                letter.status,
                letter.revoked_at is not None,
                letter.revoked_by_id,
                letter.passport_digest,
            )
            for letter in letters
        ),
        "grants": CaseUserObjectPermission.objects.filter(content_object__in=cases).count()
        + CaseGroupObjectPermission.objects.filter(content_object__in=cases).count(),
        "files": [(storage_root() / name).exists() for name in stored_files(applicant_id)],
        "deadlines": Deadline.objects.filter(case__in=cases).count(),
        "documents": sorted(
            Document.objects.filter(applicant_id=applicant_id).values_list("sha256", "expires_at")
        ),
        "audit": (
            entry.actor_id,
            entry.organisation_id,
            {k: v for k, v in entry.details.items() if k != "cases"},
        ),
    }


def test_the_command_and_the_interface_leave_the_same_state(
    coordinator, caseworker, issued_codes, django_capture_on_commit_callbacks
):
    by_ui = build(coordinator, caseworker, issued_codes)
    by_command = build(coordinator, caseworker, issued_codes)
    erase_in_ui(by_ui.client, by_ui.case, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "erase_applicant", str(by_command.applicant_id), "--actor", coordinator.username
        )
    assert state(by_ui.applicant_id) == state(by_command.applicant_id)
    assert state(by_ui.applicant_id)["erased"] is True
    assert (
        by_command.client.get(reverse("case_detail", args=[by_command.case.pk])).status_code == 410
    )


def test_the_command_refuses_an_unknown_actor_or_one_of_another_organisation(
    organisation, other_organisation
):
    applicant = make_applicant(organisation)
    stranger = make_user(organisation=other_organisation, role=Role.COORDINATOR)
    for username in ("nobody-by-that-name", stranger.username):
        with pytest.raises(CommandError, match="--actor"):
            call_command("erase_applicant", str(applicant.pk), "--actor", username)
    assert not Applicant.objects.get(pk=applicant.pk).is_erased


def test_without_an_actor_the_entry_names_the_system(organisation):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    entry = AuditEvent.objects.get(action=Action.ERASURE)
    assert entry.actor_id is None and entry.organisation_id == organisation.pk


# --- the tombstone ----------------------------------------------------------------------------


def test_an_erased_applicant_is_no_longer_found_by_search(organisation):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    found = search(Applicant.objects.all(), Applicant.NAME_FIELDS, organisation.pk, "IVAN PETROV")
    assert found == []


def test_an_erased_applicant_cannot_be_given_new_data(organisation):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    tombstone = Applicant.objects.get(pk=applicant.pk)
    tombstone.preferred_name = "back again"
    with pytest.raises(datakeys.SubjectErased):
        tombstone.save()


def test_erasing_twice_says_so(organisation, capsys):
    applicant = make_applicant(organisation)
    call_command("erase_applicant", str(applicant.pk))
    call_command("erase_applicant", str(applicant.pk))
    assert "already erased" in capsys.readouterr().out


def test_other_applicants_are_untouched(organisation):
    erased = make_applicant(organisation)
    kept = make_applicant(organisation, legal_name_latin="MARIA IVANOVA")
    call_command("erase_applicant", str(erased.pk))
    assert Applicant.objects.get(pk=kept.pk).legal_name_latin == "MARIA IVANOVA"


@pytest.mark.parametrize(
    ("argument", "message"),
    [("not-a-uuid", "applicant_id must be a UUID."), (str(uuid.uuid4()), "no applicant")],
)
def test_erase_applicant_rejects_bad_input_with_one_line(db, argument, message):
    with pytest.raises(CommandError, match=message):
        call_command("erase_applicant", argument)


def test_the_case_list_says_erased(client, coordinator, caseworker):
    """The list keeps the code and says the person's data was erased, without decrypting."""
    from casework.cases.services import applicant_erase
    from tests.factories import make_case as plain_case

    case = plain_case(caseworker=caseworker)
    applicant_erase(applicant_id=case.applicant_id, actor=coordinator)
    login_verified(client, coordinator)
    html = client.get(reverse("case_list")).content.decode()
    row = html.split(case.code, 1)[1].split("</tr>", 1)[0]
    assert "erased" in row
