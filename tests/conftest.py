"""Shared fixtures: organisations and users by role (the personas grow with the features)."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group

from casework.accounts.models import Organisation, User
from casework.accounts.roles import Role

_counter = itertools.count(1)


def make_user(*, organisation: Organisation, role: Role | None = None, **kwargs) -> User:
    kwargs.setdefault("username", f"user{next(_counter)}")
    user = User.objects.create_user(organisation=organisation, **kwargs)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


@pytest.fixture
def organisation(db) -> Organisation:
    return Organisation.objects.create(name="Alpha Aid (test)")


@pytest.fixture
def other_organisation(db) -> Organisation:
    return Organisation.objects.create(name="Beta Help (test)")


@pytest.fixture
def caseworker(organisation) -> User:
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="alice")


@pytest.fixture(autouse=True)
def _isolated_keys_and_files(settings, tmp_path):
    """Each test gets its own key file and file store: rotation in one test cannot leak."""
    settings.CASEWORK_KEYS_FILE = tmp_path / "keys" / "keys.json"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        },
    }
