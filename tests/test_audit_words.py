"""The auditors' pages speak human (issue 11): cases by their printed code, the field a
reveal revealed by its label, actions, decisions, roles and statuses by their words; and a
case code resolves only within the auditor's own organisation."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework.accounts.roles import Role
from casework.audit.models import Action, AuditEvent
from casework.audit.services import record
from casework.cases.forms import CaseEditForm
from casework.cases.models import Case
from tests.conftest import login_verified, make_user
from tests.factories import make_applicant, make_case
from tests.test_audit_ui import FakeTarget, entries_shown, exported_rows

pytestmark = pytest.mark.django_db

LOG = "/audit/"
ROOT = Path(__file__).resolve().parent.parent


def entries_table(response):
    """The HTML of the main entries table of the log page."""
    html = response.content.decode()
    assert 'id="entries"' in html
    return html.split('id="entries"', 1)[1].split("</table>", 1)[0]


def target_of(label, pk):
    """A stand-in object of the model ``label`` (only its label and key are recorded)."""
    meta = type("_meta", (), {"label_lower": label})
    return type("Target", (FakeTarget,), {"_meta": meta})(pk)


def without_attributes(html):
    """The text a reader sees: links, form values and the like taken out."""
    return re.sub(r'\s[a-z-]+="[^"]*"', "", html)


def row_of(response, event):
    """The HTML of one entry's row, found by its sequence number."""
    table = entries_table(response)
    marker = f'<th scope="row">{event.seq}</th>'
    assert marker in table
    return table.split(marker, 1)[1].split("</tr>", 1)[0]


# --- case codes, not ids ------------------------------------------------------------------------


