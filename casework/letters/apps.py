from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "casework.letters"
    label = "letters"
    verbose_name = _("Letters")
