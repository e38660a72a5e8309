"""Key escrow (R60): the installation's keys split into SLIP-39 shares, one page per trustee.

The key material (every KEK, the index key, when this user can read it the audit signing
key, and the private half of a fresh escrow key pair to which the organisation keys are
sealed: issue 16) is serialised as a small JSON document and encrypted with AES-256-GCM under a
fresh random 256-bit escrow key; only that 32-byte key is split, with SLIP-39
(``shamir_mnemonic``). Every trustee page carries one share's 33 words and the same
ciphertext. SLIP-39 needs a secret of at least 16 bytes and an even length: the escrow key
always is, and the shares stay 33 words however many KEKs the ring holds. An optional
SLIP-39 passphrase changes the recovered escrow key, so a wrong one fails the GCM tag.
SECURITY.md ("Key escrow") describes every byte.

Every refusal is one ``EscrowError`` with a one-line message that holds no key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from shamir_mnemonic import MnemonicError, Share, combine_mnemonics, generate_mnemonics

from casework.audit import signing
from casework.audit.models import Action
from casework.audit.services import record
from casework.lib.keys import key_file_path, keyring
from crypto import DecryptionError, KeyRing, KeyStoreError
from crypto.member_keys import (
    new_member_key,
    open_sealed_secret,
    public_key_of,
    seal_to_member,
)

ESCROW_FORMAT = "casework-escrow/2"
_FORMAT_BEFORE_ORGANISATION_KEYS = "casework-escrow/1"  # still read: no escrow key
BLOB_VERSION = 0x01
_NONCE_SIZE = 12
_TAG_SIZE = 16
_KEY_SIZE = 32
_FIELDS = [
    "format",
    "installation",
    "created",
    "keyring",
    "audit_signing_key",
    "organisation_escrow_key",
]
_MAX_SHARES = 16  # SLIP-39's limit
_MAX_FILE_SIZE = 64 * 1024
_BASE64_LINE = 64
_WORD_COLUMNS = 3
_WORDS_LABEL = "SLIP-39 SHARE"
_BLOB_LABEL = "CASEWORK KEY ESCROW"
_DIGEST_LABEL = "SHA-256 of the encrypted key material:"
_DIGEST_LINE = re.compile(
    re.escape(_DIGEST_LABEL) + r"\s*((?:[0-9a-fA-F]{8}[ \t]*){8})$", re.MULTILINE
)
_NUMBERED_WORD = re.compile(r"(\d+)\.[ \t]*([A-Za-z]+)")


class EscrowError(Exception):
    """A refusal to escrow or recover keys; the message is one line and holds no secret."""


@dataclass(frozen=True)
class KeyMaterial:
    """What an escrow holds. repr() shows no key (KeyRing's repr shows versions only)."""

    installation: str
    created: str  # UTC, e.g. 2026-12-05T14:03:00Z
    ring: KeyRing
    audit_signing_key: bytes | None = field(repr=False)
    # The X25519 private key the organisation keys are sealed to (OrganisationKeyEscrow);
    # None in an escrow written before organisation keys existed.
    organisation_escrow_key: bytes | None = field(default=None, repr=False)

    def describe(self) -> str:
        versions, active = self.ring.versions, self.ring.active_version
        keks = (
            f"KEK version {active} (active)"
            if versions == [active]
            else f"KEK versions {', '.join(map(str, versions))} ({active} active)"
        )
        audit = "the audit signing key" if self.audit_signing_key else "no audit signing key"
        organisations = (
            "the escrow key of the organisation keys"
            if self.organisation_escrow_key
            else "no organisation key"
        )
        return f"{keks}, the index key, {audit} and {organisations}"


@dataclass(frozen=True)
class SharePage:
    """One trustee page as read back: its share's words and the encrypted key material."""

    name: str
    mnemonic: str = field(repr=False)
    blob: bytes = field(repr=False)


# -- reading what the installation uses -------------------------------------------------------


def installed_material() -> KeyMaterial:
    """The key ring as the application loads it, and the audit signing key if readable."""
    path = key_file_path()
    if not settings.CASEWORK_KEYS_FROM_ENV and not path.exists():
        # keyring() would create a development key file: escrowing a new key is pointless.
        raise EscrowError(f"key file {path} does not exist (CASEWORK_KEYS_FILE); nothing to escrow")
    return KeyMaterial(
        installation=settings.CASEWORK_AUDIT_ORIGIN,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ring=keyring(),
        audit_signing_key=_readable_audit_key(),
        organisation_escrow_key=new_member_key()[0],
    )


def _readable_audit_key() -> bytes | None:
    # Production keeps this key readable by the signer's user only: run as another user,
    # the escrow holds the KEKs alone and says so.
    path = Path(settings.CASEWORK_AUDIT_KEY_FILE)
    try:
        with path.open("rb"):
            pass
    except (FileNotFoundError, PermissionError):
        return None
    except OSError as exc:
        raise EscrowError(f"cannot read the audit signing key {path}: {exc.strerror}") from None
    return signing.signing_key()


def read_passphrase(path: Path | None) -> bytes:
    """The SLIP-39 passphrase from a file (one trailing newline dropped); b"" for none."""
    if path is None:
        return b""
    try:
        with path.open("rb") as handle:
            raw = handle.read(1025)
    except OSError as exc:
        raise EscrowError(f"cannot read passphrase file {path}: {exc.strerror}") from None
    passphrase = raw.removesuffix(b"\n").removesuffix(b"\r")
    if not passphrase or len(passphrase) > 1024:
        raise EscrowError(f"passphrase file {path} must hold 1 to 1024 characters")
    if not all(32 <= byte <= 126 for byte in passphrase):
        raise EscrowError(
            f"passphrase file {path}: SLIP-39 passphrases are printable ASCII only "
            "(letters, digits, punctuation and spaces)"
        )
    return passphrase


# -- canonical serialisation ------------------------------------------------------------------


def serialise(material: KeyMaterial) -> bytes:
    """The escrowed plaintext: compact JSON, members in a fixed order, ASCII only."""
    audit_key = material.audit_signing_key
    document = {
        "format": ESCROW_FORMAT,
        "installation": material.installation,
        "created": material.created,
        # The key file's own document: format, active, keks by ascending version, index_key.
        "keyring": json.loads(material.ring.to_json()),
        "audit_signing_key": None if audit_key is None else _b64(audit_key),
        "organisation_escrow_key": _b64(material.organisation_escrow_key)
        if material.organisation_escrow_key is not None
        else None,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def deserialise(data: bytes) -> KeyMaterial:
    document = _json_object(data)
    if list(document) == _FIELDS[:-1] and document["format"] == _FORMAT_BEFORE_ORGANISATION_KEYS:
        document["organisation_escrow_key"] = None
    elif list(document) != _FIELDS or document["format"] != ESCROW_FORMAT:
        raise EscrowError(f"the escrowed key material is not in the {ESCROW_FORMAT} format")
    if not isinstance(document["installation"], str) or not isinstance(document["created"], str):
        raise EscrowError("the escrowed installation name or date is not text")
    try:
        ring = KeyRing.from_json(json.dumps(document["keyring"]))
    except KeyStoreError as exc:
        raise EscrowError(f"the escrowed key ring is damaged: {exc}") from None
    return KeyMaterial(
        installation=document["installation"],
        created=document["created"],
        ring=ring,
        audit_signing_key=_key_from(document["audit_signing_key"], "audit signing key"),
        organisation_escrow_key=_key_from(
            document["organisation_escrow_key"], "organisation escrow key"
        ),
    )


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        document = None
    # Raised outside the except block: the decoding error holds the text, keys included.
    if not isinstance(document, dict):
        raise EscrowError("the escrowed key material is not a JSON object")
    return document


def _key_from(value: object, name: str) -> bytes | None:
    if value is None:
        return None
    try:
        key = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        key = b""
    if len(key) != _KEY_SIZE:
        raise EscrowError(f"the escrowed {name} is not 32 bytes of base64")
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- the encrypted key material ---------------------------------------------------------------


def _seal(key: bytes, plaintext: bytes) -> bytes:
    header = bytes([BLOB_VERSION])
    nonce = os.urandom(_NONCE_SIZE)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header)


def _open(key: bytes, blob: bytes) -> bytes:
    if len(blob) < 1 + _NONCE_SIZE + _TAG_SIZE or blob[0] != BLOB_VERSION:
        raise EscrowError("the encrypted key material is not in a format this version reads")
    nonce, sealed = blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, blob[:1])
    except InvalidTag:
        pass
    raise EscrowError(
        "the shares do not open the encrypted key material: wrong passphrase (or none given "
        "when the escrow has one); nothing was written"
    )


