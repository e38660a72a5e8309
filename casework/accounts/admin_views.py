"""Organisation administration: invite and withdraw invitations, set role, deactivate,
reset second factor, unlock, panic revoke, the compromised-account playbook. Org admins act
on their own organisation only and see no case content. What locks someone out is asked on
a confirmation page first.

A content role (coordinator, caseworker), by invitation or by a role change, only takes
effect when a coordinator confirms it (grant_views.py): an org admin cannot give an account
of theirs access to cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts import incident, services
from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.forms import (
    AlertMailboxForm,
    InvitationAcceptForm,
    LetterheadForm,
    NewPasswordForm,
    NewPasswordMixin,
    RoleForm,
)
from casework.accounts.models import Invitation, RoleGrant, User
from casework.accounts.roles import CONTENT_ROLES, Role

org_admin_only = role_required(Role.ORG_ADMIN)


def get_user_for_admin(admin: User, user_id: Any) -> User:
    """A user of the admin's organisation; anything else is 404, like a missing one."""
    user = User.objects.filter(pk=user_id, organisation_id=admin.organisation_id).first()
    if user is None:
        raise Http404
    return user


def get_invitation_for_admin(admin: User, invitation_id: Any) -> Invitation:
    """An invitation of the admin's organisation; anything else is 404, like a missing one."""
    invitation = (
        Invitation.objects.select_related("created_by")
        .filter(pk=invitation_id, organisation_id=admin.organisation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    return invitation


def _not_self(admin: User, user: User) -> None:
    if admin.pk == user.pk:  # no raising one's own role, no locking oneself out
        raise Http404


def _roles_of(user: User) -> list[Role]:
    # From the groups the users page prefetched: one query for the page, not one per user.
    names = {group.name for group in user.groups.all()}
    return [role for role in Role if role.value in names]


@dataclass(frozen=True)
class UserRow:
    user: User
    roles: list[Role]
    role_form: RoleForm  # preselects the current role


def _user_row(user: User) -> UserRow:
    roles = _roles_of(user)
    return UserRow(user, roles, RoleForm.for_user(user.pk, roles))


@require_http_methods(["GET"])
@org_admin_only
def users_view(request: HttpRequest) -> HttpResponse:
    return _users_page(request, AlertMailboxForm(initial=_mailbox(request)))


def _mailbox(request: HttpRequest) -> dict[str, str]:
    admin: Any = request.user
    return {"alert_email": admin.organisation.alert_email}


def _users_page(request: HttpRequest, mailbox: AlertMailboxForm, status: int = 200) -> HttpResponse:
    admin: Any = request.user
    users = (
        User.objects.filter(organisation_id=admin.organisation_id)
        .prefetch_related("groups")
        .order_by("username")
    )
    invitations = (
        Invitation.objects.filter(organisation_id=admin.organisation_id)
        .pending()
        .select_related("created_by", "account")
        .order_by("expires_at")
    )
    grants = (
        RoleGrant.objects.pending()
        .filter(organisation_id=admin.organisation_id)
        .select_related("user", "requested_by")
    )
    context = {
        "rows": [_user_row(user) for user in users],
        "invitations": invitations,
        "grants": grants,
        "invite_form": RoleForm(auto_id="invite-%s"),
        "mailbox": mailbox,
    }
    return render(request, "accounts/admin/users.html", context, status=status)


def _ask_first(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse | None:
    """The confirmation page on GET. A POST goes ahead (None) only with the page's
    ``confirm=yes``; any other POST (a form from before confirmations, a stray click) is
    sent to the page and changes nothing."""
    if request.method == "GET":
        return render(request, template, context)
    if request.POST.get("confirm") != "yes":
        return redirect(request.path)
    return None


@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def letterhead_view(request: HttpRequest) -> HttpResponse:
    """What every letter prints about the organisation: changing it is as sensitive as
    issuing a letter, so the page itself asks for a fresh second factor (a stale one on
    arrival sends the admin to confirm first, not after typing the changes)."""
    admin: Any = request.user
    if request.method == "POST":
        form = LetterheadForm(request.POST)
        if form.is_valid():
            services.set_letterhead(admin=admin, values=form.values(), request=request)
            messages.success(request, _("The letterhead was saved."))
            return redirect("admin_letterhead")
        status = 400
    else:
        form = LetterheadForm(initial=LetterheadForm.initial_from(admin.organisation))
        status = 200
    return render(request, "accounts/admin/letterhead.html", {"form": form}, status=status)


@require_POST
@org_admin_only
@step_up_required
def alert_mailbox_view(request: HttpRequest) -> HttpResponse:
    admin: Any = request.user
    form = AlertMailboxForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, status=400)
    services.set_alert_mailbox(admin=admin, email=form.cleaned_data["alert_email"], request=request)
    messages.success(request, _("The security alert mailbox was saved."))
    return redirect("admin_users")


@require_POST
@org_admin_only
@step_up_required
def invite_view(request: HttpRequest) -> HttpResponse:
    admin: Any = request.user
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role for the invitation."))
        return redirect("admin_users")
    token = services.create_invitation(
        admin=admin, role=Role(form.cleaned_data["role"]), request=request
    )
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    return render(request, "accounts/admin/invited.html", {"link": link})


@require_POST
@org_admin_only
@step_up_required
def role_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    _not_self(admin, user)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("admin_users")
    role = Role(form.cleaned_data["role"])
    if _roles_of(user) == [role]:  # "Set role" on the preselected role: nothing to end
        messages.info(request, _("%(name)s already has that role.") % {"name": user.username})
        return redirect("admin_users")
    if services.set_role(admin=admin, user=user, role=role, request=request):
        messages.success(request, _("The role was changed; their sessions ended."))
    else:
        messages.info(
            request,
            _(
                "One of the organisation's coordinators has to confirm this role before it "
                "takes effect; until then %(name)s keeps their current role."
            )
            % {"name": user.username},
        )
    return redirect("admin_users")


@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def deactivate_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    return _confirmed_user_action(
        request,
        user_id,
        services.deactivate_user,
        template="accounts/admin/confirm_deactivate.html",
        done=_("The account was deactivated."),
    )


@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def reset_second_factor_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    """After the confirmation, the single-use link that lets the person back in (a new
    password, then a new second factor), shown once like an invitation link."""
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    _not_self(admin, user)
    roles = _roles_of(user)
    template = "accounts/admin/confirm_reset_second_factor.html"
    question = _ask_first(request, template, {"subject": user, "roles": roles})
    if question is not None:
        return question
    token = services.reset_second_factor(admin=admin, user=user, request=request)
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    context = {
        "link": link,
        "subject": user,
        "suspended": [role.label for role in roles if role in CONTENT_ROLES],
    }
    return render(request, "accounts/admin/reset_link.html", context)


@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def panic_revoke_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    return _confirmed_user_action(
        request,
        user_id,
        services.panic_revoke,
        template="accounts/admin/confirm_revoke.html",
        done=_("Every session and device of that user was revoked."),
    )


def _confirmed_user_action(
    request: HttpRequest, user_id: Any, service: Callable[..., None], *, template: str, done: str
) -> HttpResponse:
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    _not_self(admin, user)
    question = _ask_first(request, template, {"subject": user, "roles": _roles_of(user)})
    if question is not None:
        return question
    service(admin=admin, user=user, request=request)
    messages.success(request, done)
    return redirect("admin_users")


class CompromisedForm(forms.Form):
    """What happened, chosen from a fixed list, and the account's username typed again. No
    box for the story: what the admin writes about an incident would be kept somewhere."""

    reason = forms.ChoiceField(
        label=gettext_lazy("What happened"),
        choices=incident.Reason.choices,
        widget=forms.RadioSelect,
        # Not Django's "Select a valid choice. X is not one of...": nothing posted is echoed.
        error_messages={
            "required": gettext_lazy("Choose what happened."),
            "invalid_choice": gettext_lazy("Choose what happened."),
        },
    )
    confirm_username = forms.CharField(
        label=gettext_lazy("Their username, typed again to confirm"),
        max_length=150,
        # Not "username": a browser would offer to fill in the admin's own.
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )

    def __init__(self, subject: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subject = subject

    def clean_confirm_username(self) -> str:
        typed = str(self.cleaned_data["confirm_username"])
        if typed != self.subject.username:
            raise forms.ValidationError(
                _("That is not this account's username. Type %(name)s exactly as shown.")
                % {"name": self.subject.username}
            )
        return typed


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def compromised_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    """The "This account may be compromised" page: the confirmation, then the whole playbook
    (incident.account_compromised) and what to do next. An admin who fears for their own
    account is told to ask another admin: the one holding it could otherwise lock them out."""
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    template = "accounts/admin/compromised.html"
    if admin.pk == user.pk:
        return render(request, template, {"stage": "self"}, status=404)
    context = {"subject": user, "roles": _roles_of(user)}
    done = request.session.get(INCIDENT_DONE)
    if request.method == "GET" and "done" in request.GET and done and done["user"] == str(user.pk):
        # After the POST, a redirect here (Post/Redirect/Get): reloading shows the result
        # again and never runs the playbook a second time.
        outcome = incident.Outcome(**{k: v for k, v in done.items() if k != "user"})
        return render(request, template, {**context, "stage": "done", "outcome": outcome})
    form = CompromisedForm(user, request.POST if request.method == "POST" else None)
    question = _ask_first(request, template, {**context, "stage": "ask", "form": form})
    if question is not None:
        return question
    if not form.is_valid():
        return render(request, template, {**context, "stage": "ask", "form": form}, status=400)
    outcome = incident.account_compromised(
        admin=admin,
        user=user,
        reason=incident.Reason(form.cleaned_data["reason"]),
        request=request,
    )
    request.session[INCIDENT_DONE] = {"user": str(user.pk), **asdict(outcome)}
    return redirect(f"{request.path}?done=1")


# The counts of the last playbook this admin ran, for the page the POST redirects to.
INCIDENT_DONE = "incident_done"


@require_POST
@org_admin_only
def unlock_view(request: HttpRequest, user_id: Any) -> HttpResponse:
    """Unlocking only lets the user try again: no step-up, no confirmation."""
    admin: Any = request.user
    user = get_user_for_admin(admin, user_id)
    _not_self(admin, user)
    services.unlock_user(admin=admin, user=user, request=request)
    messages.success(request, _("The account was unlocked."))
    return redirect("admin_users")


@require_http_methods(["GET", "POST"])
@org_admin_only
@step_up_required
def invitation_withdraw_view(request: HttpRequest, public_id: Any) -> HttpResponse:
    admin: Any = request.user
    invitation = get_invitation_for_admin(admin, public_id)
    if invitation.problem() is not None:
        return _no_longer_pending(request)
    template = "accounts/admin/confirm_withdraw.html"
    question = _ask_first(request, template, {"invitation": invitation})
    if question is not None:
        return question
    try:
        services.withdraw_invitation(admin=admin, invitation=invitation, request=request)
    except services.InvitationInvalid:  # accepted or withdrawn since the page was shown
        return _no_longer_pending(request)
    messages.success(request, _("The invitation was withdrawn; its link no longer works."))
    return redirect("admin_users")


def _no_longer_pending(request: HttpRequest) -> HttpResponse:
    messages.error(
        request, _("That invitation was already used, withdrawn or expired; nothing changed.")
    )
    return redirect("admin_users")


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.find_invitation(token)
    except services.InvitationInvalid as problem:
        return _invalid_link(request, str(problem))
    reopening = invitation.account_id is not None
    data = request.POST if request.method == "POST" else None
    form: NewPasswordMixin = (
        NewPasswordForm(invitation.account, data) if reopening else InvitationAcceptForm(data)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_invitation(
                token=token,
                username=form.cleaned_data.get("username", ""),
                password=form.cleaned_data["new_password"],
                request=request,
            )
        except services.InvitationInvalid as problem:
            return _invalid_link(request, str(problem))
        except services.UsernameTaken as taken:
            if not taken.remaining:
                return _invalid_link(request, "too_many_names")
            form.add_error(
                "username",
                _("That username is taken; choose another (%(left)d more tries on this link).")
                % {"left": taken.remaining},
            )
        else:
            messages.success(
                request, _("Your account is ready. Sign in to set up your second factor.")
            )
            return redirect("login")
    context = {"form": form, "reopening": reopening, "account": invitation.account}
    return render(request, "accounts/invitation_accept.html", context)


def _invalid_link(request: HttpRequest, problem: str) -> HttpResponse:
    reason = {
        "unknown": _("This invitation link is not valid. Check that it was copied whole."),
        "used": _("This invitation link has already been used."),
        "withdrawn": _(
            "This invitation link was withdrawn and no longer works. If you still need an "
            "account, ask the person who invited you for a new link."
        ),
        "expired": _("This invitation link has expired. Ask for a new one."),
        "too_many_names": _(
            "Too many of the usernames tried were taken, so this link no longer works. Ask "
            "the person who invited you for a new link."
        ),
    }[problem]
    return render(request, "accounts/invitation_invalid.html", {"reason": reason}, status=410)
