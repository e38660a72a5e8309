"""Sign-in, second factor, enrolment, the user's own security page, step-up, invitations.

Short function views; the security story of each is in its decorators.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import JavaScriptCatalog, set_language
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnCredential

from casework.accounts import services
from casework.accounts.decorators import (
    REPEAT_AFTER_STEP_UP,
    safe_next,
    step_up_fresh,
    step_up_required,
)
from casework.accounts.forms import CodeForm, EnrolForm, PasswordChangeForm, PasswordStepForm
from casework.accounts.models import BackupCodeDevice, TOTPDevice, User, UserSession
from casework.accounts.webauthn import requires_passkey
from casework.audit.models import Action
from casework.audit.services import record
from casework.keystore import members, vault

webauthn_catalog = JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])

GENERIC_LOGIN_ERROR = "The username or password is not right, or the account cannot sign in."
GET_POST = require_http_methods(["GET", "POST"])


@sensitive_post_parameters()
@GET_POST
def login_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_authenticated and user.is_verified():
        return redirect("home")
    form = PasswordStepForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            status = _password_step(request, form)
            if status == 302:
                return _to_second_step(request.user)
        else:
            form.add_error(None, _(GENERIC_LOGIN_ERROR))
    else:
        request.session["login_next"] = safe_next(request, request.GET.get("next"))
    reason = request.GET.get("reason")
    return render(request, "accounts/login.html", {"form": form, "reason": reason}, status=status)


def _password_step(request: HttpRequest, form: PasswordStepForm) -> int:
    username = form.cleaned_data["username"]
    if services.login_blocked(request, username):
        record(Action.LOGIN_THROTTLED, request=request, decision="deny")
        form.add_error(None, _("Too many attempts. Wait 15 minutes, or ask your administrator."))
        return 429
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if user is None:
        services.login_failed(request, username)
        form.add_error(None, _(GENERIC_LOGIN_ERROR))
        return 200
    next_url = request.session.get("login_next", "/")
    login(request, user)  # new session key after the password step (R17)
    request.session["login_next"] = next_url
    # The password opens the member's private key, and the organisation key with it; the
    # session keeps it only encrypted under a key in a cookie of its own (issue 16).
    unlocked = members.unlock(user, form.cleaned_data["password"])
    if unlocked is not None:
        vault.keep(request, user, unlocked)
    return 302


def _to_second_step(user: Any) -> HttpResponse:
    """On to the second step, in the interface language the person chose last time."""
    response = redirect("login_verify")
    if user.language:
        set_language_cookie(response, user.language)
    return response


def set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Strict"
    )


@require_POST
def language_view(request: HttpRequest) -> HttpResponse:
    """Django's language switch, and for a signed-in person their choice kept with the account
    (signing out clears every cookie, so the cookie alone would forget it)."""
    response = set_language(request)
    user: Any = request.user
    language = request.POST.get("language", "")
    offered = language in dict(settings.LANGUAGES) and check_for_language(language)
    if offered and user.is_authenticated and user.is_verified():
        User.objects.filter(pk=user.pk).update(language=language)
    return response


@sensitive_post_parameters()
@GET_POST
def verify_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_verified():
        return redirect("home")
    passkey_only = requires_passkey(user)
    if not services.has_second_factor(user, passkey_only=passkey_only):
        return redirect("login_enrol")
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "passkey_only": passkey_only, "has_passkey": _has_passkey(user)}
    if request.method == "POST" and passkey_only:
        return _passkey_required(request, "accounts/verify.html", context)
    if request.method == "POST" and form.is_valid():
        check = _check_code(request, user, form.cleaned_data["code"])
        if check.device is not None:
            next_url = request.session.get("login_next", "/")
            otp_login(request, check.device)
            services.second_factor_passed(request, user)
            return HttpResponseRedirect(safe_next(request, next_url))
        form.add_error("code", _code_error(check))
    return render(request, "accounts/verify.html", context)


def _has_passkey(user: Any) -> bool:
    return bool(WebAuthnCredential.objects.filter(user=user, confirmed=True).exists())


def _passkey_required(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """R2: codes are refused for this role; only a passkey completes the step."""
    record(Action.OTP_FAILED, actor=request.user, request=request, decision="deny", kind="code")
    context["form"].add_error(
        None, _("Your role signs in with a passkey only; codes are not accepted.")
    )
    return render(request, template, context, status=403)


# django-otp holds a device back for 1, 2, 4 ... seconds after each wrong code in a row. A
# quick retry after one or two is refused unseen, but that is not "too many" to the user.
TOO_MANY_WRONG_CODES = 3


@dataclass(frozen=True)
class CodeCheck:
    device: Any  # the device that accepted the code, or None
    throttled: bool  # refused without looking: several wrong codes in a row, and too soon


def _check_code(request: HttpRequest | None, user: User, code: str) -> CodeCheck:
    """Rows are locked while a code is checked, so ten concurrent submissions of one code
    succeed once (R4). Six digits go to the authenticator, anything else to backup codes."""
    compact = code.strip().replace(" ", "")
    with transaction.atomic():
        if compact.isdigit() and len(compact) == 6:
            devices: list[Any] = list(
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
            )
        else:
            devices = list(BackupCodeDevice.objects.select_for_update().filter(user=user))
        throttled = bool(devices) and all(_held_back(device) for device in devices)
        for device in devices:
            if device.verify_token(compact):
                return CodeCheck(device, throttled=False)
        record(Action.OTP_FAILED, actor=user, request=request, decision="deny")
    return CodeCheck(None, throttled=throttled)


def _held_back(device: Any) -> bool:
    allowed, _details = device.verify_is_allowed()
    return not allowed and device.throttling_failure_count >= TOO_MANY_WRONG_CODES


def _code_error(check: CodeCheck) -> str:
    if check.throttled:
        return _("Too many wrong codes. Wait a little, then try again with a new code.")
    return _("That code did not work. Check the time on your phone and try a new code.")


@sensitive_post_parameters()
@sensitive_variables("device", "secret", "codes")
@GET_POST
def enrol_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_verified():
        return redirect("account")
    passkey_only = requires_passkey(user)
    if services.has_second_factor(user, passkey_only=passkey_only):
        return redirect("login_verify")
    if passkey_only:
        # Factors the role may not use (an app, a synced passkey) block registering a new
        # one without a verified session; only an administrator's reset clears them.
        stuck = services.has_unusable_factor(user)
        return render(request, "accounts/enrol_passkey.html", {"stuck": stuck})
    device = services.pending_totp_device(user)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            accepted = locked.verify_token(form.cleaned_data["code"])
            if accepted:
                services.confirm_totp_device(request, locked)
                codes = services.issue_backup_codes(user, request)
        if accepted:
            otp_login(request, locked)
            services.second_factor_passed(request, user)
            return render(request, "accounts/backup_codes.html", _codes_context(codes))
        form.add_error("code", _("That code did not work. Scan the QR code again and retry."))
    secret = _base32(device.key)
    otpauth = (
        f"otpauth://totp/Safe%20Passage:{user.username}?secret={secret}"
        "&issuer=Safe%20Passage&algorithm=SHA1&digits=6&period=30"
    )
    qr_svg = segno.make(otpauth, error="m").svg_inline(scale=5, title=_("QR code to scan"))
    context = {"form": form, "qr_svg": qr_svg, "secret": " ".join(_chunks(secret, 4))}
    return render(request, "accounts/enrol.html", context)


def _base32(hex_key: str) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(hex_key)).decode("ascii").rstrip("=")


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _codes_context(codes: list[str]) -> dict[str, Any]:
    from urllib.parse import quote

    text = "Safe Passage casework: backup codes. Each works once.\n" + "\n".join(codes) + "\n"
    return {"codes": codes, "download": "data:text/plain;charset=utf-8," + quote(text)}


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_authenticated:
        UserSession.objects.filter(session_key=request.session.session_key).delete()
        record(Action.LOGOUT, actor=user, request=request)
    logout(request)
    response = redirect("login")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@require_http_methods(["GET"])
def account_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    context = {
        "devices": TOTPDevice.objects.filter(user=user, confirmed=True),
        "passkeys": WebAuthnCredential.objects.filter(user=user, confirmed=True),
        "backup": BackupCodeDevice.objects.filter(user=user).first(),
        "sessions": UserSession.objects.filter(user=user).order_by("-created_at"),
        "current_session": request.session.session_key,
        "locked": services.is_locked(user),
        # Adding a passkey is a factor change: offered only after a fresh second factor.
        "step_up_fresh": step_up_fresh(request),
        "content_access": _content_access(user),
    }
    return render(request, "accounts/account.html", context)


def _content_access(user: Any) -> str | None:
    """Whether this person holds the organisation key ("held"), waits for it ("waiting"), or
    works without case content (None)."""
    if not members.reads_content(user):
        return None
    return "held" if vault.held() is not None else "waiting"


@require_POST
@step_up_required
def session_end_view(request: HttpRequest, public_id: Any) -> HttpResponse:
    user: Any = request.user
    services.end_session(user=user, public_id=public_id, request=request)
    messages.success(request, _("The session was ended."))
    return redirect("account")


@require_POST
@step_up_required
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    count = services.end_other_sessions(user, keep=request.session.session_key)
    record(Action.SESSION_ENDED, actor=user, request=request, count=count)
    messages.success(request, _("All your other sessions were ended."))
    return redirect("account")


@require_POST
@step_up_required
@sensitive_variables("codes")
def backup_codes_new_view(request: HttpRequest) -> HttpResponse:
    codes = services.regenerate_backup_codes(request, request.user)  # type: ignore[arg-type]
    return render(request, "accounts/backup_codes.html", _codes_context(codes))


@require_POST
@step_up_required
def device_remove_view(request: HttpRequest, device_id: Any) -> HttpResponse:
    user: Any = request.user
    device = TOTPDevice.objects.filter(user=user, public_id=device_id, confirmed=True).first()
    return _remove(request, user, device)


@require_POST
@step_up_required
def passkey_remove_view(request: HttpRequest, credential_hash: str) -> HttpResponse:
    user: Any = request.user
    device = WebAuthnCredential.objects.filter(
        user=user, credential_id_sha256=credential_hash, confirmed=True
    ).first()
    return _remove(request, user, device)


@require_POST
def passkey_rename_view(request: HttpRequest, credential_hash: str) -> HttpResponse:
    """Give one of the user's own passkeys a name they will recognise ("work laptop")."""
    user: Any = request.user
    device = WebAuthnCredential.objects.filter(
        user=user, credential_id_sha256=credential_hash, confirmed=True
    ).first()
    name = request.POST.get("name", "").strip()
    if device is None:
        return render(request, "404.html", status=404)
    if not name or len(name) > 64:
        messages.error(request, _("A passkey name has 1 to 64 characters."))
        return redirect("account")
    device.name = name
    device.save(update_fields=["name"])
    messages.success(request, _("The passkey was renamed."))
    return redirect("account")


