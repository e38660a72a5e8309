from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_role_groups(**kwargs: Any) -> None:
    """The four role groups always exist: made by migration 0002, and again after any
    flush (flush empties auth_group and then sends post_migrate)."""
    from django.contrib.auth.models import Group

    from casework.accounts.roles import Role

    for role in Role:
        Group.objects.using(kwargs.get("using", "default")).get_or_create(name=role.value)


class AccountsConfig(AppConfig):
    name = "casework.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from casework.accounts.middleware import mark_password_step

        post_migrate.connect(ensure_role_groups, sender=self)
        user_logged_in.connect(mark_password_step, dispatch_uid="casework-password-step")
