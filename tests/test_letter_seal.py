"""manage.py letter_seal: installing an organisation's seal, or a development one."""

from __future__ import annotations

import datetime
import io
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command

from casework.letters.signing import certificate_of, seal_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seals(settings, tmp_path):
    settings.CASEWORK_SEAL_DIR = tmp_path / "seals"


def run(*args):
    out = io.StringIO()
    call_command("letter_seal", *args, stdout=out)
    return out.getvalue()


def a_pkcs12(tmp_path, passphrase=b"correct horse"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alpha Aid e.V.")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"x", key, certificate, None, serialization.BestAvailableEncryption(passphrase)
    )
    path = tmp_path / "seal.p12"
    path.write_bytes(data)
    (tmp_path / "pass").write_bytes(passphrase + b"\n")
    return path, certificate


def test_a_development_seal_is_created_private(organisation):
    out = run(organisation.name, "--self-signed")
    path = seal_path(organisation.pk)
    assert str(path) in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    subject = certificate_of(organisation.pk).subject.rfc4514_string()
    assert "Alpha Aid (test)" in subject


def test_an_installed_seal_is_not_overwritten_without_replace(organisation):
    run(str(organisation.pk), "--self-signed")
    first = seal_path(organisation.pk).read_bytes()
    with pytest.raises(CommandError, match="has a seal already; add --replace"):
        run(str(organisation.pk), "--self-signed")
    assert seal_path(organisation.pk).read_bytes() == first
    run(str(organisation.pk), "--self-signed", "--replace")
    assert seal_path(organisation.pk).read_bytes() != first


def test_the_organisations_own_pkcs12_is_imported(organisation, tmp_path):
    path, certificate = a_pkcs12(tmp_path)
    out = run(organisation.name, "--import", str(path), "--passphrase-file", str(tmp_path / "pass"))
    assert "O=Alpha Aid e.V." in out
    assert certificate_of(organisation.pk) == certificate
    assert "Alpha Aid e.V." in run(organisation.name, "--show")


def test_a_wrong_passphrase_is_one_clear_line(organisation, tmp_path):
    path, _ = a_pkcs12(tmp_path)
    (tmp_path / "wrong").write_text("nope")
    with pytest.raises(CommandError, match=r"cannot read that PKCS#12 file \(wrong passphrase\?\)"):
        run(organisation.name, "--import", str(path), "--passphrase-file", str(tmp_path / "wrong"))
    assert not seal_path(organisation.pk).exists()


def test_unknown_organisations_and_files_are_refused(organisation, tmp_path):
    with pytest.raises(CommandError, match="no organisation"):
        run("Nobody", "--self-signed")
    with pytest.raises(CommandError, match="cannot read"):
        run(organisation.name, "--import", str(tmp_path / "missing.p12"), "--passphrase-file", "x")


def test_production_refuses_a_self_signed_seal(organisation, settings):
    settings.PROD = True
    with pytest.raises(CommandError, match="for development"):
        run(organisation.name, "--self-signed")
    assert not seal_path(organisation.pk).exists()


def test_show_without_a_seal_says_what_to_do(organisation):
    with pytest.raises(CommandError, match="letter_seal"):
        run(organisation.name, "--show")
