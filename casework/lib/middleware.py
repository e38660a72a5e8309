"""Middleware: response headers Django does not set, and the per-request data-key cache."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template import loader
from django.utils.cache import add_never_cache_headers

from casework.audit.models import AuditUnavailable
from casework.lib.datakeys import OrganisationKeyMissing, dek_cache
from casework.lib.static_headers import PERMISSIONS_POLICY
from crypto import DecryptionError, KeyStoreError

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponseBase]


class SecurityHeadersMiddleware:
    """Add Cross-Origin-Resource-Policy and Permissions-Policy, and forbid caching of every
    dynamic response.

    Static files are answered by WhiteNoise before this runs, so they stay cacheable;
    every page rendered by the application may hold case data and is ``no-store``.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        add_never_cache_headers(response)
        return response


class DataKeyCacheMiddleware:
    """Unwrap each data subject's key at most once per request, and forget it afterwards.

    A key store that cannot be read answers 503, a record that cannot be decrypted 500:
    never a page with ciphertext, an empty value or another record's value. An audit log
    that cannot be written answers 503 too: nothing happens unlogged.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with dek_cache():
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AuditUnavailable):
            # Fail closed (R44): the action's transaction was rolled back with the entry.
            logger.error("audit log unavailable: %s", exception)
            return _error_page("errors/audit_unavailable.html", 503)
        if isinstance(exception, KeyStoreError):
            logger.error("key store unavailable: %s", exception)
            return _error_page("errors/keys_unavailable.html", 503)
        if isinstance(exception, OrganisationKeyMissing):
            # A member waiting for a coordinator to grant the organisation key (issue 16).
            return render(request, "errors/waiting_for_access.html", status=403)
        if isinstance(exception, DecryptionError):
            # The field-level log line (which record, which field) was written where it failed;
            # auditors get an alert entry (R47), written now that the view's work is undone.
            from casework.audit.alerts import AlertKind, raise_alert

            notes = getattr(exception, "__notes__", [])
            user = getattr(request, "user", None)
            raise_alert(
                AlertKind.DECRYPTION_FAILED,
                actor=user if user is not None and user.is_authenticated else None,
                organisation_id=getattr(exception, "organisation_id", None),
                request=request,
                field=notes[0] if notes else "",
                record=getattr(exception, "record_id", ""),
            )
            return _error_page("errors/decryption_failed.html", 500)
        return None


def _error_page(template: str, status: int) -> HttpResponse:
    return HttpResponse(loader.get_template(template).render(), status=status)
