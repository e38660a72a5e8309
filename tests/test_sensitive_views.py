"""R39: every view that takes typed text about a case hides all its POST parameters from
error reports (sensitive_post_parameters), on top of the redacting filter. Generated from
the URLconf: a new route must say which it is."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from casework.cases import urls as case_urls
from tests.conftest import login_verified
from tests.factories import make_case

pytestmark = pytest.mark.django_db

# Routes whose POST carries no typed text (choices, ids, a field's name) or takes no POST.
NO_TYPED_TEXT = {
    "case_list",
    "case_detail",
    "case_assign",
    "case_reveal",
    "route_attempt_add",
    "deadline_add",
    "deadline_done",
    "consent_withdraw",
    "document_download",
    "document_verify",
    "case_duplicate_reviewed",
    "letter_preview",
    "letter_issue",
    "letter_correct",
    "letter_download",
    "case_export",  # a choice and a tick box
    "case_export_download",
    "case_subject_request",  # a choice and a date
}
ROUTES = [pattern.name for pattern in case_urls.urlpatterns]


def test_every_case_route_is_classified():
    assert set(ROUTES) >= NO_TYPED_TEXT


@pytest.mark.parametrize("route", sorted(set(ROUTES) - NO_TYPED_TEXT))
def test_a_view_taking_typed_text_hides_its_post_parameters(client, coordinator, caseworker, route):
    case = make_case(caseworker=caseworker)
    login_verified(client, coordinator)
    pattern = next(p for p in case_urls.urlpatterns if p.name == route)
    kwargs = {
        name: case.pk if name == "case_id" else uuid.uuid4() for name in pattern.pattern.converters
    }
    response = client.post(reverse(route, kwargs=kwargs), {})
    assert getattr(response.wsgi_request, "sensitive_post_parameters", None) == "__ALL__"