def _remove(request: HttpRequest, user: Any, device: Any) -> HttpResponse:
    """Remove one of the user's own devices, never the last one that can sign them in."""
    if device is None:
        return render(request, "404.html", status=404)
    passkey_only = requires_passkey(user)
    counts = services.device_is_usable(device, passkey_only=passkey_only)
    if counts and services.usable_device_count(user, passkey_only=passkey_only) <= 1:
        messages.error(request, _("This is your only way to sign in; it cannot be removed."))
        return redirect("account")
    services.remove_device(request, user, device)
    messages.success(request, _("The device was removed."))
    return redirect("account")


@sensitive_post_parameters()
@GET_POST
@step_up_required
def password_change_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.change_password(
            request,
            user,
            form.cleaned_data["new_password"],
            current_password=form.cleaned_data["current_password"],
        )
        messages.success(request, _("Your password was changed and your other sessions ended."))
        return redirect("account")
    return render(request, "accounts/password_change.html", {"form": form})


@sensitive_post_parameters()
@GET_POST
def reauth_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = CodeForm(request.POST if request.method == "POST" else None)
    passkey_only = requires_passkey(user)
    context = {"form": form, "next": next_url, "passkey_only": passkey_only}
    context["has_passkey"] = _has_passkey(user)
    if request.method == "POST" and passkey_only:
        return _passkey_required(request, "accounts/reauth.html", context)
    if request.method == "POST" and form.is_valid():
        check = _check_code(request, user, form.cleaned_data["code"])
        if check.device is not None:
            request.session["otp_verified_at"] = time.time()
            record(Action.REAUTHENTICATED, actor=user, request=request)
            if request.session.pop(REPEAT_AFTER_STEP_UP, False):
                messages.info(
                    request,
                    _("Confirmed. Nothing was done yet: press the button again to finish."),
                )
            return HttpResponseRedirect(next_url)
        form.add_error("code", _code_error(check))
    return render(request, "accounts/reauth.html", context)


