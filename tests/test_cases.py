"""Case access as an attacker would probe it: other organisations, unassigned colleagues,
the wrong roles, guessed URLs, extra POST keys, stale edits (R22-R28)."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, reverse

from casework.accounts.roles import Role
from casework.audit.models import AuditEvent
from casework.cases import urls as case_urls
from casework.cases.access import visible_cases
from casework.cases.models import Case
from casework.cases.services import case_assign, case_create
from tests.canaries import CANARIES
from tests.conftest import login_verified, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
OBJECT_ROUTES = [
    p.name
    for p in case_urls.urlpatterns
    if set(p.pattern.converters) == {"case_id"}  # objects under a case: test_content_audit.py
]
METHODS = ["get", "post", "put", "patch", "delete"]


def open_case(actor, **applicant):
    applicant.setdefault("legal_name_latin", CANARIES[0])
    applicant.setdefault("legal_name_cyrillic", CANARIES[10])
    return case_create(actor=actor, applicant_fields=applicant)


@pytest.fixture
def carol(coordinator):
    return coordinator


@pytest.fixture
def bob(organisation):
    return make_user(organisation=organisation, role=Role.CASEWORKER, username="bob")


@pytest.fixture
def case(caseworker):
    return open_case(caseworker)


@pytest.fixture
def foreign_case(other_organisation):
    owner = make_user(organisation=other_organisation, role=Role.COORDINATOR, username="zed")
    return open_case(owner, legal_name_latin=CANARIES[5], legal_name_cyrillic=CANARIES[15])


def url(name, case):
    return reverse(name, kwargs={"case_id": case.pk})


def test_the_object_routes_are_found():
    assert set(OBJECT_ROUTES) >= {"case_detail", "case_assign", "case_transition"}


@pytest.mark.parametrize("name", OBJECT_ROUTES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("attacker", ["caseworker", "coordinator"])
def test_another_organisation_gets_404_and_none_of_its_data(
    request, client, foreign_case, name, method, attacker
):
    """Someone of another organisation than the case's (Alpha's; the case is Beta's):
    its caseworker, and its coordinator, who sees every case of their own organisation, so
    that only the organisation's scope stands between them and Beta's case."""
    login_verified(client, request.getfixturevalue(attacker))
    response = getattr(client, method)(url(name, foreign_case))
    assert response.status_code == 404, f"{method} {name}"
    for canary in (CANARIES[5], CANARIES[15], foreign_case.code):
        assert canary.encode() not in response.content


@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_the_ladder_for_every_case_route(
    client, caseworker, bob, carol, auditor, org_admin, case, name
):
    target = url(name, case)
    method = "get" if name == "case_detail" else "post"
    assert getattr(client, method)(target).status_code == 302  # anonymous -> sign in
    client.force_login(caseworker)
    assert getattr(client, method)(target).headers["Location"] == reverse("login_verify")
    for stranger in (bob, auditor, org_admin):
        assert (
            getattr(login_verified(client.__class__(), stranger), method)(target).status_code == 404
        )
    coordinators_only = (
        "case_assign",
        "case_duplicate_reviewed",
        "case_erase",
        "case_retention",
        "case_export",
        "case_subject_request",
    )
    insiders = (carol,) if name in coordinators_only else (caseworker, carol)
    for insider in insiders:
        status = getattr(login_verified(client.__class__(), insider), method)(target).status_code
        assert status in (200, 302, 400), f"{insider} {name} -> {status}"


def test_a_guessed_case_id_is_the_same_404_as_a_foreign_one(client, caseworker, foreign_case):
    login_verified(client, caseworker)
    missing = client.get(reverse("case_detail", kwargs={"case_id": uuid.uuid4()}))
    foreign = client.get(url("case_detail", foreign_case))
    assert missing.status_code == foreign.status_code == 404

    def page(response):  # the same page but for the CSRF token and the address asked for
        html = re.sub(r'value="[A-Za-z0-9]{64}"', "", response.content.decode())
        return re.sub(r"/cases/[0-9a-f-]{36}/", "", html)

    assert page(missing) == page(foreign)


def test_views_and_denials_are_audited_without_content(client, caseworker, bob, case):
    login_verified(client, caseworker)
    before = AuditEvent.objects.count()
    client.get(url("case_detail", case))
    viewed = AuditEvent.objects.filter(action="case_viewed", case_id=case.pk)
    assert viewed.count() == 1 and AuditEvent.objects.count() == before + 1
    login_verified(client.__class__(), bob).get(url("case_detail", case))
    denied = AuditEvent.objects.get(action="access_denied")
    assert denied.decision == "deny" and denied.details["requested"] == str(case.pk)
    text = repr(list(AuditEvent.objects.values_list("details", flat=True)))
    assert CANARIES[0] not in text and CANARIES[10] not in text


def test_the_case_page_shows_the_decrypted_applicant_to_the_assigned_caseworker(
    client, caseworker, case
):
    login_verified(client, caseworker)
    html = client.get(url("case_detail", case)).content.decode()
    assert CANARIES[0] in html and case.code in html


def test_lists_show_codes_not_names_and_only_visible_cases(
    client, caseworker, bob, case, foreign_case
):
    login_verified(client, caseworker)
    html = client.get(reverse("case_list")).content.decode()
    assert case.code in html and foreign_case.code not in html
    assert CANARIES[0] not in html
    bob_html = login_verified(client.__class__(), bob).get(reverse("case_list")).content.decode()
    assert case.code not in bob_html


def test_a_global_permission_or_superuser_status_does_not_widen_the_view(bob, case):
    bob.user_permissions.add(Permission.objects.get(codename="view_case"))
    bob.is_superuser = True
    bob.save()
    assert list(visible_cases(bob)) == []


def test_a_permission_granted_to_a_group_shows_no_case(bob, case, client):
    """Cases are seen through assignment alone: an object permission given to a group (the
    caseworkers' own, here), which nothing in the project grants, widens nothing; the
    visibility query then has one branch the database can answer from its index."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    assign_perm("cases.view_case", Group.objects.get(name=Role.CASEWORKER.value), case)
    assert list(visible_cases(bob)) == []
    assert login_verified(client, bob).get(url("case_detail", case)).status_code == 404


def test_assignment_grants_and_unassignment_revokes(carol, bob, case, client):
    case_assign(actor=carol, case=case, caseworkers=[bob])
    assert case in visible_cases(bob)
    case_assign(actor=carol, case=case, caseworkers=[])
    assert case not in visible_cases(bob)
    assert login_verified(client, bob).get(url("case_detail", case)).status_code == 404


def test_only_a_coordinator_assigns(client, caseworker, bob, case):
    login_verified(client, caseworker)
    response = client.post(url("case_assign", case), {"caseworkers": [str(bob.pk)]})
    assert response.status_code == 404
    assert case not in visible_cases(bob)


def test_intake_ignores_extra_fields(client, caseworker, other_organisation, bob):
    login_verified(client, caseworker)
    response = client.post(
        reverse("case_create"),
        {
            "legal_name_latin": "MARIA IVANOVA",
            "priority": "urgent",
            "organisation": str(other_organisation.pk),
            "organisation_id": str(other_organisation.pk),
            "status": "closed",
            "caseworkers": [str(bob.pk)],
            "is_superuser": "1",
        },
    )
    assert response.status_code == 302
    created = Case.objects.get(priority="urgent")
    assert created.organisation_id == caseworker.organisation_id
    assert created.status == "new_request"
    assert list(created.caseworkers.all()) == [caseworker]


def test_intake_errors_keep_the_input(client, caseworker):
    login_verified(client, caseworker)
    response = client.post(
        reverse("case_create"), {"preferred_name": "Sasha", "priority": "normal"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Give the legal name" in html and 'value="Sasha"' in html
    assert 'autocomplete="off"' in html


def test_a_transition_follows_the_table_and_is_recorded(client, caseworker, case):
    login_verified(client, caseworker)
    response = client.post(url("case_transition", case), {"target": "screening", "version": 1})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "screening" and case.version == 2
    assert case.history.get().to_status == "screening"


def test_an_invalid_transition_is_a_clear_message_not_a_500(client, caseworker, case):
    login_verified(client, caseworker)
    response = client.post(url("case_transition", case), {"target": "submitted", "version": 1})
    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).status == "new_request"


def test_a_stale_edit_is_refused_with_a_conflict_message(client, caseworker, case):
    login_verified(client, caseworker)
    client.post(url("case_transition", case), {"target": "screening", "version": 1})
    response = client.post(url("case_transition", case), {"target": "verification", "version": 1})
    assert response.status_code == 400
    assert "changed this case meanwhile" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == "screening"


def test_the_list_costs_the_same_queries_for_5_and_50_cases(
    client, carol, django_assert_max_num_queries
):
    login_verified(client, carol)
    for _ in range(5):
        open_case(carol)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("case_list"))
    for _ in range(45):
        open_case(carol)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("case_list"))


