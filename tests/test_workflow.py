"""The case workflow of DOMAIN.md section 8 (a): table, guards and labels. No database."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from django.utils.functional import Promise

from casework.cases.workflow import (
    TRANSITIONS,
    CaseFacts,
    ClosureReason,
    Status,
    TransitionRefused,
    allowed_targets,
    check_transition,
)

PERMISSIVE = CaseFacts(
    verification_completed=True,
    approved_letter=True,
    disclosure_consent_for_authority=True,
    visa_validity_recorded=True,
    closure_reason="withdrawn",
    reason="re-opened after contact",
    actor_is_coordinator=True,
    emergency=True,
)

ALLOWED = sorted(
    (current, target) for current, targets in TRANSITIONS.items() for target in targets
)
FORBIDDEN = [
    (current, target)
    for current, target in itertools.product(Status, Status)
    if current != target and target not in TRANSITIONS[current]
]


def refusal(current: Status, target: Status, **facts: object) -> str:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, target, dataclasses.replace(PERMISSIVE, **facts))
    return str(refused.value.message)


def test_the_table_has_a_row_for_every_status():
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: s.value)
def test_every_allowed_transition_passes_with_permissive_facts(current, target):
    check_transition(current, target, PERMISSIVE)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=lambda s: s.value)
def test_every_other_transition_is_refused(current, target):
    assert refusal(current, target) == (f"A case cannot go from {current.label} to {target.label}.")


def test_the_refusal_names_both_statuses_in_a_sentence():
    assert refusal(Status.SCREENING, Status.SUBMITTED) == (
        "A case cannot go from Screening to Submitted."
    )


def test_an_unknown_status_is_refused_rather_than_crashing():
    with pytest.raises(TransitionRefused):
        check_transition("nonsense", Status.SCREENING, PERMISSIVE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"approved_letter": False}, "Submitting needs an approved letter."),
        (
            {"disclosure_consent_for_authority": False},
            "Submitting needs the applicant's consent to disclosure to this authority.",
        ),
        ({"verification_completed": False}, "Submitting needs verification to be completed."),
    ],
)
def test_submitting_is_refused_without_each_guard_fact(missing, message):
    assert refusal(Status.LETTER_REVIEW, Status.SUBMITTED, **missing) == message


def test_submitting_reports_the_first_missing_fact():
    assert refusal(
        Status.LETTER_REVIEW,
        Status.SUBMITTED,
        approved_letter=False,
        disclosure_consent_for_authority=False,
        verification_completed=False,
    ) == ("Submitting needs an approved letter.")
    assert refusal(
        Status.LETTER_REVIEW,
        Status.SUBMITTED,
        disclosure_consent_for_authority=False,
        verification_completed=False,
    ) == ("Submitting needs the applicant's consent to disclosure to this authority.")


def test_an_emergency_case_on_the_fast_path_cannot_submit_before_verification():
    fast = dataclasses.replace(PERMISSIVE, verification_completed=False)
    for current, target in [
        (Status.SCREENING, Status.ROUTE_PLANNING),
        (Status.ROUTE_PLANNING, Status.DOCUMENTS),
        (Status.DOCUMENTS, Status.LETTER_DRAFTING),
        (Status.LETTER_DRAFTING, Status.LETTER_REVIEW),
    ]:
        check_transition(current, target, fast)
    with pytest.raises(TransitionRefused):
        check_transition(Status.LETTER_REVIEW, Status.SUBMITTED, fast)


def test_the_fast_path_is_refused_outside_emergencies():
    message = refusal(Status.SCREENING, Status.ROUTE_PLANNING, emergency=False)
    assert "only for emergencies" in message


def test_the_normal_path_through_verification_needs_no_emergency():
    check_transition(
        Status.VERIFICATION, Status.ROUTE_PLANNING, dataclasses.replace(PERMISSIVE, emergency=False)
    )


def test_a_visa_cannot_be_issued_without_validity_dates():
    assert refusal(Status.DECISION_PENDING, Status.VISA_ISSUED, visa_validity_recorded=False) == (
        "Recording an issued visa needs its validity dates."
    )


@pytest.mark.parametrize("closure_reason", [None, "", "bored", "WITHDRAWN"])
def test_closing_is_refused_without_a_valid_closure_reason(closure_reason):
    assert refusal(Status.SCREENING, Status.CLOSED, closure_reason=closure_reason) == (
        "Closing a case needs a closure reason from the list."
    )


@pytest.mark.parametrize("closure_reason", ClosureReason.values)
def test_every_closure_reason_closes_a_case(closure_reason):
    facts = dataclasses.replace(PERMISSIVE, closure_reason=closure_reason)
    check_transition(Status.POST_ARRIVAL, Status.CLOSED, facts)


def test_only_a_coordinator_can_reopen_a_case():
    assert refusal(Status.CLOSED, Status.SCREENING, actor_is_coordinator=False) == (
        "Only a coordinator can re-open a case."
    )


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reopening_needs_a_reason(reason):
    assert refusal(Status.CLOSED, Status.SCREENING, reason=reason) == (
        "Re-opening a case needs a reason."
    )


def walk(path: list[Status], facts: CaseFacts = PERMISSIVE) -> None:
    for current, target in itertools.pairwise(path):
        check_transition(current, target, facts)


def test_the_main_path_from_new_request_to_submitted_is_walkable_without_emergency():
    walk(
        [
            Status.NEW_REQUEST,
            Status.SCREENING,
            Status.VERIFICATION,
            Status.ROUTE_PLANNING,
            Status.DOCUMENTS,
            Status.LETTER_DRAFTING,
            Status.LETTER_REVIEW,
            Status.SUBMITTED,
        ],
        dataclasses.replace(PERMISSIVE, emergency=False),
    )


def test_the_visa_path_from_submitted_to_issued_is_walkable_with_or_without_pre_approval():
    walk([Status.SUBMITTED, Status.PRE_APPROVED, Status.APPOINTMENT_BOOKED])
    walk(
        [
            Status.SUBMITTED,
            Status.APPOINTMENT_BOOKED,
            Status.LODGED,
            Status.DECISION_PENDING,
            Status.VISA_ISSUED,
        ]
    )


def test_a_refusal_can_be_appealed_or_rerouted():
    walk([Status.DECISION_PENDING, Status.REFUSED, Status.APPEAL, Status.DECISION_PENDING])
    walk([Status.PRE_APPROVED, Status.REFUSED, Status.ROUTE_PLANNING])


def test_the_travel_path_from_visa_issued_to_closed_is_walkable():
    walk(
        [
            Status.VISA_ISSUED,
            Status.TRAVEL_PLANNING,
            Status.IN_TRANSIT,
            Status.ARRIVED,
            Status.POST_ARRIVAL,
            Status.CLOSED,
        ],
        dataclasses.replace(PERMISSIVE, closure_reason=ClosureReason.RESETTLED),
    )


@pytest.mark.parametrize("current", [s for s in Status if s != Status.CLOSED], ids=str)
def test_every_open_status_can_go_to_closed(current):
    assert Status.CLOSED in allowed_targets(current)
    check_transition(current, Status.CLOSED, PERMISSIVE)


def test_closed_can_only_go_to_screening():
    assert allowed_targets(Status.CLOSED) == [Status.SCREENING]


def test_allowed_targets_follow_the_order_of_status():
    assert allowed_targets(Status.SUBMITTED) == [
        Status.PRE_APPROVED,
        Status.APPOINTMENT_BOOKED,
        Status.REFUSED,
        Status.CLOSED,
    ]
    for current in Status:
        order = list(Status)
        targets = allowed_targets(current)
        assert targets == sorted(targets, key=order.index)
        assert set(targets) == TRANSITIONS[current]


@pytest.mark.parametrize("choices", [Status, ClosureReason])
def test_labels_are_translatable(choices):
    for member in choices:
        assert isinstance(member.label, Promise)
        assert str(member.label)
    assert str(Status.NEW_REQUEST.label) == "New request"


def test_refusal_messages_are_translatable():
    with pytest.raises(TransitionRefused) as refused:
        check_transition(Status.SCREENING, Status.SUBMITTED, PERMISSIVE)
    assert isinstance(refused.value.message, Promise)
    assert str(refused.value) == "A case cannot go from Screening to Submitted."
