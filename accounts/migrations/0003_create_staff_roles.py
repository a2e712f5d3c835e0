"""Create the staff role groups; accounts.roles adds their permissions."""

from django.db import migrations

ROLES = ["marketing", "privacy officer"]


def create_roles(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLES:
        group_model.objects.using(schema_editor.connection.alias).get_or_create(
            name=name
        )


def remove_roles(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.using(schema_editor.connection.alias).filter(
        name__in=ROLES
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_policy_versions_and_erasure_records"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
