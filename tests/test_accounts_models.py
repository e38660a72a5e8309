from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role
from tests.conftest import make_user


@pytest.mark.django_db
def test_the_four_roles_exist_after_migrate():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"caseworker", "coordinator", "auditor", "org_admin"} <= names
    roles = {"caseworker", "coordinator", "auditor", "org_admin", "reference_editor"}
    assert {role.value for role in Role} == roles  # reference_editor: cases migration 0012


def test_the_custom_user_model_is_in_use():
    assert get_user_model() is User


@pytest.mark.django_db
def test_users_and_organisations_have_uuid_primary_keys(caseworker):
    assert isinstance(caseworker.pk, uuid.UUID)
    assert isinstance(caseworker.organisation.pk, uuid.UUID)


@pytest.mark.django_db
def test_a_user_cannot_exist_without_an_organisation():
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(username="orphan")])


@pytest.mark.django_db
def test_a_user_has_the_roles_of_their_groups(organisation):
    user = make_user(organisation=organisation, role=Role.COORDINATOR)
    assert user.roles == [Role.COORDINATOR]
    assert user.has_role(Role.COORDINATOR)
    assert not user.has_role(Role.CASEWORKER)


@pytest.mark.django_db
def test_user_created_without_password_cannot_log_in(organisation):
    user = make_user(organisation=organisation)
    assert not user.has_usable_password()


def test_new_password_hashes_are_argon2id_with_strong_parameters():
    encoded = make_password("correct horse battery staple")
    algorithm, variety, version, params, *_ = encoded.split("$")
    assert (algorithm, variety) == ("argon2", "argon2id")
    settings = dict(pair.split("=") for pair in params.split(","))
    assert int(settings["m"]) >= 65_536
    assert int(settings["t"]) >= 2


@pytest.mark.parametrize(
    ("password", "valid"),
    [
        ("a" * 14 + "Z", True),  # 15 characters, nothing else asked: no composition rules
        ("river tangle opal", True),
        ("shortpass", False),
        ("x" * 1025, False),
        ("yfdbufnjh10305070", False),  # in the common-passwords list
    ],
)
def test_password_policy(password, valid):
    if valid:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_an_overlong_password_is_refused_as_too_long():
    with pytest.raises(ValidationError) as error:
        validate_password("y" * 1025)
    assert "password_too_long" in [e.code for e in error.value.error_list]


def test_a_password_of_exactly_the_maximum_length_is_accepted():
    validate_password("y" * 1024)


@pytest.mark.django_db
def test_organisation_names_are_unique():
    Organisation.objects.create(name="Same")
    with pytest.raises(IntegrityError):
        Organisation.objects.create(name="Same")
