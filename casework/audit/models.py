from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """The fixed vocabulary of audited actions. Entries carry ids and names, never content."""

    LOGIN = "login", _("login")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOGIN_THROTTLED = "login_throttled", _("login throttled")
    ACCOUNT_LOCKED = "account_locked", _("account locked")
    ACCOUNT_UNLOCKED = "account_unlocked", _("account unlocked")
    OTP_FAILED = "otp_failed", _("second factor failed")
    REAUTHENTICATED = "reauthenticated", _("re-authenticated")
    LOGOUT = "logout", _("logout")
    DEVICE_ADDED = "device_added", _("second-factor device added")
    DEVICE_REMOVED = "device_removed", _("second-factor device removed")
    BACKUP_CODES_ISSUED = "backup_codes_issued", _("backup codes issued")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    SESSION_ENDED = "session_ended", _("session ended")
    INVITATION_CREATED = "invitation_created", _("invitation created")
    INVITATION_ACCEPTED = "invitation_accepted", _("invitation accepted")
    ROLE_CHANGED = "role_changed", _("role changed")
    USER_DEACTIVATED = "user_deactivated", _("user deactivated")
    SECOND_FACTOR_RESET = "second_factor_reset", _("second factor reset")
    PANIC_REVOKE = "panic_revoke", _("all sessions and devices revoked")
    ERASURE = "erasure", _("erasure")
    KEYS_ROTATED = "keys_rotated", _("keys rotated")


class AuditEvent(models.Model):
    """One audited event. Minimal for now; the audit-log issue adds the hash chain,
    checkpoints and the append-only guarantees."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)
    actor_id = models.UUIDField(null=True)
    organisation_id = models.UUIDField(null=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    decision = models.CharField(max_length=5, default="allow")
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    client = models.CharField(max_length=64, blank=True)  # truncated address only
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"AuditEvent({self.id}, {self.action})"
