"""A page asks the database for the user's roles once, however many role checks it makes
(issue 15: User.has_role ran one query per call, about four per page); a change of roles
through the user is seen at once."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from casework.accounts.backends import RoleLoadingModelBackend
from casework.accounts.models import User
from casework.accounts.roles import Role
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db


def test_role_checks_cost_one_query(coordinator, django_assert_num_queries):
    user = User.objects.get(pk=coordinator.pk)
    with django_assert_num_queries(1):
        assert user.has_role(Role.COORDINATOR)
        assert not user.has_role(Role.CASEWORKER)
        assert user.roles == [Role.COORDINATOR]
        assert Role.COORDINATOR.value in user.role_names()


def test_a_role_given_or_taken_through_the_user_is_seen_at_once(coordinator):
    user = User.objects.get(pk=coordinator.pk)
    assert not user.has_role(Role.AUDITOR)
    user.groups.add(Group.objects.get(name=Role.AUDITOR.value))
    assert user.has_role(Role.AUDITOR)
    user.groups.remove(Group.objects.get(name=Role.COORDINATOR.value))
    assert not user.has_role(Role.COORDINATOR)
    user.groups.clear()
    assert user.roles == []


def test_the_next_request_reads_the_roles_afresh(client, coordinator):
    login_verified(client, coordinator)
    assert client.get(reverse("case_list")).status_code == 200
    coordinator.groups.clear()  # another request, another instance: an admin took the role
    assert client.get(reverse("case_list")).status_code == 404


@pytest.mark.parametrize("roles", [[], [Role.CASEWORKER], [Role.COORDINATOR, Role.AUDITOR]])
def test_the_signed_in_user_is_read_whole_with_their_roles_in_one_query(
    coordinator, roles, django_assert_num_queries
):
    """What RoleLoadingModelBackend reads at the start of every page (a statement written
    out, not built by the ORM: issue 15) is the user's own row, every field of it, and
    their roles, whatever they hold."""
    coordinator.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
    with django_assert_num_queries(1):
        user = RoleLoadingModelBackend().get_user(str(coordinator.pk))
        assert sorted(user.roles) == sorted(roles)
    stored = User.objects.get(pk=coordinator.pk)
    for field in User._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(stored, field.attname), field.name


def test_nobody_is_read_for_an_inactive_an_unknown_or_a_malformed_id(coordinator, caseworker):
    backend = RoleLoadingModelBackend()
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    assert backend.get_user(caseworker.pk) is None
    assert backend.get_user(uuid.uuid4()) is None
    assert backend.get_user("1 OR 1=1") is None
    assert backend.get_user(coordinator.pk) == coordinator
