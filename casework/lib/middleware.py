"""Response headers that Django's own middleware does not set."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    """Add Cross-Origin-Resource-Policy and forbid caching of every dynamic response.

    Static files are answered by WhiteNoise before this runs, so they stay cacheable;
    every page rendered by the application may hold case data and is ``no-store``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        add_never_cache_headers(response)
        return response
