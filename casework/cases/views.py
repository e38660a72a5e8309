"""Case pages. Every case is fetched through casework.cases.access (a meta-test checks)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required
from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.audit.alerts import record_case_view
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases import list_views, services
from casework.cases.access import can_manage, deny, get_case_for_user, visible_cases
from casework.cases.forms import (
    AssignForm,
    AttemptEditForm,
    CaseEditForm,
    ConsentForm,
    DeadlineForm,
    DocumentDetailsForm,
    DocumentVerifyForm,
    IntakeForm,
    NarrativeAppendForm,
    NoteForm,
    RouteAttemptForm,
    SearchForm,
    TransitionForm,
    UploadForm,
)
from casework.cases.models import (
    Applicant,
    Case,
    Consent,
    Deadline,
    Document,
    DocumentType,
    Note,
    Priority,
    VisaApplication,
)
from casework.cases.uploads import EXTENSIONS, refused_by_store
from casework.cases.workflow import CaseFacts, Status, TransitionRefused, allowed_targets
from casework.letters.forms import LetterRequestForm
from casework.letters.models import Letter
from casework.lib.aggregates import SEPARATOR
from casework.lib.datakeys import preload_rows
from casework.lib.fields import search
from casework.lib.files import STORE_ERRORS
from casework.lib.sql import rows_of, rows_with

case_roles = role_required(Role.CASEWORKER, Role.COORDINATOR)


def case_route(
    *methods: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Resolve the case first (404 for anything out of reach, whatever the method: R23), give
    an erased person's case the erased page, then refuse other methods; the view receives the
    case, never an id to fetch by itself."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
            case = get_case_for_user(request.user, case_id, request)
            if case.applicant.is_erased:
                return erased_page(request, case)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, case)

        return wrapper

    return decorator


def case_child_route(
    children: Callable[[Case], Any], *methods: str
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like case_route, for an object that belongs to a case (a document, a consent...):
    the case first (and the erased page if its person was erased), then the object among
    that case's own (404 otherwise), then the method. The view receives both, never an id
    to fetch by itself."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, case_id: uuid.UUID, **kwargs: uuid.UUID) -> HttpResponse:
            (child_id,) = kwargs.values()
            case = get_case_for_user(request.user, case_id, request)
            if case.applicant.is_erased:
                return erased_page(request, case)
            found = children(case)
            child = found.filter(pk=child_id).first()
            if child is None:
                deny(request.user, request, found.model._meta.label_lower, child_id)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, case, child)

        return wrapper

    return decorator


def erased_page(request: HttpRequest, case: Case) -> HttpResponse:
    """What the case and every page under it answer once the person was erased (R62): the
    code and the date, calmly, and 410 Gone, for every method. It comes before anything of
    the case is read, so nothing is decrypted (or fails to be, which would be a decryption
    alert) and no stored file is looked for."""
    context = {"case": case, "erased_at": case.applicant.erased_at}
    return render(request, "cases/erased.html", context, status=410)


# The case page's sections, in page order: its menu links to each; after an action the person
# comes back to the section they acted in (Post/Redirect/Get with the section as the anchor),
# with the confirmation beside it.
SECTIONS = {
    "applicant": gettext_lazy("Applicant"),
    "sensitive": gettext_lazy("Sensitive details"),
    "status": gettext_lazy("Status"),
    "assignment": gettext_lazy("Assignment"),
    "deadlines": gettext_lazy("Deadlines"),
    "routes": gettext_lazy("Route attempts"),
    "consent": gettext_lazy("Consent"),
    "letters": gettext_lazy("Letters"),
    "documents": gettext_lazy("Documents"),
    "notes": gettext_lazy("Notes"),
    "history": gettext_lazy("History"),
}


def back_to(request: HttpRequest, case: Case, section: str, done: Any = None) -> HttpResponse:
    """Redirect to ``section`` of the case page, saying ``done`` there."""
    if done is not None:
        messages.success(request, done, extra_tags=section)
    return HttpResponseRedirect(f"{reverse('case_detail', args=[case.pk])}#{section}")


@case_roles
@case_route("GET")
@sensitive_variables()
def case_detail(request: HttpRequest, case: Case) -> HttpResponse:
    preload_rows([case.applicant_key])  # type: ignore[attr-defined]  # access.CASE_WITH
    record_view(request, case)
    opened = request.GET.get("add")
    shown = request.GET.get("show")
    return render_detail(
        request,
        case,
        revealed=_take_revealed(request, case),
        opened=opened if opened in ADD_FORMS or opened == ASSIGN else None,
        shown=shown if shown in SHOWN_ON_REQUEST else None,
    )


def render_detail(
    request: HttpRequest, case: Case, status: int = 200, **extra: Any
) -> HttpResponse:
    """The case page; ``extra`` carries a form that came back with errors, the add-form
    opened, or the field just revealed. A form's error summary (or an opened form's first
    field) takes the focus (autofocus), which brings its section into view; form actions
    carry no #section, because a fragment would cancel autofocus."""
    context = detail_context(request.user, case, **extra) | _section_messages(request)
    return render(request, "cases/detail.html", context, status=status)