def login_notice(request: HttpRequest) -> dict[str, Any] | None:
    """The previous sign-in and the failures since, shown once after signing in (R14)."""
    notice = request.session.pop("login_notice", None)
    return notice if isinstance(notice, dict) else None


@require_POST
def notices_acknowledge_view(request: HttpRequest) -> HttpResponse:
    """Dismiss the notices of changes made before this sign-in; newer ones stay."""
    user: Any = request.user
    services.acknowledge_notices(request, user)
    return redirect("home")


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the dashboard says about the account itself, in two queries: the notices of
    changes to how the person signs in (until acknowledged from a later sign-in), whether a
    role of theirs waits for a coordinator, and the role requests a coordinator could decide
    (shown in the coordinators' queues only)."""
    user: Any = request.user
    notices = services.open_notices(user)
    mine, others = services.role_requests_waiting(user)
    return {
        "security_notices": notices,
        "notices_acknowledgeable": any(
            services.can_acknowledge(request, notice) for notice in notices
        ),
        "role_awaiting": bool(mine),
        "role_requests": others,
        # Caseworkers and coordinators who wait for the organisation key (issue 16): after an
        # upgrade, everyone but the first coordinator, until someone who holds it grants it.
        "waiting_access": (
            members.waiting_count(user.organisation_id, excluding=user.pk)
            if vault.held() is not None
            else 0
        ),
    }
