from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_chain_head(**kwargs: Any) -> None:
    """The chain-head row always exists: made by migration 0002, and again after a flush."""
    from casework.audit.models import ChainHead

    ChainHead.objects.using(kwargs.get("using", "default")).get_or_create(
        pk=1, defaults={"seq": 0, "hash": "0" * 64}
    )


class AuditConfig(AppConfig):
    name = "casework.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        post_migrate.connect(ensure_chain_head, sender=self)
