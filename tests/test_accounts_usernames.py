"""An invitation link is no oracle for the usernames of other organisations (finding 11).

"That username is taken" has to be said (the person must choose again), but only on an
otherwise complete submission, at most USERNAME_ATTEMPTS_PER_INVITATION times per link,
each time audited in the inviting organisation's log without the name; then the link stops
working and the inviter needs a new, audited one (made after a step-up)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from casework.accounts import services
from casework.accounts.models import Invitation, User
from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PASSPHRASE = "lantern orchard velvet compass drizzle"
LIMIT = services.USERNAME_ATTEMPTS_PER_INVITATION


@pytest.fixture
def link(org_admin) -> str:
    token = services.create_invitation(admin=org_admin, role=Role.AUDITOR)
    return reverse("invitation_accept", args=[token])


@pytest.fixture
def victims(other_organisation) -> list[str]:
    names = [f"helper-{number}" for number in range(LIMIT + 3)]
    for name in names:
        make_user(organisation=other_organisation, role=Role.CASEWORKER, username=name)
    return names


def _try(path: str, username: str, password: str = PASSPHRASE):
    return Client().post(
        path, {"username": username, "new_password": password, "new_password_again": password}
    )


def test_a_link_answers_taken_a_few_times_then_stops_working(link, victims, org_admin):
    answers = [_try(link, name) for name in victims]
    taken = [r for r in answers if r.status_code == 200 and "is taken" in r.content.decode()]
    assert len(taken) == LIMIT - 1
    assert "Too many of the usernames tried were taken" in answers[LIMIT - 1].content.decode()
    assert all(r.status_code == 410 for r in answers[LIMIT - 1 :])
    # Spent: a free name gets nothing either, so the rest of the list learns nothing.
    assert _try(link, "free-name").status_code == 410
    assert not User.objects.filter(username="free-name").exists()
    assert Invitation.objects.get().withdrawn_at is not None


def test_each_taken_answer_is_audited_for_the_inviting_organisation_without_the_name(
    link, victims, org_admin
):
    for name in victims[:3]:
        _try(link, name)
    events = list(AuditEvent.objects.filter(action=Action.INVITATION_USERNAME_REFUSED))
    assert [event.details["count"] for event in events] == [1, 2, 3]
    for event in events:
        assert event.decision == "deny"
        assert event.organisation_id == org_admin.organisation_id
        assert event.target_id == str(Invitation.objects.get().pk)
        assert not any(name in json.dumps(event.details) for name in victims)
    assert not AuditEvent.objects.filter(details__icontains="helper-").exists()


def test_an_incomplete_form_says_nothing_about_the_username(link, victims):
    response = _try(link, victims[0], password="short")
    html = response.content.decode()
    assert response.status_code == 200 and "is taken" not in html
    assert Invitation.objects.get().refused_usernames == 0
    page = Client().get(link).content.decode()
    assert "taken" not in page


def test_a_person_who_meets_a_taken_name_can_still_join(link, victims, organisation):
    assert "is taken" in _try(link, victims[0]).content.decode()
    assert _try(link, "my-own-name").status_code == 302
    assert User.objects.get(username="my-own-name").organisation == organisation


def test_the_answer_is_the_same_for_a_name_of_any_organisation(link, victims, caseworker):
    import re

    def error(response) -> str:
        found = re.search(r"That username is taken[^<]*", response.content.decode())
        assert found is not None
        return re.sub(r"\d+", "N", found.group(0))

    assert error(_try(link, caseworker.username)) == error(_try(link, victims[0]))


def test_a_name_taken_at_the_same_moment_is_a_taken_answer_not_an_error(
    link, other_organisation, monkeypatch
):
    real = User.objects.create_user

    def racing(username, **kwargs):
        # Another link's acceptance took the name between the check and the insert.
        real(username, organisation=other_organisation, password=None)
        return real(username, **kwargs)

    monkeypatch.setattr(User.objects, "create_user", racing)
    response = _try(link, "same-moment")
    assert response.status_code == 200 and "is taken" in response.content.decode()
    assert Invitation.objects.get().refused_usernames == 1
    # (The racing account was made inside the refused savepoint, so it is gone too here.)
    assert not User.objects.filter(username="same-moment").exists()
