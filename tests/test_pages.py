from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import translation

from tests.conftest import login_verified


def test_healthz_says_ok_and_nothing_else(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database_without_details(client, db, monkeypatch):
    from casework.core import views

    class BrokenConnection:
        def cursor(self):
            raise DatabaseError("connection to server at 10.0.0.5 failed: password secret")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert b"10.0.0.5" not in response.content


def test_healthz_accepts_only_safe_methods(client, db):
    assert client.post(reverse("healthz")).status_code == 405


def test_the_dashboard_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login"))


def test_the_dashboard_shows_the_users_organisation(client, caseworker):
    login_verified(client, caseworker)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert caseworker.organisation.name in response.content.decode()


def test_logout_is_post_only(client, caseworker):
    login_verified(client, caseworker)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_the_base_layout_has_a_skip_link_to_main(client, db):
    html = client.get(reverse("login")).content.decode()
    assert 'href="#main"' in html
    assert 'id="main"' in html
    assert '<html lang="en"' in html


def test_an_unknown_page_is_a_friendly_404(client, db):
    response = client.get("/no-such-place/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_the_500_page_is_generic(rf):
    from casework.core.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "Войти"), ("uk", "Увійти"), ("de", "Anmelden"), ("fr", "Se connecter")],
)
def test_the_language_switcher_translates_the_interface(client, db, language, expected):
    response = client.post(
        reverse("set_language"), {"language": language, "next": reverse("login")}
    )
    assert response.status_code == 302
    html = client.get(reverse("login")).content.decode()
    assert f'<html lang="{language}"' in html
    assert expected in html
    translation.activate("en")


def test_the_language_switcher_refuses_an_outside_redirect(client, db):
    response = client.post(
        reverse("set_language"), {"language": "de", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
