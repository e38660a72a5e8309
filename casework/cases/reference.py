"""Reference data: routes and missions, edited by coordinators (issue 6, DOMAIN.md 1 and 6).

Routes and missions are shared by every organisation of the installation: they describe the
authorities, not anyone's case. Every change is audited with the field names changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
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
from casework.cases.models import Mission, Route

coordinators_only = role_required(Role.COORDINATOR)


@require_http_methods(["GET"])
@coordinators_only
def reference_list(request: HttpRequest) -> HttpResponse:
    context = {"routes": Route.objects.all(), "missions": Mission.objects.all()}
    return render(request, "cases/reference/list.html", context)


@require_http_methods(["GET", "POST"])
@coordinators_only
def route_edit(request: HttpRequest, route_id: Any = None) -> HttpResponse:
    route = _get(Route, route_id)
    return _edit(request, RouteForm, route, _("New route"), _("The route was saved."))


@require_http_methods(["GET", "POST"])
@coordinators_only
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
    the log keeps to names, as everywhere)."""
    obj = form.save()
    record(
        Action.REFERENCE_CHANGED,
        actor=actor,
        target=obj,
        request=request,
        created=adding,
        fields=sorted(form.changed_data),
    )
