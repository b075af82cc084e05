from django.db import migrations

from projects.roles import roles_sync


def sync_roles(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    """Editors and reviewers import datasets (projects.add/view_datasetimport)."""

    dependencies = [("projects", "0010_datasets")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
