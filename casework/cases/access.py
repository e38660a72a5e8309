"""The one way views reach cases: scoped to the organisation first, then to the user.

Coordinators see every case of their organisation; caseworkers only the cases granted to
them (django-guardian object permissions, given on assignment, removed on unassignment);
org admins and auditors see no case content. Anything else is 404, like a missing case,
and the refusal is audited (R28). A meta-test fails if a view fetches a Case another way.
"""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from guardian.shortcuts import get_objects_for_user

from casework.accounts.roles import Role
from casework.audit.alerts import AlertKind, raise_alert
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.models import Case
from casework.cases.workflow import Status
from casework.keystore.models import DataKey
from casework.lib.sql import Beside, Names, row_with


def visible_cases(user: Any) -> QuerySet[Case]:
    own = Case.objects.filter(organisation_id=user.organisation_id)
    if user.has_role(Role.COORDINATOR):
        return own
    if user.has_role(Role.CASEWORKER):
        # Neither a global permission nor superuser status widens this (guardian pitfall 1),
        # nor a permission given to a group: cases are seen through assignment alone, which
        # grants to the user. (With the group branch, PostgreSQL built a hash of every
        # permitted case for each page: 200 ms for someone with 100,000 of them.)
        granted: QuerySet[Case] = get_objects_for_user(
            user,
            "cases.view_case",
            klass=own,
            accept_global_perms=False,
            with_superuser=False,
            use_groups=False,
        )
        return granted
    return own.none()


def of_visible_cases(rows: QuerySet[Any], user: Any, *, open_only: bool = False) -> QuerySet[Any]:
    """Rows that belong to a case (letters, deadlines, requests of the person) of the cases
    ``user`` may see, ``open_only``: of those not closed. A coordinator sees every case of
    the organisation, so their rows are found by the rows' own organisation column, not by
    matching a subquery of every case id (which SQLite builds anew for each query: about
    170 ms at 100,000 cases, issue 15); anyone else's through ``visible_cases``."""
    rows = rows.filter(organisation_id=user.organisation_id)
    if open_only:
        rows = rows.exclude(case__status=Status.CLOSED)
    if user.has_role(Role.COORDINATOR):
        return rows
    return rows.filter(case__in=visible_cases(user))


# What every page of a case reads with the case: its person, the person's data key (the
# case page unwraps it: datakeys.preload_rows) and the assignees' usernames.
CASE_WITH = (
    "applicant",
    Beside(DataKey, "subject_id", "applicant", "applicant_key"),
    Names("caseworkers", "username", "assignee_names"),
)


def get_case_for_user(user: Any, case_id: uuid.UUID, request: HttpRequest | None = None) -> Case:
    """The case of that id if ``user`` may see it (visible_cases), with CASE_WITH, in one
    statement written out: every page of a case asks this first (issue 15). It is scoped
    by the organisation's column and, for anyone but a coordinator, who sees every case of
    their organisation, by visible_cases() itself as a subquery (a caseworker's grants)."""
    within = None if user.has_role(Role.COORDINATOR) else visible_cases(user)
    case = row_with(Case, CASE_WITH, id=case_id, organisation=user.organisation_id, within=within)
    if case is None:
        deny(user, request, "cases.case", case_id)
    return case


def deny(user: Any, request: HttpRequest | None, target_type: str, requested: Any) -> NoReturn:
    """Refuse with the 404 of a missing object, audited and alerted (R28, R47)."""
    record(
        Action.ACCESS_DENIED,
        actor=user,
        request=request,
        decision="deny",
        target_type=target_type,
        requested=str(requested),
    )
    raise_alert(
        AlertKind.ACCESS_DENIED,
        organisation_id=user.organisation_id,
        actor=user,
        request=request,
        requested=str(requested),
    )
    raise Http404


def can_manage(user: Any) -> bool:
    """Assignment and re-opening are for coordinators."""
    return bool(user.has_role(Role.COORDINATOR))
