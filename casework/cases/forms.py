from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from casework.cases.invisible import refuse_invisible
from casework.cases.models import (
    DOCUMENT_LANGUAGES,
    LETTER_LANGUAGES,
    Consent,
    Deadline,
    Document,
    DocumentType,
    Mission,
    Priority,
    Route,
    VisaApplication,
    names_languages,
)
from casework.cases.uploads import sniff
from casework.cases.workflow import ClosureReason, Status

SENSITIVE = {"autocomplete": "off", "spellcheck": "false"}  # R52: nothing kept by the browser
DATE_ERRORS = {"invalid": _("Give the date as year-month-day, e.g. 2027-03-31.")}
CHOICE_ERRORS = {"invalid_choice": _("Choose one of the options in the list.")}


def _date(label: Any, *, required: bool = False, sensitive: bool = False) -> forms.DateField:
    attrs = {**SENSITIVE, "type": "date"} if sensitive else {"type": "date"}
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs=attrs),
        error_messages=DATE_ERRORS,
    )


class SectionForm(forms.Form):
    """A form of the case page. Its element ids start with its section's name, so the page's
    forms never share an id (a label would point at another form's field)."""

    section = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.section}_%s")
        super().__init__(*args, **kwargs)


class DateWarnings(forms.Form):
    """Dates that are possible but unlikely (a passport expiry in the past) are not refused:
    the form comes back with each named, and saves once "the dates are right" is ticked."""

    confirm_dates = forms.BooleanField(
        label=_("These dates are right: save anyway"), required=False, widget=forms.HiddenInput
    )

    def date_warnings(self, cleaned: dict[str, Any]) -> list[tuple[str, Any]]:
        return []

    def check_dates(self, cleaned: dict[str, Any]) -> None:
        self.warnings = self.date_warnings(cleaned)
        if not self.warnings or cleaned.get("confirm_dates"):
            return
        # The tick box appears, last in the form, only when there is something to confirm.
        self.fields["confirm_dates"] = self.fields.pop("confirm_dates")
        self.fields["confirm_dates"].widget = forms.CheckboxInput()
        for name, message in self.warnings:
            self.add_error(name, message)

    @property
    def only_warnings(self) -> bool:
        problems = sum(len(errors) for errors in self.errors.values())
        return bool(getattr(self, "warnings", None)) and problems == len(self.warnings)


def _in_the_past(cleaned: dict[str, Any], name: str, message: Any) -> list[tuple[str, Any]]:
    value = cleaned.get(name)
    return [(name, message)] if value and value < timezone.localdate() else []


