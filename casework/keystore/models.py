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
    # The organisation key version the DEK is also wrapped under (issue 16); None for a data
    # key of the KEK alone: a member's or organisation's own, or an applicant's from before
    # the organisation had a key (layered by members' requests: vault._layer_a_batch).
    organisation_key_version = models.PositiveIntegerField(null=True)
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


# --- Member-unlocked organisation keys (issue 16) ---------------------------------------------
# No organisation key is stored here, nor anywhere else in the clear: each member who may read
# case content holds it sealed to their own public key (KeyGrant), and their private key is
# locked under a key derived from their password (MemberKey). SECURITY.md gives the formats.


class OrganisationKey(models.Model):
    """One version of an organisation's key: when it was made and by whom, never the key."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A rotated key (version > 1): the previous version's key, encrypted under this one
    # (crypto.aead, 60 bytes), so that members holding this version still open the data keys
    # not yet moved under it. Nothing opens it without this version's key.
    previous_sealed = models.BinaryField(null=True)

    class Meta:
        verbose_name = _("organisation key")
        verbose_name_plural = _("organisation keys")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="one_organisation_key_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"OrganisationKey({self.organisation_id}, v{self.version})"


class MemberKey(models.Model):
    """A member's X25519 key pair: the public half, and the private half locked under their
    password (crypto.member_keys, 83 bytes). Replaced, with every grant to it, when the
    password is set without the old one (a reset link): the member is pending again."""

    user = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, primary_key=True, related_name="member_key"
    )
    public_key = models.BinaryField()
    locked_private_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    locked_at = models.DateTimeField()

    class Meta:
        verbose_name = _("member key")
        verbose_name_plural = _("member keys")

    def __str__(self) -> str:
        return f"MemberKey({self.user_id})"


class KeyGrant(models.Model):
    """An organisation key sealed to one member's public key (crypto.member_keys, 93 bytes):
    that member's access to case content. Deleting it removes the access."""

    organisation_key = models.ForeignKey(
        OrganisationKey, on_delete=models.CASCADE, related_name="grants"
    )
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="key_grants")
    sealed = models.BinaryField()
    granted_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_key", "user"], name="one_grant_per_member_and_key"
            )
        ]

    def __str__(self) -> str:
        return f"KeyGrant({self.organisation_key_id}, {self.user_id})"


class EscrowKey(models.Model):
    """The public half of an escrow's X25519 key pair (escrow_keys): its private half exists
    only in the trustees' SLIP-39 shares. Organisation keys are sealed to the newest one."""

    public_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("escrow key")
        verbose_name_plural = _("escrow keys")

    def __str__(self) -> str:
        return f"EscrowKey({self.pk})"


class OrganisationKeyEscrow(models.Model):
    """An organisation key sealed to an escrow's public key (crypto.member_keys, 93 bytes):
    what recover_keys opens with the trustees' shares to grant a named coordinator."""

    organisation_key = models.ForeignKey(
        OrganisationKey, on_delete=models.CASCADE, related_name="escrows"
    )
    escrow_key = models.ForeignKey(EscrowKey, on_delete=models.CASCADE, related_name="+")
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("escrowed organisation key")
        verbose_name_plural = _("escrowed organisation keys")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_key", "escrow_key"], name="one_escrow_per_organisation_key"
            )
        ]

    def __str__(self) -> str:
        return f"OrganisationKeyEscrow({self.organisation_key_id}, {self.escrow_key_id})"
