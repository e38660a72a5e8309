"""System checks for encrypted fields (run by `manage.py check` and at start-up)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks

from casework.lib.fields import encrypted_fields


@checks.register(checks.Tags.models)
def check_blind_index_keyspace(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A blind index over a value with few possibilities (a choice, a flag) is a lookup table:
    whoever reads the index column learns the value (SECURITY-REQUIREMENTS R37)."""
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models():
        for field in encrypted_fields(model):
            if field.blind_index and field.choices:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} has choices and a blind index: the "
                        "index would reveal the value.",
                        hint="Drop the blind index, or index a compound of high-entropy fields.",
                        obj=field,
                        id="casework.E001",
                    )
                )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def check_no_active_superuser(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """R25: no god-mode account in production. Superusers pass every permission check in
    Django; this application needs none (there is no Django admin)."""
    from django.conf import settings
    from django.db import DatabaseError

    if not settings.PROD:
        return []
    from casework.accounts.models import User

    try:
        exists = User.objects.filter(is_superuser=True, is_active=True).exists()
    except DatabaseError:  # no tables yet (before migrate): nothing to check
        return []
    if exists:
        return [
            checks.Error(
                "An active superuser exists. Superusers bypass every permission check.",
                hint="Deactivate it or remove its superuser flag.",
                id="casework.E002",
            )
        ]
    return []


MINIMUM_WEASYPRINT = (69, 0)


@checks.register(checks.Tags.security)
def check_weasyprint_version(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """R53: WeasyPrint older than 69 follows redirects around the URL fetcher
    (CVE-2025-68616, fixed in 68.0) and takes CSS from presentational hints (CVE-2026-49452,
    fixed in 69.0). The letters must not be rendered by such a version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("weasyprint")
    except PackageNotFoundError:
        installed = "0"
    if weasyprint_too_old(installed):
        return [
            checks.Error(
                f"WeasyPrint {installed} is installed; letters need 69.0 or newer.",
                hint="Install the locked requirements (requirements/base.txt).",
                id="casework.E003",
            )
        ]
    return []


def weasyprint_too_old(installed: str) -> bool:
    parts = []
    for piece in installed.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (2 - len(parts))) < MINIMUM_WEASYPRINT
