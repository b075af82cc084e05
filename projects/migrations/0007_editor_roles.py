from django.db import migrations

from projects.roles import ROLES, roles_sync


def sync_roles(apps, schema_editor):
    roles_sync(apps)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("pghistory", "0007_auto_20250421_0444"),
        ("projects", "0006_project_aliases"),
    ]

    operations = [
        migrations.RunPython(sync_roles, delete_roles),
    ]
