"""Response headers for static files.

WhiteNoise answers a static file before any of our middleware runs, so the hardening every
page gets (R50) is added here too, through WHITENOISE_ADD_HEADERS_FUNCTION. No Django
import: settings.py imports this module.
"""

from __future__ import annotations

from typing import Any

# Browser features no page of ours uses; denied to our pages and to anything they embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

# A stylesheet or an image runs nothing, fetches nothing and is never framed.
STATIC_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def add_static_headers(headers: Any, path: str, url: str) -> None:
    headers["Content-Security-Policy"] = STATIC_CSP
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
