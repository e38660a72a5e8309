"""The case page for daily work: a summary header, sections a person can jump to, every
action returning to its section with its confirmation or its error, reveals that a reload
does not repeat, a narrative that grows by entries, and words instead of codes."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from casework.audit.models import Action, AuditEvent
from casework.cases import services, subject_requests
from casework.cases.models import Deadline, Route, SubjectRequest
from casework.cases.views import ADD_FORMS, SECTIONS
from casework.cases.workflow import Status
from tests.conftest import login_verified
from tests.factories import make_case
from tests.test_cases import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(caseworker):
    return make_case(caseworker=caseworker, gender_identity="canary-gender-identity")


@pytest.fixture
def worker(client, caseworker):
    return login_verified(client, caseworker)


def page_of(client, case) -> str:
    return client.get(reverse("case_detail", args=[case.pk])).content.decode()


def section_html(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}"')
    return html[start : html.index("</section>", start)]


class Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def test_the_summary_header_says_where_the_case_stands(worker, case, coordinator):
    today = timezone.localdate()
    services.deadline_add(
        actor=coordinator, case=case, kind="check_in", due_on=today - datetime.timedelta(days=2)
    )
    services.deadline_add(
        actor=coordinator, case=case, kind="appointment", due_on=today + datetime.timedelta(3)
    )
    case.on_hold = True
    case.save()
    header = page_of(worker, case).split('<nav class="case-sections"')[0]
    assert case.code in header
    assert "New request" in header and "Normal" in header
    assert "alice" in header  # the assigned caseworker
    assert (today - datetime.timedelta(days=2)).isoformat() in header  # the next deadline
    assert "1 deadline" in header  # overdue
    assert "on hold" in header


def test_every_section_is_in_the_menu_and_on_the_page(worker, case):
    html = page_of(worker, case)
    menu = html.split('<nav class="case-sections"')[1].split("</nav>")[0]
    for section in SECTIONS:
        if section == "assignment":  # coordinators only
            assert "#assignment" not in menu
            continue
        assert f'href="#{section}"' in menu
        assert f'<section id="{section}"' in html


@pytest.mark.parametrize("opened", [None, *ADD_FORMS])
def test_no_two_elements_of_the_case_page_share_an_id(client, coordinator, case, opened):
    """Several forms on one page, one of the folded ones open: a shared id would point a
    label at another form's field."""
    with_an_attempt(case, coordinator)  # the letter form needs one
    login_verified(client, coordinator)
    parser = Ids()
    query = {"add": opened} if opened else {}
    html = client.get(reverse("case_detail", args=[case.pk]), query).content.decode()
    assert (f'id="add-{opened}" open>' in html) if opened else (" open>" not in html)
    parser.feed(html)
    duplicates = {i for i in parser.ids if parser.ids.count(i) > 1}
    assert duplicates == set()


def with_an_attempt(case, actor):
    route = Route.objects.exclude(status=Route.Status.SUSPENDED).first()
    return services.route_attempt_add(actor=actor, case=case, route=route, mission=None)


def test_the_folded_forms_are_links_until_one_is_opened(worker, case, caseworker):
    """The page builds none of its six folded forms (issue 15: they were a third of its
    time); each link opens the page again with that form open, its first field focused,
    in its section, and every other one still a link. Works without JavaScript."""
    with_an_attempt(case, caseworker)
    html = page_of(worker, case)
    for name, spec in ADD_FORMS.items():
        link = f'href="/cases/{case.pk}/?add={name}">{spec.summary}</a>'
        assert link in html
    assert "<details" not in html
    assert 'name="due_on"' not in html and 'name="route"' not in html
    for name in ADD_FORMS:
        opened = worker.get(reverse("case_detail", args=[case.pk]), {"add": name})
        assert opened.status_code == 200
        html = opened.content.decode()
        opening = f'<details class="add-form" id="add-{name}" open>'
        form = html.split(opening)[1].split("</details>")[0]
        assert f'action="{reverse(ADD_FORMS[name].action, args=[case.pk])}"' in form
        assert form.count("autofocus") == 1  # its first field
        assert html.count("<details") == 1  # only that one
    # An unknown name opens nothing, and says nothing about it.
    html = worker.get(reverse("case_detail", args=[case.pk]), {"add": "<script>"}).content.decode()
    assert "<details" not in html and "&lt;script&gt;" not in html


