"""Words that more than one app prints and that no app should import from another.

The highly sensitive fields are masked on the case page, replaced or cleared in the edit
form, and named in the audit log when someone reveals one (``field_revealed`` entries store
``<owner>.<name>``, e.g. ``applicant.health_notes``). The auditors' pages print the label,
never the stored name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# name -> (the model that holds it, its label). Same shape as CaseEditForm.MASKED.
MASKED_FIELDS: dict[str, tuple[str, _StrPromise]] = {
    "narrative": ("case", _("Narrative and incident timeline")),
    "safety_plan": ("case", _("Safety plan")),
    "gender_identity": ("applicant", _("Gender identity")),
    "sexual_orientation": ("applicant", _("Sexual orientation")),
    "health_notes": ("applicant", _("Health notes")),
}


def masked_field_label(stored: str) -> _StrPromise | None:
    """The label of a masked field as a reveal stores it (``case.narrative``), or None."""
    owner, _dot, name = stored.partition(".")
    known = MASKED_FIELDS.get(name)
    if known is None or known[0] != owner:
        return None
    return known[1]
