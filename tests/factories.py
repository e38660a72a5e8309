"""Plain factory functions (no factory library), in the style of djangoproject.com."""

from __future__ import annotations

import datetime

from casework.accounts.models import Organisation
from casework.cases.models import Applicant


def make_applicant(organisation: Organisation, **kwargs) -> Applicant:
    kwargs.setdefault("legal_name_latin", "IVAN PETROV")
    kwargs.setdefault("legal_name_cyrillic", "Иван Петров")
    kwargs.setdefault("date_of_birth", datetime.date(1994, 3, 14))
    kwargs.setdefault("international_passport_no", "75 1234567")
    applicant = Applicant(organisation=organisation, **kwargs)
    applicant.save()
    return applicant


def make_case(*, caseworker, **applicant_fields):
    """A case opened by ``caseworker`` (who is then assigned to it), through the service."""
    from casework.cases.services import case_create

    applicant_fields.setdefault("legal_name_latin", "IVAN PETROV")
    applicant_fields.setdefault("legal_name_cyrillic", "Иван Петров")
    return case_create(actor=caseworker, applicant_fields=applicant_fields)