def test_filtering_by_the_printed_case_code_finds_the_cases_entries(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    other = make_case(caseworker=caseworker)
    wanted = record(Action.CASE_VIEWED, actor=caseworker, target=case, case_id=case.pk)
    unwanted = record(Action.CASE_VIEWED, actor=caseworker, target=other, case_id=other.pk)
    login_verified(client, auditor)
    response = client.get(LOG, {"case": f"  {case.code.lower()} "})
    assert response.status_code == 200
    shown = entries_shown(response)
    assert wanted.seq in shown
    assert unwanted.seq not in shown
    assert shown == set(
        AuditEvent.objects.filter(case_id=case.pk, seq__lte=wanted.seq).values_list(
            "seq", flat=True
        )
    )


def test_a_case_code_of_another_organisation_finds_nothing(client, auditor, caseworker, outsider):
    theirs = make_case(caseworker=outsider)
    record(Action.CASE_VIEWED, actor=outsider, target=theirs, case_id=theirs.pk)
    # An entry of the auditor's own organisation naming the foreign case must stay hidden
    # behind the code too: resolution is scoped to the organisation, not to the entries.
    record(Action.CASE_VIEWED, actor=caseworker, case_id=theirs.pk)
    login_verified(client, auditor)
    response = client.get(LOG, {"case": theirs.code})
    assert response.status_code == 200
    assert entries_shown(response) == set()
    assert response.context["form"].errors["case"] == [
        f"No case of your organisation has the code {theirs.code}."
    ]


def test_a_foreign_code_reads_exactly_like_a_missing_one(client, auditor, outsider):
    theirs = make_case(caseworker=outsider)
    login_verified(client, auditor)
    foreign = client.get(LOG, {"case": theirs.code}).context["form"].errors["case"]
    missing = client.get(LOG, {"case": "SP-00-NONE"}).context["form"].errors["case"]
    assert [error.replace(theirs.code, "X") for error in foreign] == [
        error.replace("SP-00-NONE", "X") for error in missing
    ]


def test_an_unknown_case_code_says_so_and_shows_nothing(client, auditor, caseworker):
    record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    response = client.get(LOG, {"case": "sp-99-zzzz"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No case of your organisation has the code SP-99-ZZZZ." in html
    assert 'value="sp-99-zzzz"' in html  # the input is kept as typed
    assert entries_shown(response) == set()


@pytest.mark.parametrize("typed", ["", "   ", "x" * 200, "SP-26-ÄÖÜ", "' OR 1=1 --", "\x00"])
def test_odd_case_codes_never_break_the_page(client, auditor, typed):
    login_verified(client, auditor)
    response = client.get(LOG, {"case": typed})
    assert response.status_code == 200


def test_an_unknown_code_is_not_written_into_the_audit_entry(client, auditor):
    login_verified(client, auditor)
    client.get(LOG, {"case": "IVAN PETROV"})
    entry = AuditEvent.objects.get(action=Action.AUDIT_VIEWED)
    assert entry.details == {"filters": {}, "count": 0, "rejected": ["case"]}
    assert "IVAN" not in str(entry.details)


def test_the_view_of_a_case_filter_is_recorded_with_the_case_id(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    login_verified(client, auditor)
    client.get(LOG, {"case": case.code})
    entry = AuditEvent.objects.get(action=Action.AUDIT_VIEWED)
    assert entry.details["filters"] == {"case": str(case.pk)}


def test_entries_about_a_case_show_its_code_linking_to_the_audit_view_of_it(
    client, auditor, caseworker
):
    case = make_case(caseworker=caseworker)
    viewed = record(Action.CASE_VIEWED, actor=caseworker, target=case, case_id=case.pk)
    login_verified(client, auditor)
    response = client.get(LOG)
    row = row_of(response, viewed)
    assert f'<a href="{reverse("audit_case", args=[case.pk])}">{case.code}</a>' in row
    assert f'href="{reverse("case_detail", args=[case.pk])}"' not in response.content.decode()
    assert str(case.pk) not in without_attributes(row)


@pytest.mark.parametrize(
    ("action", "label"),
    [
        (Action.DOCUMENT_DOWNLOADED, "cases.document"),
        (Action.LETTER_ISSUED, "letters.letter"),
        (Action.ROUTE_ATTEMPT_UPDATED, "cases.visaapplication"),
        (Action.CONSENT_RECORDED, "cases.consent"),
        (Action.DEADLINE_CHANGED, "cases.deadline"),
    ],
)
def test_entries_about_an_object_under_a_case_show_the_case_code(
    client, auditor, caseworker, action, label
):
    case = make_case(caseworker=caseworker)
    entry = record(action, actor=caseworker, target=target_of(label, uuid.uuid4()), case_id=case.pk)
    login_verified(client, auditor)
    row = row_of(client.get(LOG), entry)
    assert case.code in row
    assert label not in row  # the kind of object in words, not its model label


def test_the_case_page_names_the_case_by_its_code(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    login_verified(client, auditor)
    response = client.get(reverse("audit_case", args=[case.pk]))
    html = response.content.decode()
    assert f"<h1>Who accessed case {case.code}</h1>" in html
    assert str(case.pk) not in without_attributes(html)  # only in links and forms


def test_the_case_page_of_a_foreign_case_never_shows_its_code(client, auditor, outsider):
    theirs = make_case(caseworker=outsider)
    login_verified(client, auditor)
    response = client.get(reverse("audit_case", args=[theirs.pk]))
    assert response.status_code == 200
    assert theirs.code not in response.content.decode()
    assert "No entry of your organisation names this case." in response.content.decode()


def test_a_foreign_case_named_in_an_own_entry_is_never_resolved(
    client, auditor, caseworker, outsider
):
    theirs = make_case(caseworker=outsider)
    denied = record(
        Action.ACCESS_DENIED,
        actor=caseworker,
        decision="deny",
        target_type="cases.case",
        requested=str(theirs.pk),
    )
    odd = record(Action.CASE_VIEWED, actor=caseworker, case_id=theirs.pk)
    login_verified(client, auditor)
    response = client.get(LOG)
    html = response.content.decode()
    assert {denied.seq, odd.seq} <= entries_shown(response)
    assert theirs.code not in html
    rows = exported_rows(client.post(reverse("audit_export")))
    assert theirs.code not in str(rows)


def test_a_denied_request_for_an_own_case_names_its_code(client, auditor, caseworker, coordinator):
    case = make_case(caseworker=caseworker)
    denied = record(
        Action.ACCESS_DENIED,
        actor=coordinator,
        decision="deny",
        target_type="cases.case",
        requested=str(case.pk),
    )
    login_verified(client, auditor)
    row = row_of(client.get(LOG), denied)
    assert case.code in row
    assert "cases.case" not in row and str(case.pk) not in without_attributes(row)


def test_the_csv_carries_the_case_code_column(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    viewed = record(Action.CASE_VIEWED, actor=caseworker, target=case, case_id=case.pk)
    login = record(Action.LOGIN, actor=caseworker)
    login_verified(client, auditor)
    rows = exported_rows(client.post(reverse("audit_export")))
    by_seq = {int(row["seq"]): row for row in rows}
    assert "case_code" in rows[0]
    assert by_seq[viewed.seq]["case_code"] == case.code
    assert by_seq[viewed.seq]["case_id"] == str(case.pk)
    assert by_seq[login.seq]["case_code"] == ""


def test_the_export_takes_the_case_code_as_printed(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    other = make_case(caseworker=caseworker)
    record(Action.CASE_VIEWED, actor=caseworker, target=other, case_id=other.pk)
    login_verified(client, auditor)
    page = client.get(LOG, {"case": case.code.lower()})
    assert f'<input type="hidden" name="case" value="{case.code}">' in page.content.decode()
    rows = exported_rows(client.post(reverse("audit_export"), {"case": case.code.lower()}))
    assert rows and {row["case_code"] for row in rows} == {case.code}
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert exported.details["filters"] == {"case": str(case.pk)}


def test_an_export_with_a_foreign_case_code_exports_nothing(client, auditor, outsider):
    theirs = make_case(caseworker=outsider)
    login_verified(client, auditor)
    response = client.post(reverse("audit_export"), {"case": theirs.code})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


def cases_of(organisation, count):
    """Cases straight into the table: only their codes matter here."""
    applicant = make_applicant(organisation)
    return [
        Case.objects.create(organisation=organisation, applicant=applicant, code=f"SP-00-Q{n:03d}")
        for n in range(count)
    ]


def test_the_log_resolves_a_whole_page_of_case_codes_in_one_query(
    client, auditor, caseworker, organisation, settings, django_assert_max_num_queries
):
    settings.CASEWORK_AUDIT_CHECKPOINT_EVERY = 10**9  # no checkpoint write mid-measurement
    cases = cases_of(organisation, 50)
    record(Action.CASE_VIEWED, actor=caseworker, case_id=cases[0].pk)
    login_verified(client, auditor)
    client.get(LOG)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        client.get(LOG)
    for case in cases:
        record(Action.FIELD_REVEALED, actor=caseworker, case_id=case.pk, field="case.narrative")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LOG)
    table = entries_table(response)
    assert all(case.code in table for case in cases[1:])


def test_a_page_asks_for_case_codes_once(client, auditor, caseworker, organisation):
    cases = cases_of(organisation, 5)
    for case in cases:
        record(Action.CASE_VIEWED, actor=caseworker, case_id=case.pk)
    login_verified(client, auditor)
    with CaptureQueriesContext(connection) as queries:
        client.get(LOG)
    table = Case._meta.db_table
    asked = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert len(asked) == 1


def test_the_case_page_resolves_codes_in_one_query_too(
    client, auditor, caseworker, organisation, settings, django_assert_max_num_queries
):
    settings.CASEWORK_AUDIT_CHECKPOINT_EVERY = 10**9
    case = make_case(caseworker=caseworker)
    url = reverse("audit_case", args=[case.pk])
    login_verified(client, auditor)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(50):
        record(Action.CASE_VIEWED, actor=make_user(organisation=organisation), case_id=case.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


# --- which field a reveal revealed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("case.narrative", "Narrative and incident timeline"),
        ("case.safety_plan", "Safety plan"),
        ("applicant.gender_identity", "Gender identity"),
        ("applicant.sexual_orientation", "Sexual orientation"),
        ("applicant.health_notes", "Health notes"),
    ],
)
def test_a_reveal_shows_the_fields_label_never_its_dotted_code(
    client, auditor, caseworker, field, label
):
    case = make_case(caseworker=caseworker)
    revealed = record(
        Action.FIELD_REVEALED, actor=caseworker, target=case, case_id=case.pk, field=field
    )
    login_verified(client, auditor)
    for page in (client.get(LOG), client.get(reverse("audit_case", args=[case.pk]))):
        html = page.content.decode()
        assert label in html
        assert field not in html
    assert label in row_of(client.get(LOG), revealed)


def test_a_reveal_is_shown_in_the_readers_language(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    record(
        Action.FIELD_REVEALED,
        actor=caseworker,
        case_id=case.pk,
        field="applicant.health_notes",
    )
    login_verified(client, auditor)
    html = client.get(LOG, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Сведения о здоровье" in html
    assert "Health notes" not in html


def test_an_unknown_revealed_field_is_shown_as_unknown_not_as_code(client, auditor, caseworker):
    entry = record(Action.FIELD_REVEALED, actor=caseworker, field="case.something_new")
    login_verified(client, auditor)
    row = row_of(client.get(LOG), entry)
    assert "case.something_new" not in row
    assert "an unknown field" in row


def test_the_shared_vocabulary_matches_the_case_edit_form():
    """The masked fields have one list of labels; until the cases app takes it from
    casework.lib.vocabulary, this keeps the two in step."""
    from casework.lib import vocabulary

    assert vocabulary.MASKED_FIELDS == CaseEditForm.MASKED


# --- words for everything shown -----------------------------------------------------------------


def test_a_status_change_shows_the_status_labels(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    changed = record(
        Action.STATUS_CHANGED,
        actor=caseworker,
        target=case,
        case_id=case.pk,
        from_status="letter_review",
        to_status="submitted",
    )
    login_verified(client, auditor)
    row = row_of(client.get(LOG), changed)
    assert "Letter review" in row and "Submitted" in row
    assert "letter_review" not in row and "submitted" not in row


def test_statuses_and_actions_are_in_the_readers_language(client, auditor, caseworker):
    case = make_case(caseworker=caseworker)
    record(
        Action.STATUS_CHANGED,
        actor=caseworker,
        case_id=case.pk,
        from_status="letter_review",
        to_status="submitted",
    )
    login_verified(client, auditor)
    table = entries_table(client.get(LOG, HTTP_ACCEPT_LANGUAGE="ru"))
    assert "Согласование письма" in table and "Передано на рассмотрение" in table
    assert "статус изменён" in table
    assert "разрешено" in table


def test_a_role_change_shows_the_roles_name(client, auditor, org_admin, caseworker):
    changed = record(
        Action.ROLE_CHANGED, actor=org_admin, target=caseworker, role=Role.COORDINATOR.value
    )
    login_verified(client, auditor)
    row = row_of(client.get(LOG), changed)
    assert "Coordinator" in row
    assert ">coordinator<" not in row
    assert "alice" in row  # the user whose role changed, by name
    assert str(caseworker.pk) not in row and "accounts.user" not in row


def test_an_assignment_names_the_caseworkers(client, auditor, caseworker, coordinator):
    case = make_case(caseworker=caseworker)
    assigned = record(
        Action.CASE_ASSIGNED,
        actor=coordinator,
        target=case,
        case_id=case.pk,
        caseworkers=[str(caseworker.pk)],
    )
    login_verified(client, auditor)
    row = row_of(client.get(LOG), assigned)
    assert "alice" in row and str(caseworker.pk) not in row


def test_an_assignment_never_names_a_user_of_another_organisation(
    client, auditor, coordinator, outsider
):
    assigned = record(Action.CASE_ASSIGNED, actor=coordinator, caseworkers=[str(outsider.pk)])
    login_verified(client, auditor)
    row = row_of(client.get(LOG), assigned)
    assert "oscar" not in row and str(outsider.pk) not in row


def test_decisions_are_words(client, auditor, caseworker):
    allowed = record(Action.LOGIN, actor=caseworker)
    denied = record(Action.OTP_FAILED, actor=caseworker, decision="deny")
    login_verified(client, auditor)
    response = client.get(LOG)
    assert "<td>allowed</td>" in row_of(response, allowed)
    assert "<td>denied</td>" in row_of(response, denied)


def test_the_filter_drop_downs_show_words(client, auditor, caseworker):
    login_verified(client, auditor)
    form = client.get(LOG).context["form"]
    actions = dict(form.fields["action"].choices)
    assert actions[""] == "Any action"
    assert actions[Action.FIELD_REVEALED.value] == "sensitive field revealed"
    assert actions == {"": "Any action", **dict(Action.choices)}
    assert not [label for label in actions.values() if "_" in str(label)]
    users = dict(form.fields["actor"].choices)
    assert users[str(caseworker.pk)] == "alice"
    assert form.fields["case"].label == "Case code"


def test_the_filter_form_shows_no_machine_word(client, auditor):
    login_verified(client, auditor)
    html = client.get(LOG).content.decode()
    form = html.split('class="filter-form"', 1)[1].split("</form>", 1)[0]
    assert "Case id" not in form
    options = re.findall(r"<option[^>]*>([^<]*)</option>", form)
    assert options and not [label for label in options if re.fullmatch(r"[a-z]+_[a-z_]+", label)]


# One entry of every kind the code base writes, with the details it writes (ids made up).
def every_kind_of_entry(case, caseworker, coordinator, org_admin):
    user = target_of("accounts.user", caseworker.pk)
    document = target_of("cases.document", uuid.uuid4())
    on_case = {"actor": caseworker, "case_id": case.pk}
    return [
        record(Action.FIELD_REVEALED, target=case, field="case.narrative", **on_case),
        record(
            Action.STATUS_CHANGED,
            target=case,
            from_status="letter_review",
            to_status="submitted",
            **on_case,
        ),
        record(Action.CASE_UPDATED, target=case, fields=["health_notes", "priority"], **on_case),
        record(Action.CASE_VIEWED, target=document, page="document", **on_case),
        record(
            Action.DOCUMENT_UPLOADED,
            target=document,
            doc_type="passport_intl",
            size=2048,
            **on_case,
        ),
        record(
            Action.DOCUMENT_VERIFIED,
            target=document,
            status="verified",
            method="original_seen",
            **on_case,
        ),
        record(Action.CONSENT_RECORDED, purpose="disclosure", includes_sogi=True, **on_case),
        record(Action.LETTER_REQUESTED, kind="support", language="de", **on_case),
        record(Action.ROLE_CHANGED, actor=org_admin, target=user, role="org_admin"),
        record(Action.INVITATION_CREATED, actor=org_admin, role="auditor"),
        record(
            Action.CASE_LISTED,
            actor=coordinator,
            count=3,
            filters={
                "status": "screening",
                "priority": "urgent",
                "destination": "",
                "flag": "on_hold",
            },
        ),
        record(Action.CASE_SEARCHED, actor=coordinator, kind="passport", count=0),
        record(Action.OTP_FAILED, actor=caseworker, decision="deny", kind="code"),
        record(
            Action.ACCESS_DENIED,
            actor=caseworker,
            decision="deny",
            target_type="cases.document",
            requested=str(uuid.uuid4()),
        ),
        record(
            Action.ALERT,
            actor=caseworker,
            decision="deny",
            kind="access_denied",
            requested=str(uuid.uuid4()),
        ),
    ]


MACHINE_WORDS = [
    "case.narrative",
    "letter_review",
    "health_notes",
    "passport_intl",
    "original_seen",
    "org_admin",
    "cases.document",
    "cases.case",
    "accounts.user",
    "field_revealed",
    "status_changed",
    "access_denied",
    "on_hold",
    "{&quot;",
    "{'",
]


def test_no_audit_page_shows_a_machine_word(client, auditor, caseworker, coordinator, org_admin):
    case = make_case(caseworker=caseworker)
    every_kind_of_entry(case, caseworker, coordinator, org_admin)
    login_verified(client, auditor)
    pages = {
        "log": client.get(LOG).content.decode(),
        "case": client.get(reverse("audit_case", args=[case.pk])).content.decode(),
    }
    for name, html in pages.items():
        body = html.split("<main", 1)[1]
        body = without_attributes(body)
        found = [word for word in MACHINE_WORDS if word in body]
        assert not found, (name, found)
    for label in ("Narrative and incident timeline", "Letter review", "Submitted", "Health notes"):
        assert label in pages["log"]


# --- every detail the code base writes has words ------------------------------------------------

# Arguments of the audit write paths that are not details.
NOT_DETAILS = {
    "actor",
    "organisation_id",
    "target",
    "case_id",
    "request",
    "decision",
    "returning",
}
WRITERS = {"record", "raise_alert", "record_view", "record_case_view"}


def detail_keys_written():
    """Keyword arguments given to record(), raise_alert(), record_view() and
    record_case_view() anywhere in
    casework/, plus the keys of dictionaries spread into them."""
    keys: dict[str, str] = {}
    for path in (ROOT / "casework").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in WRITERS:
                continue
            for keyword in node.keywords:
                if keyword.arg is not None and keyword.arg not in NOT_DETAILS:
                    keys.setdefault(keyword.arg, str(path.relative_to(ROOT)))
    return keys


def test_every_detail_the_code_base_writes_has_words():
    from casework.audit.labels import DETAIL_LABELS

    written = detail_keys_written()
    assert {"field", "from_status", "to_status", "role", "kind"} <= set(written)
    missing = {key: where for key, where in written.items() if key not in DETAIL_LABELS}
    assert not missing, f"give these audit details words in casework/audit/labels.py: {missing}"


def test_the_audit_app_reads_cases_only_through_its_lookups():
    """Meta-test: auditors never open a case; the one module that reads the case table for
    them reads codes, scoped to their organisation (tested above)."""
    for path in (ROOT / "casework" / "audit").rglob("*.py"):
        if path.name == "lookups.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "casework.cases.models":
                assert "Case" not in {alias.name for alias in node.names}, path


def test_the_case_lists_tick_boxes_read_as_words(client, auditor, coordinator):
    login_verified(client, coordinator).get(
        reverse("case_list"), {"unassigned": "1", "overdue": "1", "letter_draft": "1"}
    )
    listed = AuditEvent.objects.filter(action=Action.CASE_LISTED).latest("seq")
    login_verified(client, auditor)
    row = without_attributes(row_of(client.get(LOG), listed))
    assert "Open and unassigned: yes" in row
    assert "Open with an overdue deadline: yes" in row
    assert "Letter awaiting review: yes" in row
    assert "unassigned: 1" not in row and "letter draft" not in row
