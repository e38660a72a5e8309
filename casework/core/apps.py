from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "casework.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from casework.lib import checks  # noqa: F401  (registers the system checks)
        from casework.lib.planner import refresh_statistics

        # Sent for apps with models only (core has none): once per migrate, by the cases app.
        post_migrate.connect(
            refresh_statistics,
            sender=apps.get_app_config("cases"),
            dispatch_uid="planner-statistics",
        )
