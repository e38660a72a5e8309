from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from casework.accounts.roles import Role


def environment(request: HttpRequest) -> dict[str, object]:
    """Whether this is a development instance (a banner), and whether to show admin links."""
    user = getattr(request, "user", None)
    roles: frozenset[str] = frozenset()
    if user is not None and user.is_authenticated:
        roles = user.role_names()  # read once per request, shared with every role check
    return {
        "casework_dev": not settings.PROD,
        "is_org_admin": Role.ORG_ADMIN.value in roles,
        "is_auditor": Role.AUDITOR.value in roles,
        "is_case_worker": bool({Role.CASEWORKER.value, Role.COORDINATOR.value} & roles),
        "is_coordinator": Role.COORDINATOR.value in roles,
        "sees_reference_data": bool({Role.COORDINATOR.value, Role.REFERENCE_EDITOR.value} & roles),
    }
