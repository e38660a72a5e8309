"""Key escrow: the key file split into SLIP-39 shares, 3 of 5 by default (R60)."""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import stat

import pytest
from django.core.management import CommandError, call_command
from shamir_mnemonic import generate_mnemonics
from shamir_mnemonic.wordlist import WORDLIST

from casework.audit.signing import create_signing_key
from casework.cases.models import Applicant
from casework.keystore.escrow import parse_page
from casework.lib.fields import search
from casework.lib.keys import create_key_file, key_file_path, keyring
from crypto import DecryptionError
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_key_file(settings, tmp_path):
    """The audit signing key, in this test's own directory."""
    path = tmp_path / "audit" / "audit-signing.key"
    settings.CASEWORK_AUDIT_KEY_FILE = path
    create_signing_key(path)
    return path


@pytest.fixture
def no_audit_key(settings, tmp_path):
    settings.CASEWORK_AUDIT_KEY_FILE = tmp_path / "absent" / "audit-signing.key"


def escrow(directory, *args):
    """Run escrow_keys into ``directory``; return its standard output."""
    stdout = io.StringIO()
    call_command("escrow_keys", "--out", str(directory), *args, stdout=stdout)
    return stdout.getvalue()


def recover(pages, out, *args):
    """Run recover_keys with ``pages`` (paths); return its standard output."""
    stdout = io.StringIO()
    shares = [item for page in pages for item in ("--share", str(page))]
    call_command("recover_keys", *shares, "--out", str(out), *args, stdout=stdout)
    return stdout.getvalue()


def page(directory, number):
    return directory / f"trustee-{number}.txt"


def words_block(text):
    return re.search(r"-----BEGIN SLIP-39 SHARE-----\n.*?-----END SLIP-39 SHARE-----", text, re.S)


def secrets_of_the_installation(audit_key_path):
    """Every key as bytes: each KEK, the index key and the audit signing key."""
    document = json.loads(key_file_path().read_text())
    keys = [base64.b64decode(v) for v in (*document["keks"].values(), document["index_key"])]
    keys.append(base64.b64decode(audit_key_path.read_text()))
    return keys


def spellings(key):
    """The ways a key could be written on a page."""
    standard = base64.b64encode(key).decode()
    urlsafe = base64.urlsafe_b64encode(key).decode()
    return [standard, standard.rstrip("="), urlsafe.rstrip("="), key.hex(), key.hex().upper()]


# -- the attacker's side ----------------------------------------------------------------------


