"""The four roles. Each is a Django group; the names are relied on by operators' scripts."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"
    ORG_ADMIN = "org_admin"
    REFERENCE_EDITOR = "reference_editor"  # routes and missions, for the whole installation

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.CASEWORKER: _("Caseworker"),
    Role.COORDINATOR: _("Coordinator"),
    Role.AUDITOR: _("Auditor"),
    Role.ORG_ADMIN: _("Organisation administrator"),
    Role.REFERENCE_EDITOR: _("Reference data editor"),
}

# Roles that read case content. Granting one takes two people: the org admin asks, a
# coordinator of the organisation confirms (an org admin never gives themselves content).
CONTENT_ROLES = frozenset({Role.COORDINATOR, Role.CASEWORKER})
