"""Links people follow carry secrets in their path (an invitation token, a letter's
verification code). Django logs the path of every 4xx answer ("Not Found: /verify/…"):
the application's own log must not keep them."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CODE = "academic-acid-acne-acquire-acrobat-activity-actress-adapt-adequate-adjust-admit-adorn-adult"


def test_an_unknown_verification_code_is_not_written_to_the_log(client, caplog):
    with caplog.at_level(logging.DEBUG):
        response = client.get(reverse("letter_verify", args=[CODE]))
    assert response.status_code == 404
    assert "Not Found: /verify/…" in caplog.text  # the line is kept, the code is not
    assert CODE not in caplog.text


def test_an_invitation_token_is_not_written_to_the_log(client, caplog):
    token = "x" * 43
    with caplog.at_level(logging.DEBUG):
        response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 410
    assert "/invitation/…" in caplog.text
    assert token not in caplog.text


def test_a_refused_form_to_such_a_link_is_not_logged_with_it(client, caplog):
    """The CSRF refusal logs the path too ("Forbidden (CSRF cookie not set.): …")."""
    with caplog.at_level(logging.DEBUG):
        client.post(reverse("letter_verify", args=[CODE]), {"passport": "1"})
    assert CODE not in caplog.text
