"""Reference data: routes and missions (issue 6, DOMAIN.md 1 and 6).

Routes and missions are shared by every organisation of the installation: a route's deciding
authority is the addressee of every organisation's letters for it. So they are edited by
reference data editors, a role for the whole installation, not by any one organisation's
coordinators (who read the list); and a change is audited, with the field names changed, in
the editor's organisation and in every organisation with open route attempts or draft
letters on that route or mission (issue 12, finding 7).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.forms import MissionForm, RouteForm
from casework.cases.models import Case, Mission, Route, VisaApplication
from casework.cases.workflow import Status

readers = role_required(Role.REFERENCE_EDITOR, Role.COORDINATOR)
editors_only = role_required(Role.REFERENCE_EDITOR)


@require_http_methods(["GET"])
@readers
def reference_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    context = {
        "routes": Route.objects.all(),
        "missions": Mission.objects.all(),
        "may_edit": user.has_role(Role.REFERENCE_EDITOR),
    }
    return render(request, "cases/reference/list.html", context)


@require_http_methods(["GET", "POST"])
@editors_only
def route_edit(request: HttpRequest, route_id: Any = None) -> HttpResponse:
    route = _get(Route, route_id)
    return _edit(request, RouteForm, route, _("New route"), _("The route was saved."))


@require_http_methods(["GET", "POST"])
@editors_only
def mission_edit(request: HttpRequest, mission_id: Any = None) -> HttpResponse:
    mission = _get(Mission, mission_id)
    return _edit(request, MissionForm, mission, _("New mission"), _("The mission was saved."))


def _get(model: Any, pk: Any) -> Any:
    if pk is None:
        return model()
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _edit(
    request: HttpRequest, form_class: type[ModelForm[Any]], obj: Any, new: str, saved: str
) -> HttpResponse:
    adding = obj._state.adding
    form = form_class(request.POST if request.method == "POST" else None, instance=obj)
    if request.method == "POST" and form.is_valid():
        reference_save(actor=request.user, form=form, adding=adding, request=request)
        messages.success(request, saved)
        return redirect("reference_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": new if adding else str(obj)}
    return render(request, "cases/reference/edit.html", context, status=status)


@transaction.atomic
def reference_save(*, actor: Any, form: ModelForm[Any], adding: bool, request: Any) -> None:
    """Save a route or mission and audit which fields changed (values are not content, but
    the log keeps to names, as everywhere): one entry in the editor's organisation and one
    in every other organisation it affects, with how many of its open route attempts and
    draft letters use what changed."""
    obj = form.save()
    fields = sorted(form.changed_data)
    affected = {} if adding else affected_organisations(obj)
    for organisation_id in {actor.organisation_id, *affected}:
        own = organisation_id == actor.organisation_id
        uses: dict[str, Any] = dict(affected.get(organisation_id, {}))
        record(
            Action.REFERENCE_CHANGED,
            actor=actor,
            organisation_id=organisation_id,
            target=obj,
            request=request if own else None,  # the editor's network stays in their own log
            created=adding,
            fields=fields,
            **uses,
        )


def affected_organisations(obj: Route | Mission) -> dict[Any, dict[str, int]]:
    """The organisations with open route attempts (on cases not closed) or draft letters on
    this route or mission: {organisation id: {"open_attempts": n, "draft_letters": m}}."""
    if isinstance(obj, Route):
        attempts = VisaApplication.objects.filter(route=obj)
        drafts = Case.objects.filter(letters__status="draft", letters__attempt__route=obj)
    else:
        attempts = VisaApplication.objects.filter(mission=obj)
        drafts = Case.objects.filter(
            Q(letters__mission=obj) | Q(letters__attempt__mission=obj), letters__status="draft"
        )
    affected: dict[Any, dict[str, int]] = {}
    open_attempts = attempts.exclude(case__status=Status.CLOSED)
    for name, counted in (
        ("open_attempts", _per_organisation(open_attempts, "id")),
        ("draft_letters", _per_organisation(drafts, "letters")),
    ):
        for organisation_id, count in counted.items():
            affected.setdefault(organisation_id, {})[name] = count
    return affected


def _per_organisation(rows: QuerySet[Any], counted: str) -> dict[Any, int]:
    totals = rows.order_by().values("organisation_id").annotate(n=Count(counted, distinct=True))
    return {row["organisation_id"]: row["n"] for row in totals}
