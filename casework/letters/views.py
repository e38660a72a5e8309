"""Letter pages: request (caseworker), edit, preview, issue, revoke and correct (coordinator),
download (both), and the public verification page (anyone, rate limited, no personal data).

Every letter is reached through its case (casework.cases.access) and then among that case's
own letters, so another organisation's letter is the same 404 as a missing one.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from casework.accounts.decorators import role_required, step_up_required
from casework.accounts.roles import Role
from casework.cases.models import Case
from casework.cases.views import (
    attachment,
    case_child_route,
    case_roles,
    case_route,
    record_view,
    render_detail,
)
from casework.letters import checks, codes, services
from casework.letters.forms import (
    CodeForm,
    LetterEditForm,
    LetterRequestForm,
    PassportCheckForm,
    RevokeForm,
)
from casework.letters.models import Letter
from casework.letters.rendering import ASSETS_DIR

coordinators = role_required(Role.COORDINATOR)


def _letters(case: Case) -> Any:
    return case.letters.select_related("attempt__route", "mission", "organisation")


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_route("POST")
def letter_request(request: HttpRequest, case: Case) -> HttpResponse:
    form = LetterRequestForm(request.POST, case=case)
    if not form.is_valid():
        return render_detail(request, case, status=400, letter_form=form)
    letter = services.letter_request(
        actor=request.user,
        case=case,
        attempt=form.cleaned_data["attempt"],
        values=form.values(),
        annexes=list(form.cleaned_data["annexes"]),
        request=request,
    )
    messages.success(request, _("The letter was requested; a coordinator reviews and issues it."))
    return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)


@sensitive_post_parameters()
@sensitive_variables()
@case_roles
@case_child_route(_letters, "GET", "POST")
def letter_detail(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    """The letter's page: its status, and for a draft the form to edit it."""
    if request.method == "POST":
        form = LetterEditForm(request.POST, case=case)
        if form.is_valid():
            form.check_mission(letter.attempt)
        if form.is_valid():
            try:
                services.letter_update(
                    actor=request.user,
                    letter=letter,
                    version=form.cleaned_data["version"],
                    values=form.values(),
                    annexes=list(form.cleaned_data["annexes"]),
                    request=request,
                )
            except services.EditConflict:
                form.add_error(
                    None,
                    _(
                        "Someone else saved this letter while you were editing. Your changes "
                        "are below and were not saved: check the letter, then save again."
                    ),
                )
                return _page(request, case, letter, form, status=409)
            except services.LetterRefused as refused:
                form.add_error(None, refused.message)
                return _page(request, case, letter, form, status=400)
            messages.success(request, _("The draft was saved."))
            return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)
        return _page(request, case, letter, form, status=400)
    record_view(request, case, letter, page="letter")  # the page shows the decrypted free text
    return _page(request, case, letter, _edit_form(case, letter))


def _edit_form(case: Case, letter: Letter) -> LetterEditForm:
    names = ("language", "mission", "delivery", "include_sogi", "facts", "why_route")
    initial = {name: getattr(letter, name) for name in (*names, "urgency")}
    initial |= {"annexes": list(letter.annexes.all()), "version": letter.version}
    return LetterEditForm(initial=initial, case=case)


def _page(
    request: HttpRequest, case: Case, letter: Letter, form: Any, status: int = 200, **extra: Any
) -> HttpResponse:
    user: Any = request.user
    coordinator = user.has_role(Role.COORDINATOR)
    context = {
        "case": case,
        "letter": letter,
        "form": form if letter.status == Letter.Status.DRAFT else None,
        "is_coordinator": coordinator,
        "refusal": services.issue_refusal(letter, user) if coordinator else None,
        **_check(letter),
        "revoke_form": extra.pop("revoke_form", RevokeForm()),
        "in_russia": case.applicant.current_country == "RU",
        "correction": Letter.objects.filter(supersedes=letter).first(),
        **extra,
    }
    return render(request, "letters/detail.html", context, status=status)


