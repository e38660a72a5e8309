from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from casework.accounts.roles import Role
from casework.lib.fields import EncryptedModel, EncryptedTextField
from crypto import keyed_digest


class Organisation(models.Model):
    """A partner organisation. Every user and every case belongs to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # R2: coordinators, org admins and auditors sign in with a passkey only (phishing
    # resistant), and not a synced one. On by default; the demo organisations turn it off.
    passkeys_required_for_privileged = models.BooleanField(
        _("privileged roles must use a passkey"), default=True
    )
    # Where security alerts go (R47): a functional mailbox of the organisation, not a person's
    # address (users have none here). The mails say that an alert exists, nothing more.
    alert_email = models.EmailField(_("security alert mailbox"), blank=True)

    # The letterhead of support letters (DOMAIN.md section 3.2), set by the org admin. A
    # "safe" letterhead names the entity registered in the EU.
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    registration = models.CharField(
        _("registration (number, register, country)"), max_length=200, blank=True
    )
    address = models.TextField(_("postal address"), blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    letter_contact = models.CharField(_("e-mail and phone on letters"), max_length=200, blank=True)
    signatory_name = models.CharField(_("signatory's name"), max_length=200, blank=True)
    signatory_title = models.CharField(_("signatory's function"), max_length=200, blank=True)
    verification_contact = models.CharField(
        _("contact for verification (name, e-mail, phone)"), max_length=300, blank=True
    )
    # "About the organisation" per letter language: {"en": "...", "de": "..."}.
    about = models.JSONField(_("about the organisation, per language"), default=dict, blank=True)
    # Per letter language; a name given for a language replaces signatory_name there (a
    # Cyrillic spelling for Russian letters, say).
    signatory_titles = models.JSONField(
        _("signatory's function, per language"), default=dict, blank=True
    )
    signatory_names = models.JSONField(
        _("signatory's name, per language"), default=dict, blank=True
    )

    # Retention (DOMAIN.md 4.4, R61), set by the org admin and justified in the DPIA.
    # ``manage.py apply_retention`` (daily) deletes a person's details this many months after
    # their last case closed, then the pseudonymised skeleton this many years after that.
    retention_details_months = models.PositiveSmallIntegerField(
        _("months a closed case's details are kept"), default=12
    )
    retention_skeleton_years = models.PositiveSmallIntegerField(
        _("years a closed case's skeleton is kept"), default=5
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def letter_name(self) -> str:
        return self.legal_name or self.name


class UserManager(BaseUserManager["User"]):
    def create_user(
        self,
        username: str,
        *,
        organisation: Organisation,
        password: str | None = None,
        **extra: Any,
    ) -> User:
        user = self.model(username=username, organisation=organisation, **extra)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """A person who works in one organisation, known externally by a UUID only.

    No real name or e-mail address is collected: a username is enough to work, and
    every stored detail about a helper is one more detail that can be seized.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("150 characters or fewer. Letters, digits and @/./+/-/_ only."),
        error_messages={"unique": _("A user with that username already exists.")},
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("organisation"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # For the notice after sign-in (R14): when the previous sign-in was, and failures since.
    last_verified_login_at = models.DateTimeField(null=True, blank=True)
    failed_logins_since_last = models.PositiveIntegerField(default=0)
    # The interface language they chose; applied at each sign-in (signing out clears cookies).
    language = models.CharField(_("interface language"), max_length=8, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["organisation"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.username

    def role_names(self) -> frozenset[str]:
        """The user's role names, read once per instance: ``request.user`` is loaded anew for
        every request, so a page asks the database once however many checks it makes. A
        change through ``user.groups`` forgets them (``_roles_changed``)."""
        cached = self.__dict__.get("_role_names")
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True))
            self.__dict__["_role_names"] = cached
        return cached

    def remember_roles(self, names: frozenset[str]) -> None:
        """Roles read with the user (``RoleLoadingModelBackend``), so none is asked again."""
        self.__dict__["_role_names"] = names

    def forget_roles(self) -> None:
        self.__dict__.pop("_role_names", None)

    def has_role(self, role: Role) -> bool:
        return role.value in self.role_names()

    @property
    def roles(self) -> list[Role]:
        names = self.role_names()
        return [role for role in Role if role.value in names]


# --- Second factors -------------------------------------------------------------------------
# django-otp stores TOTP keys and static tokens in plaintext (its issues #67, #68); these
# devices keep the TOTP key encrypted under the user's data key and backup codes as keyed
# digests, while still plugging into django-otp's session handling (OTPMiddleware).

TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # one step either way: t-30 s and t+30 s accepted, t±60 s refused
TOTP_KEY_BYTES = 20  # 160 bits (RFC 4226 recommends at least 128, SecureDrop uses 160)
UNCONFIRMED_DEVICE_LIFETIME = timedelta(minutes=10)


class TOTPDevice(EncryptedModel, ThrottlingMixin, TimestampMixin, Device):
    """An authenticator app. Unconfirmed until the user proves it with a valid code.

    django-otp addresses devices by integer id (its persistent_id), so the primary key is an
    integer; ``public_id`` is what URLs show and what the key's AAD binds.
    """

    id = models.BigAutoField(primary_key=True)  # type: ignore[assignment]
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = EncryptedTextField()  # hex; encrypted under the user's data key
    last_t = models.BigIntegerField(default=-1)  # the last time step accepted: no replay
    created_at = models.DateTimeField(auto_now_add=True)

    DATA_SUBJECT_ATTR = "user_id"
    DATA_SUBJECT_TYPE = "user"

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def encryption_record_id(self) -> Any:
        return self.public_id

    def get_throttle_factor(self) -> int:
        return 1  # 1, 2, 4, ... seconds after each failure; 512 s after ten (R5)

    def verify_token(self, token: object) -> bool:
        """Check a code, at most once per time step; call on a row locked for update."""
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        code = str(token).strip().replace(" ", "")
        totp = TOTP(bytes.fromhex(self.key), step=TOTP_STEP, digits=TOTP_DIGITS)
        well_formed = code.isdigit() and len(code) == TOTP_DIGITS
        if well_formed and totp.verify(int(code), tolerance=TOTP_TOLERANCE, min_t=self.last_t + 1):
            self.last_t = totp.t()
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False


class BackupCodeDevice(ThrottlingMixin, Device):
    """Ten single-use codes, kept only as keyed digests, shown once."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def get_throttle_factor(self) -> int:
        return 1

    @property
    def remaining(self) -> int:
        return int(self.codes.filter(used_at__isnull=True).count())

    def verify_token(self, token: object) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        digest = backup_code_digest(str(token))
        code = (
            self.codes.select_for_update().filter(digest=digest, used_at__isnull=True).first()
            if digest
            else None
        )
        if code is None:
            self.throttle_increment(commit=True)
            return False
        code.used_at = timezone.now()
        code.save(update_fields=["used_at"])
        self.throttle_reset(commit=True)
        return True


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.BinaryField()
    used_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"BackupCode({self.pk})"


def backup_code_digest(code: str) -> bytes | None:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    if not normalised:
        return None
    from casework.lib.keys import keyring

    return keyed_digest(keyring().index_key, "backup-codes", normalised.encode("ascii", "ignore"))


# --- Sessions, throttling, invitations ------------------------------------------------------


class UserSession(models.Model):
    """One signed-in session: listed to its user, ended by them or by the kill-switches."""

    session_key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    client = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"UserSession({self.public_id})"


class LoginFailure(models.Model):
    """A failed password attempt, keyed by digests: no typed username or address is kept."""

    username_digest = models.BinaryField()
    client_digest = models.BinaryField()
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"LoginFailure({self.pk})"


class LoginLock(models.Model):
    """A username locked after too many failures (for an unknown username too, so a lock
    reveals nothing about who has an account). Lifted by time or by an org admin."""

    username_digest = models.BinaryField(unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"LoginLock({self.pk})"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Invitations whose link still works (the query form of ``Invitation.problem``)."""
        return self.filter(
            accepted_at__isnull=True, withdrawn_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use, expiring invitation link. Only a digest of its token is stored.

    A link either creates a new account (``account`` is None) or, after an administrator
    reset that account's second factor, lets its owner set a new password (``account`` set):
    the old password stops working at the reset, so whoever knew it cannot come back with it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    role = models.CharField(max_length=20)
    token_digest = models.BinaryField(unique=True)
    account = models.ForeignKey(
        "User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Usernames refused as taken on this link: a few, then the link stops working (the answer
    # "taken" says that somebody, in some organisation, has that name).
    refused_usernames = models.PositiveSmallIntegerField(default=0)
    # None: made by an operator with `manage.py create_organisation` (the first admin).
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True)
    accepted_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    # Set when an org admin withdraws the link before anyone used it (who did: the audit log).
    withdrawn_at = models.DateTimeField(null=True)

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Invitation({self.pk})"

    def problem(self) -> str | None:
        """Why the link no longer works: "used", "withdrawn" or "expired"; None if it does."""
        if self.accepted_at is not None:
            return "used"
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return None

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""


class RoleGrantQuerySet(models.QuerySet["RoleGrant"]):
    def pending(self) -> RoleGrantQuerySet:
        return self.filter(outcome="")

    def awaiting_coordinator(self) -> RoleGrantQuerySet:
        """Pending grants a coordinator can decide: the account exists and is active."""
        return self.pending().filter(user__isnull=False, user__is_active=True)


class RoleGrant(models.Model):
    """A content role (coordinator, caseworker) an org admin asked for: it takes effect only
    when a coordinator of the organisation confirms it, so no single person gives an account
    access to case content (two people). Made by an invitation for a content role, a role
    change to one, or a second-factor reset of someone who had one."""

    class Reason(models.TextChoices):
        INVITATION = "invitation", _("invitation")
        ROLE_CHANGE = "role_change", _("role change")
        RESET = "reset", _("second factor reset")

    class Outcome(models.TextChoices):
        PENDING = "", _("waiting for a coordinator")
        CONFIRMED = "confirmed", _("confirmed")
        REFUSED = "refused", _("refused")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    # None until the invitation that asked for the role is accepted.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="role_grants"
    )
    invitation = models.OneToOneField(
        Invitation, on_delete=models.CASCADE, null=True, blank=True, related_name="grant"
    )
    role = models.CharField(max_length=20)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    # None with an outcome: decided by an operator on the command line (bootstrap).
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("role request")
        verbose_name_plural = _("role requests")
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"RoleGrant({self.pk})"

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class SecurityNotice(models.Model):
    """A change to how someone signs in (a factor added or removed, new backup codes, a new
    password, a reset by an administrator): shown on their dashboard until they acknowledge
    it from a later sign-in than the change (R14), so a session that made the change cannot
    quietly dismiss it."""

    class Kind(models.TextChoices):
        PASSKEY_ADDED = "passkey_added", _("A passkey was added to your account.")
        APP_ADDED = "app_added", _("An authenticator app was set up for your account.")
        DEVICE_REMOVED = "device_removed", _("A second factor was removed from your account.")
        BACKUP_CODES = (
            "backup_codes",
            _("New backup codes were made; the old ones stopped working."),
        )
        PASSWORD_CHANGED = "password_changed", _("Your password was changed.")
        FACTOR_RESET = (
            "factor_reset",
            _(
                "An administrator reset your second factor and a new password was set through "
                "the link they gave."
            ),
        )

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_notices")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"SecurityNotice({self.pk})"


@receiver(m2m_changed, sender=User.groups.through)
def _roles_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A user's groups changed through this instance: its cached role names are stale."""
    if isinstance(instance, User):
        instance.forget_roles()
