"""Subject-access export from the interface (GDPR Art. 15; cases.export): a coordinator of
the case, with a second factor from the last few minutes, makes the archive; the next page
shows its passphrase once and a download link that works for them alone, for an hour."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import record
from casework.cases import export as exports
from casework.cases.access import deny
from casework.cases.models import Case, ExportFile
from casework.cases.views import case_child_route, case_route

coordinators = role_required(Role.COORDINATOR)


class ExportForm(forms.Form):
    protection = forms.ChoiceField(
        label=gettext_lazy("Protection"),
        widget=forms.RadioSelect,
        initial="encrypted",
        choices=[
            (
                "encrypted",
                gettext_lazy(
                    "Encrypted with a passphrase (recommended): send the file and the "
                    "passphrase by different channels"
                ),
            ),
            ("unencrypted", gettext_lazy("Not encrypted")),
        ],
    )
    understood = forms.BooleanField(
        label=gettext_lazy(
            "I understand that anyone who gets an unencrypted copy can read all of it "
            "(this choice is recorded in the audit log)"
        ),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("protection") == "unencrypted" and not cleaned.get("understood"):
            self.add_error(
                "understood",
                forms.ValidationError(
                    _("Tick this to make an unencrypted copy, or choose the encrypted one."),
                    code="unconfirmed",
                ),
            )
        return cleaned


@never_cache
@coordinators
@case_route("GET", "POST")
@step_up_required
def case_export(request: HttpRequest, case: Case) -> HttpResponse:
    user: Any = request.user
    form = ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        encrypt = form.cleaned_data["protection"] == "encrypted"
        made = exports.export_applicant(
            applicant_id=case.applicant_id, actor=user, encrypt=encrypt, request=request
        )
        stored = exports.keep_for_download(
            export=made, applicant=case.applicant, case=case, actor=user
        )
        context = {
            "case": case,
            "export": made,
            "stored": stored,
            "download_url": reverse("case_export_download", args=[case.pk, stored.pk]),
        }
        # Rendered, not redirected to: the passphrase exists in this response and nowhere else.
        return render(request, "cases/export_ready.html", context)
    return render(
        request,
        "cases/export.html",
        {"case": case, "form": form},
        status=400 if form.is_bound else 200,
    )


@never_cache
@coordinators
@case_child_route(lambda case: ExportFile.objects.filter(case=case), "GET")
def case_export_download(request: HttpRequest, case: Case, stored: ExportFile) -> HttpResponse:
    user: Any = request.user
    if stored.created_by_id != user.pk:
        deny(user, request, "cases.exportfile", stored.pk)
    if stored.expires_at <= timezone.now():
        exports.sweep()
        return render(request, "cases/export_expired.html", {"case": case}, status=410)
    content = exports.read_for_download(stored)
    record(Action.EXPORT_DOWNLOADED, actor=user, target=case, case_id=case.pk, request=request)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{stored.filename}"'
    return response