def _sensitive_text(label: Any, max_length: int = 200) -> forms.CharField:
    """Names, numbers and references: a letter may print them, so no invisible characters."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        widget=forms.TextInput(attrs=SENSITIVE),
        validators=[refuse_invisible],
    )


def _country() -> forms.RegexField:
    return forms.RegexField(
        label=_("Current country (ISO code, e.g. AM)"),
        regex=r"^[A-Z]{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": _("Give a two-letter ISO country code, e.g. AM.")},
    )


def _languages() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Languages spoken"),
        choices=DOCUMENT_LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _destination() -> forms.RegexField:
    return forms.RegexField(
        label=_("Destination state (ISO code, e.g. DE)"),
        regex=r"^[A-Z]{2}$",
        required=False,
        max_length=2,
        error_messages={
            "invalid": _("Give the destination as a two-letter ISO code in capitals, e.g. DE.")
        },
    )


class ApplicantFields(forms.Form):
    """Who the applicant is and how to reach them: the fields intake and editing share."""

    legal_name_latin = _sensitive_text(_("Legal name (Latin)"))
    legal_name_cyrillic = _sensitive_text(_("Legal name (Cyrillic)"))
    preferred_name = _sensitive_text(_("Preferred name"))
    pronouns = _sensitive_text(_("Pronouns"), 50)
    date_of_birth = _date(_("Date of birth"), sensitive=True)
    international_passport_no = _sensitive_text(_("International passport number"), 40)
    internal_passport_no = _sensitive_text(_("Internal passport number"), 40)
    email = _sensitive_text(_("E-mail"), 200)
    phone = _sensitive_text(_("Phone"), 50)
    current_country = _country()
    current_city = _sensitive_text(_("Current city"), 100)
    languages = _languages()

    IDENTITY_FIELDS = (
        "legal_name_latin",
        "legal_name_cyrillic",
        "preferred_name",
        "pronouns",
        "date_of_birth",
        "international_passport_no",
        "internal_passport_no",
        "email",
        "phone",
        "current_city",
    )

    def check_identity(self, cleaned: dict[str, Any]) -> None:
        if not cleaned.get("legal_name_latin") and not cleaned.get("legal_name_cyrillic"):
            self.add_error(
                "legal_name_latin", _("Give the legal name in Latin or Cyrillic letters.")
            )
        born = cleaned.get("date_of_birth")
        if born and born > timezone.localdate():
            self.add_error("date_of_birth", _("A date of birth cannot be in the future."))


def _encrypted_text(label: Any, rows: int = 3, *, printed: bool = False) -> forms.CharField:
    """``printed``: a letter may print it, so no invisible characters."""
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": rows}),
        validators=[refuse_invisible] if printed else [],
    )


class IntakeForm(DateWarnings, ApplicantFields):
    """What a caseworker has at first contact. Explicit fields only (no ModelForm): nothing
    else can be mass-assigned (R26)."""

    passport_expiry = _date(_("Passport expiry"))
    safe_contact_instructions = _encrypted_text(
        _("Safe-contact instructions (kept encrypted)"), rows=2
    )
    # A neutral start: the coordinator sets Emergency or Urgent from what the person says.
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    destination_state = _destination()
    narrative = _encrypted_text(_("What happened (narrative)"), rows=6)
    risk_notes = _encrypted_text(_("Risk-relevant facts (kept encrypted)"))
    # Masked on the case page like everywhere else: shown only on request, audited.
    gender_identity = _encrypted_text(_("Gender identity"), rows=1, printed=True)
    sexual_orientation = _encrypted_text(_("Sexual orientation"), rows=1, printed=True)
    health_notes = _encrypted_text(_("Health notes"), rows=2)
    safety_plan = _encrypted_text(_("Safety plan"), rows=2)

    PERSON = ("legal_name_latin", "legal_name_cyrillic", "preferred_name", "pronouns")
    PAPERS = (
        "date_of_birth",
        "international_passport_no",
        "passport_expiry",
        "internal_passport_no",
    )
    CONTACT = (
        "email",
        "phone",
        "safe_contact_instructions",
        "current_country",
        "current_city",
        "languages",
    )
    CASE = ("priority", "destination_state", "narrative", "risk_notes")
    MASKED_APPLICANT = ("gender_identity", "sexual_orientation", "health_notes")
    MASKED = (*MASKED_APPLICANT, "safety_plan")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_identity(cleaned)
        self.check_dates(cleaned)
        return cleaned

    def date_warnings(self, cleaned: dict[str, Any]) -> list[tuple[str, Any]]:
        return _in_the_past(
            cleaned, "passport_expiry", _("This passport has expired already. Is the date right?")
        )

    def groups(self) -> list[tuple[Any, list[Any]]]:
        """The fields in the order a first conversation goes, for the intake page."""
        named = [
            (_("The person"), self.PERSON),
            (_("Papers"), self.PAPERS),
            (_("Contact and whereabouts"), self.CONTACT),
            (_("The case"), self.CASE),
        ]
        return [(title, [self[name] for name in names]) for title, names in named]

    def masked_fields(self) -> list[Any]:
        return [self[name] for name in self.MASKED]

    def applicant_fields(self) -> dict[str, Any]:
        names = (
            *self.IDENTITY_FIELDS,
            *self.MASKED_APPLICANT,
            "safe_contact_instructions",
            "risk_notes",
        )
        values = {name: self.cleaned_data.get(name) or None for name in names}
        if values["date_of_birth"]:
            values["birth_year"] = values["date_of_birth"].year
        values["passport_expiry"] = self.cleaned_data.get("passport_expiry")
        values["current_country"] = self.cleaned_data.get("current_country") or ""
        values["languages"] = list(self.cleaned_data.get("languages") or [])
        return values


class TransitionForm(SectionForm):
    section = "status"

    target = forms.ChoiceField(
        label=_("Move to"), choices=Status.choices, error_messages=CHOICE_ERRORS
    )
    closure_reason = forms.ChoiceField(
        label=_("Closure reason"), choices=[("", "—"), *ClosureReason.choices], required=False
    )
    reason = forms.CharField(
        label=_("Reason (kept encrypted)"),
        required=False,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 2}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class AssignForm(SectionForm):
    section = "assignment"

    caseworkers = forms.MultipleChoiceField(
        label=_("Caseworkers"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["caseworkers"].choices = choices  # type: ignore[attr-defined]


class SearchForm(forms.Form):
    """Sent by POST, so no name or passport number ever lands in a URL or a log (R51)."""

    KINDS = [
        ("name", _("Name (either script)")),
        ("passport", _("Passport number")),
        ("email", _("E-mail")),
        ("phone", _("Phone")),
    ]
    kind = forms.ChoiceField(label=_("Search by"), choices=KINDS)
    query = forms.CharField(
        label=_("Exact value"), max_length=200, widget=forms.TextInput(attrs=SENSITIVE)
    )


class CaseEditForm(DateWarnings, ApplicantFields):
    """The editable parts of a case and its applicant; explicit fields only (R26).

    The highly sensitive fields stay masked here as on the case page: they start empty, a
    value typed in replaces the stored one, empty keeps it, and "clear" erases it.
    """

    safe_contact_instructions = forms.CharField(
        label=_("Safe-contact instructions (kept encrypted)"),
        required=False,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 2}),
    )
    risk_notes = forms.CharField(
        label=_("Risk-relevant facts (kept encrypted)"),
        required=False,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 3}),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    priority_override_reason = forms.CharField(
        label=_("Reason for the priority (kept encrypted)"),
        required=False,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 2}),
    )
    destination_state = _destination()
    on_hold = forms.BooleanField(label=_("On hold"), required=False)
    lost_contact = forms.BooleanField(label=_("Lost contact"), required=False)
    emergency_protection = forms.BooleanField(label=_("Emergency protection"), required=False)
    family_case = forms.BooleanField(label=_("Family case"), required=False)
    passport_expiry = _date(_("Passport expiry"))
    legal_stay_until = _date(_("Legal stay until"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    CASE_FIELDS = (
        "priority",
        "priority_override_reason",
        "destination_state",
        "on_hold",
        "lost_contact",
        "emergency_protection",
        "family_case",
    )
    APPLICANT_FIELDS = (
        *ApplicantFields.IDENTITY_FIELDS,
        "safe_contact_instructions",
        "risk_notes",
        "passport_expiry",
        "legal_stay_until",
    )
    PLAIN_APPLICANT_FIELDS = ("current_country", "languages")
    # Masked (issue 6): never shown in the form; replaced, kept or cleared.
    MASKED = {
        "narrative": ("case", _("Narrative and incident timeline")),
        "safety_plan": ("case", _("Safety plan")),
        "gender_identity": ("applicant", _("Gender identity")),
        "sexual_orientation": ("applicant", _("Sexual orientation")),
        "health_notes": ("applicant", _("Health notes")),
    }
    PRINTED_MASKED = ("gender_identity", "sexual_orientation")  # a letter may state them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (_owner, label) in self.MASKED.items():
            self.fields[name] = forms.CharField(
                label=format_lazy(_("{label}: replace (kept encrypted)"), label=label),
                help_text=_("Not shown here. Type to replace; leave empty to keep."),
                required=False,
                widget=forms.Textarea(attrs={**SENSITIVE, "rows": 2}),
                validators=[refuse_invisible] if name in self.PRINTED_MASKED else [],
            )
            self.fields[f"clear_{name}"] = forms.BooleanField(
                label=format_lazy(_("Clear: {label}"), label=label), required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_identity(cleaned)
        for name in self.MASKED:
            if cleaned.get(f"clear_{name}") and (cleaned.get(name) or "").strip():
                self.add_error(name, _("Either replace or clear, not both."))
        self.check_dates(cleaned)
        return cleaned

    def date_warnings(self, cleaned: dict[str, Any]) -> list[tuple[str, Any]]:
        expired = _("This passport has expired already. Is the date right?")
        ended = _("This date is in the past: the legal stay has ended. Is the date right?")
        return _in_the_past(cleaned, "passport_expiry", expired) + _in_the_past(
            cleaned, "legal_stay_until", ended
        )

    def masked_changes(self, owner: str) -> dict[str, Any]:
        """The masked fields of ``owner`` to write: replaced or cleared ones only."""
        changes: dict[str, Any] = {}
        for name, (field_owner, _label) in self.MASKED.items():
            if field_owner != owner:
                continue
            if self.cleaned_data.get(f"clear_{name}"):
                changes[name] = None
            elif (self.cleaned_data.get(name) or "").strip():
                changes[name] = self.cleaned_data[name]
        return changes


class NoteForm(SectionForm):
    section = "notes"

    text = forms.CharField(
        label=_("New note (kept encrypted)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 3}),
    )


class NarrativeAppendForm(SectionForm):
    """One more entry at the end of the narrative and incident timeline."""

    section = "narrative"

    text = forms.CharField(
        label=_("New entry (kept encrypted)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={**SENSITIVE, "rows": 4}),
    )
    happened_on = _date(_("When it happened (optional)"))


class DocumentDetailsForm(forms.Form):
    """What is known about a document besides its file; the title stays encrypted."""

    title = _sensitive_text(_("Title (kept encrypted)"))
    language = forms.ChoiceField(
        label=_("Language of the document"),
        choices=[("", "—"), *DOCUMENT_LANGUAGES],
        required=False,
    )
    translation_status = forms.ChoiceField(
        label=_("Translation"),
        choices=Document.Translation.choices,
        initial=Document.Translation.NOT_NEEDED,
        required=False,
    )
    expires_at = _date(_("Expires"))


class UploadForm(SectionForm, DocumentDetailsForm):
    section = "documents"

    file = forms.FileField(label=_("File (PDF, JPEG or PNG)"))
    doc_type = forms.ChoiceField(label=_("Type"), choices=DocumentType.choices)

    field_order = ["file", "doc_type", "title", "language", "translation_status", "expires_at"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.CASEWORK_UPLOAD_MAX_BYTES:
            limit = settings.CASEWORK_UPLOAD_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                _("The file is too large; the limit is %(limit)d MB.") % {"limit": limit}
            )
        head = upload.read(16)
        upload.seek(0)
        kind = sniff(head)
        if kind is None:
            raise forms.ValidationError(
                _("Only PDF, JPEG and PNG files are accepted, checked by their content.")
            )
        upload.kind = kind
        return upload


class DocumentVerifyForm(forms.Form):
    verification_status = forms.ChoiceField(
        label=_("Result"),
        choices=[
            (Document.Verification.VERIFIED, _("verified")),
            (Document.Verification.REJECTED, _("rejected")),
        ],
    )
    verification_method = forms.ChoiceField(
        label=_("How it was checked"),
        choices=[("", "—"), *Document.Method.choices],
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        verified = cleaned.get("verification_status") == Document.Verification.VERIFIED
        if verified and not cleaned.get("verification_method"):
            self.add_error("verification_method", _("Say how the document was checked."))
        return cleaned


class RouteAttemptForm(SectionForm):
    section = "routes"

    route = forms.ModelChoiceField(
        label=_("Route"),
        queryset=Route.objects.exclude(status=Route.Status.SUSPENDED),
        error_messages={"invalid_choice": _("Choose a route from the list.")},
    )
    mission = forms.ModelChoiceField(
        label=_("Mission"),
        queryset=Mission.objects.all(),
        required=False,
        error_messages={"invalid_choice": _("Choose a mission from the list.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        route, mission = cleaned.get("route"), cleaned.get("mission")
        if route and mission and mission.state != route.destination_state:
            self.add_error("mission", _("This mission does not belong to the route's state."))
        return cleaned


class ConsentForm(SectionForm):
    section = "consent"

    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices)
    route = forms.ModelChoiceField(
        label=_("Authority (route) for a disclosure"), queryset=Route.objects.all(), required=False
    )
    counterparty = forms.CharField(
        label=_("Named partner or authority"), max_length=200, required=False
    )
    includes_sogi = forms.BooleanField(
        label=_("The disclosure may state sexual orientation or gender identity"),
        required=False,
    )
    text_version = forms.CharField(label=_("Version of the consent text"), max_length=40)
    language = forms.ChoiceField(
        label=_("Language of the text"),
        choices=[("ru", "русский"), ("en", "English"), ("uk", "українська")],
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("purpose") == Consent.Purpose.DISCLOSURE and not cleaned.get("route"):
            self.add_error("route", _("A disclosure consent names the authority it is for."))
        if cleaned.get("purpose") == Consent.Purpose.SHARING and not cleaned.get("counterparty"):
            self.add_error("counterparty", _("A sharing consent names the partner."))
        if cleaned.get("includes_sogi") and cleaned.get("purpose") != Consent.Purpose.DISCLOSURE:
            self.add_error(
                "includes_sogi", _("Only a disclosure to an authority can include this.")
            )
        return cleaned


class DeadlineForm(SectionForm, DateWarnings):
    section = "deadlines"

    kind = forms.ChoiceField(label=_("Kind"), choices=Deadline.Kind.choices)
    due_on = _date(_("Due"), required=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_dates(cleaned)
        return cleaned

    def date_warnings(self, cleaned: dict[str, Any]) -> list[tuple[str, Any]]:
        return _in_the_past(cleaned, "due_on", _("This date has passed already. Is it right?"))


class AttemptEditForm(DateWarnings):
    """Dates, decision and references of one route attempt; references are kept encrypted."""

    submitted_at = _date(_("Submitted"))
    pre_approved_at = _date(_("Pre-approved"))
    appointment_at = _date(_("Appointment"))
    lodged_at = _date(_("Lodged"))
    decision = forms.ChoiceField(
        label=_("Decision"), choices=VisaApplication.Decision.choices, required=False
    )
    decision_at = _date(_("Decision date"))
    valid_from = _date(_("Valid from"))
    valid_until = _date(_("Valid until"))
    appeal_deadline = _date(_("Appeal deadline"))
    authority_file_number = _sensitive_text(_("Authority file number"), 100)
    pre_approval_reference = _sensitive_text(_("Pre-approval reference"), 100)
    visa_number = _sensitive_text(_("Visa number"), 100)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("A visa cannot end before it starts."))
        if cleaned.get("decision") == "issued" and not (start and end):
            self.add_error("valid_until", _("An issued visa needs its validity dates."))
        self.check_dates(cleaned)
        return cleaned

    def date_warnings(self, cleaned: dict[str, Any]) -> list[tuple[str, Any]]:
        """Each date against the one that comes before it in the procedure."""
        order = [n for n in ("submitted_at", "lodged_at", "decision_at") if cleaned.get(n)]
        labels = {n: self.fields[n].label for n in order}
        return [
            (
                later,
                format_lazy(
                    _("This is before the date “{earlier}”. Is it right?"),
                    earlier=labels[earlier],
                ),
            )
            for earlier, later in zip(order, order[1:], strict=False)
            if cleaned[later] < cleaned[earlier]
        ]


# --- reference data (coordinators) -------------------------------------------------------

# DOMAIN.md section 6.1 (29 states), plus the EU states outside Schengen.
DESTINATION_STATES = [
    "AT",
    "BE",
    "BG",
    "CH",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IS",
    "IT",
    "LI",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
]


def _names_languages(form: Any, state_field: str) -> list[tuple[str, str]]:
    """The languages a route's or mission's printed names are kept in: for the state as
    submitted, else as saved; an unknown or missing state gives the letter languages."""
    state = ""
    if form.is_bound:
        state = str(form.data.get(form.add_prefix(state_field)) or "")
    if not state.strip():
        state = str(getattr(form.instance, state_field, "") or "")
    return names_languages(state.strip().upper())


def _printed_name(label: Any, code: str, language: str) -> forms.CharField:
    """One name a letter in ``code`` prints: typed in that language, refused when it holds
    invisible characters, and optional (the pre-issue check reports missing ones)."""
    return forms.CharField(
        label=label % {"language": language},
        required=False,
        max_length=300,
        validators=[refuse_invisible],
        widget=forms.TextInput(attrs={"lang": code}),
    )


class PrintedNamesForm(forms.ModelForm):  # type: ignore[type-arg]
    """A reference data form with names printed in letters, one group of fields per
    language (``name_<language>…``), saved together as the model's ``letter_names``. The
    page shows each language as a fieldset; the audit log names ``letter_names`` once
    instead of each of its fields."""

    STATE_FIELD = ""
    names_title = _("Names printed in letters")
    names_intro: Any = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages = _names_languages(self, self.STATE_FIELD)
        saved = self.instance.letter_names if isinstance(self.instance.letter_names, dict) else {}
        for code, language in self.languages:
            for name, label in self.language_fields(code):
                self.fields[name] = _printed_name(label, code, language)
                self.initial.setdefault(name, self.saved_name(saved.get(code), name, code))

    def language_fields(self, code: str) -> list[tuple[str, Any]]:
        """(field name, label with %(language)s) of the names kept in ``code``."""
        raise NotImplementedError

    def saved_name(self, saved: Any, name: str, code: str) -> str:
        raise NotImplementedError

    def is_name(self, name: str) -> bool:
        return name.startswith("name_")

    def main_fields(self) -> list[Any]:
        return [field for field in self.visible_fields() if not self.is_name(field.name)]

    def language_groups(self) -> list[tuple[str, str, list[Any]]]:
        """(code, the language's own name, its bound fields), in the page's order."""
        return [
            (code, language, [self[name] for name, _label in self.language_fields(code)])
            for code, language in self.languages
        ]

    @property
    def changed_data(self) -> list[str]:
        """The model's fields that changed: a changed name counts as ``letter_names``."""
        fields = list(super().changed_data)
        changed = [name for name in fields if not self.is_name(name)]
        return changed + ["letter_names"] if len(changed) < len(fields) else changed


class RouteForm(PrintedNamesForm):
    """Explicit fields; the checklist is a set of document types, not free JSON. What a
    letter prints about the route is given per language (``letter_names``); the legal basis,
    visa type and authority above them are the staff's own description."""

    checklist = forms.MultipleChoiceField(
        label=_("Document checklist"),
        choices=DocumentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    letter_languages = forms.MultipleChoiceField(
        label=_("Languages the authorities expect letters in"),
        choices=LETTER_LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Route
        fields = [
            "code",
            "destination_state",
            "request_kind",
            "legal_basis",
            "visa_type",
            "needs_pre_approval",
            "deciding_authority",
            "status",
            "effective_from",
            "effective_until",
            "letter_languages",
            "checklist",
            "notes",
        ]
        labels = {"request_kind": _("What a letter for this route asks for")}
        help_texts = {"notes": _("For staff only; no letter prints it.")}
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_until": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    STATE_FIELD = "destination_state"
    names_intro = _(
        "A letter prints these in its own language: the name of the procedure it asks for, "
        "the legal basis as cited in the destination state, and the deciding authority's "
        "official name. Give all three names of a language, or leave them all empty until "
        "they are known: the check before a letter is issued reports a missing language."
    )
    # Not printed since letters print letter_names, but kept free of invisible characters.
    PRINTED = ("legal_basis", "visa_type", "deciding_authority")
    PARTS = {
        "procedure": _("Procedure, in %(language)s"),
        "legal_basis": _("Legal basis, in %(language)s"),
        "authority": _("Deciding authority, in %(language)s"),
    }
    MISSING = {
        "procedure": _(
            "The procedure's name is missing, while other names in this language are "
            "given: give all three, or none."
        ),
        "legal_basis": _(
            "The legal basis is missing, while other names in this language are given: "
            "give all three, or none."
        ),
        "authority": _(
            "The deciding authority is missing, while other names in this language are "
            "given: give all three, or none."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.PRINTED:
            self.fields[name].validators.append(refuse_invisible)

    def language_fields(self, code: str) -> list[tuple[str, Any]]:
        return [(f"name_{code}_{part}", self.PARTS[part]) for part in Route.PRINTED_PARTS]

    def saved_name(self, saved: Any, name: str, code: str) -> str:
        part = name.removeprefix(f"name_{code}_")
        return str(saved.get(part, "")) if isinstance(saved, dict) else ""

    def clean_destination_state(self) -> str:
        state = str(self.cleaned_data["destination_state"]).strip().upper()
        if state not in DESTINATION_STATES:
            raise forms.ValidationError(
                _("Give the ISO code of an EU or Schengen state, e.g. DE or LT.")
            )
        return state

    def clean_letter_languages(self) -> list[str]:
        chosen = set(self.cleaned_data["letter_languages"])
        return [code for code, _language in LETTER_LANGUAGES if code in chosen]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("effective_from"), cleaned.get("effective_until")
        if start and end and end < start:
            self.add_error("effective_until", _("A route cannot end before it starts."))
        for code, _language in self.languages:
            self._all_or_none(cleaned, code)
        return cleaned

    def _all_or_none(self, cleaned: dict[str, Any], code: str) -> None:
        """A language with some of its three names and not the others is refused, each
        missing one named at its field (a field refused for what it holds counts as given)."""
        names = {part: f"name_{code}_{part}" for part in Route.PRINTED_PARTS}
        given = {part for part, name in names.items() if name in self.errors or cleaned.get(name)}
        if given and len(given) < len(names):
            for part, name in names.items():
                if part not in given:
                    self.add_error(name, self.MISSING[part])

    def letter_names(self) -> dict[str, dict[str, str]]:
        """{language: {part: name}} of the languages with names given."""
        names = {
            code: {
                part: self.cleaned_data.get(f"name_{code}_{part}") or ""
                for part in Route.PRINTED_PARTS
            }
            for code, _language in self.languages
        }
        return {code: parts for code, parts in names.items() if any(parts.values())}

    def save(self, commit: bool = True) -> Any:
        self.instance.letter_names = self.letter_names()
        return super().save(commit)


class MissionForm(PrintedNamesForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("embassy", _("embassy")),
            ("consulate", _("consulate")),
            ("visa_centre", _("visa centre")),
        ],
    )

    class Meta:
        model = Mission
        fields = ["state", "host_country", "city", "kind", "name"]

    STATE_FIELD = "state"
    names_intro = _(
        "A letter sent via the mission prints its name, with the city, in the letter's "
        "language. Leave a language empty until the name is known: the check before a letter "
        "is issued reports it."
    )
    PRINTED = ("name", "city")  # staff's own name for it; kept free of invisible characters

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.PRINTED:
            self.fields[name].validators.append(refuse_invisible)

    def language_fields(self, code: str) -> list[tuple[str, Any]]:
        return [(f"name_{code}", _("Name with its city, in %(language)s"))]

    def saved_name(self, saved: Any, name: str, code: str) -> str:
        return str(saved or "")

    def letter_names(self) -> dict[str, str]:
        names = {code: self.cleaned_data.get(f"name_{code}") or "" for code, _n in self.languages}
        return {code: name for code, name in names.items() if name}

    def save(self, commit: bool = True) -> Any:
        self.instance.letter_names = self.letter_names()
        return super().save(commit)

    def clean_state(self) -> str:
        state = str(self.cleaned_data["state"]).strip().upper()
        if state not in DESTINATION_STATES:
            raise forms.ValidationError(
                _("Give the ISO code of an EU or Schengen state, e.g. DE or LT.")
            )
        return state

    def clean_host_country(self) -> str:
        country = str(self.cleaned_data["host_country"]).strip().upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise forms.ValidationError(_("Give a two-letter ISO country code, e.g. AM."))
        return country
