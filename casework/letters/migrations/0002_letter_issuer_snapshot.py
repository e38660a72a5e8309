"""Issued letters keep the issuing organisation's name as printed (issue 12, finding 6).

Letters issued before this migration get the organisation's letterhead name as it is now:
the best that is known; letters issued from now on keep what they printed."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def snapshot_issued(apps: Any, schema_editor: Any) -> None:
    Letter = apps.get_model("letters", "Letter")
    Organisation = apps.get_model("accounts", "Organisation")
    for organisation in Organisation.objects.all():
        Letter.objects.filter(organisation=organisation, issuer_name="").exclude(
            status="draft"
        ).update(issuer_name=(organisation.legal_name or organisation.name)[:200])


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="issuer_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(snapshot_issued, migrations.RunPython.noop),
    ]
