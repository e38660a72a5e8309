from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.cases.invisible import refuse_invisible
from casework.cases.labels import attempt_label
from casework.cases.models import LETTER_LANGUAGES, Document, Mission, VisaApplication
from casework.letters.models import Letter

FREE_TEXT_LIMIT = 20_000
SENSITIVE = {"autocomplete": "off", "spellcheck": "false", "rows": 6}


def _free_text(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        max_length=FREE_TEXT_LIMIT,
        strip=False,
        widget=forms.Textarea(attrs=SENSITIVE),
        # Invisible characters (direction controls, zero-width spaces...) can make a printed
        # sentence read differently from what was typed: refused rather than rendered.
        validators=[refuse_invisible],
    )


class LetterFieldsForm(forms.Form):
    """What a letter says besides its template; free text stays text (never markup)."""

    language = forms.ChoiceField(label=_("Language"), choices=LETTER_LANGUAGES)
    mission = forms.ModelChoiceField(
        label=_("Via mission (optional)"), queryset=Mission.objects.none(), required=False
    )
    delivery = forms.ChoiceField(label=_("Delivery"), choices=Letter.Delivery.choices)
    include_sogi = forms.BooleanField(
        label=_("State the applicant's sexual orientation or gender identity"),
        help_text=_(
            "Only if the decision needs it, and only with a disclosure consent that covers it."
        ),
        required=False,
    )
    facts = _free_text(
        _("Facts establishing the risk"),
        _("Dated and sourced, one per line; refer to annexes by number."),
    )
    why_route = _free_text(_("Why this state and this procedure"))
    urgency = _free_text(_("Why it is urgent"), _("Printed only for emergency and urgent cases."))
    annexes = forms.ModelMultipleChoiceField(
        label=_("Annexes"),
        queryset=Document.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["annexes"].queryset = case.documents.all()  # type: ignore[attr-defined]
        self.fields["annexes"].label_from_instance = _annex_label  # type: ignore[attr-defined]
        self.fields["mission"].queryset = Mission.objects.all()  # type: ignore[attr-defined]

    def check_mission(self, attempt: Any) -> None:
        mission = self.cleaned_data.get("mission")
        if mission is not None and mission.state != attempt.route.destination_state:
            self.add_error("mission", _("This mission does not belong to the route's state."))

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("language", "mission", "delivery", "include_sogi")
        values = {name: data[name] for name in names}
        values |= {name: data[name] or None for name in ("facts", "why_route", "urgency")}
        return values


def _annex_label(document: Document) -> str:
    label = document.get_doc_type_display()
    return f"{label}: {document.title}" if document.title else str(label)


class LetterRequestForm(LetterFieldsForm):
    attempt = forms.ModelChoiceField(
        label=_("Route attempt"), queryset=VisaApplication.objects.none()
    )

    field_order = ["attempt", "language"]

    def __init__(
        self, *args: Any, case: Any, attempts: list[Any] | None = None, **kwargs: Any
    ) -> None:
        """``attempts``: the case's route attempts when the caller has read them already."""
        kwargs.setdefault("auto_id", "letters_%s")
        super().__init__(*args, case=case, **kwargs)
        found = case.visa_applications.select_related("route", "mission")
        self.fields["attempt"].queryset = found  # type: ignore[attr-defined]
        # A letter is usually for the route being tried now, the latest attempt, and goes
        # via that attempt's mission.
        if attempts is None:
            latest = found.order_by("-created_at").first()
        else:
            latest = max(attempts, key=lambda a: a.created_at, default=None)
        self.fields["attempt"].initial = latest
        self.fields["mission"].initial = latest.mission if latest is not None else None
        self.fields["attempt"].label_from_instance = attempt_label  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("attempt") is not None:
            self.check_mission(cleaned["attempt"])
        return cleaned


class LetterEditForm(LetterFieldsForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the letter revoked?"),
        max_length=2000,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 3}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code (the 13 words printed on the letter)"),
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class PassportCheckForm(forms.Form):
    passport = forms.CharField(
        label=_("Passport number (optional check)"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