# -- splitting and recovering -----------------------------------------------------------------


def escrow_pages(
    material: KeyMaterial, *, threshold: int, shares: int, passphrase: bytes = b""
) -> list[str]:
    """Split the material and render one page per trustee (text, share 1 first).

    Before returning, the pages are read back and the first ``threshold`` of them recover
    the material: a page that could not restore the keys is never handed out.
    """
    _check_counts(threshold, shares)
    escrow_key = os.urandom(_KEY_SIZE)
    blob = _seal(escrow_key, serialise(material))
    # One group of `shares` members, `threshold` of them needed; the library's defaults for
    # the flag and the passphrase stretching (PBKDF2, 10,000 << 1 iterations), spelled out.
    groups = generate_mnemonics(
        group_threshold=1,
        groups=[(threshold, shares)],
        master_secret=escrow_key,
        passphrase=passphrase,
        extendable=True,
        iteration_exponent=1,
    )
    pages = [
        render_page(material, blob, mnemonic, number, shares, threshold, bool(passphrase))
        for number, mnemonic in enumerate(groups[0], start=1)
    ]
    readback = [parse_page(page, f"trustee-{n}.txt") for n, page in enumerate(pages, start=1)]
    if serialise(recover(readback[:threshold], passphrase)) != serialise(material):
        raise EscrowError("the new shares did not recover the keys; nothing was written")
    return pages