def test_no_view_fetches_a_case_except_through_the_access_module():
    """Meta-test: views never touch Case.objects or Case._default_manager directly."""
    for path in (ROOT / "casework").rglob("views.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager"):
                owner = node.value
                assert not (isinstance(owner, ast.Name) and owner.id == "Case"), path


def test_the_meta_test_catches_a_direct_fetch():
    tree = ast.parse("def view(request):\n    return Case.objects.get(pk=1)\n")
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr == "objects"
        and isinstance(n.value, ast.Name)
        and n.value.id == "Case"
    ]
    assert found


def test_object_routes_take_uuids_only():
    for pattern in case_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        assert "<int:" not in str(pattern.pattern)


def test_search_finds_across_scripts_only_within_reach(client, caseworker, bob, carol):
    mine = open_case(caseworker, legal_name_latin="IVAN PETROV", legal_name_cyrillic=None)
    login_verified(client, caseworker)
    response = client.post(reverse("case_search"), {"kind": "name", "query": "Иван Петров"})
    assert response.status_code == 200 and mine.code in response.content.decode()
    # bob (not assigned) finds nothing; the coordinator finds it.
    bob_client = login_verified(client.__class__(), bob)
    html = bob_client.post(reverse("case_search"), {"kind": "name", "query": "IVAN PETROV"})
    assert mine.code not in html.content.decode()
    carol_client = login_verified(client.__class__(), carol)
    html = carol_client.post(reverse("case_search"), {"kind": "name", "query": "ivan petrov"})
    assert mine.code in html.content.decode()