def _assignees(case: Case) -> list[str]:
    """The usernames of who is assigned, in order; read with the case (access.CASE_WITH)."""
    joined = case.assignee_names  # type: ignore[attr-defined]
    return sorted(joined.split(SEPARATOR)) if joined else []


def _section_messages(request: HttpRequest) -> dict[str, Any]:
    by_section: dict[str, list[Any]] = {}
    top = []
    for message in messages.get_messages(request):
        if message.extra_tags in SECTIONS:
            by_section.setdefault(message.extra_tags, []).append(message)
        else:
            top.append(message)
    return {"section_messages": by_section, "top_messages": top}


def record_view(request: HttpRequest, case: Case, target: Any = None, **details: Any) -> None:
    """Every page that shows a case's decrypted content is one ``case_viewed`` entry."""
    target = case if target is None else target
    record_case_view(request.user, target=target, case_id=case.pk, request=request, **details)


# Read only when asked for (?show=<name>, the link in their section): lists looked at now and
# then, each a query of its own on every visit otherwise (issue 15).
SHOWN_ON_REQUEST = frozenset({"history", "rights"})
ASSIGN = "assign"  # ?add=assign opens the assignment form, which reads who may be assigned


def detail_context(user: Any, case: Case, **extra: Any) -> dict[str, Any]:
    targets = allowed_targets(Status(case.status))
    manage = can_manage(user)
    opened = extra.pop("opened", None)
    shown = extra.pop("shown", None)
    assign = extra.pop("assign", None)
    if assign is None and manage and opened == ASSIGN:
        assign = _assign_form(case)
    transition = extra.pop("transition", None) or TransitionForm(initial={"version": case.version})
    target_field: Any = transition.fields["target"]
    target_field.choices = [(t.value, t.label) for t in targets]
    revealed = extra.pop("revealed", None)
    sensitive = [
        (name, label, _sensitive_value(case, owner, name) if name == revealed else None)
        for name, (owner, label) in REVEALABLE.items()
    ]
    deadlines = rows_of(Deadline, "case", case.pk)
    today = timezone.localdate()
    open_deadlines = [d for d in deadlines if not d.done]
    # Read once for the page: the lists and the letter form's choices share them.
    attempts = rows_with(VisaApplication, ("route", "mission"), case=case.pk)
    documents = rows_of(Document, "case", case.pk)
    add_forms = _add_forms(case, extra, opened, attempts, documents)
    return {
        "case": case,
        "applicant": case.applicant,
        "assignees": _assignees(case),
        "flags": [label for name, label in list_views.FLAGS.items() if getattr(case, name)],
        "next_deadline": open_deadlines[0] if open_deadlines else None,
        "overdue_count": sum(1 for d in open_deadlines if d.due_on < today),
        "today": today,
        "sections": [(k, v) for k, v in SECTIONS.items() if manage or k != "assignment"],
        "sensitive": sensitive,
        "notes": rows_with(Note, ("author",), case=case.pk),
        "note_form": extra.pop("note", None) or NoteForm(),
        "add_forms": add_forms,
        "letters": _letters(case, attempts),
        "deadlines": deadlines,
        "attempts": attempts,
        "missing_documents": _missing_documents(attempts, documents),
        **_consent_status(case),
        "documents": documents,
        "history": case.history.select_related("by") if shown == "history" else None,
        "subject_requests": case.subject_requests.all() if manage and shown == "rights" else None,
        "transition": transition,
        "assign": assign if manage else None,
        "may_manage": manage,
        "status_label": Status(case.status).label,
        **extra,
    }