def _check_counts(threshold: int, shares: int) -> None:
    if not 2 <= shares <= _MAX_SHARES:
        raise EscrowError(f"--shares must be from 2 to {_MAX_SHARES}")
    if not 2 <= threshold <= shares:
        raise EscrowError(f"--threshold must be from 2 to the number of shares ({shares})")


def recover(pages: Sequence[SharePage], passphrase: bytes = b"") -> KeyMaterial:
    """The key material from at least the threshold number of pages of one escrow."""
    if not pages:
        raise EscrowError("no share given")
    blob = pages[0].blob
    for page in pages[1:]:
        if page.blob != blob:
            raise EscrowError(
                f"{pages[0].name} and {page.name} hold different encrypted key material: "
                "they come from different escrows"
            )
    decoded = [_share(page) for page in pages]
    needed = _check_one_split(pages, decoded)
    if len(pages) < needed:
        given = "1 share given" if len(pages) == 1 else f"{len(pages)} shares given"
        raise EscrowError(f"{given}; this escrow needs {needed}: nothing was recovered")
    try:
        escrow_key = combine_mnemonics([page.mnemonic for page in pages[:needed]], passphrase)
    except MnemonicError as exc:
        raise EscrowError(f"the shares do not combine ({exc}); nothing was written") from None
    return deserialise(_open(escrow_key, blob))


def _share(page: SharePage) -> Share:
    try:
        share = Share.from_mnemonic(page.mnemonic)
    except MnemonicError as exc:
        raise EscrowError(f"{page.name}: the words are not a valid share ({exc})") from None
    if share.group_count != 1 or share.group_threshold != 1 or len(share.value) != _KEY_SIZE:
        raise EscrowError(f"{page.name}: a SLIP-39 share, but not of a casework escrow")
    return share