def test_opening_a_folded_form_is_a_look_at_the_case(worker, case):
    """The page with a form open shows the case like the page itself: one audit entry."""
    worker.get(reverse("case_detail", args=[case.pk]), {"add": "deadline"})
    assert AuditEvent.objects.filter(action=Action.CASE_VIEWED, case_id=case.pk).count() == 1


ACTIONS = [
    ("case_note", {"text": "Called back"}, "notes", "The note was added."),
    ("deadline_add", {"kind": "check_in", "due_on": "2099-01-01"}, "deadlines", "deadline"),
    ("case_narrative_append", {"text": "Searched again"}, "sensitive", "narrative"),
    (
        "consent_add",
        {"purpose": "processing", "text_version": "v1", "language": "ru"},
        "consent",
        "consent",
    ),
]


@pytest.mark.parametrize(("route", "data", "section", "said"), ACTIONS)
def test_an_action_returns_to_its_section_with_its_confirmation(
    worker, case, route, data, section, said
):
    response = worker.post(reverse(route, args=[case.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/#{section}"
    html = worker.get(response["Location"]).content.decode()
    assert said in section_html(html, section)
    top = html.split('<header class="case-summary"')[0]
    assert said not in top  # beside the section, not at the top of the page


def test_a_status_change_and_an_upload_return_to_their_sections(worker, case):
    changed = worker.post(
        reverse("case_transition", args=[case.pk]), {"target": "screening", "version": 1}
    )
    assert changed["Location"].endswith("#status")
    assert upload(worker, case)["Location"].endswith("#documents")


def test_a_refused_form_comes_back_open_in_its_section_with_a_summary(worker, case):
    response = worker.post(reverse("deadline_add", args=[case.pk]), {"kind": "check_in"})
    assert response.status_code == 400
    html = response.content.decode()
    deadlines = section_html(html, "deadlines")
    assert '<details class="add-form" id="add-deadline" open>' in deadlines
    # No fragment in the action: it would stop the browser from focusing the summary.
    assert f'action="/cases/{case.pk}/deadlines/"' in deadlines
    summary = deadlines.split('class="error-summary"')[1].split("</div>")[0]
    assert "autofocus" in deadlines.split('class="error-summary"')[1][:200]
    assert 'href="#deadlines_due_on"' in summary
    assert "This field is required." in summary
    # Only the form that failed is open; the others are the links that open them.
    assert html.count("<details") == 1
    assert '?add=route"' in section_html(html, "routes")


def test_a_reveal_is_shown_after_a_redirect_once_and_hidden_on_reload(worker, case):
    response = worker.post(reverse("case_reveal", args=[case.pk]), {"field": "gender_identity"})
    assert response.status_code == 302
    assert response["Location"].endswith("#sensitive")
    assert "reveal" not in response["Location"]
    shown = worker.get(response["Location"]).content.decode()
    assert "canary-gender-identity" in section_html(shown, "sensitive")
    assert "Hide Gender identity" in shown
    again = page_of(worker, case)
    assert "canary-gender-identity" not in again
    reveals = AuditEvent.objects.filter(action=Action.FIELD_REVEALED)
    assert reveals.count() == 1


def test_the_session_keeps_the_revealed_field_name_never_its_value(worker, case):
    worker.post(reverse("case_reveal", args=[case.pk]), {"field": "gender_identity"})
    assert "canary-gender-identity" not in str(dict(worker.session))


def test_a_reveal_on_one_case_shows_nothing_on_another(worker, case, caseworker):
    other = make_case(caseworker=caseworker, gender_identity="canary-other-case")
    worker.post(reverse("case_reveal", args=[other.pk]), {"field": "gender_identity"})
    assert "canary-gender-identity" not in page_of(worker, case)


def test_the_narrative_grows_by_dated_entries_without_being_retyped(worker, case, caseworker):
    services.case_update(
        actor=caseworker,
        case=case,
        version=case.version,
        case_fields={"narrative": "First contact in March."},
        applicant_fields={},
    )
    response = worker.post(
        reverse("case_narrative_append", args=[case.pk]),
        {"text": "Detained for questioning.", "happened_on": "2026-11-02"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.narrative.startswith("First contact in March.\n\n")
    assert "alice" in case.narrative.splitlines()[2]
    assert case.narrative.endswith("2026-11-02: Detained for questioning.")
    entry = AuditEvent.objects.filter(action=Action.CASE_UPDATED).latest("seq")
    assert entry.details == {"fields": ["narrative"], "appended": True}


def test_an_entry_added_meanwhile_turns_an_open_edit_into_a_conflict(worker, case):
    loaded_version = case.version
    worker.post(reverse("case_narrative_append", args=[case.pk]), {"text": "New entry"})
    response = worker.post(
        reverse("case_edit", args=[case.pk]),
        {"priority": "normal", "version": loaded_version, "legal_name_latin": "IVAN PETROV"},
    )
    assert response.status_code == 409


def test_the_page_says_statuses_and_languages_in_words(worker, case, caseworker):
    services.case_transition(
        actor=caseworker,
        case=case,
        target=Status.SCREENING,
        facts=services_facts(),
        reason=None,
    )
    applicant = case.applicant
    applicant.languages = ["ru", "hy"]
    applicant.save()
    services.consent_record(
        actor=caseworker,
        case=case,
        purpose="processing",
        route=None,
        counterparty="",
        includes_sogi=False,
        text_version="2026-01",
        language="uk",
    )
    html = worker.get(reverse("case_detail", args=[case.pk]), {"show": "history"}).content.decode()
    assert "New request → Screening" in section_html(html, "history")
    assert "русский, Հայերեն" in section_html(html, "applicant")
    assert "українська" in section_html(html, "consent")
    for code in ("new_request", "screening"):
        assert not re.search(rf">[^<]*\b{code}\b[^<]*<", html), code


def services_facts():
    from casework.cases.workflow import CaseFacts

    return CaseFacts(
        verification_completed=False,
        approved_letter=False,
        disclosure_consent_for_authority=False,
        visa_validity_recorded=False,
        closure_reason=None,
        reason=None,
        actor_is_coordinator=False,
        emergency=False,
    )


def test_route_attempts_read_as_words_in_every_list_and_drop_down(worker, case, caseworker):
    route = Route.objects.filter(destination_state="DE").first()
    mission = route and route_mission(route)
    services.route_attempt_add(actor=caseworker, case=case, route=route, mission=mission)
    html = page_of(worker, case)
    expected = f"{route} · {mission} · pending" if mission else f"{route} · pending"
    assert expected in section_html(html, "routes")
    html = worker.get(reverse("case_detail", args=[case.pk]), {"add": "letter"}).content.decode()
    assert expected in section_html(html, "letters")  # the letter request's drop-down
    assert "VisaApplication(" not in html


def route_mission(route):
    from casework.cases.models import Mission

    return Mission.objects.filter(state=route.destination_state).first()


def test_a_deadline_marked_done_returns_to_the_deadlines(worker, case, coordinator):
    deadline = services.deadline_add(
        actor=coordinator, case=case, kind="check_in", due_on=datetime.date(2099, 1, 1)
    )
    response = worker.post(reverse("deadline_done", args=[case.pk, deadline.pk]))
    assert response["Location"].endswith("#deadlines")
    assert Deadline.objects.get(pk=deadline.pk).done


def test_a_coordinator_assigns_and_returns_to_the_assignment(client, coordinator, case):
    login_verified(client, coordinator)
    response = client.post(reverse("case_assign", args=[case.pk]), {"caseworkers": []})
    assert response["Location"].endswith("#assignment")
    html = client.get(response["Location"]).content.decode()
    assert "The assignment was saved." in section_html(html, "assignment")


def test_the_history_and_the_requests_of_the_person_are_read_when_asked_for(
    client, coordinator, caseworker, case
):
    """Lists looked at now and then are a link until followed (issue 15: each was a query
    on every visit); followed, the page shows them in their section. Without JavaScript."""
    services.case_transition(
        actor=caseworker, case=case, target=Status.SCREENING, facts=services_facts(), reason=None
    )
    subject_requests.request_record(
        actor=coordinator,
        case=case,
        kind=SubjectRequest.Kind.ACCESS,
        received_on=timezone.localdate(),
    )
    url = reverse("case_detail", args=[case.pk])
    login_verified(client, coordinator)
    html = client.get(url).content.decode()
    history, rights = section_html(html, "history"), section_html(html, "rights")
    assert f'href="{url}?show=history#history">Show every change of status</a>' in history
    assert "New request → Screening" not in history
    assert f'href="{url}?show=rights#rights">Show the requests recorded</a>' in rights
    assert "received" not in rights
    html = client.get(url, {"show": "history"}).content.decode()
    assert "New request → Screening" in section_html(html, "history")
    assert "Show the requests recorded" in section_html(html, "rights")
    html = client.get(url, {"show": "rights"}).content.decode()
    assert "a copy of their data (Article 15)" in section_html(html, "rights")
    assert "Show every change of status" in section_html(html, "history")
    # The requests are a coordinator's: asking for them shows a caseworker nothing more.
    login_verified(client, caseworker)
    html = client.get(url, {"show": "rights"}).content.decode()
    assert '<section id="rights"' not in html and "Article 15)" not in html


def test_the_assignment_form_opens_on_request_with_the_case_s_caseworkers_ticked(
    client, coordinator, caseworker, case
):
    url = reverse("case_detail", args=[case.pk])
    login_verified(client, coordinator)
    assignment = section_html(client.get(url).content.decode(), "assignment")
    assert f'href="{url}?add=assign#assignment">Change who works on this case</a>' in assignment
    assert "<form" not in assignment
    opened = section_html(client.get(url, {"add": "assign"}).content.decode(), "assignment")
    assert f'action="{reverse("case_assign", args=[case.pk])}"' in opened
    box = opened.split(f'value="{caseworker.pk}"')[1].split(">")[0]
    assert "checked" in box
    # A caseworker assigns nobody: no section, no form, whatever they ask for.
    login_verified(client, caseworker)
    html = client.get(url, {"add": "assign"}).content.decode()
    assert (
        '<section id="assignment"' not in html
        and reverse("case_assign", args=[case.pk]) not in html
    )


def test_a_refused_assignment_comes_back_with_its_form_open_and_says_why(
    client, coordinator, case, outsider
):
    """The assignment form is folded; sent with someone who may not be assigned, it comes
    back open in its section with the error, nothing changed."""
    login_verified(client, coordinator)
    before = set(case.caseworkers.values_list("pk", flat=True))
    assert before  # the caseworker who opened it
    response = client.post(reverse("case_assign", args=[case.pk]), {"caseworkers": [outsider.pk]})
    assert response.status_code == 400
    assignment = section_html(response.content.decode(), "assignment")
    assert f'action="{reverse("case_assign", args=[case.pk])}"' in assignment
    assert "error-summary" in assignment and "Change who works on this case" not in assignment
    assert set(case.caseworkers.values_list("pk", flat=True)) == before
