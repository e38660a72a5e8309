"""The compromised-account playbook: one step that takes every way in and every case away
from an account that may be in someone else's hands (a seized phone, a phished password,
a person made to sign in under pressure).

It composes what accounts and cases already do, in one transaction with one incident entry
in the audit log. The person comes back only through the administrator's reset link (a new
password and a new second factor, a content role confirmed again by a coordinator) and an
unlock: nothing done here is undone by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import models, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp_webauthn.models import WebAuthnCredential
from guardian.models import UserObjectPermission

from casework.accounts.models import (
    BackupCodeDevice,
    Invitation,
    LoginLock,
    RoleGrant,
    TOTPDevice,
    User,
)
from casework.accounts.services import end_other_sessions, username_digest
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.models import Case, CaseUserObjectPermission
from casework.cases.services import case_assign

# Longer than any incident takes to settle; an administrator's unlock lifts it sooner.
INCIDENT_LOCK = timedelta(days=3650)


class Reason(models.TextChoices):
    """What the admin knows happened. The audit entry keeps this code and nothing typed:
    an incident's story names people and places, and the log is read by auditors."""

    DEVICE_LOST = "device_lost", _("A phone or computer was lost, stolen or seized")
    PHISHING = "phishing", _("Phishing: the password or a code was entered on a fake site")
    CREDENTIALS_DISCLOSED = (
        "credentials_disclosed",
        _("The password or backup codes were disclosed or written down where others saw them"),
    )
    COERCED = "coerced", _("The person was or may be forced to sign in for someone else")
    OTHER = "other", _("Something else")


@dataclass(frozen=True)
class Outcome:
    """What was taken away: the counts the incident entry records and the page shows."""

    sessions_ended: int
    factors_removed: int
    links_withdrawn: int
    cases_unassigned: int


@transaction.atomic
def account_compromised(
    *, admin: User, user: User, reason: Reason, request: HttpRequest | None = None
) -> Outcome:
    """Lock ``user``, end their sessions, remove their second factors and password, withdraw
    the links to their account and the invitations and role requests they made, and take
    them off every case (each case's own trail records its caseworkers now)."""
    _lock(user)
    sessions = end_other_sessions(user, keep=None)
    factors = _remove_factors(user)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    links = _withdraw_links(user)
    cases = _unassign(admin, user, request)
    outcome = Outcome(sessions, factors, links, cases)
    record(
        Action.ACCOUNT_COMPROMISED,
        actor=admin,
        target=user,
        request=request,
        reason_category=Reason(reason).value,
        sessions_ended=outcome.sessions_ended,
        factors_removed=outcome.factors_removed,
        links_withdrawn=outcome.links_withdrawn,
        cases_unassigned=outcome.cases_unassigned,
    )
    return outcome


def _lock(user: User) -> None:
    """The login lock of R6, for years rather than an hour: the password step refuses the
    username, whatever is typed, until an administrator unlocks it."""
    LoginLock.objects.update_or_create(
        username_digest=username_digest(user.username),
        defaults={"until": timezone.now() + INCIDENT_LOCK},
    )


def _remove_factors(user: User) -> int:
    """Every authenticator app (an enrolment under way too), set of backup codes and passkey."""
    apps = TOTPDevice.objects.filter(user=user)
    backup_codes = BackupCodeDevice.objects.filter(user=user)
    passkeys = WebAuthnCredential.objects.filter(user=user)
    removed = apps.count() + backup_codes.count() + passkeys.count()
    apps.delete()
    backup_codes.delete()  # its codes with it
    passkeys.delete()
    return int(removed)


def _withdraw_links(user: User) -> int:
    """Reset links to the account, and invitation links the account made (an attacker
    holding an admin's account may have made some); role requests either way stop."""
    now = timezone.now()
    links = Invitation.objects.pending().filter(Q(account=user) | Q(created_by=user))
    withdrawn = list(links.values_list("pk", flat=True))
    Invitation.objects.filter(pk__in=withdrawn).update(withdrawn_at=now)
    RoleGrant.objects.pending().filter(
        Q(user=user) | Q(requested_by=user) | Q(invitation__in=withdrawn)
    ).update(outcome=RoleGrant.Outcome.CANCELLED, decided_at=now)
    return len(withdrawn)


def _unassign(admin: User, user: User, request: HttpRequest | None) -> int:
    """Off every case: the caseworkers' list (through case_assign, which also removes the
    object permissions and writes the case's entry), the coordinator field, and any object
    permission left without an assignment. A case nobody else works on then waits in the
    coordinators' "unassigned" queue. Returns how many cases they lost."""
    granted = CaseUserObjectPermission.objects.filter(user=user).values("content_object")
    touched = Case.objects.filter(
        Q(caseworkers=user) | Q(coordinator=user) | Q(pk__in=granted)
    ).distinct()
    count = touched.count()
    for case in Case.objects.filter(caseworkers=user):
        remaining = [other for other in case.caseworkers.all() if other.pk != user.pk]
        case_assign(actor=admin, case=case, caseworkers=remaining, request=request)
    Case.objects.filter(coordinator=user).update(coordinator=None)
    CaseUserObjectPermission.objects.filter(user=user).delete()
    UserObjectPermission.objects.filter(user=user).delete()  # guardian's generic table
    return int(count)
