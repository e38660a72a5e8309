from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KeystoreConfig(AppConfig):
    name = "casework.keystore"
    label = "keystore"
    verbose_name = _("Key store")
