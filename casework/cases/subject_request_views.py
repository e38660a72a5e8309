"""Recording a request of the person (GDPR Art. 15 or 17; R62) from the case page: a
coordinator of the case says what was asked and when it arrived; the answer is due one
month later and the dashboard says so until the export or the erasure answers it."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.decorators import role_required
from casework.accounts.roles import Role
from casework.cases import subject_requests
from casework.cases.models import Case, SubjectRequest
from casework.cases.views import case_route

coordinators = role_required(Role.COORDINATOR)


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("The person asks for"),
        choices=SubjectRequest.Kind.choices,
        widget=forms.RadioSelect,
    )
    received_on = forms.DateField(
        label=gettext_lazy("Received on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "The day the request reached the organisation, by whatever channel: the answer "
            "is due one month later."
        ),
    )

    def clean_received_on(self) -> datetime.date:
        received: datetime.date = self.cleaned_data["received_on"]
        today = timezone.localdate()
        if received > today:
            raise forms.ValidationError(_("Choose today or an earlier day."), code="future")
        if received < today - datetime.timedelta(days=366):
            raise forms.ValidationError(_("Choose a day within the last year."), code="too_old")
        return received


@coordinators
@case_route("GET", "POST")
def case_subject_request(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    form = SubjectRequestForm(
        request.POST if request.method == "POST" else None,
        initial={"received_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        recorded = subject_requests.request_record(
            actor=user,
            case=case,
            kind=SubjectRequest.Kind(form.cleaned_data["kind"]),
            received_on=form.cleaned_data["received_on"],
            request=request,
        )
        messages.success(
            request,
            _("The request was recorded; the answer is due by %(date)s.")
            % {"date": recorded.due_on.isoformat()},
        )
        # The requests are read on request on the case page: shown, with the new one.
        return redirect(reverse("case_detail", args=[case.pk]) + "?show=rights#rights")
    return render(
        request,
        "cases/subject_request.html",
        {"case": case, "form": form},
        status=400 if form.is_bound else 200,
    )
