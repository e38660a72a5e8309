"""Install an organisation's letter seal (PKCS#12), or create a self-signed one to develop with."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import Organisation
from casework.letters import signing


class Command(BaseCommand):
    help = (
        "Install the electronic seal an organisation signs its letters with: import its "
        "PKCS#12 file (--import FILE), or create a self-signed one for development "
        "(--self-signed). The seal is kept in CASEWORK_SEAL_DIR, mode 0600."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="the organisation's id or exact name")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--import", dest="import_file", metavar="FILE", help="a .p12 file")
        group.add_argument("--self-signed", action="store_true", help="development only")
        group.add_argument("--show", action="store_true", help="print the installed certificate")
        parser.add_argument(
            "--passphrase-file", metavar="FILE", help="the .p12 passphrase (else asked for)"
        )
        parser.add_argument("--replace", action="store_true", help="replace an installed seal")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = self._organisation(options["organisation"])
        if options["show"]:
            self._show(organisation)
            return
        if options["self_signed"]:
            if settings.PROD:
                raise CommandError("a self-signed seal is for development; import a real one.")
            path = self._guarded(
                lambda: signing.create_self_signed(organisation, overwrite=options["replace"])
            )
            self.stdout.write(f"Created a self-signed development seal at {path}.")
            return
        data = self._read(Path(options["import_file"]))
        passphrase = self._passphrase(options["passphrase_file"])
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, passphrase)
        except ValueError:
            raise CommandError("cannot read that PKCS#12 file (wrong passphrase?).") from None
        if key is None or certificate is None:
            raise CommandError("that PKCS#12 file holds no private key or no certificate.")
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CommandError("the seal's key must be RSA or ECDSA (what PAdES seals use).")
        # Kept without a passphrase, like the other key files: protected by mode 0600 and by
        # living outside the database and its backups (SECURITY.md "Letters").
        plain = pkcs12.serialize_key_and_certificates(
            b"seal",
            key,
            certificate,
            chain,
            serialization.NoEncryption(),
        )
        path = self._guarded(
            lambda: signing.store(organisation.pk, plain, overwrite=options["replace"])
        )
        self.stdout.write(
            f"Installed the seal of {certificate.subject.rfc4514_string()} at {path}."
        )

    def _organisation(self, given: str) -> Organisation:
        found = Organisation.objects.filter(name=given).first()
        if found is None:
            try:
                found = Organisation.objects.filter(pk=given).first()
            except Exception:  # not a UUID either
                found = None
        if found is None:
            raise CommandError(f"no organisation with the id or name {given!r}.")
        return found

    def _guarded(self, make: Any) -> Path:
        try:
            path: Path = make()
        except FileExistsError:
            raise CommandError("this organisation has a seal already; add --replace.") from None
        except OSError as problem:
            raise CommandError(f"cannot write the seal: {problem.strerror}") from None
        return path

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as problem:
            raise CommandError(f"cannot read {path}: {problem.strerror}") from None

    def _passphrase(self, path: str | None) -> bytes | None:
        if path:
            return self._read(Path(path)).strip() or None
        typed = getpass.getpass("PKCS#12 passphrase (empty for none): ")
        return typed.encode() or None

    def _show(self, organisation: Organisation) -> None:
        try:
            certificate = signing.certificate_of(organisation.pk)
        except signing.SealUnavailable as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(f"subject: {certificate.subject.rfc4514_string()}")
        self.stdout.write(f"issuer:  {certificate.issuer.rfc4514_string()}")
        self.stdout.write(
            f"valid:   {certificate.not_valid_before_utc} to {certificate.not_valid_after_utc}"
        )
