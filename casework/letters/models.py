"""Support letters to embassies and ministries (DOMAIN.md sections 3, 9 "Letter" and 11).

A letter is requested by a caseworker for one route attempt, edited and issued by a
coordinator, and from then on immutable: a correction is a new letter that supersedes it.
What it says about the person is encrypted under the applicant's data key, the issued PDF
too; what the public verification page may show (status, organisation, date, addressee,
language, the PDF's SHA-256) is plaintext on purpose.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.accounts.models import Organisation
from casework.cases.models import (
    LETTER_LANGUAGES,
    Applicant,
    Case,
    Document,
    Mission,
    Route,
    VisaApplication,
)
from casework.lib.fields import EncryptedModel, EncryptedTextField


class Letter(EncryptedModel):
    DATA_SUBJECT_ATTR = "applicant_id"

    # What the letter asks for: its route's kind of request, taken when the letter is
    # requested and again at issue (the subject and request sentences follow it).
    Kind = Route.RequestKind

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("letter status", "draft")
        ISSUED = "issued", pgettext_lazy("letter status", "issued")
        REVOKED = "revoked", pgettext_lazy("letter status", "revoked")
        SUPERSEDED = "superseded", pgettext_lazy("letter status", "superseded")

    class Delivery(models.TextChoices):
        DIRECT = "direct_to_authority", _("sent by us directly to the authority")
        PAPER = "via_applicant_paper", _("carried by the applicant on paper")
        DIGITAL = "via_applicant_digital", _("carried by the applicant as a file")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="letters")
    attempt = models.ForeignKey(VisaApplication, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(_("kind of letter"), max_length=12, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=2, choices=LETTER_LANGUAGES)
    mission = models.ForeignKey(
        Mission, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("via mission")
    )
    delivery = models.CharField(
        _("delivery"), max_length=24, choices=Delivery.choices, default=Delivery.DIRECT
    )
    # Sexual orientation or gender identity appear only when this is ticked and the
    # disclosure consent covers them (checked again at issue).
    include_sogi = models.BooleanField(
        _("state sexual orientation or gender identity"), default=False
    )
    facts = EncryptedTextField(_("facts establishing the risk"))
    why_route = EncryptedTextField(_("why this state and this procedure"))
    urgency = EncryptedTextField(_("why it is urgent"))
    annexes = models.ManyToManyField(Document, blank=True, related_name="+")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)  # optimistic locking of edits
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    # Set once, at issue; never changed afterwards.
    reference = models.CharField(max_length=20, blank=True)  # LTR-2026-000123
    code_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    passport_digest = models.CharField(max_length=64, blank=True)  # keyed, for the match check
    issued_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    # What the public verification page shows, as the letter printed it: a later edit of
    # the letterhead or of the route's authority must not change what a genuine letter
    # is checked against.
    issuer_name = models.CharField(max_length=200, blank=True)  # the letterhead's name
    authority = models.CharField(max_length=300, blank=True)  # the addressee, as printed
    pdf_storage_name = models.CharField(max_length=100, blank=True, editable=False)
    pdf_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    pdf_size = models.PositiveIntegerField(null=True, blank=True, editable=False)

    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = EncryptedTextField(_("reason for revoking"))

    class Meta:
        ordering = ["requested_at"]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"],
                condition=~models.Q(reference=""),
                name="letter_reference_unique_per_organisation",
            )
        ]

    def __str__(self) -> str:
        return self.reference or f"Letter({self.pk})"


class LetterSequence(models.Model):
    """The last reference number used, per organisation and year (locked while issuing)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="letter_sequence_year")
        ]

    def __str__(self) -> str:
        return f"LetterSequence({self.year}, {self.last})"


class VerificationCheck(models.Model):
    """One lookup on the public verification page, by a keyed digest of the client's
    network: enough to rate-limit, nothing that identifies the verifier."""

    client_digest = models.BinaryField(max_length=32)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"VerificationCheck({self.at})"