# --- the forms folded under the sections ------------------------------------------------------
#
# "Add a deadline", "Upload a document"... Each is built and rendered only when it is opened:
# by its link (the page again with ?add=<name>, the form open, its first field focused), or
# by a sending that came back with errors. Building all six on every visit read the routes
# and the missions and rendered two dozen widgets: a third of the page's time (issue 15).


@dataclass(frozen=True)
class AddForm:
    name: str  # ?add=<name>, and the element's id add-<name>
    summary: Any
    button: Any
    action: str  # the URL name of the view the form is sent to
    form_class: type[forms.Form]
    multipart: bool = False
    private: bool = False  # what is typed is case content: no autocomplete


ADD_FORMS = {
    spec.name: spec
    for spec in (
        AddForm(
            "narrative",
            gettext_lazy("Add to the narrative and incident timeline"),
            gettext_lazy("Add the entry"),
            "case_narrative_append",
            NarrativeAppendForm,
            private=True,
        ),
        AddForm(
            "deadline",
            gettext_lazy("Add a deadline"),
            gettext_lazy("Add deadline"),
            "deadline_add",
            DeadlineForm,
        ),
        AddForm(
            "route",
            gettext_lazy("Add a route attempt"),
            gettext_lazy("Add route attempt"),
            "route_attempt_add",
            RouteAttemptForm,
        ),
        AddForm(
            "consent",
            gettext_lazy("Record a consent"),
            gettext_lazy("Record consent"),
            "consent_add",
            ConsentForm,
        ),
        AddForm(
            "letter",
            gettext_lazy("Request a letter"),
            gettext_lazy("Request the letter"),
            "letter_request",
            LetterRequestForm,
            private=True,
        ),
        AddForm(
            "upload",
            gettext_lazy("Upload a document"),
            gettext_lazy("Upload and encrypt"),
            "document_upload",
            UploadForm,
            multipart=True,
        ),
    )
}


def _add_forms(
    case: Case, extra: dict[str, Any], opened: str | None, attempts: list[Any], documents: list[Any]
) -> dict[str, dict[str, Any]]:
    """Each add-form's description and its form: the one that came back with errors (in
    ``extra`` as ``<name>_form``), the one ``opened`` (empty, its first field focused), or
    None (the page shows the link that opens it)."""
    found = {}
    for name, spec in ADD_FORMS.items():
        form = extra.pop(f"{name}_form", None)
        if form is None and name == opened:
            form = _new_add_form(name, case, attempts, documents)
            first = next(iter(form.visible_fields()), None)
            if first is not None:
                first.field.widget.attrs["autofocus"] = True
        found[name] = {"spec": spec, "form": form}
    return found


def _new_add_form(name: str, case: Case, attempts: list[Any], documents: list[Any]) -> Any:
    if name != "letter":
        return ADD_FORMS[name].form_class()
    form = LetterRequestForm(case=case, attempts=attempts)
    _choices_from(form.fields["attempt"], attempts)  # read for the page already
    _choices_from(form.fields["annexes"], documents)
    return form