def test_search_never_crosses_organisations(client, coordinator, foreign_case):
    """Alpha's coordinator, who finds every case of Alpha, finds none of Beta's."""
    login_verified(client, coordinator)
    response = client.post(reverse("case_search"), {"kind": "name", "query": CANARIES[5]})
    assert response.status_code == 200
    assert foreign_case.code not in response.content.decode()


def test_search_is_post_and_the_audit_entry_holds_no_query(client, caseworker, case):
    login_verified(client, caseworker)
    response = client.get(reverse("case_search"), {"kind": "name", "query": CANARIES[0]})
    assert CANARIES[0] not in response.content.decode()  # GET parameters are ignored
    client.post(reverse("case_search"), {"kind": "name", "query": CANARIES[0]})
    event = AuditEvent.objects.get(action="case_searched")
    assert event.details == {"kind": "name", "count": 1}


def test_the_dashboard_lists_my_open_cases_by_priority_without_names(client, caseworker):
    urgent = case_create(
        actor=caseworker, applicant_fields={"legal_name_latin": CANARIES[1]}, priority="urgent"
    )
    emergency = case_create(
        actor=caseworker, applicant_fields={"legal_name_latin": CANARIES[2]}, priority="emergency"
    )
    login_verified(client, caseworker)
    html = client.get(reverse("home")).content.decode()
    assert html.index(emergency.code) < html.index(urgent.code)
    assert CANARIES[1] not in html and CANARIES[2] not in html
    assert "2 open cases" in html


