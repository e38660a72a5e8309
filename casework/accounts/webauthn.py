"""Passkeys (WebAuthn) through django-otp-webauthn, tightened for this threat model.

- User verification is required on every registration and every assertion (a stolen,
  unlocked security key alone is not enough).
- Passwordless sign-in is off: a passkey is a second factor after the password.
- Privileged roles, where their organisation asks for it (R2), may use only a passkey, and
  not one that is synced to a cloud account (backup-eligible).
- Completing a passkey step goes through the same bookkeeping as a TOTP code: new session
  key, session record, notice, audit entry.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import JsonResponse
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)
from webauthn.helpers.structs import UserVerificationRequirement

from casework.accounts import services
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


class SyncedPasskeyRefused(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    code = "synced_passkey_refused"
    default_detail = "Your role requires a passkey that stays on one device."


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


class CompleteRegistrationView(CompleteCredentialRegistrationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        was_verified = self.request.user.is_verified()
        response: JsonResponse = super().post(*args, **kwargs)
        if response.status_code == 200:
            user = self.request.user
            record(Action.DEVICE_ADDED, actor=user, request=self.request, kind="passkey")
            if not was_verified and user.is_verified():
                # First factor enrolled by passkey: the same bookkeeping as any sign-in.
                services.second_factor_passed(self.request, user)
            else:
                services.end_other_sessions(user, keep=self.request.session.session_key)
        return response