def _choices_from(field: Any, objects: list[Any]) -> None:
    """A model choice field's options from objects already read; what the form accepts when
    sent is still checked against its own queryset."""
    iterator = field.iterator(field)
    choices = [iterator.choice(obj) for obj in objects]
    if getattr(field, "empty_label", None) is not None:
        choices.insert(0, ("", field.empty_label))
    field.choices = choices


def _consent_status(case: Case) -> dict[str, Any]:
    """Every consent, the current state per purpose (and per authority for disclosure), and
    the routes whose disclosure consent was withdrawn with none given since: their draft
    letters are marked on the page and cannot be issued."""
    consents = rows_with(Consent, ("route",), applicant=case.applicant_id)  # by given_at
    latest: dict[tuple[str, Any, str], Any] = {}
    for consent in consents:  # oldest first: the last one of each purpose and party wins
        key = (consent.purpose, consent.route_id, consent.counterparty)
        if key not in latest or consent.active or not latest[key].active:
            latest[key] = consent
    withdrawn = {
        route_id
        for (purpose, route_id, _party), consent in latest.items()
        if purpose == "disclosure" and not consent.active
    } - {c.route_id for c in consents if c.purpose == "disclosure" and c.active}
    return {
        "consents": consents,
        "consent_status": sorted(latest.values(), key=lambda c: (c.purpose, str(c.route or ""))),
        "consent_withdrawn_routes": withdrawn,
    }


def _caseworkers(case: Case) -> Any:
    """Who may be assigned to the case: the organisation's active caseworkers."""
    return User.objects.filter(
        organisation_id=case.organisation_id, groups__name=Role.CASEWORKER.value, is_active=True
    ).order_by("username")


def _assign_form(case: Case) -> AssignForm:
    """The assignment form, opened: every caseworker who may be assigned, the case's own
    ticked."""
    assignable = _caseworkers(case).only("id", "username")
    assigned = case.caseworkers.values_list("pk", flat=True)
    return AssignForm(
        choices=[(str(u.pk), u.username) for u in assignable],
        initial={"caseworkers": [str(pk) for pk in assigned]},
    )


def _letters(case: Case, attempts: list[Any]) -> list[Any]:
    """The case's letters, each with its route attempt from the page's own list of them
    (a join to the attempts and their routes cost more to build than the rest of the
    query, issue 15)."""
    letters = rows_of(Letter, "case", case.pk)
    by_id = {attempt.pk: attempt for attempt in attempts}
    for letter in letters:
        if letter.attempt_id in by_id:
            letter.attempt = by_id[letter.attempt_id]
    return letters


def _missing_documents(attempts: list[Any], documents: list[Any]) -> list[str] | None:
    """The current (latest) route attempt's checklist less the document types uploaded."""
    if not attempts:
        return None
    attempt = max(attempts, key=lambda a: a.created_at)
    have = {document.doc_type for document in documents}
    labels = dict(DocumentType.choices)
    return [str(labels.get(t, t)) for t in attempt.route.checklist if t not in have]


def _sensitive_value(case: Case, owner: str, name: str) -> Any:
    source = case if owner == "case" else case.applicant
    return getattr(source, name) or "—"


@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
@case_roles
def case_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = IntakeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        duplicate = _possible_duplicate(user, form.cleaned_data)
        case = services.case_create(
            actor=request.user,
            applicant_fields=form.applicant_fields(),
            priority=form.cleaned_data["priority"],
            destination_state=form.cleaned_data["destination_state"],
            narrative=form.cleaned_data["narrative"] or None,
            safety_plan=form.cleaned_data["safety_plan"] or None,
            possible_duplicate=duplicate,
            request=request,
        )
        opened = _("Case %(code)s was opened.") % {"code": case.code}
        if duplicate is not None:
            opened += " " + _(
                "It may duplicate another case of the organisation: a coordinator will look at it."
            )
        messages.success(request, opened)
        return redirect("case_detail", case_id=case.pk)
    return render(request, "cases/intake.html", {"form": form})


