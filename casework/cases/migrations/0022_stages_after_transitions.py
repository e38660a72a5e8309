"""The stored stage of every case again from its status: until now a status change through
the workflow (services.case_transition, which writes with update()) left the stage at the
one the case was opened with, so the list sorted by status and the dashboard counted by
stage as if those cases had never moved. The stage-count triggers follow each correction.
"""

from __future__ import annotations

from django.db import migrations

# As they were when this migration was written (cases.models.STAGES).
STATUSES = [
    "new_request", "screening", "verification", "route_planning", "documents",
    "letter_drafting", "letter_review", "submitted", "pre_approved", "appointment_booked",
    "lodged", "decision_pending", "visa_issued", "refused", "appeal", "travel_planning",
    "in_transit", "arrived", "post_arrival", "closed",
]  # fmt: skip


def forwards(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    for stage, status in enumerate(STATUSES):
        Case.objects.filter(status=status).exclude(stage=stage).update(stage=stage)


class Migration(migrations.Migration):
    dependencies = [("cases", "0021_stage_counts")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
