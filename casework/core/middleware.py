"""A database that cannot be reached is a 503 page that says so, never the generic 500.

PostgreSQL restarting, failing over or refusing connections is temporary: the person is told
to try again shortly, and nothing about the failure reaches the page. The application comes
back by itself: a connection cut while idle is noticed by Django's health check
(``CONN_HEALTH_CHECKS``) at the next request's first query, and replaced.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import loader
from django.utils import translation
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponseBase]

RETRY_AFTER_SECONDS = 30
# Set on the request whose handling met an unreachable database.
_MARK = "_casework_database_unavailable"
# The replaced answer's headers are kept (whatever the middleware between here and the
# failure added: language, Vary, security headers), except those of its content.
_CONTENT_HEADERS = frozenset({"content-type", "content-length"})


def _note_database_failure(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Connected to ``got_request_exception``, sent while Django handles the exception."""
    problem = sys.exc_info()[1]
    if request is not None and isinstance(problem, OperationalError | InterfaceError):
        setattr(request, _MARK, True)


got_request_exception.connect(_note_database_failure, dispatch_uid="casework-database-unavailable")


class DatabaseUnavailableMiddleware:
    """Answer 503 with ``errors/503.html`` and ``Retry-After`` when the database failed.

    Django turns an exception raised below this middleware (by a middleware reading the
    session, or by the view) into the 500 page before this one sees the answer, so the
    failure is noted on the request when it is raised (``got_request_exception``) and the
    500 is replaced here. It sits above every middleware that may query the database.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not getattr(request, _MARK, False):
            return response
        logger.error("database unavailable: answered 503")
        return unavailable(request, response)


def unavailable(request: HttpRequest, replaced: HttpResponseBase) -> HttpResponse:
    # Rendered without the request, like the 500 page: no context processor may touch the
    # database or the session. The language is the browser's (cookie, Accept-Language):
    # the failure may have come before LocaleMiddleware chose one.
    with translation.override(translation.get_language_from_request(request)):
        page = HttpResponse(loader.get_template("errors/503.html").render(), status=503)
    for name, value in replaced.headers.items():
        if name.lower() not in _CONTENT_HEADERS:
            page.headers.setdefault(name, value)
    # The middleware that adds no-store to every page may not have run (the failure came
    # before it): the page still must not be kept by a browser or a proxy.
    add_never_cache_headers(page)
    page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return page