def test_intake_warns_of_a_possible_duplicate_without_revealing_it(client, caseworker, bob):
    existing = open_case(
        bob, legal_name_latin="ANNA SMIRNOVA", international_passport_no="75 7654321"
    )
    login_verified(client, caseworker)
    data = {
        "legal_name_latin": "Other Person",
        "international_passport_no": "757654321",
        "priority": "normal",
    }
    response = client.post(reverse("case_create"), data, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "a coordinator will look at it" in html
    assert existing.code not in html and "ANNA" not in html
    assert Case.objects.filter(duplicate_review=True).count() == 1  # tests/test_cases_duplicates.py


def test_a_same_name_with_another_birth_year_is_not_a_duplicate(client, caseworker):
    import datetime

    open_case(
        caseworker,
        legal_name_latin="IVAN PETROV",
        date_of_birth=datetime.date(1990, 1, 1),
        birth_year=1990,
    )
    login_verified(client, caseworker)
    data = {"legal_name_latin": "Ivan Petrov", "date_of_birth": "1975-05-05", "priority": "normal"}
    assert client.post(reverse("case_create"), data).status_code == 302


def test_sensitive_fields_are_masked_until_revealed_and_each_reveal_is_audited(client, caseworker):
    case = case_create(
        actor=caseworker,
        applicant_fields={"legal_name_latin": "X", "sexual_orientation": CANARIES[3]},
        narrative=CANARIES[4],
    )
    login_verified(client, caseworker)
    page = client.get(url("case_detail", case)).content.decode()
    assert CANARIES[3] not in page and CANARIES[4] not in page
    response = client.post(url("case_reveal", case), {"field": "sexual_orientation"})
    assert response.status_code == 302
    assert CANARIES[3] not in response.content.decode()
    shown = client.get(response["Location"]).content.decode()
    assert CANARIES[3] in shown and CANARIES[4] not in shown
    event = AuditEvent.objects.get(action="field_revealed")
    assert event.details == {"field": "applicant.sexual_orientation"}
    assert event.case_id == case.pk
    assert client.post(url("case_reveal", case), {"field": "email"}).status_code == 400


def edit_data(case, **changes):
    """What the edit form posts back (every applicant field it shows, as loaded)."""
    applicant = case.applicant
    data = {"priority": case.priority, "version": case.version, "preferred_name": "Sasha"}
    data |= {"legal_name_latin": applicant.legal_name_latin or ""}
    data |= {"legal_name_cyrillic": applicant.legal_name_cyrillic or ""}
    return {**data, **changes}


def test_an_edit_saves_encrypted_fields_and_audits_names_only(client, caseworker, case):
    login_verified(client, caseworker)
    response = client.post(
        url("case_edit", case),
        edit_data(case, priority="urgent", priority_override_reason=CANARIES[6], on_hold="on"),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.priority, case.on_hold, case.version) == ("urgent", True, 2)
    assert case.priority_override_reason == CANARIES[6]
    assert case.applicant.preferred_name == "Sasha"
    event = AuditEvent.objects.get(action="case_updated")
    assert "priority_override_reason" in event.details["fields"]
    assert CANARIES[6] not in repr(event.details)


def test_two_people_editing_the_same_case_the_second_gets_a_conflict_with_input_kept(
    client, caseworker, carol, case
):
    first = login_verified(client, caseworker)
    second = login_verified(client.__class__(), carol)
    loaded_version = case.version
    assert (
        first.post(url("case_edit", case), edit_data(case, pronouns="she/her")).status_code == 302
    )
    response = second.post(
        url("case_edit", case), edit_data(case, pronouns="they/them", version=loaded_version)
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this case" in html and 'value="they/them"' in html
    case.refresh_from_db()
    assert case.applicant.pronouns == "she/her"


def test_the_edit_form_ignores_fields_it_does_not_list(
    client, caseworker, case, other_organisation
):
    login_verified(client, caseworker)
    client.post(
        url("case_edit", case),
        edit_data(
            case, status="closed", organisation=str(other_organisation.pk), code="SP-00-HACK"
        ),
    )
    case.refresh_from_db()
    assert case.status == "new_request" and case.code != "SP-00-HACK"
    assert case.organisation_id == caseworker.organisation_id


def test_the_list_filters_by_status_priority_destination_flag_and_assignment(
    client, carol, caseworker
):
    urgent_de = case_create(
        actor=carol,
        applicant_fields={"legal_name_latin": "A"},
        priority="urgent",
        destination_state="DE",
    )
    normal_fr = case_create(
        actor=carol, applicant_fields={"legal_name_latin": "B"}, destination_state="FR"
    )
    case_assign(actor=carol, case=normal_fr, caseworkers=[caseworker])
    Case.objects.filter(pk=normal_fr.pk).update(on_hold=True)
    login_verified(client, carol)

    def codes(**params):
        html = client.get(reverse("case_list"), params).content.decode()
        return {c.code for c in (urgent_de, normal_fr) if c.code in html}

    assert codes(priority="urgent") == {urgent_de.code}
    assert codes(destination="fr") == {normal_fr.code}
    assert codes(flag="on_hold") == {normal_fr.code}
    assert codes(status="closed") == set()
    assert codes(flag="not_a_field") == {urgent_de.code, normal_fr.code}
    caseworker_client = login_verified(client.__class__(), caseworker)
    html = caseworker_client.get(reverse("case_list"), {"mine": "1"}).content.decode()
    assert normal_fr.code in html and urgent_de.code not in html


def test_notes_are_encrypted_shown_to_insiders_and_audited(client, caseworker, bob, case):
    from django.db import connection

    login_verified(client, caseworker)
    assert client.post(url("case_note", case), {"text": CANARIES[7]}).status_code == 302
    assert CANARIES[7] in client.get(url("case_detail", case)).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM cases_note")
        (stored,) = cursor.fetchone()
    assert CANARIES[7].encode() not in bytes(stored)
    assert AuditEvent.objects.filter(action="note_added", case_id=case.pk).count() == 1
    bob_client = login_verified(client.__class__(), bob)
    assert bob_client.post(url("case_note", case), {"text": "x"}).status_code == 404


PDF = b"%PDF-1.7\n" + CANARIES[8].encode() + b"\n%%EOF"


def upload(client, case, content=PDF, name="passport.pdf", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content), "doc_type": "passport_intl", **extra}
    return client.post(url("document_upload", case), data)


def test_an_upload_is_encrypted_at_rest_and_downloads_as_an_attachment(
    client, caseworker, case, settings
):
    from pathlib import Path

    login_verified(client, caseworker)
    assert upload(client, case, title=CANARIES[9]).status_code == 302
    document = case.documents.get()
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    stored = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    assert CANARIES[8].encode() not in stored and b"%PDF" not in stored
    assert "passport" not in document.storage_name
    response = client.get(reverse("document_download", args=[case.pk, document.pk]))
    assert response.status_code == 200 and response.content == PDF
    assert re.fullmatch(
        r'attachment; filename="document-[0-9a-f]{8}\.pdf"', response.headers["Content-Disposition"]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert document.sha256 == __import__("hashlib").sha256(PDF).hexdigest()
    actions = list(AuditEvent.objects.filter(case_id=case.pk).values_list("action", flat=True))
    assert "document_uploaded" in actions and "document_downloaded" in actions


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00\x03" + b"\x00" * 100, "passport.pdf"),  # a Windows executable, renamed
        (b"<html><script>alert(1)</script></html>", "scan.png"),
        (b"<svg onload=alert(1)></svg>", "photo.jpg"),
    ],
)
def test_a_disguised_file_is_refused(client, caseworker, case, content, name):
    login_verified(client, caseworker)
    response = upload(client, case, content=content, name=name)
    assert response.status_code == 400
    assert "checked by their content" in response.content.decode()
    assert not case.documents.exists()