def _check_one_split(pages: Sequence[SharePage], shares: Sequence[Share]) -> int:
    """The threshold of the split all shares belong to; refuses mixed or repeated shares."""
    first = shares[0]
    seen: dict[int, str] = {}
    for page, share in zip(pages, shares, strict=True):
        if share.group_parameters() != first.group_parameters():
            raise EscrowError(f"{pages[0].name} and {page.name} are shares of different escrows")
        if share.index in seen:
            raise EscrowError(f"{seen[share.index]} and {page.name} hold the same share")
        seen[share.index] = page.name
    return int(first.member_threshold)


# -- organisation keys: re-granting a named coordinator ---------------------------------------


def grant_from_escrow(material: KeyMaterial, username: str) -> int:
    """Open the current key of ``username``'s organisation from the escrow and seal it to
    their public key (issue 16): access to case content from their next sign-in, when every
    member who held the key is gone. Returns the key's version; EscrowError otherwise."""
    from casework.accounts.models import User
    from casework.accounts.roles import Role
    from casework.keystore import members
    from casework.keystore.models import EscrowKey, KeyGrant, MemberKey, OrganisationKeyEscrow

    private = material.organisation_escrow_key
    if private is None:
        raise EscrowError(
            "this escrow was written before organisation keys existed and holds none; "
            "use a newer one (nothing was granted)"
        )
    user = User.objects.filter(username=username).first()
    if user is None or not user.is_active or not user.has_role(Role.COORDINATOR):
        raise EscrowError(f"{username} is not an active coordinator; nothing was granted")
    current = members.current_key(user.organisation_id)
    if current is None:
        raise EscrowError(f"the organisation of {username} has no organisation key yet")
    escrow_keys = EscrowKey.objects.filter(public_key=public_key_of(private))
    escrowed = OrganisationKeyEscrow.objects.filter(
        organisation_key=current, escrow_key__in=escrow_keys
    ).first()
    if escrowed is None:
        raise EscrowError(
            f"this escrow does not hold version {current.version} of the organisation key of "
            f"{username}: no member who holds it signed in after the escrow was made; try a "
            "newer escrow (nothing was granted)"
        )
    member_key = MemberKey.objects.filter(user=user).first()
    if member_key is None:
        raise EscrowError(
            f"{username} has no key pair yet: they sign in once (their access then waits), "
            "then run this again; nothing was granted"
        )
    context = members.escrow_context(
        current.organisation_id, current.version, escrowed.escrow_key_id
    )
    try:
        secret = open_sealed_secret(private, bytes(escrowed.sealed), context)
    except DecryptionError:
        raise EscrowError(
            "the escrowed organisation key does not open; nothing was granted"
        ) from None
    with transaction.atomic():
        KeyGrant.objects.filter(organisation_key=current, user=user).delete()
        KeyGrant.objects.create(
            organisation_key=current,
            user=user,
            sealed=seal_to_member(
                bytes(member_key.public_key),
                secret,
                members.grant_context(current.organisation_id, current.version, user.pk),
            ),
            granted_by=None,
        )
        record(
            Action.ORGANISATION_KEY_RECOVERED,
            organisation_id=user.organisation_id,
            target=user,
            organisation_key_version=current.version,
        )
    return current.version


def escrow_coverage() -> list[tuple[str, int, bool]]:
    """Each organisation with a key: its name, its current version, and whether the newest
    escrow holds that version (it does from the next sign-in of a member who holds it)."""
    from casework.accounts.models import Organisation
    from casework.keystore import members
    from casework.keystore.models import EscrowKey, OrganisationKeyEscrow

    latest = EscrowKey.objects.order_by("-pk").first()
    coverage = []
    for organisation in Organisation.objects.order_by("name"):
        current = members.current_key(organisation.pk)
        if current is None:
            continue
        covered = (
            latest is not None
            and OrganisationKeyEscrow.objects.filter(
                organisation_key=current, escrow_key=latest
            ).exists()
        )
        coverage.append((organisation.name, current.version, covered))
    return coverage


# -- the trustee page -------------------------------------------------------------------------


