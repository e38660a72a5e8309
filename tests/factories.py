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
