"""Cross-site request forgery: what a browser really sends, and what the refusal looks like.

Django's test client sends no Origin header, so the suite once stayed green while every real
browser was refused (``Referrer-Policy: no-referrer`` makes a browser send ``Origin: null`` on
our own forms). These tests send the headers a browser sends; tests/e2e signs in for real.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Note
from tests.conftest import login_verified
from tests.factories import make_case

SAME_ORIGIN = {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"}


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def token_from(client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_the_referrer_policy_lets_the_browser_name_our_own_origin(client):
    """same-origin: full referrer to ourselves (so a real Origin), nothing to anyone else."""
    response = client.get(reverse("login"))
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in response.content.decode()


@pytest.mark.django_db
def test_a_same_origin_sign_in_passes_the_csrf_check(browser, caseworker):
    token = token_from(browser, reverse("login"))
    response = browser.post(
        reverse("login"),
        {"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token},
        **SAME_ORIGIN,
    )
    assert response.status_code == 200  # the form answered; CSRF did not refuse it
    assert "not right" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["null", "https://evil.example", "http://testserver.evil"])
def test_a_post_from_another_origin_is_refused(browser, caseworker, origin):
    """Origin: null comes from sandboxed frames and data: pages: an attacker can send it."""
    token = token_from(browser, reverse("login"))
    response = browser.post(
        reverse("login"),
        {"username": "alice", "password": "x", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN=origin,
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_refusal_is_our_own_translated_page(browser):
    response = browser.post(reverse("login"), {"username": "alice"}, HTTP_ACCEPT_LANGUAGE="ru")
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="site-header"' in html  # the application's layout, not Django's bare page
    assert "Форма устарела" in html
    assert "CSRF" not in html


@pytest.mark.django_db
def test_a_forged_post_is_never_offered_for_sending_again(browser, caseworker):
    """The attacker's move: a cross-site form posting a note. Nothing of it is reflected and
    nothing offers to send it with a valid token."""
    login_verified(browser, caseworker)
    case = make_case(caseworker=caseworker)
    response = browser.post(
        reverse("case_note", args=[case.pk]),
        {"text": "forged-note-canary"},
        HTTP_ORIGIN="https://evil.example",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "forged-note-canary" not in html
    assert 'name="csrfmiddlewaretoken"' not in html.split("<main", 1)[1]
    assert not Note.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_an_expired_form_of_ours_keeps_what_was_typed(browser, caseworker):
    """A stale token from our own page (signed in again in another tab): the note the
    caseworker typed is kept, and one click sends it with a fresh token."""
    login_verified(browser, caseworker)
    case = make_case(caseworker=caseworker)
    url = reverse("case_note", args=[case.pk])
    response = browser.post(
        url,
        {"text": "Called the embassy: «appointment» on Monday", "csrfmiddlewaretoken": "stale"},
        **SAME_ORIGIN,
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "Called the embassy: «appointment» on Monday" in html
    resend = browser.post(
        url,
        {
            "text": "Called the embassy: «appointment» on Monday",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
        **SAME_ORIGIN,
    )
    assert resend.status_code == 302
    assert Note.objects.get(case=case).text == "Called the embassy: «appointment» on Monday"


@pytest.mark.django_db
def test_passwords_and_codes_are_never_written_back_into_the_page(browser, caseworker):
    response = browser.post(
        reverse("login"),
        {"username": "alice", "password": "password-canary-123", "csrfmiddlewaretoken": "x"},
        **SAME_ORIGIN,
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "password-canary-123" not in html
    # Sent again without its password the form could only fail: no offer, a way back instead.
    assert 'name="username"' not in html
    assert "Back to the page" in html


@pytest.mark.django_db
def test_a_form_sent_after_the_session_ended_asks_to_sign_in_again(browser, caseworker):
    """Signed out in another tab: sending the note again could only land on the sign-in
    page, so the page says so instead of offering it."""
    case = make_case(caseworker=caseworker)
    response = browser.post(
        reverse("case_note", args=[case.pk]),
        {"text": "typed before the session ended", "csrfmiddlewaretoken": "stale"},
        **SAME_ORIGIN,
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "typed before the session ended" not in html
    assert "not signed in any more" in html