def test_an_oversize_file_is_refused(client, caseworker, case, settings):
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1024
    login_verified(client, caseworker)
    response = upload(client, case, content=b"%PDF-" + b"x" * 2000)
    assert response.status_code == 400 and "too large" in response.content.decode()


def test_a_document_of_another_case_cannot_be_fetched_through_mine(client, caseworker, case, carol):
    other = open_case(carol)
    login_verified(client.__class__(), carol)
    carol_client = login_verified(client.__class__(), carol)
    upload(carol_client, other)
    theirs = other.documents.get()
    login_verified(client, caseworker)
    assert client.get(reverse("document_download", args=[case.pk, theirs.pk])).status_code == 404
    assert client.get(reverse("document_download", args=[other.pk, theirs.pk])).status_code == 404


@pytest.mark.parametrize("method", METHODS)
def test_another_organisations_document_is_404_for_every_method(
    client, coordinator, other_organisation, method
):
    owner = make_user(organisation=other_organisation, role=Role.COORDINATOR, username="zora")
    theirs = open_case(owner)
    upload(login_verified(client.__class__(), owner), theirs)
    document = theirs.documents.get()
    login_verified(client, coordinator)  # Alpha's, who sees every case of Alpha
    response = getattr(client, method)(reverse("document_download", args=[theirs.pk, document.pk]))
    assert response.status_code == 404
    assert CANARIES[8].encode() not in response.content