def test_two_shares_recover_nothing(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    out = tmp_path / "recovered.json"

    for numbers in itertools.combinations(range(1, 6), 2):
        pages = [page(tmp_path / "escrow", n) for n in numbers]
        with pytest.raises(CommandError, match="^2 shares given; this escrow needs 3"):
            recover(pages, out)
    with pytest.raises(CommandError, match="^1 share given; this escrow needs 3"):
        recover([page(tmp_path / "escrow", 4)], out)
    assert not out.exists()


def test_a_higher_threshold_is_kept(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow", "--threshold", "4", "--shares", "6")
    pages = [page(tmp_path / "escrow", n) for n in (6, 2, 5)]
    with pytest.raises(CommandError, match="^3 shares given; this escrow needs 4"):
        recover(pages, tmp_path / "recovered.json")
    assert not (tmp_path / "recovered.json").exists()
    assert not page(tmp_path / "escrow", 7).exists()


def test_shares_of_another_escrow_are_refused(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "a")
    escrow(tmp_path / "b")
    out = tmp_path / "recovered.json"

    mixed = [page(tmp_path / "a", 1), page(tmp_path / "a", 2), page(tmp_path / "b", 3)]
    with pytest.raises(CommandError, match="different escrows"):
        recover(mixed, out)

    # The same again with the encrypted key material copied over: the words still differ.
    text = page(tmp_path / "a", 3).read_text()
    foreign = words_block(page(tmp_path / "b", 3).read_text()).group(0)
    spliced = tmp_path / "spliced.txt"
    spliced.write_text(text.replace(words_block(text).group(0), foreign))
    with pytest.raises(CommandError, match="are shares of different escrows"):
        recover([page(tmp_path / "a", 1), page(tmp_path / "a", 2), spliced], out)
    assert not out.exists()


def test_a_share_of_another_slip39_backup_is_refused(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    wallet = generate_mnemonics(1, [(3, 5)], bytes(range(16)))[0][2].split()
    words = "\n".join(f"{i}. {word}" for i, word in enumerate(wallet, start=1))
    text = page(tmp_path / "escrow", 3).read_text()
    foreign = tmp_path / "foreign.txt"
    foreign.write_text(
        text.replace(
            words_block(text).group(0),
            f"-----BEGIN SLIP-39 SHARE-----\n{words}\n-----END SLIP-39 SHARE-----",
        )
    )
    pages = [page(tmp_path / "escrow", 1), page(tmp_path / "escrow", 2), foreign]
    with pytest.raises(CommandError, match="foreign.txt: a SLIP-39 share, but not of a casework"):
        recover(pages, tmp_path / "recovered.json")
    assert not (tmp_path / "recovered.json").exists()


def test_the_same_share_twice_is_refused(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    copy = tmp_path / "copy.txt"
    copy.write_text(page(tmp_path / "escrow", 2).read_text())
    pages = [page(tmp_path / "escrow", 2), page(tmp_path / "escrow", 4), copy]
    with pytest.raises(CommandError, match="hold the same share"):
        recover(pages, tmp_path / "recovered.json")
    assert not (tmp_path / "recovered.json").exists()


def test_a_wrong_passphrase_is_refused(tmp_path, no_audit_key):
    keyring()
    (tmp_path / "right").write_text("correct horse battery staple\n")
    (tmp_path / "wrong").write_text("correct horse battery stapler\n")
    escrow(tmp_path / "escrow", "--passphrase-file", str(tmp_path / "right"))
    pages = [page(tmp_path / "escrow", n) for n in (1, 3, 5)]
    out = tmp_path / "recovered.json"

    with pytest.raises(CommandError, match="wrong passphrase"):
        recover(pages, out, "--passphrase-file", str(tmp_path / "wrong"))
    with pytest.raises(CommandError, match="wrong passphrase"):
        recover(pages, out)
    assert not out.exists()

    recover(pages, out, "--passphrase-file", str(tmp_path / "right"))
    assert out.read_bytes() == key_file_path().read_bytes()
    assert "Passphrase:    required" in pages[0].read_text()


def test_a_passphrase_left_out_at_escrow_is_refused_at_recovery(tmp_path, no_audit_key):
    keyring()
    (tmp_path / "passphrase").write_text("not used when escrowed")
    escrow(tmp_path / "escrow")
    pages = [page(tmp_path / "escrow", n) for n in (2, 3, 4)]
    with pytest.raises(CommandError, match="wrong passphrase"):
        recover(pages, tmp_path / "out.json", "--passphrase-file", str(tmp_path / "passphrase"))
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("replacement", ["another word", "not a word"])
def test_a_mangled_word_is_refused(tmp_path, no_audit_key, replacement):
    keyring()
    escrow(tmp_path / "escrow")
    text = page(tmp_path / "escrow", 2).read_text()
    word = re.search(r" 7\. ([a-z]+)", text).group(1)
    new = "xyzzy" if replacement == "not a word" else WORDLIST[(WORDLIST.index(word) + 1) % 1024]
    mangled = tmp_path / "mangled.txt"
    mangled.write_text(text.replace(f" 7. {word}", f" 7. {new}"))
    out = tmp_path / "recovered.json"

    pages = [page(tmp_path / "escrow", 1), mangled, page(tmp_path / "escrow", 3)]
    with pytest.raises(CommandError, match="mangled.txt: the words are not a valid share") as exc:
        recover(pages, out)
    assert "\n" not in str(exc.value)
    assert not out.exists()


def test_a_mistyped_encrypted_key_material_is_caught_by_its_sha256(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    text = page(tmp_path / "escrow", 1).read_text()
    line = text.split("-----BEGIN CASEWORK KEY ESCROW-----\n")[1].split("\n")[0]
    typo = line[:10] + ("B" if line[10] != "B" else "C") + line[11:]
    mistyped = tmp_path / "mistyped.txt"
    mistyped.write_text(text.replace(line, typo))
    pages = [mistyped, page(tmp_path / "escrow", 2), page(tmp_path / "escrow", 3)]
    with pytest.raises(CommandError, match="does not match its SHA-256"):
        recover(pages, tmp_path / "recovered.json")


def test_the_pages_and_the_output_hold_no_key(tmp_path, audit_key_file):
    keyring()
    call_command("rotate_keys", "--new-kek", stdout=io.StringIO())
    printed = escrow(tmp_path / "escrow")
    printed += recover(
        [page(tmp_path / "escrow", n) for n in (1, 2, 3)],
        tmp_path / "recovered.json",
        "--audit-key-out",
        str(tmp_path / "audit.key"),
    )
    texts = [page(tmp_path / "escrow", n).read_text() for n in range(1, 6)]
    haystacks = [printed, *texts, *("".join(text.split()) for text in texts)]

    keys = secrets_of_the_installation(audit_key_file)
    assert len(keys) == 4  # two KEKs, the index key, the audit signing key
    for key in keys:
        for spelling in spellings(key):
            assert not any(spelling in haystack for haystack in haystacks)


def test_pages_are_0600_in_a_new_0700_directory(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "new" / "escrow")
    assert stat.S_IMODE((tmp_path / "new" / "escrow").stat().st_mode) == 0o700
    names = sorted(p.name for p in (tmp_path / "new" / "escrow").iterdir())
    assert names == [f"trustee-{n}.txt" for n in range(1, 6)]
    for n in range(1, 6):
        assert stat.S_IMODE(page(tmp_path / "new" / "escrow", n).stat().st_mode) == 0o600


def test_escrow_refuses_to_overwrite_a_page_and_writes_none(tmp_path, no_audit_key):
    keyring()
    (tmp_path / "escrow").mkdir()
    page(tmp_path / "escrow", 3).write_text("an older page")
    with pytest.raises(CommandError, match="trustee-3.txt already exists; refusing"):
        escrow(tmp_path / "escrow")
    assert [p.name for p in (tmp_path / "escrow").iterdir()] == ["trustee-3.txt"]
    assert page(tmp_path / "escrow", 3).read_text() == "an older page"


def test_recovery_refuses_to_overwrite_and_writes_nothing(tmp_path, audit_key_file):
    keyring()
    escrow(tmp_path / "escrow")
    pages = [page(tmp_path / "escrow", n) for n in (1, 2, 3)]
    existing = tmp_path / "keys.json"
    existing.write_text("keep me")
    with pytest.raises(CommandError, match="already exists; refusing"):
        recover(pages, existing)
    assert existing.read_text() == "keep me"

    out = tmp_path / "recovered.json"
    with pytest.raises(CommandError, match="already exists; refusing"):
        recover(pages, out, "--audit-key-out", str(existing))
    assert not out.exists()
    assert existing.read_text() == "keep me"


def test_escrow_refuses_without_a_key_file_and_creates_none(tmp_path, no_audit_key):
    with pytest.raises(CommandError, match="does not exist .CASEWORK_KEYS_FILE.; nothing to"):
        escrow(tmp_path / "escrow")
    assert not key_file_path().exists()
    assert not (tmp_path / "escrow").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "6"], "--threshold must be from 2 to the number of shares"),
        (["--threshold", "1"], "--threshold must be from 2"),
        (["--shares", "17"], "--shares must be from 2 to 16"),
    ],
)
def test_escrow_refuses_impossible_splits(tmp_path, no_audit_key, args, message):
    keyring()
    with pytest.raises(CommandError, match=message):
        escrow(tmp_path / "escrow", *args)
    assert not (tmp_path / "escrow").exists()


def test_a_passphrase_outside_printable_ascii_is_refused(tmp_path, no_audit_key):
    keyring()
    (tmp_path / "passphrase").write_text("пароль")
    with pytest.raises(CommandError, match="printable ASCII only"):
        escrow(tmp_path / "escrow", "--passphrase-file", str(tmp_path / "passphrase"))
    assert not (tmp_path / "escrow").exists()


# -- the owner's side -------------------------------------------------------------------------


def test_any_three_of_five_shares_rebuild_the_key_file_byte_for_byte(tmp_path, audit_key_file):
    keyring()
    call_command("rotate_keys", "--new-kek", stdout=io.StringIO())
    call_command("rotate_keys", "--new-kek", stdout=io.StringIO())
    escrow(tmp_path / "escrow")

    for numbers in itertools.combinations(range(1, 6), 3):
        out = tmp_path / f"keys-{''.join(map(str, numbers))}.json"
        audit_out = tmp_path / f"audit-{''.join(map(str, numbers))}.key"
        pages = [page(tmp_path / "escrow", n) for n in reversed(numbers)]
        recover(pages, out, "--audit-key-out", str(audit_out))
        assert out.read_bytes() == key_file_path().read_bytes()
        assert audit_out.read_bytes() == audit_key_file.read_bytes()
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert stat.S_IMODE(audit_out.stat().st_mode) == 0o600


def test_more_shares_than_needed_also_recover(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    recover([page(tmp_path / "escrow", n) for n in range(1, 6)], tmp_path / "out.json")
    assert (tmp_path / "out.json").read_bytes() == key_file_path().read_bytes()


def test_the_recovered_key_file_decrypts_records_encrypted_before(
    tmp_path, settings, organisation, no_audit_key
):
    applicant = make_applicant(organisation, health_notes="HIV+")
    original = key_file_path()
    escrow(tmp_path / "escrow")
    recovered = tmp_path / "recovered" / "keys.json"
    recovered.parent.mkdir(mode=0o700)
    recover([page(tmp_path / "escrow", n) for n in (2, 4, 5)], recovered)

    # The original key file is lost; a fresh one opens nothing (the check is not vacuous)...
    original.unlink()
    settings.CASEWORK_KEYS_FILE = tmp_path / "fresh" / "keys.json"
    create_key_file(settings.CASEWORK_KEYS_FILE)
    with pytest.raises(DecryptionError):
        Applicant.objects.get(pk=applicant.pk).health_notes  # noqa: B018

    # ...and the recovered one opens the record and finds it through its blind index.
    settings.CASEWORK_KEYS_FILE = recovered
    reread = Applicant.objects.get(pk=applicant.pk)
    assert (reread.legal_name_latin, reread.health_notes) == ("IVAN PETROV", "HIV+")
    found = search(Applicant.objects.all(), Applicant.NAME_FIELDS, organisation.pk, "ivan petrov")
    assert [a.pk for a in found] == [applicant.pk]


def test_an_escrow_without_the_audit_key_says_so(tmp_path, no_audit_key):
    keyring()
    printed = escrow(tmp_path / "escrow")
    assert "no audit signing key" in printed
    assert "no audit signing key" in page(tmp_path / "escrow", 1).read_text()

    pages = [page(tmp_path / "escrow", n) for n in (1, 2, 3)]
    out, audit_out = tmp_path / "out.json", tmp_path / "audit.key"
    with pytest.raises(CommandError, match="holds no audit signing key"):
        recover(pages, out, "--audit-key-out", str(audit_out))
    assert not out.exists() and not audit_out.exists()


def test_a_page_typed_back_with_only_its_blocks_recovers(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    typed = []
    for n in (1, 3, 4):
        text = page(tmp_path / "escrow", n).read_text()
        words = parse_page(text, "page").mnemonic.split()
        blob = re.search(r"-----BEGIN CASEWORK KEY ESCROW-----.*?-----END[^\n]*\n", text, re.S)
        digest = re.search(r"SHA-256 of the encrypted key material:\n(.*)", text).group(1)
        retyped = tmp_path / f"typed-{n}.txt"
        lines = [f"{i}. {word.upper()}" for i, word in enumerate(words, start=1)]
        retyped.write_text(
            "-----BEGIN SLIP-39 SHARE-----\n"
            + "\n".join(reversed(lines))
            + "\n-----END SLIP-39 SHARE-----\n"
            + blob.group(0)
            + "SHA-256 of the encrypted key material: "
            + digest.replace(" ", "")
        )
        typed.append(retyped)
    recover(typed, tmp_path / "out.json")
    assert (tmp_path / "out.json").read_bytes() == key_file_path().read_bytes()


def test_pages_with_windows_line_ends_recover(tmp_path, no_audit_key):
    keyring()
    escrow(tmp_path / "escrow")
    for n in (2, 3, 5):
        text = page(tmp_path / "escrow", n).read_text()
        (tmp_path / f"crlf-{n}.txt").write_bytes(text.replace("\n", "\r\n").encode())
    recover([tmp_path / f"crlf-{n}.txt" for n in (2, 3, 5)], tmp_path / "out.json")
    assert (tmp_path / "out.json").read_bytes() == key_file_path().read_bytes()


def test_the_page_names_the_installation_share_and_threshold(tmp_path, settings, no_audit_key):
    settings.CASEWORK_AUDIT_ORIGIN = "example.org/casework"
    keyring()
    escrow(tmp_path / "escrow")
    text = page(tmp_path / "escrow", 4).read_text()
    assert "Installation:  example.org/casework" in text
    assert "Share:         4 of 5; any 3 shares recover the keys" in text
    assert re.search(r"Created:       \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert len(parse_page(text, "page").mnemonic.split()) == 33
    assert max(len(line) for line in text.splitlines()) <= 90


def test_an_escrow_is_audited_with_its_shape_and_no_key(tmp_path, audit_key_file):
    from casework.audit.models import Action, AuditEvent

    keyring()
    escrow(tmp_path / "escrow", "--threshold", "2", "--shares", "3")
    entry = AuditEvent.objects.get(action=Action.KEYS_ESCROWED)
    # Its shape and nothing else: no share, no key, no path.
    assert entry.details == {"shares": 3, "threshold": 2, "kek_versions": 1, "audit_key": True}