def render_page(
    material: KeyMaterial,
    blob: bytes,
    mnemonic: str,
    number: int,
    shares: int,
    threshold: int,
    passphrase_used: bool,
) -> str:
    words = mnemonic.split()
    passphrase = (
        "required (it is not on this page; it is kept apart from the shares)"
        if passphrase_used
        else "none"
    )
    lines = [
        "SAFE PASSAGE CASEWORK: KEY ESCROW, TRUSTEE PAGE",
        "",
        f"Installation:  {material.installation}",
        f"Created:       {material.created}",
        f"Share:         {number} of {shares}; any {threshold} shares recover the keys",
        f"Passphrase:    {passphrase}",
        *textwrap.wrap(
            material.describe(),
            width=88,
            initial_indent="Holds:         ",
            subsequent_indent=" " * 15,
        ),
        "",
        "KEEP THIS PAGE SECRET. Together with the pages of other trustees it decrypts every",
        "case record of this installation: the names, passports and stories of people whose",
        "safety depends on them staying unread.",
        "",
        f"Recovery words (share {number} of {shares}, {len(words)} words):",
        f"-----BEGIN {_WORDS_LABEL}-----",
        *_word_columns(words),
        f"-----END {_WORDS_LABEL}-----",
        "",
        "Encrypted key material (base64; the same on every page of this escrow):",
        f"-----BEGIN {_BLOB_LABEL}-----",
        *_base64_lines(blob),
        f"-----END {_BLOB_LABEL}-----",
        _DIGEST_LABEL,
        "  " + _digest_groups(blob),
        "",
        *_INSTRUCTIONS,
    ]
    return "\n".join(lines) + "\n"


_INSTRUCTIONS = [
    "What this page is",
    "  One share of this installation's keys. Alone, or with fewer pages than the threshold",
    "  above, it reveals nothing about them. The words are SLIP-39 (the Shamir standard).",
    "",
    "What to do with it",
    "  - Keep it on paper, in a place you control: not with the servers, their backups, the",
    "    key files or another trustee's page.",
    "  - Do not photograph, scan, type, send or copy it, and show it to nobody.",
    "  - If it is lost or seen by someone else, or anyone presses you to hand it over, tell",
    "    the organisation through the agreed channel: the keys are then escrowed again and",
    "    this page becomes useless.",
    "  - Hand it over only for a recovery or the yearly drill, to the person and through the",
    "    channel agreed in advance, after checking that the request is genuine.",
    "  - Destroy it (shred) when the organisation sends you a newer page.",
    "",
    "How the keys are recovered (for the operator)",
    "  Put the pages (or files with their two BEGIN/END blocks and the SHA-256 line typed",
    "  in) on the recovering machine, then run:",
    "    manage.py recover_keys --share PAGE --share PAGE --share PAGE \\",
    "        --out KEYFILE [--audit-key-out FILE] [--passphrase-file FILE]",
    "  The SHA-256 line catches typing mistakes in the encrypted key material.",
]


def _word_columns(words: Sequence[str]) -> list[str]:
    """The words numbered from 1, down the columns first."""
    rows = -(-len(words) // _WORD_COLUMNS)
    lines = []
    for row in range(rows):
        cells = [f"{i + 1:2d}. {words[i]:<8}" for i in range(row, len(words), rows)]
        lines.append(("  " + "     ".join(cells)).rstrip())
    return lines


def _base64_lines(blob: bytes) -> list[str]:
    text = _b64(blob)
    return [text[i : i + _BASE64_LINE] for i in range(0, len(text), _BASE64_LINE)]


def _digest_groups(blob: bytes) -> str:
    digest = hashlib.sha256(blob).hexdigest()
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))


# -- reading a page back ----------------------------------------------------------------------


def read_share_file(path: Path) -> SharePage:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise EscrowError(f"cannot read share file {path}: {exc.strerror}") from None
    if len(raw) > _MAX_FILE_SIZE:
        raise EscrowError(f"share file {path} is too large to be a trustee page")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise EscrowError(f"share file {path} is not UTF-8 text")
    return parse_page(text, str(path))


