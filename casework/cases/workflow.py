"""The case workflow: primary statuses, the allowed transitions and their guards
(DOMAIN.md section 8 (a)).

Pure Python on purpose (no models, no database), so the rules are testable on their own.
Overlay flags such as ON_HOLD or LOST_CONTACT are not statuses and are not modelled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class Status(models.TextChoices):
    NEW_REQUEST = "new_request", _("New request")
    SCREENING = "screening", _("Screening")
    VERIFICATION = "verification", _("Verification")
    ROUTE_PLANNING = "route_planning", _("Route planning")
    DOCUMENTS = "documents", _("Documents")
    LETTER_DRAFTING = "letter_drafting", _("Letter drafting")
    LETTER_REVIEW = "letter_review", _("Letter review")
    SUBMITTED = "submitted", _("Submitted")
    PRE_APPROVED = "pre_approved", _("Pre-approved")
    APPOINTMENT_BOOKED = "appointment_booked", _("Appointment booked")
    LODGED = "lodged", _("Lodged")
    DECISION_PENDING = "decision_pending", _("Decision pending")
    VISA_ISSUED = "visa_issued", _("Visa issued")
    REFUSED = "refused", _("Refused")
    APPEAL = "appeal", _("Appeal")
    TRAVEL_PLANNING = "travel_planning", _("Travel planning")
    IN_TRANSIT = "in_transit", _("In transit")
    ARRIVED = "arrived", _("Arrived")
    POST_ARRIVAL = "post_arrival", _("Post-arrival")
    CLOSED = "closed", _("Closed")


class ClosureReason(models.TextChoices):
    INELIGIBLE = "ineligible", _("Ineligible")
    REFERRED_ELSEWHERE = "referred_elsewhere", _("Referred elsewhere")
    DUPLICATE = "duplicate", _("Duplicate")
    RESETTLED = "resettled", _("Resettled")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_CONTACT_TIMEOUT = "lost_contact_timeout", _("Lost contact (timeout)")
    SAFETY_EXIT = "safety_exit", _("Safety exit")
    RELOCATED_INDEPENDENTLY = "relocated_independently", _("Relocated independently")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


S = Status

# Every allowed main-path transition of DOMAIN.md section 8, one row per status.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW_REQUEST: frozenset({S.SCREENING}),
    # ROUTE_PLANNING straight from SCREENING is the emergency fast path (guarded below).
    S.SCREENING: frozenset({S.VERIFICATION, S.ROUTE_PLANNING}),
    S.VERIFICATION: frozenset({S.ROUTE_PLANNING}),
    S.ROUTE_PLANNING: frozenset({S.DOCUMENTS}),
    S.DOCUMENTS: frozenset({S.LETTER_DRAFTING}),
    S.LETTER_DRAFTING: frozenset({S.LETTER_REVIEW}),
    S.LETTER_REVIEW: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.PRE_APPROVED, S.APPOINTMENT_BOOKED, S.REFUSED}),
    S.PRE_APPROVED: frozenset({S.APPOINTMENT_BOOKED, S.REFUSED}),
    S.APPOINTMENT_BOOKED: frozenset({S.LODGED}),
    S.LODGED: frozenset({S.DECISION_PENDING}),
    S.DECISION_PENDING: frozenset({S.VISA_ISSUED, S.REFUSED}),
    # Re-routing (-> ROUTE_PLANNING) starts a new VisaApplication; the refused one is kept.
    S.REFUSED: frozenset({S.APPEAL, S.ROUTE_PLANNING}),
    S.APPEAL: frozenset({S.DECISION_PENDING, S.REFUSED}),
    S.VISA_ISSUED: frozenset({S.TRAVEL_PLANNING}),
    S.TRAVEL_PLANNING: frozenset({S.IN_TRANSIT}),
    S.IN_TRANSIT: frozenset({S.ARRIVED}),
    S.ARRIVED: frozenset({S.POST_ARRIVAL}),
    S.POST_ARRIVAL: frozenset(),  # -> CLOSED (resettled), added below
    S.CLOSED: frozenset({S.SCREENING}),  # re-open
}
# "Any state -> CLOSED": every status except CLOSED itself may close the case.
for _open in TRANSITIONS.keys() - {S.CLOSED}:
    TRANSITIONS[_open] |= {S.CLOSED}
del _open

# Verification has one explicit outcome: the case moves on from it to route planning, its
# only forward path. Closing the case from verification is leaving it, not completing it.
VERIFIED_STEP = (S.VERIFICATION, S.ROUTE_PLANNING)


@dataclass(frozen=True, kw_only=True)
class CaseFacts:
    """What the guards need to know about the case and the person asking for the change."""

    verification_completed: bool
    approved_letter: bool
    disclosure_consent_for_authority: bool
    visa_validity_recorded: bool
    closure_reason: str | None
    reason: str | None  # free-text audit reason for re-opening
    actor_is_coordinator: bool
    emergency: bool


class TransitionRefused(Exception):
    """A refused status change; `message` is one translatable sentence for the user."""

    def __init__(self, message: _StrPromise) -> None:
        super().__init__(message)
        self.message = message


def check_transition(current: Status, target: Status, facts: CaseFacts) -> None:
    """Return if `current -> target` is allowed with these facts, else raise TransitionRefused."""
    try:
        current, target = Status(current), Status(target)
    except ValueError:
        raise TransitionRefused(_("That is not a known case status.")) from None

    if target not in TRANSITIONS[current]:
        raise TransitionRefused(
            format_lazy(
                _("A case cannot go from {current} to {target}."),
                current=current.label,
                target=target.label,
            )
        )
    if current == S.SCREENING and target == S.ROUTE_PLANNING and not facts.emergency:
        raise TransitionRefused(
            _("Skipping verification is only for emergencies; verify the case first.")
        )
    if target == S.SUBMITTED:
        # Also where the emergency fast path must have caught up on verification.
        if not facts.approved_letter:
            raise TransitionRefused(_("Submitting needs an approved letter."))
        if not facts.disclosure_consent_for_authority:
            raise TransitionRefused(
                _("Submitting needs the applicant's consent to disclosure to this authority.")
            )
        if not facts.verification_completed:
            raise TransitionRefused(_("Submitting needs verification to be completed."))
    if target == S.VISA_ISSUED and not facts.visa_validity_recorded:
        raise TransitionRefused(_("Recording an issued visa needs its validity dates."))
    if target == S.CLOSED and facts.closure_reason not in ClosureReason.values:
        raise TransitionRefused(_("Closing a case needs a closure reason from the list."))
    if current == S.CLOSED and target == S.SCREENING:
        if not facts.actor_is_coordinator:
            raise TransitionRefused(_("Only a coordinator can re-open a case."))
        if not (facts.reason or "").strip():
            raise TransitionRefused(_("Re-opening a case needs a reason."))


def allowed_targets(current: Status) -> list[Status]:
    """The statuses reachable from `current` by the table (guards aside), in Status order."""
    return [status for status in Status if status in TRANSITIONS[Status(current)]]