def _possible_duplicate(user: Any, data: dict[str, Any]) -> str | None:
    """Which kind of identifier ("passport", "email", "name") matches someone already in
    the organisation: the same passport number or e-mail, or the same name and year of
    birth; None if nothing does.

    Nobody at intake learns which case it is: the new case opens flagged, the match is
    audited by kind (never the value) and a coordinator looks (issue 12, finding 10)."""
    people = Applicant.objects.filter(organisation_id=user.organisation_id, erased_at__isnull=True)
    passport = data.get("international_passport_no")
    if passport and search(people, Applicant.PASSPORT_FIELDS, user.organisation_id, passport):
        return "passport"
    email = data.get("email")
    if email and search(people, ["email"], user.organisation_id, email):
        return "email"
    born = data.get("date_of_birth")
    for name in (data.get("legal_name_latin"), data.get("legal_name_cyrillic")):
        if name:
            found = search(people, Applicant.NAME_FIELDS, user.organisation_id, name)
            if any(born is None or a.birth_year in (None, born.year) for a in found):
                return "name"
    return None


@case_roles
@case_route("POST")
def case_duplicate_reviewed(request: HttpRequest, case: Case) -> HttpResponse:
    """A coordinator has checked a possible duplicate flagged at intake."""
    user: Any = request.user
    if not can_manage(user):
        return render(request, "404.html", status=404)
    services.case_duplicate_reviewed(actor=user, case=case, request=request)
    return back_to(request, case, "status", _("The possible duplicate was marked as reviewed."))


