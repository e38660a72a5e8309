"""Passkeys (WebAuthn) through django-otp-webauthn, tightened for this threat model.

- User verification is required on every registration and every assertion (a stolen,
  unlocked security key alone is not enough).
- Passwordless sign-in is off: a passkey is a second factor after the password.
- Privileged roles, where their organisation asks for it (R2), may use only a passkey, and
  not one that is synced to a cloud account (backup-eligible).
  The refusal is made at registration (the credential is never stored) and again at every
  sign-in, and a synced credential never counts as a usable factor for those roles.
- Registering a passkey from a signed-in session is a factor change: it needs a second
  factor from the last few minutes (step-up), ends every other session and leaves a notice.
- Completing a passkey step goes through the same bookkeeping as a TOTP code: new session
  key, session record, notice, audit entry.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
    _get_pywebauthn_logger,
)
from webauthn.helpers.structs import UserVerificationRequirement

from casework.accounts import services
from casework.accounts.decorators import step_up_fresh
from casework.accounts.roles import Role
from casework.audit.models import Action
from casework.audit.services import record

PRIVILEGED = (Role.COORDINATOR, Role.ORG_ADMIN, Role.AUDITOR)


def requires_passkey(user: Any) -> bool:
    """R2: privileged roles in an organisation with the policy on may use only passkeys."""
    if not user.is_authenticated or not user.organisation.passkeys_required_for_privileged:
        return False
    return any(user.has_role(role) for role in PRIVILEGED)


class StrictWebAuthnHelper(WebAuthnHelper):  # type: ignore[misc]
    def get_generate_registration_options_kwargs(self, *, user: Any) -> dict[str, Any]:
        options: dict[str, Any] = super().get_generate_registration_options_kwargs(user=user)
        options["authenticator_selection"].user_verification = UserVerificationRequirement.REQUIRED
        return options

    def authenticate_begin(self, user: Any = None, require_user_verification: bool = True) -> Any:
        return super().authenticate_begin(user=user, require_user_verification=True)

    def create_credential(self, user: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        """The credential as the library builds it, before it is saved: a synced one is
        refused here for roles under R2, so it is never stored."""
        device = super().create_credential(user, response, *args, **kwargs)
        if requires_passkey(user) and device.backup_eligible:
            raise SyncedPasskeyRefused()
        return device


class SyncedPasskeyRefused(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    default_code = "synced_passkey_refused"
    default_detail = _(
        "Your role needs a passkey that stays on one device (a security key, or one this "
        "device keeps); a passkey synced to a cloud account is refused."
    )


class StepUpRequired(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    default_code = "step_up_required"
    default_detail = _("Confirm it is you first: adding a passkey needs a fresh second factor.")


class RegistrationPolicy:
    """Adding a passkey to a signed-in account is a factor change: it needs step-up."""

    request: Any

    def check_can_register(self) -> None:
        super().check_can_register()  # type: ignore[misc]
        if self.request.user.is_verified() and not step_up_fresh(self.request):
            raise StepUpRequired()


class BeginRegistrationView(RegistrationPolicy, BeginCredentialRegistrationView):  # type: ignore[misc]
    pass


class BeginAuthenticationView(BeginCredentialAuthenticationView):  # type: ignore[misc]
    pass


class CompleteAuthenticationView(CompleteCredentialAuthenticationView):  # type: ignore[misc]
    def check_device_usable(self, device: Any) -> None:
        super().check_device_usable(device)
        if requires_passkey(device.user) and device.backup_eligible:
            raise SyncedPasskeyRefused()

    def complete_auth(self, device: Any) -> None:
        already_verified = self.request.user.is_verified()
        super().complete_auth(device)  # otp_login
        if already_verified:  # step-up ("confirm it is you")
            self.request.session["otp_verified_at"] = time.time()
            record(Action.REAUTHENTICATED, actor=device.user, request=self.request)
        else:
            services.second_factor_passed(self.request, device.user)

    def get_success_url(self) -> str:
        from casework.accounts.decorators import safe_next

        fallback = self.request.session.get("login_next", "/")
        return safe_next(self.request, self.get_redirect_url() or fallback)


class _QuietRefusals(rewrite_exceptions):  # type: ignore[misc]
    """The library's translation of py_webauthn errors, without logging our own refusals
    (a synced passkey refused is a policy answer, not an error with a traceback)."""

    def log_exception(self, exc: Exception) -> None:
        if not isinstance(exc, exceptions.OTPWebAuthnApiError):
            super().log_exception(exc)


class CompleteRegistrationView(RegistrationPolicy, CompleteCredentialRegistrationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        """The library's completion, with the credential, its audit entry, the notice and the
        end of other sessions committed together or not at all. The ceremony's state is
        taken from the session (and that saved) first, outside the transaction, so a
        failure can never put it back for a second try."""
        user = self.get_user()
        was_verified = user.is_verified()
        state = self.get_state()
        helper = self.get_helper()
        with transaction.atomic(), _QuietRefusals(logger=_get_pywebauthn_logger()):
            device = helper.register_complete(user=user, state=state, data=self.request.data)
            if not was_verified:
                otp_login(self.request, device)
            services.passkey_added(self.request, user, first_factor=not was_verified)
        return JsonResponse({"id": device.pk})
