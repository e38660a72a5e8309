from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def environment(request: HttpRequest) -> dict[str, object]:
    """Tell templates whether this is a development instance (shown as a banner)."""
    return {"casework_dev": not settings.PROD}
