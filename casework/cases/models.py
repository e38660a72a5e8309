"""Applicants: the data subjects. Everything that identifies or describes the person is
encrypted under their own data key; operational fields stay plaintext on purpose
(DOMAIN.md section 9, SECURITY.md "What is encrypted")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import Organisation
from casework.lib.fields import (
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedModel,
    EncryptedTextField,
    blind_index_indexes,
)


class Applicant(EncryptedModel):
    """A person seeking safe passage, and the owner of one data key."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applicants"
    )

    # Sensitive: encrypted, searchable only by exact match through blind indexes.
    legal_name_cyrillic = EncryptedTextField(_("legal name (Cyrillic)"), blind_index="name")
    legal_name_latin = EncryptedTextField(_("legal name (Latin)"), blind_index="name")
    preferred_name = EncryptedTextField(_("preferred name"))
    pronouns = EncryptedTextField(_("pronouns"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    internal_passport_no = EncryptedTextField(_("internal passport number"), blind_index="passport")
    international_passport_no = EncryptedTextField(
        _("international passport number"), blind_index="passport"
    )
    email = EncryptedTextField(_("e-mail"), blind_index="email")
    phone = EncryptedTextField(_("phone"), blind_index="phone")
    contact_channels = EncryptedJSONField(_("contact channels"))
    safe_contact_instructions = EncryptedTextField(_("safe-contact instructions"))
    current_city = EncryptedTextField(_("current city"))
    gender_identity = EncryptedTextField(_("gender identity"))
    sexual_orientation = EncryptedTextField(_("sexual orientation"))
    health_notes = EncryptedTextField(_("health notes"))
    risk_notes = EncryptedTextField(_("risk-relevant facts"))

    # Operational: plaintext on purpose (dashboards, deadlines, filtering).
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    current_country = models.CharField(_("current country"), max_length=2, blank=True)
    passport_expiry = models.DateField(_("passport expiry"), null=True, blank=True)
    legal_stay_until = models.DateField(_("legal stay until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    NAME_FIELDS = ["legal_name_cyrillic", "legal_name_latin"]
    PASSPORT_FIELDS = ["internal_passport_no", "international_passport_no"]

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")
        indexes = blind_index_indexes(
            "applicant",
            "legal_name_cyrillic",
            "legal_name_latin",
            "internal_passport_no",
            "international_passport_no",
            "email",
            "phone",
        )

    def __str__(self) -> str:
        # Never a name: objects end up in logs and error messages.
        return f"Applicant {self.pk}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
