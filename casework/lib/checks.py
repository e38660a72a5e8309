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
