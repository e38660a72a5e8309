"""Walk the URLconf: every route needs a verified second factor unless allow-listed (R1, R22)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

# The only routes reachable without a verified second factor.
PUBLIC = {"login", "healthz", "set_language", "invitation_accept", "verify_form", "letter_verify"}
HALF = {
    "login_verify",
    "login_enrol",
    "logout",
    "credential-authentication-begin",
    "credential-authentication-complete",
    "credential-registration-begin",
    "credential-registration-complete",
    "js-i18n-catalog",
}

SAMPLE_KWARGS = {
    "user_id": uuid.uuid4(),
    "member_id": uuid.uuid4(),
    "device_id": uuid.uuid4(),
    "public_id": uuid.uuid4(),
    "token": "not-a-real-token",
    "credential_hash": "0" * 64,
    "document_id": uuid.uuid4(),
    "consent_id": uuid.uuid4(),
    "deadline_id": uuid.uuid4(),
    "attempt_id": uuid.uuid4(),
    "route_id": uuid.uuid4(),
    "mission_id": uuid.uuid4(),
    "letter_id": uuid.uuid4(),
    "export_id": uuid.uuid4(),
    "code": "-".join(["academic"] * 13),
    "case_id": uuid.uuid4(),
}


def named_routes(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_routes(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, list(entry.pattern.converters)


ROUTES = sorted({(name, tuple(kwargs)) for name, kwargs in named_routes()})


def url_for(name, kwargs):
    missing = [key for key in kwargs if key not in SAMPLE_KWARGS]
    assert not missing, f"route {name} needs sample values for {missing} in SAMPLE_KWARGS"
    return reverse(name, kwargs={key: SAMPLE_KWARGS[key] for key in kwargs})


def test_the_walk_finds_the_routes():
    names = {name for name, _ in ROUTES}
    assert {"home", "login", "account", "admin_users"} <= names


@pytest.mark.parametrize(("name", "kwargs"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_reach_only_public_routes(client, name, kwargs, method):
    response = getattr(client, method)(url_for(name, kwargs))
    if name in PUBLIC:
        return
    assert response.status_code == 302, f"{method.upper()} {name} -> {response.status_code}"
    assert response.headers["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_password_only_session_reaches_nothing_beyond_the_second_step(
    client, caseworker, name, kwargs, method
):
    client.force_login(caseworker)
    response = getattr(client, method)(url_for(name, kwargs))
    if name.split(":")[-1] in PUBLIC | HALF:
        return
    assert response.status_code == 302, f"{method.upper()} {name} -> {response.status_code}"
    assert response.headers["Location"] == reverse("login_verify")


def test_there_is_no_self_service_password_reset():
    names = {name for name, _ in ROUTES}
    assert not any(name.startswith("password_reset") for name in names)
    assert "django_otp.plugins.otp_email" not in settings.INSTALLED_APPS


# Route parameters that are not object ids, and what they are instead.
NOT_OBJECT_IDS = {
    "token": "an invitation token",
    "code": "a letter's verification code",
    "credential_hash": "a passkey's hash",
}


def converters(resolver=None):
    """(route name, parameter, converter) of every parameter in the URLconf, included ones
    too (the reversed URL shows values, never converters, so it cannot tell)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        found = getattr(entry.pattern, "converters", {})
        for parameter, converter in found.items():
            yield getattr(entry, "name", None) or str(entry.pattern), parameter, converter
        if isinstance(entry, URLResolver):
            yield from converters(entry)


def integer_or_unchecked(routes):
    """The object routes that would take something other than a UUID (R27)."""
    from django.urls.converters import IntConverter, UUIDConverter

    def wrong(parameter, converter):
        if isinstance(converter, IntConverter):
            return True
        return parameter not in NOT_OBJECT_IDS and not isinstance(converter, UUIDConverter)

    return [
        (name, parameter) for name, parameter, converter in routes if wrong(parameter, converter)
    ]


def test_object_routes_use_uuids_not_integers():
    found = list(converters())
    assert {parameter for _name, parameter, _converter in found} >= {"case_id", "letter_id"}
    assert integer_or_unchecked(found) == []


def test_the_uuid_check_catches_an_integer_or_a_string_id():
    from django.urls import path

    def view(request, **kwargs):
        return None

    caught = [
        path("cases/<int:case_id>/", view, name="by_number"),
        path("cases/<str:case_id>/", view, name="by_string"),
        path("cases/<slug:letter_id>/", view, name="by_slug"),
    ]
    fine = [path("cases/<uuid:case_id>/", view, name="by_uuid")]
    routes = [(p.name, name, c) for p in caught + fine for name, c in p.pattern.converters.items()]
    assert integer_or_unchecked(routes) == [
        ("by_number", "case_id"),
        ("by_string", "case_id"),
        ("by_slug", "letter_id"),
    ]


@pytest.mark.parametrize(
    "label", ["cases.case", "cases.document", "cases.visaapplication", "letters.letter"]
)
def test_the_objects_behind_the_routes_have_uuid_keys(label):
    from django.apps import apps
    from django.db import models

    assert isinstance(apps.get_model(label)._meta.pk, models.UUIDField), label


def test_otp_admin_hides_sensitive_data():
    assert settings.OTP_ADMIN_HIDE_SENSITIVE_DATA is True


def test_a_verified_user_reaches_the_dashboard(client, caseworker):
    login_verified(client, caseworker)
    assert client.get(reverse("home")).status_code == 200
