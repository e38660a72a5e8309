"""Every response carries the browser-side hardening (R50), checked on real responses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login_verified, make_user


def csp_directives(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    parts = [part.strip().split(None, 1) for part in header.split(";") if part.strip()]
    return {name: (value[0] if value else "") for name, *value in parts}


@pytest.fixture
def responses(client, caseworker):
    anonymous = {
        "login": client.get(reverse("login")),
        "healthz": client.get(reverse("healthz")),
        "not_found": client.get("/no-such-page/"),
    }
    login_verified(client, caseworker)
    return {**anonymous, "home": client.get(reverse("home"))}


@pytest.mark.parametrize("page", ["login", "healthz", "not_found", "home"])
def test_every_response_has_the_security_headers(responses, page):
    response = responses[page]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("page", ["login", "healthz", "not_found", "home"])
def test_the_content_security_policy_allows_only_our_own_origin(responses, page):
    directives = csp_directives(responses[page])
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["object-src"] == "'none'"
    header = responses[page].headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "http:" not in header and "https:" not in header


def test_pages_reference_no_other_origin_and_no_inline_script(responses):
    for page in ("login", "home", "not_found"):
        html = responses[page].content.decode()
        assert "http://" not in html and "https://" not in html, page
        assert "<script" not in html, page
        assert "style=" not in html, page


def test_a_page_from_another_organisation_user_still_gets_no_store(client, other_organisation):
    user = make_user(organisation=other_organisation)
    login_verified(client, user)
    assert "no-store" in client.get(reverse("home")).headers["Cache-Control"]


PERMISSIONS = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")


@pytest.mark.parametrize("page", ["login", "healthz", "not_found", "home"])
def test_every_page_denies_powerful_browser_features(responses, page):
    policy = responses[page].headers["Permissions-Policy"]
    for feature in PERMISSIONS:
        assert feature in policy


@pytest.fixture
def static_response(client, db):
    """A stylesheet as WhiteNoise serves it: before any of our middleware runs."""
    response = client.get("/static/css/site.css")
    yield response
    response.close()


def test_static_files_carry_the_same_hardening_as_pages(static_response):
    assert static_response.status_code == 200
    headers = static_response.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in headers["Permissions-Policy"]


def test_static_files_are_not_offered_to_other_origins(static_response):
    """WhiteNoise answers "Access-Control-Allow-Origin: *" unless told otherwise."""
    assert "Access-Control-Allow-Origin" not in static_response.headers
