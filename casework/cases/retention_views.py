"""Keeping a closed case's details past the retention schedule (R61): a coordinator of the
case picks a date (at most a year ahead, renewable) and a reason from a fixed list, and may
explain; the reason is audited, the explanation is encrypted like the rest of the story."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.roles import Role
from casework.cases import retention
from casework.cases.models import Case, HoldReason
from casework.cases.views import case_route

coordinators = role_required(Role.COORDINATOR)
org_admins = role_required(Role.ORG_ADMIN)


class HoldForm(forms.Form):
    until = forms.DateField(
        label=gettext_lazy("Keep the details until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("At most a year from today; you can extend again later."),
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("Why"),
        choices=[("", gettext_lazy("Choose a reason")), *HoldReason.choices],
        error_messages={"required": gettext_lazy("Choose why the details are kept.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Explanation (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept encrypted with the case and deleted with it; the audit log records only "
            "the reason chosen above."
        ),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case

    def clean_until(self) -> datetime.date:
        until: datetime.date = self.cleaned_data["until"]
        today = timezone.localdate()
        if until <= today:
            raise forms.ValidationError(_("Choose a date after today."), code="past")
        if until > today + datetime.timedelta(days=retention.LONGEST_HOLD_DAYS):
            raise forms.ValidationError(
                _("Choose a date at most a year from today; you can extend again then."),
                code="too_far",
            )
        return until

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.case.closed_at is None:
            raise forms.ValidationError(
                _(
                    "Only a closed case can be kept past the schedule: an open case keeps "
                    "its details anyway."
                ),
                code="open",
            )
        return cleaned


# The explanation is typed text about a person: it stays out of error reports.
@sensitive_post_parameters()
@coordinators
@case_route("GET", "POST")
def case_retention(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    initial = {
        "until": case.retention_hold_until,
        "reason": case.retention_hold_reason,
        "note": case.retention_hold_note or "",
    }
    form = HoldForm(request.POST if request.method == "POST" else None, case=case, initial=initial)
    if request.method == "POST" and form.is_valid():
        retention.hold(
            actor=user,
            case=case,
            until=form.cleaned_data["until"],
            reason=HoldReason(form.cleaned_data["reason"]),
            note=form.cleaned_data["note"],
            request=request,
        )
        messages.success(
            request,
            _("The details of case %(code)s are kept until %(date)s.")
            % {"code": case.code, "date": form.cleaned_data["until"].isoformat()},
        )
        return redirect("case_detail", case_id=case.pk)
    organisation = case.organisation
    due_on = retention.details_due_for(case)
    context = {
        "case": case,
        "form": form,
        "due_on": due_on,
        "details_months": organisation.retention_details_months,
        "hold_reason": HoldReason(case.retention_hold_reason).label
        if case.retention_hold_reason in HoldReason.values
        else "",
    }
    return render(request, "cases/retention.html", context, status=400 if form.is_bound else 200)


class RetentionForm(forms.Form):
    """The retention schedule (R61, DOMAIN.md 4.4): both values belong in the DPIA."""

    details_months = forms.IntegerField(
        label=gettext_lazy(
            "Delete a person's details this many months after their last case closed"
        ),
        min_value=1,
        max_value=120,
        help_text=gettext_lazy(
            "Names, contacts, the story, notes, documents and letter texts. Suggested: 12 "
            "months, while asylum and residence steps may still need them."
        ),
    )
    skeleton_years = forms.IntegerField(
        label=gettext_lazy("Delete what remains of the case this many years after it closed"),
        min_value=1,
        max_value=30,
        help_text=gettext_lazy(
            "The case code, dates, route, outcome and status history, with nothing about "
            "the person, for statistics and reports. Suggested: 5 years."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        months, years = cleaned.get("details_months"), cleaned.get("skeleton_years")
        if months is not None and years is not None and years * 12 <= months:
            self.add_error(
                "skeleton_years",
                forms.ValidationError(
                    _(
                        "The skeleton must be kept longer than the details: choose more than "
                        "%(months)s months."
                    ),
                    code="too_short",
                    params={"months": months},
                ),
            )
        return cleaned


@require_http_methods(["GET", "POST"])
@org_admins
@step_up_required
def schedule_view(request: HttpRequest) -> HttpResponse:
    """The organisation's retention schedule (R61). Shortening it can delete details at the
    next daily run, so the page asks for a fresh second factor, like the letterhead."""
    admin: Any = request.user
    organisation = admin.organisation
    if request.method == "POST":
        form = RetentionForm(request.POST)
        if form.is_valid():
            retention.set_schedule(
                admin=admin,
                details_months=form.cleaned_data["details_months"],
                skeleton_years=form.cleaned_data["skeleton_years"],
                request=request,
            )
            messages.success(request, _("The retention schedule was saved."))
            return redirect("admin_retention")
        status = 400
    else:
        form = RetentionForm(
            initial={
                "details_months": organisation.retention_details_months,
                "skeleton_years": organisation.retention_skeleton_years,
            }
        )
        status = 200
    context = {
        "form": form,
        "upcoming": retention.upcoming(organisation, timezone.now()),
    }
    return render(request, "accounts/admin/retention.html", context, status=status)
