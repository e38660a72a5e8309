"""The fixed vocabulary of audited actions (the audit entries' ``action``)."""

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
    INVITATION_WITHDRAWN = "invitation_withdrawn", _("invitation withdrawn")
    ROLE_CHANGED = "role_changed", _("role changed")
    ORGANISATION_UPDATED = "organisation_updated", _("organisation settings changed")
    USER_DEACTIVATED = "user_deactivated", _("user deactivated")
    SECOND_FACTOR_RESET = "second_factor_reset", _("second factor reset")
    PANIC_REVOKE = "panic_revoke", _("all sessions and devices revoked")
    ERASURE = "erasure", _("erasure")
    KEYS_ROTATED = "keys_rotated", _("keys rotated")
    CASE_VIEWED = "case_viewed", _("case viewed")
    CASE_LISTED = "case_listed", _("case list viewed")
    CASE_SEARCHED = "case_searched", _("cases searched")
    ACCESS_DENIED = "access_denied", _("access denied")
    CASE_ASSIGNED = "case_assigned", _("case assigned")
    STATUS_CHANGED = "status_changed", _("status changed")
    CASE_CREATED = "case_created", _("case created")
    CASE_UPDATED = "case_updated", _("case updated")
    NOTE_ADDED = "note_added", _("note added")
    DEADLINE_CHANGED = "deadline_changed", _("deadline changed")
    ROUTE_ATTEMPT_ADDED = "route_attempt_added", _("route attempt added")
    ROUTE_ATTEMPT_UPDATED = "route_attempt_updated", _("route attempt updated")
    REFERENCE_CHANGED = "reference_changed", _("route or mission changed")
    CONSENT_RECORDED = "consent_recorded", _("consent recorded")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("consent withdrawn")
    FIELD_REVEALED = "field_revealed", _("sensitive field revealed")
    DOCUMENT_UPLOADED = "document_uploaded", _("document uploaded")
    DOCUMENT_DOWNLOADED = "document_downloaded", _("document downloaded")
    DOCUMENT_UPDATED = "document_updated", _("document details changed")
    DOCUMENT_VERIFIED = "document_verified", _("document verified or rejected")
    LETTER_REQUESTED = "letter_requested", _("letter requested")
    LETTER_UPDATED = "letter_updated", _("letter draft edited")
    LETTER_CHECKED = "letter_checked", _("letter checked on the public verification page")
    LETTER_ISSUED = "letter_issued", _("letter issued")
    LETTER_DOWNLOADED = "letter_downloaded", _("letter downloaded")
    LETTER_REVOKED = "letter_revoked", _("letter revoked")
    EXPORT = "export", _("export")
    AUDIT_VIEWED = "audit_viewed", _("audit log viewed")
    AUDIT_EXPORTED = "audit_exported", _("audit log exported")
    AUDIT_VERIFIED = "audit_verified", _("audit log verified")
    CHECKPOINT = "checkpoint", _("checkpoint signed")
    ALERT = "alert", _("alert")
    # Issue 12 adds its actions in these blocks, one per area, so that parallel work on
    # different areas never edits the same lines.
    # -- accounts --
    ROLE_GRANT_REQUESTED = (
        "role_grant_requested",
        _("content role asked for, awaiting a coordinator"),
    )
    ROLE_GRANT_CONFIRMED = "role_grant_confirmed", _("content role confirmed by a coordinator")
    ROLE_GRANT_REFUSED = "role_grant_refused", _("content role refused by a coordinator")
    INVITATION_USERNAME_REFUSED = (
        "invitation_username_refused",
        _("taken username refused on an invitation link"),
    )
    SECURITY_NOTICES_ACKNOWLEDGED = (
        "security_notices_acknowledged",
        _("security notices acknowledged"),
    )
    # Issue 16: the organisation key that members unlock (ids only, never a key).
    ORGANISATION_KEY_CREATED = "organisation_key_created", _("organisation key created")
    ORGANISATION_KEY_ROTATED = "organisation_key_rotated", _("organisation key rotated")
    # recover_keys: the organisation key opened from the trustees' shares, sealed to a
    # coordinator named by the operator.
    ORGANISATION_KEY_RECOVERED = (
        "organisation_key_recovered",
        _("organisation key recovered from escrow for a coordinator"),
    )
    CONTENT_ACCESS_GRANTED = "content_access_granted", _("access to case content granted")
    CONTENT_ACCESS_REMOVED = "content_access_removed", _("access to case content removed")
    # -- audit --
    # What a pruned entry says it was (its content is gone: audit.pruning), and the run.
    PRUNED = "pruned", _("entry older than the retention period, content removed")
    AUDIT_PRUNED = "audit_pruned", _("old audit entries pruned")
    # -- keys and files --
    # Refused retirements are entries too, with decision "deny".
    KEK_RETIRED = "kek_retired", _("old key-encryption key retired")
    # The keys split among trustees (escrow_keys): how many shares, how many recover them.
    KEYS_ESCROWED = "keys_escrowed", _("keys split among trustees")
    # -- letters and cases --
    # A positive duplicate check at intake: who, by which kind of identifier, never the value.
    POSSIBLE_DUPLICATE = "possible_duplicate", _("possible duplicate found at intake")
    DUPLICATE_REVIEWED = "duplicate_reviewed", _("possible duplicate reviewed")
    # -- backup and restore (issue 14, part 1) --
    # A restore that was kept: from which backup, how, and how many erasures it replayed.
    BACKUP_RESTORED = "backup_restored", _("backup restored")
    # -- subject-access export (issue 14, part 4) --
    # The export itself is EXPORT, with whether it was encrypted; each download is one more.
    EXPORT_DOWNLOADED = "export_downloaded", _("export downloaded")
    # -- requests of the person (R62) --
    # Kind and due date only; the export or erasure that answers it says so in its own entry.
    SUBJECT_REQUEST_RECORDED = "subject_request_recorded", _("request of the person recorded")
    # -- retention (issue 14, part 2) --
    # A coordinator keeps a closed case's details past the schedule: until when, and why
    # (a code from a fixed list). Shredding itself is an ERASURE entry with the cause.
    RETENTION_HELD = "retention_held", _("closed case's details kept longer")
    SKELETON_DELETED = "skeleton_deleted", _("closed case's skeleton deleted")
    RETENTION_CHANGED = "retention_changed", _("retention schedule changed")
    # -- compromised account (issue 14, part 7) --
    # One entry for the whole playbook: the reason as a code from a fixed list, and counts.
    ACCOUNT_COMPROMISED = (
        "account_compromised",
        _("account possibly compromised: locked, and every session, factor and case taken away"),
    )