def parse_page(text: str, name: str) -> SharePage:
    """Read the words block, the encrypted key material and its SHA-256 from a page."""
    text = text.replace("\r\n", "\n")  # a page typed back on another system
    mnemonic = _numbered_words(_block(text, _WORDS_LABEL, name), name)
    blob = _blob(_block(text, _BLOB_LABEL, name), name)
    stated = _DIGEST_LINE.findall(text)
    if len(stated) != 1:
        raise EscrowError(f"{name}: no single '{_DIGEST_LABEL}' line with 64 hex digits")
    if "".join(stated[0].split()).lower() != hashlib.sha256(blob).hexdigest():
        raise EscrowError(
            f"{name}: the encrypted key material does not match its SHA-256 (a typing mistake?)"
        )
    return SharePage(name=name, mnemonic=mnemonic, blob=blob)


def _block(text: str, label: str, name: str) -> str:
    pattern = rf"^-----BEGIN {label}-----[ \t]*$(.*?)^-----END {label}-----[ \t]*$"
    found = re.findall(pattern, text, re.MULTILINE | re.DOTALL)
    if len(found) != 1:
        raise EscrowError(f"{name}: no single '-----BEGIN {label}-----' block")
    return str(found[0])


def _numbered_words(block: str, name: str) -> str:
    pairs = _NUMBERED_WORD.findall(block)
    if _NUMBERED_WORD.sub("", block).strip():
        raise EscrowError(f"{name}: the words block holds something other than numbered words")
    numbers = sorted(int(number) for number, _ in pairs)
    if numbers != list(range(1, len(pairs) + 1)):
        raise EscrowError(f"{name}: the words are not numbered 1 to {len(pairs)} once each")
    return " ".join(word.lower() for _, word in sorted(pairs, key=lambda pair: int(pair[0])))


def _blob(block: str, name: str) -> bytes:
    try:
        return base64.b64decode("".join(block.split()), validate=True)
    except binascii.Error:
        pass
    raise EscrowError(f"{name}: the encrypted key material is not valid base64")


# -- writing ----------------------------------------------------------------------------------


def write_pages(directory: Path, pages: Sequence[str]) -> list[Path]:
    """Write trustee-1.txt … into ``directory`` (created 0700), each 0600; never overwrites.

    Either every page is written or none is left behind.
    """
    paths = [directory / f"trustee-{n}.txt" for n in range(1, len(pages) + 1)]
    for path in paths:
        if os.path.lexists(path):
            raise EscrowError(f"{path} already exists; refusing to overwrite it (nothing written)")
    _make_private_directory(directory)
    written: list[Path] = []
    try:
        for path, page in zip(paths, pages, strict=True):
            write_private_file(path, page.encode("utf-8"))
            written.append(path)
    except EscrowError:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return paths


def write_recovered(material: KeyMaterial, key_file: Path, audit_key_file: Path | None) -> None:
    """Write the key file (the key-file format, 0600) and, if asked, the audit signing key."""
    for path in (key_file, audit_key_file):
        if path is not None and os.path.lexists(path):
            raise EscrowError(f"{path} already exists; refusing to overwrite it (nothing written)")
    if audit_key_file is not None and material.audit_signing_key is None:
        raise EscrowError(
            "this escrow holds no audit signing key; run again without --audit-key-out "
            "(nothing written)"
        )
    try:
        material.ring.save(key_file, overwrite=False)
    except KeyStoreError as exc:
        raise EscrowError(str(exc)) from None
    if audit_key_file is not None and material.audit_signing_key is not None:
        data = (_b64(material.audit_signing_key) + "\n").encode("ascii")  # as --init-key writes
        try:
            write_private_file(audit_key_file, data)
        except EscrowError:
            key_file.unlink(missing_ok=True)
            raise


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 whatever the umask; refuses an existing path."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise EscrowError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise EscrowError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise EscrowError(f"cannot write {path}: {exc.strerror}") from None


def _make_private_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    try:
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # exactly 0700 whatever the umask
    except OSError as exc:
        raise EscrowError(f"cannot create {directory}: {exc.strerror}") from None
