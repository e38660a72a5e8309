"""The organisation's electronic seal: a PAdES signature on every issued letter (pyHanko).

Each organisation's seal is a PKCS#12 file ``<CASEWORK_SEAL_DIR>/<organisation id>.p12``
(mode 0600, outside the database, like the other keys), holding the private key, the
certificate and its chain. ``manage.py letter_seal`` creates a self-signed one for
development or imports the organisation's real (qualified, eIDAS) seal; SECURITY.md says how.
The rendering worker never sees it: letters are signed here, after rendering.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings

logger = logging.getLogger(__name__)

SEAL_FIELD = "OrganisationSeal"


class SealUnavailable(Exception):
    """The organisation has no usable seal; ``str()`` says what to do, without secrets."""


def seal_path(organisation_id: Any) -> Path:
    return Path(settings.CASEWORK_SEAL_DIR) / f"{organisation_id}.p12"


def create_self_signed(organisation: Any, *, overwrite: bool = False) -> Path:
    """A development seal: an EC P-256 key and a two-year self-signed certificate naming the
    organisation (never an applicant)."""
    path = seal_path(organisation.pk)
    if path.exists() and not overwrite:
        raise FileExistsError(f"a seal for this organisation already exists at {path}")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation.name[:50]} (development seal)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"seal", key, certificate, None, serialization.NoEncryption()
    )
    return store(organisation.pk, data, overwrite=overwrite)


def store(organisation_id: Any, pkcs12_data: bytes, *, overwrite: bool = False) -> Path:
    """Keep a seal (PKCS#12 without a passphrase) readable by this user only."""
    path = seal_path(organisation_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pkcs12_data)
    return path


def certificate_of(organisation_id: Any) -> x509.Certificate:
    _key, certificate, _chain = _load(organisation_id)
    return certificate


def _load(organisation_id: Any) -> tuple[Any, x509.Certificate, list[x509.Certificate]]:
    path = seal_path(organisation_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SealUnavailable(
            "this organisation has no letter seal yet; an operator installs one with "
            "manage.py letter_seal"
        ) from None
    except OSError as problem:
        raise SealUnavailable(f"the letter seal cannot be read: {problem.strerror}") from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, None)
    except ValueError:
        raise SealUnavailable("the letter seal file is not a readable PKCS#12 archive") from None
    if key is None or certificate is None:
        raise SealUnavailable("the letter seal file lacks its key or certificate")
    if certificate.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        raise SealUnavailable("the letter seal's certificate has expired; install a new one")
    return key, certificate, list(chain)


def ensure_development_seal(organisation: Any) -> None:
    """Development and demo instances get a self-signed seal on first use (and say so)."""
    if settings.PROD or seal_path(organisation.pk).exists():
        return
    create_self_signed(organisation)
    logger.warning("created a development letter seal for organisation %s", organisation.pk)


def seal_pdf(pdf: bytes, organisation: Any, *, location: str = "") -> bytes:
    """Certify the PDF with the organisation's seal (PAdES B-B, no later changes allowed)."""
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key, certificate, chain = _load(organisation.pk)
    signing_cert = translate_pyca_cryptography_cert_to_asn1(certificate)
    signer = signers.SimpleSigner(
        signing_cert=signing_cert,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [translate_pyca_cryptography_cert_to_asn1(c) for c in chain]
        ),
    )
    signer.signed_attr_prov_spec = _pades_signed_attributes(signing_cert.dump())
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        name=organisation.name,
        location=location or None,
        reason="Issued by the organisation named in this letter",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = signers.sign_pdf(
        writer, meta, signer=signer, bytes_reserved=reserved_bytes([certificate, *chain])
    )
    signed: bytes = output.getvalue()
    return signed


def _pades_signed_attributes(certificate_der: bytes) -> Any:
    """The signed attributes pyHanko gives a PAdES seal by default (besides the content type
    and message digest it always adds): signing-certificate-v2 alone. The same attribute,
    built once per certificate and handed over as DER: built afresh, asn1crypto encodes it
    again at every step of the seal, about half of the seal's time (issue 15)."""
    from asn1crypto import cms
    from pyhanko.sign import attributes

    der = _signing_certificate_attribute(certificate_der)

    class SigningCertificate(attributes.CMSAttributeProvider):
        attribute_type = "signing_certificate_v2"

        async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute:
            return cms.CMSAttribute.load(der)

    class PAdESAttributes(attributes.SignedAttributeProviderSpec):
        def signed_attr_providers(
            self, data_digest: bytes, digest_algorithm: str
        ) -> Iterator[attributes.CMSAttributeProvider]:
            yield SigningCertificate()

    return PAdESAttributes()


@functools.lru_cache(maxsize=64)
def _signing_certificate_attribute(certificate_der: bytes) -> bytes:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

    certificate = asn1_x509.Certificate.load(certificate_der)
    attribute = simple_cms_attribute(  # type: ignore[no-untyped-call]
        "signing_certificate_v2", as_signing_certificate_v2(certificate)
    )
    der: bytes = attribute.dump()
    return der


# Room for the signature container besides its certificates: the signer info with its signed
# attributes (content type, digest, signing time, the signing certificate's hash) and the
# signature itself come to well under 1 KB with any key; four are reserved.
SIGNER_INFO_ROOM = 4096


def reserved_bytes(certificates: list[x509.Certificate]) -> int:
    """The space reserved in the PDF for the seal's CMS container, given instead of letting
    pyHanko estimate it with a trial signature (half of the seal's time, issue 15). It is
    written as hexadecimal: twice the DER size. A container that did not fit would stop the
    issue with an error, never a broken letter."""
    carried = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)
    return 2 * (carried + SIGNER_INFO_ROOM)
