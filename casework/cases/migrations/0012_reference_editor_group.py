"""The reference data editors' group (issue 12, finding 7): routes and missions are edited by
this role, for the whole installation, no longer by each organisation's coordinators. The
name is fixed here, not imported, as migrations must be."""

from django.db import migrations

NAME = "reference_editor"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=NAME)


def remove_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_case_duplicate_review"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
