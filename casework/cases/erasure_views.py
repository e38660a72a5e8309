"""Erasure on request (R62): a coordinator of the case's organisation, with a second factor
from the last few minutes, reads what will happen, types the case code and erases the
person. The same service runs as for ``manage.py erase_applicant``.

Afterwards every page of the person's cases answers the erased page (``views.erased_page``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters

from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.roles import Role
from casework.cases import services
from casework.cases.access import visible_cases
from casework.cases.models import Case
from casework.cases.views import case_route

coordinators = role_required(Role.COORDINATOR)


class EraseForm(forms.Form):
    """The case code, typed: erasing is never one click away from a slip."""

    code = forms.CharField(
        label=gettext_lazy("Case code"),
        max_length=32,
        help_text=gettext_lazy("Type the case code shown above to confirm."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case

    def clean_code(self) -> str:
        typed = str(self.cleaned_data["code"]).strip()
        if typed.upper() != self.case.code.upper():
            raise forms.ValidationError(
                _("This is not the code of this case. Nothing was erased."), code="mismatch"
            )
        return typed


# The role before the case is looked up: anyone but a coordinator gets the same 404 as for a
# missing page, audited (R28). The step-up after it: a stranger's guess is a 404, not a
# prompt for a second factor. The typed code is no secret, but typed text stays out of
# error reports like everywhere else.
@sensitive_post_parameters()
@coordinators
@case_route("GET", "POST")
@step_up_required
def case_erase(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    form = EraseForm(request.POST if request.method == "POST" else None, case=case)
    if request.method == "POST" and form.is_valid():
        services.applicant_erase(applicant_id=case.applicant_id, actor=user, request=request)
        messages.success(request, _("The person's data was erased."))
        return redirect("case_detail", case_id=case.pk)
    cases = visible_cases(user).filter(applicant_id=case.applicant_id).order_by("opened_at")
    context = {
        "case": case,
        "form": form,
        "other_cases": [c.code for c in cases.only("code") if c.pk != case.pk],
        "scope": services.erasure_scope(applicant_id=case.applicant_id),
    }
    return render(request, "cases/erase.html", context, status=400 if form.is_bound else 200)