def test_route_attempts_are_kept_and_a_mission_must_match_the_route(client, caseworker, case):
    from casework.cases.models import Mission, Route

    login_verified(client, caseworker)
    de = Route.objects.get(code="de-aufenthg-22-s1")
    fr = Route.objects.get(code="fr-visa-asile")
    french_mission = Mission.objects.filter(state="FR").first()
    refused = client.post(
        url("route_attempt_add", case), {"route": de.pk, "mission": french_mission.pk}
    )
    assert refused.status_code == 400 and not case.visa_applications.exists()
    client.post(url("route_attempt_add", case), {"route": de.pk})
    client.post(url("route_attempt_add", case), {"route": fr.pk, "mission": french_mission.pk})
    assert case.visa_applications.count() == 2  # the re-route keeps the earlier attempt
    case.refresh_from_db()
    assert case.destination_state == "FR"


def test_submitting_needs_disclosure_consent_for_the_current_routes_authority(carol, case):
    from casework.cases import services as case_services
    from casework.cases.models import Route
    from casework.cases.views import _facts

    fr = Route.objects.get(code="fr-visa-asile")
    de = Route.objects.get(code="de-aufenthg-22-s1")
    case_services.route_attempt_add(actor=carol, case=case, route=fr, mission=None)
    assert not _facts(carol, case, {}).disclosure_consent_for_authority
    case_services.consent_record(
        actor=carol,
        case=case,
        purpose="disclosure",
        route=de,
        counterparty="",
        text_version="v1",
        language="ru",
    )
    assert not _facts(carol, case, {}).disclosure_consent_for_authority  # another authority
    consent = case_services.consent_record(
        actor=carol,
        case=case,
        purpose="disclosure",
        route=fr,
        counterparty="",
        text_version="v1",
        language="ru",
    )
    assert _facts(carol, case, {}).disclosure_consent_for_authority
    case_services.consent_withdraw(actor=carol, case=case, consent=consent)
    assert not _facts(carol, case, {}).disclosure_consent_for_authority


def test_a_disclosure_consent_must_name_its_authority(client, caseworker, case):
    login_verified(client, caseworker)
    response = client.post(
        url("consent_add", case),
        {"purpose": "disclosure", "text_version": "v1", "language": "ru"},
    )
    assert response.status_code == 400 and "names the authority" in response.content.decode()


def test_a_consent_of_another_case_cannot_be_withdrawn_through_mine(
    client, caseworker, case, carol
):
    from casework.cases import services as case_services

    other = open_case(carol)
    consent = case_services.consent_record(
        actor=carol,
        case=other,
        purpose="processing",
        route=None,
        counterparty="",
        text_version="v1",
        language="ru",
    )
    login_verified(client, caseworker)
    response = client.post(reverse("consent_withdraw", args=[case.pk, consent.pk]))
    assert response.status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_the_case_page_lists_what_the_routes_checklist_still_needs(client, caseworker, case):
    from casework.cases import services as case_services
    from casework.cases.models import Route

    route = Route.objects.get(code="cz-civil-society")
    case_services.route_attempt_add(actor=caseworker, case=case, route=route, mission=None)
    login_verified(client, caseworker)
    before = client.get(url("case_detail", case)).content.decode()
    assert "Still missing" in before and "international passport" in before
    upload(client, case)  # a passport_intl
    after = client.get(url("case_detail", case)).content.decode()
    missing_line = after.split("Still missing for the current route:")[-1].split("</p>")[0]
    assert "international passport" not in missing_line


