"""The filters of the auditors' log."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.models import User
from casework.audit.lookups import case_with_code, normalise_code
from casework.audit.models import Action


class AuditFilterForm(forms.Form):
    """Filters of the log, in words: users by name, actions by their names, the case by
    the code printed on every page. Values are ids, action names and dates: nothing
    sensitive."""

    actor = forms.ChoiceField(label=gettext_lazy("User"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    case = forms.CharField(
        label=gettext_lazy("Case code"),
        help_text=gettext_lazy("As printed, e.g. SP-26-Z3TW."),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_from = forms.DateField(
        label=gettext_lazy("From (UTC date)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To (UTC date, included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, organisation_id: uuid.UUID, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        self.case_id: uuid.UUID | None = None
        users = User.objects.filter(organisation_id=organisation_id).order_by("username")
        actor: Any = self.fields["actor"]
        actor.choices = [
            ("", _("Anyone")),
            *((str(pk), name) for pk, name in users.values_list("pk", "username")),
        ]
        action: Any = self.fields["action"]
        action.choices = [("", _("Any action")), *Action.choices]

    def clean_case(self) -> str:
        """The code as printed; a code of another organisation is as unknown as a missing
        one, and what was typed is never written to the log."""
        code = normalise_code(self.cleaned_data.get("case") or "")
        if not code:
            return ""
        self.case_id = case_with_code(self.organisation_id, code)
        if self.case_id is None:
            raise forms.ValidationError(
                _("No case of your organisation has the code %(code)s."),
                code="unknown_case",
                params={"code": code},
            )
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def resubmitted(self) -> dict[str, str]:
        """The filters in use as this form takes them (the export form's hidden fields)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: value.isoformat() if isinstance(value, date) else str(value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }

    def applied(self) -> dict[str, str]:
        """The filters in use, for the query and the audit entry: the case by its id."""
        filters = self.resubmitted()
        if "case" in filters:
            filters["case"] = str(self.case_id)
        return filters
