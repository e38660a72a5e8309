"""The interface language a person chooses stays theirs: signing out clears every cookie
(Clear-Site-Data), so the choice is kept with the account and applied at the next sign-in."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import make_totp

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase for tests"


@pytest.fixture
def person(caseworker):
    caseworker.set_password(PASSWORD)
    caseworker.save()
    _device, totp = make_totp(caseworker)
    return caseworker, totp


def sign_in(client, user, totp):
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    return client.post(reverse("login_verify"), {"code": totp.now()}, follow=True)


def switch(client, language):
    return client.post(reverse("set_language"), {"language": language, "next": "/"})


def test_a_chosen_language_is_kept_with_the_account_and_back_after_signing_in(person):
    user, totp = person
    client = Client()
    sign_in(client, user, totp)
    assert switch(client, "uk").status_code == 302
    user.refresh_from_db()
    assert user.language == "uk"
    client.post(reverse("logout"))
    fresh = Client()  # signing out cleared every cookie: as good as a new browser
    page = sign_in(fresh, user, totp)
    assert fresh.cookies[settings.LANGUAGE_COOKIE_NAME].value == "uk"
    assert '<html lang="uk"' in page.content.decode()


def test_the_second_step_is_already_in_the_chosen_language(person):
    user, totp = person
    user.language = "de"
    user.save()
    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    page = client.get(reverse("login_verify")).content.decode()
    assert '<html lang="de"' in page


def test_a_wrong_password_learns_nothing_of_the_accounts_language(person):
    """The language is applied only after the password: a stranger typing a username does
    not find out which language its owner reads."""
    user, _totp = person
    user.language = "ru"
    user.save()
    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": "wrong " * 4})
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_switching_before_signing_in_changes_no_account(person):
    user, _totp = person
    client = Client()
    switch(client, "fr")
    user.refresh_from_db()
    assert user.language == ""
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


def test_an_unknown_language_changes_nothing(person):
    user, totp = person
    client = Client()
    sign_in(client, user, totp)
    switch(client, "xx")
    user.refresh_from_db()
    assert user.language == ""
