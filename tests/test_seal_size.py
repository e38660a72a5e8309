"""The room a seal's signature container gets in the PDF is computed from its certificates,
not estimated by pyHanko with a trial signature (half of the seal's time: issue 15). It has
to fit whatever seal an operator installs: a 4096-bit RSA key and a chain of three."""

from __future__ import annotations

import datetime
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from casework.letters.signing import certificate_of, create_self_signed, seal_path, seal_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seals(settings, tmp_path):
    settings.CASEWORK_SEAL_DIR = tmp_path / "seals"
    settings.CASEWORK_SEAL_DIR.mkdir(mode=0o700)


@pytest.fixture
def no_trial_signature(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("pyHanko estimated the container with a trial signature")

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", refused)


def certificate(subject: str, issuer: str, key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    long_name = ", ".join([subject] * 3)  # names as long as a real authority's
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, long_name[:64])]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[:64])]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA512())
    )


def test_a_big_seal_with_a_chain_of_three_fits_and_validates(organisation, no_trial_signature):
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    seal = certificate("Rainbow Bridge Aid seal", "Issuing CA", key, ca=False)
    chain = [
        certificate(name, "Root CA", key, ca=True)
        for name in ("Issuing CA", "Policy CA", "Root CA")
    ]
    seal_path(organisation.pk).write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, seal, chain, pkcs12.serialization.NoEncryption()
        )
    )
    pdf = HTML(string="<p>Letter</p>").write_pdf()

    sealed = seal_pdf(pdf, organisation)

    signature = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
    root = translate_pyca_cryptography_cert_to_asn1(seal)
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid


def test_the_development_seal_needs_no_trial_signature(organisation, no_trial_signature):
    create_self_signed(organisation)
    sealed = seal_pdf(HTML(string="<p>Letter</p>").write_pdf(), organisation)
    signature = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
    root = translate_pyca_cryptography_cert_to_asn1(certificate_of(organisation.pk))
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid


def test_the_seal_signs_the_signing_certificate_attribute_pyhanko_would_build(organisation):
    """The signing-certificate-v2 attribute, built once per certificate (issue 15), is the
    one pyHanko builds for a PAdES seal, and the only signed attribute besides the content
    type and the message digest."""
    from pyhanko.sign.general import as_signing_certificate_v2

    create_self_signed(organisation)
    signing_cert = translate_pyca_cryptography_cert_to_asn1(certificate_of(organisation.pk))
    for _ in range(2):  # the second seal uses the attribute built for the first
        sealed = seal_pdf(HTML(string="<p>Letter</p>").write_pdf(), organisation)
        signature = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
        signed = signature.signer_info["signed_attrs"]
        kinds = sorted(attribute["type"].native for attribute in signed)
        assert kinds == ["content_type", "message_digest", "signing_certificate_v2"]
        [attribute] = [a for a in signed if a["type"].native == "signing_certificate_v2"]
        assert attribute["values"][0].dump() == as_signing_certificate_v2(signing_cert).dump()
