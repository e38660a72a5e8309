from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.db import DatabaseError, models
from django.utils import timezone

from casework.audit.actions import Action

__all__ = ["Action", "AuditEvent"]


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    """Refuses bulk changes: an audit entry, once written, is never updated or deleted."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class AppendOnlyError(Exception):
    pass


class AuditUnavailable(DatabaseError):
    """The entry could not be written, so the action it records must not happen (R44)."""


class AuditEvent(models.Model):
    """One audited event, chained to the one before it (SECURITY.md "Audit log").

    Entries carry ids and names, never decrypted content. The database refuses UPDATE and
    DELETE on this table (a trigger on PostgreSQL), and the ORM refuses them too.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_id = models.UUIDField(null=True)
    organisation_id = models.UUIDField(null=True, db_index=True)
    # An Action value. Not declared as the column's choices: a new action would otherwise
    # be a migration that changes nothing in the database.
    action = models.CharField(max_length=40, db_index=True)
    decision = models.CharField(max_length=5, default="allow")
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    case_id = models.UUIDField(null=True, db_index=True)
    client = models.CharField(max_length=64, blank=True)  # truncated network only
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # Set only when the entry is pruned after the retention period (audit.pruning): its
    # Merkle leaf hash, hex, kept so that the tree and the signed checkpoints still verify
    # once the content columns are emptied. NULL for every entry with its content.
    # NULL rather than "": adding a column with a default would rebuild the table on SQLite
    # and drop its triggers (audit migration 0015).
    leaf = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    objects = AppendOnlyQuerySet.as_manager()

    # Not a column: what the INSERT of a new entry answered besides (services.record).
    returned: Any = None

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["organisation_id", "at"], name="audit_org_at"),
            # The bulk-access question every case view asks reads one user's case views and
            # alerts of the last hour (audit.alerts.record_case_view).
            models.Index(fields=["actor_id", "action", "at"], name="audit_actor_action_at"),
        ]

    def __str__(self) -> str:
        return f"AuditEvent({self.seq}, {self.action})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")

    def canonical_fields(self) -> dict[str, Any]:
        """What the hash covers (SECURITY.md documents it for independent verifiers)."""
        return canonical_fields(*(getattr(self, name) for name in CANONICAL_COLUMNS))


CANONICAL_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "organisation_id",
    "action",
    "decision",
    "target_type",
    "target_id",
    "case_id",
    "client",
    "details",
)


def canonical_fields(
    seq: int,
    at: Any,
    actor_id: Any,
    organisation_id: Any,
    action: str,
    decision: str,
    target_type: str,
    target_id: str,
    case_id: Any,
    client: str,
    details: Any,
) -> dict[str, Any]:
    """The hashed form of an entry, from its column values (also used when streaming)."""
    return {
        "seq": seq,
        "at": at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z",
        "actor_id": str(actor_id) if actor_id else None,
        "organisation_id": str(organisation_id) if organisation_id else None,
        "action": action,
        "decision": decision,
        "target_type": target_type,
        "target_id": target_id,
        "case_id": str(case_id) if case_id else None,
        "client": client,
        "details": details,
    }


class ChainHead(models.Model):
    """The single row that serialises appends: locked for update by every writer."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"ChainHead({self.seq})"


class Checkpoint(models.Model):
    """A signed statement of the chain head; also exported to a file kept elsewhere."""

    size = models.BigIntegerField(unique=True)
    head = models.CharField(max_length=64)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["size"]

    def __str__(self) -> str:
        return f"Checkpoint({self.size})"


class Verification(models.Model):
    """The result of one full verification run, shown to auditors (R48)."""

    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    checked = models.BigIntegerField()
    first_bad = models.BigIntegerField(null=True)
    damage = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"Verification({self.at}, {'ok' if self.ok else self.damage})"

    @property
    def is_stale(self) -> bool:
        """Older than the daily schedule allows (R48): the timer may have stopped."""
        return self.at < timezone.now() - VERIFICATION_MAX_AGE


# Verification is scheduled daily; an hour of slack for the run itself.
VERIFICATION_MAX_AGE = timedelta(hours=25)