@case_roles
@case_route("POST")
def case_assign(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    if not can_manage(user):
        return render(request, "404.html", status=404)
    choices = _caseworkers(case)
    form = AssignForm(request.POST, choices=[(str(u.pk), u.username) for u in choices])
    if not form.is_valid():
        return render_detail(request, case, status=400, assign=form)
    chosen = list(choices.filter(pk__in=form.cleaned_data["caseworkers"]))
    services.case_assign(actor=user, case=case, caseworkers=chosen, request=request)
    return back_to(request, case, "assignment", _("The assignment was saved."))


@sensitive_post_parameters()
@case_roles
@case_route("POST")
def case_transition(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    form = TransitionForm(request.POST)
    if form.is_valid():
        if form.cleaned_data["version"] != case.version:
            form.add_error(
                None, _("Someone else changed this case meanwhile. Check it, then retry.")
            )
        else:
            try:
                services.case_transition(
                    actor=user,
                    case=case,
                    target=form.cleaned_data["target"],
                    facts=_facts(user, case, form.cleaned_data),
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except TransitionRefused as refused:
                form.add_error(None, str(refused.message))
            else:
                return back_to(request, case, "status", _("The status was changed."))
    return render_detail(request, case, status=400, transition=form)


# Highly sensitive fields stay masked until asked for; each reveal is audited.
REVEALABLE = CaseEditForm.MASKED


@sensitive_variables()
@case_roles
@case_route("POST")
def case_reveal(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    field = request.POST.get("field", "")
    if field not in REVEALABLE:
        return HttpResponseBadRequest(_("Unknown field."))
    owner, _label = REVEALABLE[field]
    record(
        Action.FIELD_REVEALED,
        actor=user,
        target=case,
        case_id=case.pk,
        request=request,
        field=f"{owner}.{field}",
    )
    # Shown by the page this redirects to, once: a reload (or "Hide") shows it masked again,
    # and no address re-submits the reveal. The session holds the field's name, not its value.
    request.session[REVEALED_KEY] = {"case": str(case.pk), "field": field}
    return back_to(request, case, "sensitive")


REVEALED_KEY = "revealed_field"


def _take_revealed(request: HttpRequest, case: Case) -> str | None:
    revealed = request.session.pop(REVEALED_KEY, None)
    if not isinstance(revealed, dict) or revealed.get("case") != str(case.pk):
        return None
    field = revealed.get("field")
    return field if field in REVEALABLE else None


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_route("POST")
def case_narrative_append(request: HttpRequest, case: Case) -> HttpResponse:
    form = NarrativeAppendForm(request.POST)
    if not form.is_valid():
        return render_detail(request, case, status=400, narrative_form=form)
    services.narrative_append(
        actor=request.user,
        case=case,
        text=form.cleaned_data["text"],
        happened_on=form.cleaned_data["happened_on"],
        request=request,
    )
    return back_to(request, case, "sensitive", _("The entry was added to the narrative."))


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_route("GET", "POST")
def case_edit(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    if request.method == "POST":
        form = CaseEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            case_fields = {n: data[n] or _blank(n) for n in CaseEditForm.CASE_FIELDS}
            case_fields |= form.masked_changes("case")
            applicant_fields = {n: data[n] or None for n in CaseEditForm.APPLICANT_FIELDS}
            applicant_fields |= form.masked_changes("applicant")
            applicant_fields["current_country"] = data["current_country"] or ""
            applicant_fields["languages"] = list(data["languages"])
            born = applicant_fields["date_of_birth"]
            applicant_fields["birth_year"] = born.year if born else case.applicant.birth_year
            try:
                services.case_update(
                    actor=user,
                    case=case,
                    version=data["version"],
                    case_fields=case_fields,
                    applicant_fields=applicant_fields,
                    request=request,
                )
            except services.EditConflict:
                # The user's input stays in the form; nothing of theirs is lost or overwritten.
                form.add_error(
                    None,
                    _(
                        "Someone else saved this case while you were editing. Your changes are "
                        "below and were not saved: check the case, then save again."
                    ),
                )
                return render(request, "cases/edit.html", {"case": case, "form": form}, status=409)
            return back_to(request, case, "applicant", _("The case was saved."))
    else:
        initial = {n: getattr(case, n) for n in CaseEditForm.CASE_FIELDS}
        names = (*CaseEditForm.APPLICANT_FIELDS, *CaseEditForm.PLAIN_APPLICANT_FIELDS)
        initial |= {n: getattr(case.applicant, n) for n in names}
        form = CaseEditForm(initial={**initial, "version": case.version})
        record_view(request, case, page="edit")  # the form shows the decrypted applicant
    return render(request, "cases/edit.html", {"case": case, "form": form})


def _blank(name: str) -> Any:
    """What an empty field stores: False for flags, None for encrypted text, "" otherwise."""
    field = CaseEditForm.base_fields[name]
    if isinstance(field, forms.BooleanField):
        return False
    return None if name == "priority_override_reason" else ""


@sensitive_post_parameters()
@case_roles
@case_route("POST")
def case_note(request: HttpRequest, case: Case) -> HttpResponse:
    form = NoteForm(request.POST)
    if form.is_valid():
        services.note_add(
            actor=request.user, case=case, text=form.cleaned_data["text"], request=request
        )
        return back_to(request, case, "notes", _("The note was added."))
    return render_detail(request, case, status=400, note=form)


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_route("POST")
def document_upload(request: HttpRequest, case: Case) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.document_upload(
                actor=request.user,
                case=case,
                content=upload.read(),
                kind=upload.kind,
                doc_type=form.cleaned_data["doc_type"],
                title=form.cleaned_data["title"] or None,
                details=_document_details(form.cleaned_data),
                request=request,
            )
        except STORE_ERRORS as problem:  # the file store refused it; nothing was recorded
            form.add_error("file", refused_by_store(problem))
            return render_detail(request, case, status=503, upload_form=form)
        return back_to(request, case, "documents", _("The document was encrypted and stored."))
    return render_detail(request, case, status=400, upload_form=form)


def _document_details(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "language": data["language"],
        "translation_status": data["translation_status"] or Document.Translation.NOT_NEEDED,
        "expires_at": data["expires_at"],
    }


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_child_route(lambda case: case.documents, "GET", "POST")
def document_edit(request: HttpRequest, case: Case, document: Any) -> HttpResponse:
    """The document's details, and its verification by a second person."""
    status = 200
    if request.method == "POST":
        form = DocumentDetailsForm(request.POST)
        if form.is_valid():
            values = {"title": form.cleaned_data["title"] or None}
            values |= _document_details(form.cleaned_data)
            services.document_update(
                actor=request.user, case=case, document=document, values=values, request=request
            )
            return back_to(request, case, "documents", _("The document's details were saved."))
        status = 400
    else:
        names = list(DocumentDetailsForm.base_fields)
        form = DocumentDetailsForm(initial={n: getattr(document, n) for n in names})
        record_view(request, case, document, page="document")  # shows the decrypted title
    return _document_page(request, case, document, form, DocumentVerifyForm(), status)


def _document_page(
    request: HttpRequest, case: Case, document: Any, form: Any, verify: Any, status: int
) -> HttpResponse:
    context = {"case": case, "document": document, "form": form, "verify_form": verify}
    context["may_verify"] = document.uploaded_by_id != request.user.pk
    return render(request, "cases/document_edit.html", context, status=status)


@case_roles
@case_child_route(lambda case: case.documents, "POST")
def document_verify(request: HttpRequest, case: Case, document: Any) -> HttpResponse:
    form = DocumentVerifyForm(request.POST)
    if form.is_valid():
        try:
            services.document_verify(
                actor=request.user,
                case=case,
                document=document,
                status=form.cleaned_data["verification_status"],
                method=form.cleaned_data["verification_method"],
                request=request,
            )
        except services.VerificationRefused:
            form.add_error(
                None,
                _("You uploaded this document, so someone else must verify it (two-person rule)."),
            )
        else:
            return back_to(request, case, "documents", _("The verification was recorded."))
    details = DocumentDetailsForm(
        initial={n: getattr(document, n) for n in DocumentDetailsForm.base_fields}
    )
    return _document_page(request, case, document, details, form, 400)


@case_roles
@case_child_route(lambda case: case.documents, "GET")
def document_download(request: HttpRequest, case: Case, document: Any) -> HttpResponse:
    content = services.document_read(actor=request.user, document=document, request=request)
    return attachment(content, document.mime, f"document-{document.pk.hex[:8]}")


def attachment(content: bytes, mime: str, stem: str) -> HttpResponse:
    """A download, never shown inline, named from an id and never from what a user typed
    (file names and titles can name the person)."""
    response = HttpResponse(content, content_type=mime)
    filename = f"{stem}.{EXTENSIONS[mime]}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@case_roles
@case_route("POST")
def route_attempt_add(request: HttpRequest, case: Case) -> HttpResponse:
    form = RouteAttemptForm(request.POST)
    if form.is_valid():
        services.route_attempt_add(
            actor=request.user,
            case=case,
            route=form.cleaned_data["route"],
            mission=form.cleaned_data["mission"],
            request=request,
        )
        return back_to(request, case, "routes", _("The route attempt was added."))
    return render_detail(request, case, status=400, route_form=form)


@sensitive_post_parameters()  # the counterparty is typed: a named partner
@case_roles
@case_route("POST")
def consent_add(request: HttpRequest, case: Case) -> HttpResponse:
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_record(actor=request.user, case=case, request=request, **form.cleaned_data)
        return back_to(request, case, "consent", _("The consent was recorded."))
    return render_detail(request, case, status=400, consent_form=form)


@case_roles
@case_child_route(lambda case: case.applicant.consents, "POST")
def consent_withdraw(request: HttpRequest, case: Case, consent: Any) -> HttpResponse:
    blocked = services.consent_withdraw(
        actor=request.user, case=case, consent=consent, request=request
    )
    said = _("The consent was marked as withdrawn.")
    if blocked:
        said = ngettext(
            "The consent was marked as withdrawn. %(count)d draft letter to this authority "
            "cannot be issued now.",
            "The consent was marked as withdrawn. %(count)d draft letters to this authority "
            "cannot be issued now.",
            blocked,
        ) % {"count": blocked}
    return back_to(request, case, "consent", said)


@case_roles
@case_route("POST")
def deadline_add(request: HttpRequest, case: Case) -> HttpResponse:
    form = DeadlineForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "confirm_dates"}
        services.deadline_add(actor=request.user, case=case, request=request, **data)
        return back_to(request, case, "deadlines", _("The deadline was added."))
    return render_detail(request, case, status=400, deadline_form=form)


@case_roles
@case_child_route(lambda case: case.deadlines, "POST")
def deadline_done(request: HttpRequest, case: Case, deadline: Any) -> HttpResponse:
    services.deadline_done(actor=request.user, case=case, deadline=deadline, request=request)
    return back_to(request, case, "deadlines", _("The deadline was marked done."))


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_child_route(lambda case: case.visa_applications.select_related("route"), "GET", "POST")
def attempt_edit(request: HttpRequest, case: Case, attempt: Any) -> HttpResponse:
    names = [n for n in AttemptEditForm.base_fields if n != "confirm_dates"]
    if request.method == "POST":
        form = AttemptEditForm(request.POST)
        if form.is_valid():
            values = {
                n: form.cleaned_data[n] or (None if n not in ("decision",) else "") for n in names
            }
            services.attempt_update(
                actor=request.user, case=case, attempt=attempt, values=values, request=request
            )
            return back_to(request, case, "routes", _("The route attempt was saved."))
        status = 400
    else:
        form = AttemptEditForm(initial={n: getattr(attempt, n) for n in names})
        status = 200
        record_view(request, case, attempt, page="route_attempt")  # shows decrypted references
    context = {"case": case, "attempt": attempt, "form": form}
    return render(request, "cases/attempt_edit.html", context, status=status)


SEARCH_FIELDS = {
    "name": Applicant.NAME_FIELDS,
    "passport": Applicant.PASSPORT_FIELDS,
    "email": ["email"],
    "phone": ["phone"],
}


@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
@case_roles
def case_search(request: HttpRequest) -> HttpResponse:
    """Exact match through blind indexes, limited to the cases this user may see."""
    user: Any = request.user
    form = SearchForm(request.POST if request.method == "POST" else None)
    results = None
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        # Only the columns a candidate is confirmed by: a truncated index finds a few
        # dozen people at 100,000, whose other fifteen encrypted columns were read for
        # nothing (issue 15).
        people = Applicant.objects.filter(organisation_id=user.organisation_id)
        applicants = search(
            people.only("organisation_id", *SEARCH_FIELDS[kind]),
            SEARCH_FIELDS[kind],
            user.organisation_id,
            form.cleaned_data["query"],
        )
        found = visible_cases(user).filter(applicant_id__in=[a.pk for a in applicants])
        results = list_views.case_links(found.only("id", "code", "priority"))
        # The kind of search and how many cases it found; never what was searched for.
        record(Action.CASE_SEARCHED, actor=user, request=request, kind=kind, count=len(results))
    return render(request, "cases/search.html", {"form": form, "results": results})


def _facts(user: Any, case: Case, data: dict[str, Any]) -> CaseFacts:
    """What the guards know about the case and its current route attempt."""
    attempt = services.current_attempt(case)
    return CaseFacts(
        verification_completed=services.verification_completed(case),
        approved_letter=services.issued_letter_for(attempt),
        disclosure_consent_for_authority=services.disclosure_consent_for(case, attempt),
        visa_validity_recorded=bool(attempt and attempt.valid_from and attempt.valid_until),
        closure_reason=data.get("closure_reason") or None,
        reason=data.get("reason") or None,
        actor_is_coordinator=can_manage(user),
        emergency=case.priority == Priority.EMERGENCY,
    )