def test_the_dashboard_title_is_plain_text(client, caseworker, case):
    login_verified(client, caseworker)
    html = client.get(reverse("home")).content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and case.code not in title
    assert html.count("Open cases by status") <= 1


def test_deadlines_follow_the_case_dates_and_show_on_the_dashboard(client, caseworker, case):
    import datetime

    from django.utils import timezone

    login_verified(client, caseworker)
    soon = timezone.localdate() + datetime.timedelta(days=5)
    later = timezone.localdate() + datetime.timedelta(days=60)
    data = edit_data(case, legal_stay_until=soon.isoformat(), passport_expiry=later.isoformat())
    assert client.post(url("case_edit", case), data).status_code == 302
    kinds = dict(case.deadlines.values_list("kind", "due_on"))
    assert kinds == {"legal_stay_ends": soon, "passport_expires": later}
    home = client.get(reverse("home")).content.decode()
    assert "legal stay ends" in home and case.code in home
    assert "passport expires" not in home  # 60 days away: not in the 14-day view
    # A changed date replaces its automatic deadline; a done one is kept.
    case.refresh_from_db()
    moved = soon + datetime.timedelta(days=3)
    client.post(url("case_edit", case), edit_data(case, legal_stay_until=moved.isoformat()))
    assert set(case.deadlines.values_list("due_on", flat=True)) == {moved}


def test_a_deadline_can_be_added_and_marked_done_only_through_its_case(
    client, caseworker, case, carol
):
    login_verified(client, caseworker)
    response = client.post(url("deadline_add", case), {"kind": "check_in", "due_on": "2030-01-01"})
    assert response.status_code == 302
    deadline = case.deadlines.get()
    other = open_case(carol)
    assert client.post(reverse("deadline_done", args=[other.pk, deadline.pk])).status_code == 404
    assert client.post(reverse("deadline_done", args=[case.pk, deadline.pk])).status_code == 302
    deadline.refresh_from_db()
    assert deadline.done


def test_a_route_attempt_records_dates_and_references_and_feeds_deadlines_and_guards(
    client, caseworker, case
):
    from django.db import connection

    from casework.cases import services as case_services
    from casework.cases.models import Route
    from casework.cases.views import _facts

    attempt = case_services.route_attempt_add(
        actor=caseworker, case=case, route=Route.objects.get(code="fr-visa-asile"), mission=None
    )
    login_verified(client, caseworker)
    target = reverse("attempt_edit", args=[case.pk, attempt.pk])
    bad = client.post(target, {"decision": "issued", "authority_file_number": CANARIES[11]})
    assert bad.status_code == 400 and "validity dates" in bad.content.decode()
    assert CANARIES[11] in bad.content.decode()  # the input is kept
    good = client.post(
        target,
        {
            "decision": "issued",
            "valid_from": "2031-01-01",
            "valid_until": "2031-06-30",
            "appointment_at": "2030-12-01",
            "authority_file_number": CANARIES[11],
        },
    )
    assert good.status_code == 302
    attempt.refresh_from_db()
    assert attempt.authority_file_number == CANARIES[11]
    with connection.cursor() as cursor:
        cursor.execute("SELECT authority_file_number FROM cases_visaapplication")
        (stored,) = cursor.fetchone()
    assert CANARIES[11].encode() not in bytes(stored)
    assert _facts(caseworker, case, {}).visa_validity_recorded
    assert case.deadlines.filter(kind="appointment").exists()


def test_another_cases_attempt_is_not_reachable_through_mine(client, caseworker, case, carol):
    from casework.cases import services as case_services
    from casework.cases.models import Route

    other = open_case(carol)
    theirs = case_services.route_attempt_add(
        actor=carol, case=other, route=Route.objects.get(code="pl-d21"), mission=None
    )
    login_verified(client, caseworker)
    assert client.get(reverse("attempt_edit", args=[case.pk, theirs.pk])).status_code == 404
