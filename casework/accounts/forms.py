from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from casework.accounts.roles import ROLE_LABELS, Role
from casework.accounts.validators import MAX_PASSWORD_LENGTH
from casework.cases.models import LETTER_LANGUAGES


class PasswordStepForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    # The length cap is checked before anything is hashed (R7): a 1 MB password costs nothing.
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput, max_length=MAX_PASSWORD_LENGTH
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none"}
        ),
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class NewPasswordMixin(forms.Form):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=MAX_PASSWORD_LENGTH,
        help_text=_("At least 15 characters. A sentence or several random words work well."),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=MAX_PASSWORD_LENGTH,
    )

    def validate_new_password(self, user: Any) -> None:
        first = self.cleaned_data.get("new_password")
        second = self.cleaned_data.get("new_password_again")
        if first and second and first != second:
            self.add_error("new_password_again", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, user)
            except forms.ValidationError as error:
                self.add_error("new_password", error)


class PasswordChangeForm(NewPasswordMixin):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=MAX_PASSWORD_LENGTH,
    )
    field_order = ["current_password", "new_password", "new_password_again"]

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        current = cleaned.get("current_password")
        if current and not self.user.check_password(current):
            self.add_error("current_password", _("That is not your current password."))
        self.validate_new_password(self.user)
        return cleaned


class InvitationAcceptForm(NewPasswordMixin):
    username = forms.RegexField(
        label=_("Choose a username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        help_text=_("Not your real name. Letters, digits and @/./+/-/_ only."),
    )
    field_order = ["username", "new_password", "new_password_again"]

    def clean(self) -> dict[str, Any]:
        # Whether the username is taken is answered only on a submission that is otherwise
        # complete, by the service, which rations and audits those answers (finding 11).
        cleaned = super().clean() or {}
        from casework.accounts.models import User

        self.validate_new_password(User(username=cleaned.get("username") or ""))
        return cleaned


class NewPasswordForm(NewPasswordMixin):
    """The new password of an account reopened with the link an administrator gave after
    resetting its second factor (the old password stopped working at the reset)."""

    def __init__(self, account: Any, *args: Any, **kwargs: Any) -> None:
        self.account = account
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.validate_new_password(self.account)
        return cleaned


# The roles an org admin gives. Reference data editors change the routes and missions every
# organisation relies on: one organisation's admin does not hand that out.
ORGANISATION_ROLES = [role for role in Role if role != Role.REFERENCE_EDITOR]
ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in ORGANISATION_ROLES]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)

    @classmethod
    def for_user(cls, user_id: Any, roles: list[Role]) -> RoleForm:
        """One user's drop-down on the users page. It shows their current role, so "Set role"
        without a choice changes nothing; with no single role to show it starts on "Choose a
        role", which cannot be submitted."""
        current = roles[0].value if len(roles) == 1 else ""
        form = cls(initial={"role": current}, auto_id=f"role-{user_id}-%s")
        if not current:
            field = cast(forms.ChoiceField, form.fields["role"])
            field.choices = [("", _("Choose a role")), *ROLE_CHOICES]
        return form


class AlertMailboxForm(forms.Form):
    alert_email = forms.EmailField(
        label=_("Security alert mailbox"),
        required=False,
        help_text=_(
            "A shared mailbox of the organisation, not a person's address. Alerts say only "
            "that something needs reviewing; leave empty to send none."
        ),
    )


LETTER_LANGUAGE_NAMES = LETTER_LANGUAGES


class LetterheadForm(forms.Form):
    """What support letters print about the organisation (DOMAIN.md section 3.2)."""

    legal_name = forms.CharField(label=_("Legal name"), max_length=200, required=False)
    registration = forms.CharField(
        label=_("Registration (number, register, country)"), max_length=200, required=False
    )
    address = forms.CharField(
        label=_("Postal address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    letter_contact = forms.CharField(
        label=_("E-mail and phone on letters"), max_length=200, required=False
    )
    signatory_name = forms.CharField(label=_("Signatory's name"), max_length=200, required=False)
    signatory_title = forms.CharField(
        label=_("Signatory's function"), max_length=200, required=False
    )
    verification_contact = forms.CharField(
        label=_("Contact for verification (name, e-mail, phone)"), max_length=300, required=False
    )

    FIELDS = (
        "legal_name",
        "registration",
        "address",
        "website",
        "letter_contact",
        "signatory_name",
        "signatory_title",
        "verification_contact",
    )

    # Per letter language, saved as {language: text} (a language left empty is dropped):
    # (field name prefix, organisation field).
    PER_LANGUAGE = (
        ("about", "about"),
        ("signatory_title", "signatory_titles"),
        ("signatory_name", "signatory_names"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in LETTER_LANGUAGE_NAMES:
            language = {"language": name}
            self.fields[f"about_{code}"] = forms.CharField(
                label=_("About the organisation, in %(language)s") % language,
                required=False,
                max_length=3000,
                widget=forms.Textarea(attrs={"rows": 3, "lang": code}),
            )
            self.fields[f"signatory_title_{code}"] = forms.CharField(
                label=_("Signatory's function, in %(language)s") % language,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"lang": code}),
            )
            self.fields[f"signatory_name_{code}"] = forms.CharField(
                label=_("Signatory's name, in %(language)s") % language,
                help_text=_("Leave empty to print the name above"),
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"lang": code}),
            )

    @classmethod
    def initial_from(cls, organisation: Any) -> dict[str, Any]:
        """The form's values as the organisation has them now."""
        initial = {name: getattr(organisation, name) for name in cls.FIELDS}
        for prefix, stored in cls.PER_LANGUAGE:
            texts = getattr(organisation, stored)
            texts = texts if isinstance(texts, dict) else {}
            for code, _name in LETTER_LANGUAGE_NAMES:
                initial[f"{prefix}_{code}"] = str(texts.get(code, ""))
        return initial

    def main_fields(self) -> list[Any]:
        return [self[name] for name in self.FIELDS]

    def language_groups(self) -> list[tuple[str, str, list[Any]]]:
        """(code, the language's own name, its bound fields) for each letter language."""
        return [
            (code, name, [self[f"{prefix}_{code}"] for prefix, _stored in self.PER_LANGUAGE])
            for code, name in LETTER_LANGUAGE_NAMES
        ]

    def values(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in self.FIELDS}
        for prefix, stored in self.PER_LANGUAGE:
            texts = {
                code: self.cleaned_data[f"{prefix}_{code}"] for code, _n in LETTER_LANGUAGE_NAMES
            }
            values[stored] = {code: text for code, text in texts.items() if text.strip()}
        return values
