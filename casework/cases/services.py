"""Write paths for applicants. Each runs in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from casework.audit.models import Action
from casework.audit.services import record
from casework.cases.models import Applicant
from casework.lib import datakeys
from casework.lib.fields import encrypted_fields


class ApplicantNotFound(Exception):
    pass


@transaction.atomic
def applicant_erase(*, applicant_id: uuid.UUID, actor: Any = None) -> bool:
    """Crypto-shred one applicant: destroy the data key, clear ciphertexts and blind
    indexes, keep a PII-free tombstone (id, organisation, erased_at).

    Every field, document and letter encrypted under that key becomes unreadable at once,
    including copies in backups once their wrapped key can no longer be unwrapped (SECURITY.md).
    Returns False when the applicant was already erased.
    """
    applicant = Applicant.objects.select_for_update().filter(pk=applicant_id).first()
    if applicant is None:
        raise ApplicantNotFound(str(applicant_id))
    destroyed = datakeys.destroy_data_key(applicant.pk)
    cleared: dict[str, None] = {}
    for field in encrypted_fields(Applicant):
        cleared[field.attname] = None
        if field.blind_index:
            cleared[field.index_field_name] = None
    Applicant.objects.filter(pk=applicant.pk).update(
        **cleared, birth_year=None, erased_at=applicant.erased_at or timezone.now()
    )
    record(
        Action.ERASURE,
        actor=actor,
        organisation_id=applicant.organisation_id,
        target=applicant,
        key_destroyed=destroyed,
    )
    return destroyed or applicant.erased_at is None
