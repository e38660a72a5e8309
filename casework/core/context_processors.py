from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from casework.accounts.roles import Role


def environment(request: HttpRequest) -> dict[str, object]:
    """Whether this is a development instance (a banner), and whether to show admin links."""
    user = getattr(request, "user", None)
    is_org_admin = bool(
        user is not None
        and user.is_authenticated
        and user.groups.filter(name=Role.ORG_ADMIN.value).exists()
    )
    return {"casework_dev": not settings.PROD, "is_org_admin": is_org_admin}
