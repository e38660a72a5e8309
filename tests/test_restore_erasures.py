"""A restore never brings back a person erased after the backup was taken (R59, R62): every
erasure appends a line to the erasure journal kept off the host, and restore erases again
everyone it names. The attacker's move, or an operator's slip: restore last week's backup
after today's erasure."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.management import CommandError, call_command

from casework.audit.models import Action, AuditEvent
from casework.cases import journal, services
from casework.cases.models import Applicant
from casework.keystore.models import DataKey
from casework.lib import datakeys
from tests.factories import make_case
from tests.test_backup import archive, casework, data_dir, empty_target  # noqa: F401

pytestmark = pytest.mark.django_db


def erase(applicant_id, capture, **kwargs):
    with capture(execute=True):
        return services.applicant_erase(applicant_id=applicant_id, **kwargs)


def restore(path, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("restore", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_every_erasure_appends_one_line_with_the_id_and_nothing_else(
    caseworker, settings, django_capture_on_commit_callbacks
):
    case = make_case(caseworker=caseworker, legal_name_latin="JOURNAL CANARY")
    erase(case.applicant_id, django_capture_on_commit_callbacks)
    erase(case.applicant_id, django_capture_on_commit_callbacks)  # a sweep: no second line
    text = settings.CASEWORK_ERASURE_JOURNAL.read_text()
    [entry] = journal.read(settings.CASEWORK_ERASURE_JOURNAL)
    assert entry.applicant_id == case.applicant_id and entry.cause == "request"
    assert "JOURNAL" not in text and case.code not in text
    assert oct(settings.CASEWORK_ERASURE_JOURNAL.stat().st_mode & 0o777) == "0o600"


def test_an_erasure_that_is_rolled_back_is_not_journalled(caseworker, settings):
    case = make_case(caseworker=caseworker)
    services.applicant_erase(applicant_id=case.applicant_id)  # in the test's transaction,
    assert not settings.CASEWORK_ERASURE_JOURNAL.exists()  # never committed: no line


def test_a_journal_that_cannot_be_written_is_logged_by_id(caseworker, settings, caplog, tmp_path):
    settings.CASEWORK_ERASURE_JOURNAL = tmp_path / "missing-folder" / "erasures.txt"
    case = make_case(caseworker=caseworker)
    with caplog.at_level(logging.ERROR):
        journal.append(case.applicant_id, "request", case.opened_at)
    assert str(case.applicant_id) in caplog.text and "could not record" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_restoring_an_older_backup_erases_again_whoever_was_erased_since(
    archive,  # noqa: F811
    casework,  # noqa: F811
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    # The backup holds the person; then they are erased.
    erase(casework.applicant_id, django_capture_on_commit_callbacks)
    # The disk dies; the database and the files are restored from the backup.
    call_command("flush", interactive=False, verbosity=0)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "restored-files"},
        },
    }
    out, err = restore(archive)

    assert "1 person(s) erased since the backup were erased again" in out
    assert "No erasure journal" not in err
    person = Applicant.objects.get(pk=casework.applicant_id)
    assert person.is_erased and person.legal_name_latin is None
    assert DataKey.objects.get(pk=casework.applicant_id).wrapped is None
    with pytest.raises(datakeys.SubjectErased):
        datakeys.cipher_for(casework.applicant_id)
    assert not list((tmp_path / "restored-files" / "document").glob("*"))
    # The other person of the backup is back, readable.
    other = Applicant.objects.exclude(pk=casework.applicant_id).get()
    assert other.legal_name_latin == "ANNA SMIRNOVA"
    replayed = AuditEvent.objects.filter(action=Action.ERASURE).latest("seq")
    assert replayed.details["replayed"] is True and replayed.actor_id is None
    restored = AuditEvent.objects.filter(action=Action.BACKUP_RESTORED).get()
    assert restored.details["erasures_replayed"] == 1 and restored.details["journal"] is True
    # The drill's figure (R59): how long the restore took, printed and kept.
    assert restored.details["seconds"] > 0 and " s." in out
    # Replaying writes no second journal line.
    assert len(journal.read(settings.CASEWORK_ERASURE_JOURNAL)) == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_journal_the_restore_says_who_may_be_back(
    archive,  # noqa: F811
    empty_target,  # noqa: F811
    settings,
):
    assert not settings.CASEWORK_ERASURE_JOURNAL.exists()
    out, err = restore(archive)
    assert "No erasure journal was found" in err
    restored = AuditEvent.objects.filter(action=Action.BACKUP_RESTORED).get()
    assert restored.details["journal"] is False and restored.details["erasures_replayed"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_damaged_journal_is_refused_before_anything_is_restored(
    archive,  # noqa: F811
    empty_target,  # noqa: F811
    tmp_path,
):
    damaged = tmp_path / "erasures.txt"
    damaged.write_text("2026-12-05T04:51:00Z not-an-id request\n")
    with pytest.raises(CommandError) as refused:
        restore(archive, erasures=str(damaged))
    assert str(refused.value) == (
        f"refused: the erasure journal cannot be read: {damaged}, line 1: not a journal line"
    )
    assert not Applicant.objects.exists()
