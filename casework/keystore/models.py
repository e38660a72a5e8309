from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataKey(models.Model):
    """The data key (DEK) of one data subject, stored only wrapped under a KEK.

    Destroying it (``wrapped = NULL``) makes every field, file and letter of the subject
    unreadable at once: crypto-shredding. The row stays as a PII-free tombstone.
    """

    class SubjectType(models.TextChoices):
        APPLICANT = "applicant", _("applicant")
        USER = "user", _("user")
        ORGANISATION = "organisation", _("organisation")

    subject_id = models.UUIDField(primary_key=True)
    subject_type = models.CharField(max_length=20, choices=SubjectType.choices)
    organisation_id = models.UUIDField()
    wrapped = models.BinaryField(null=True)
    kek_version = models.PositiveIntegerField(null=True, db_index=True)
    # Random 96-bit nonces stay safe far beyond this, but we roll the key well before
    # (SECURITY-REQUIREMENTS R35): see casework.lib.datakeys.MAX_ENCRYPTIONS.
    encryptions = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("data key")
        verbose_name_plural = _("data keys")

    def __str__(self) -> str:
        return f"DataKey({self.subject_type}:{self.subject_id})"