@case_roles
@case_child_route(_letters, "GET")
def letter_preview(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    """The letter as HTML, as it will be printed (without its code and QR until issued)."""
    record_view(request, case, letter, page="letter_preview")
    html = services.letter_html(letter)
    user: Any = request.user
    context = {
        "case": case,
        "letter": letter,
        "body": _sheet(html),
        "is_coordinator": user.has_role(Role.COORDINATOR),
        "refusal": services.issue_refusal(letter, user),
        **_check(letter),
    }
    return render(request, "letters/preview.html", context)


@require_http_methods(["GET"])
def letter_preview_css(request: HttpRequest) -> HttpResponse:
    """The letters' own stylesheet for the preview, scoped to the sheet of paper on the page:
    the same rules the PDF is printed with, not a copy that could drift from them."""
    return HttpResponse(scoped_letter_css(), content_type="text/css; charset=utf-8")


@functools.cache
def scoped_letter_css() -> str:
    css = (ASSETS_DIR / "letter.css").read_text(encoding="utf-8")
    # @page (A4, margins, the running footer and page numbers) has no meaning on a screen;
    # the root's font is the sheet's.
    css = re.sub(r"@page\s*\{(?:[^{}]|\{[^{}]*\})*\}", "", css)
    css = re.sub(r"(?m)^html\s*\{", ":scope {", css)
    return "@scope (.letter-paper) {\n" + css.strip() + "\n}\n"


def _check(letter: Letter) -> dict[str, Any]:
    """The pre-issue check of a draft, for the letter's page and its preview."""
    if letter.status != Letter.Status.DRAFT:
        return {"checked": False}
    found = checks.problems(letter)
    return {
        "checked": True,
        "blockers": checks.blockers(found),
        "warnings": checks.warnings(found),
    }


def _sheet(html: str) -> str:
    """The letter's body for our own page (heading, landmarks, a way back), its page footer
    moved to the end where a reader of one long sheet looks for it. It is the autoescaped
    rendering of our own template: free text in it is text, never markup."""
    body = html.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    start = body.find('<div class="footer">')
    if start >= 0:
        end = body.index("</div>", start) + len("</div>")
        body = body[:start] + body[end:] + body[start:end]
    return mark_safe(body)  # noqa: S308


@case_roles
@case_child_route(_letters, "POST")
@coordinators
@step_up_required
def letter_issue(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    accept = request.POST.get("accept_warnings") == "yes"
    try:
        services.letter_issue(
            actor=request.user, letter=letter, accept_warnings=accept, request=request
        )
    except services.LetterRefused as refused:
        messages.error(request, str(refused.message))
        return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)
    messages.success(request, _("The letter was issued, sealed and stored encrypted."))
    return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)


@sensitive_post_parameters()
@case_roles
@case_child_route(_letters, "POST")
@coordinators
@step_up_required
def letter_revoke(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.letter_revoke(
                actor=request.user,
                letter=letter,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except services.LetterRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("The letter was revoked; its verification page says so."))
            return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)
    return _page(request, case, letter, None, status=400, revoke_form=form)


@case_roles
@case_child_route(_letters, "POST")
@coordinators
def letter_correct(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    try:
        draft = services.letter_correct(actor=request.user, letter=letter, request=request)
    except services.LetterRefused as refused:
        messages.error(request, str(refused.message))
        return redirect("letter_detail", case_id=case.pk, letter_id=letter.pk)
    messages.success(
        request, _("A corrected draft was made; once issued, it supersedes the old letter.")
    )
    return redirect("letter_detail", case_id=case.pk, letter_id=draft.pk)


@case_roles
@case_child_route(_letters, "GET")
def letter_download(request: HttpRequest, case: Case, letter: Letter) -> HttpResponse:
    if not letter.pdf_storage_name:
        raise Http404
    content = services.letter_read(actor=request.user, letter=letter, request=request)
    return attachment(content, "application/pdf", f"letter-{letter.pk.hex[:8]}")


# --- public verification -------------------------------------------------------------------


@require_http_methods(["GET"])
def verify_form(request: HttpRequest) -> HttpResponse:
    """Type the code from a letter; the canonical URL is then /verify/<code>/."""
    form = CodeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = codes.canonical(form.cleaned_data["code"])
        if code is not None:
            return HttpResponseRedirect(reverse("letter_verify", args=[code]))
        for problem in code_problems(form.cleaned_data["code"]):
            form.add_error("code", problem)
    return render(request, "letters/verify_form.html", {"form": form})


def code_problems(typed: str) -> list[str]:
    """What is wrong with a typed code, word by word, so a typo is found at once."""
    problems = []
    count = len(codes.words(typed))
    if count != codes.WORDS:
        problems.append(
            ngettext(
                "You typed %(count)d word; a verification code has %(words)d.",
                "You typed %(count)d words; a verification code has %(words)d.",
                count,
            )
            % {"count": count, "words": codes.WORDS}
        )
    for unknown in codes.unknown_words(typed):
        if unknown.suggestion:
            message = _(
                "Word %(position)d, “%(word)s”, was not recognised: did you mean “%(suggestion)s”?"
            )
        else:
            message = _("Word %(position)d, “%(word)s”, was not recognised.")
        problems.append(
            message
            % {
                "position": unknown.position,
                "word": unknown.word,
                "suggestion": unknown.suggestion,
            }
        )
    return problems or [_("That is not a verification code: check the 13 words.")]


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def letter_verify(request: HttpRequest, code: str) -> HttpResponse:
    passport = None
    form = PassportCheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        passport = form.cleaned_data["passport"]
    try:
        result = services.letter_check(typed=code, request=request, passport=passport)
    except services.TooManyChecks:
        return render(request, "letters/verify_throttled.html", status=429)
    context: dict[str, Any] = {
        "letter": result.letter,
        "matches": result.passport_matches,
        "form": form,
    }
    if codes.canonical(code) is None:
        context["code_problems"] = code_problems(code)
    status = 200 if result.letter is not None else 404
    return render(request, "letters/verify.html", context, status=status)
