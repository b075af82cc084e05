"""The editors' roles: the permissions of the groups Editor and Reviewer, defined once here and
kept exactly so by `roles_sync` (from migrations and from `create_editor`)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

EDITOR = "Editor"
REVIEWER = "Reviewer"

# What an editor writes: entries, the links between them, sources, citations and proposals.
EDITED_MODELS = (
    "project",
    "projectcountry",
    "projectcompany",
    "projectinitiative",
    "company",
    "country",
    "projecttype",
    "initiative",
    "sourcedocument",
    "citation",
    "proposal",
)

# Countries, project types and initiatives are reference data: load_reference_data owns them
# and every project points at them through PROTECT, so deleting one is a data-model change for a
# superuser, not a reviewer's correction. Reviewers delete everything else an editor writes.
DELETED_MODELS = tuple(
    model for model in EDITED_MODELS if model not in {"country", "projecttype", "initiative"}
)


def _permissions(actions: tuple[str, ...], models: tuple[str, ...]) -> frozenset[str]:
    return frozenset(f"projects.{action}_{model}" for action in actions for model in models)


# The parts of a project an editor corrects in its form: removing a wrong country, organisation,
# initiative or citation row is editing the project, not deleting an entry.
PROJECT_PARTS = ("projectcountry", "projectcompany", "projectinitiative", "citation")

EDITOR_PERMISSIONS = (
    _permissions(("add", "change", "view"), EDITED_MODELS)
    | _permissions(("delete",), PROJECT_PARTS)
    | {
        # Mentions are written by the import pipeline; editors read them.
        "projects.view_mention",
        # The history pages: pghistory.admin registers the pghistory.Events model.
        "pghistory.view_events",
        # Importing datasets (the projects they write take add/change_project as well).
        "projects.add_datasetimport",
        "projects.view_datasetimport",
    }
)

REVIEWER_PERMISSIONS = (
    EDITOR_PERMISSIONS | {"projects.publish_project"} | _permissions(("delete",), DELETED_MODELS)
)

ROLES = {EDITOR: EDITOR_PERMISSIONS, REVIEWER: REVIEWER_PERMISSIONS}


def roles_sync(apps=None) -> dict[str, dict]:
    """Create the groups and give each exactly its permissions, adding missing ones and removing
    any other. `apps` is a migration's historical registry; by default, the installed models.

    A change to the definitions above takes effect through a new migration calling this.
    Returns, per group, {"created": bool, "added": [labels], "removed": [labels]}."""
    apps = apps or global_apps
    group_model = apps.get_model("auth", "Group")
    available = _permissions_available(apps)
    changes = {}
    for name, wanted in ROLES.items():
        group, created = group_model.objects.get_or_create(name=name)
        held = {
            f"{p.content_type.app_label}.{p.codename}": p
            for p in group.permissions.select_related("content_type")
        }
        added = sorted(label for label in wanted - held.keys() if label in available)
        removed = sorted(held.keys() - wanted)
        group.permissions.add(*(available[label] for label in added))
        group.permissions.remove(*(held[label] for label in removed))
        changes[name] = {"created": created, "added": added, "removed": removed}
    return changes


def _permissions_available(apps) -> dict:
    """The roles' permissions by label, created first if need be: Django creates permissions
    after migrating (post_migrate), so on a fresh database they don't exist yet."""
    wanted = EDITOR_PERMISSIONS | REVIEWER_PERMISSIONS
    app_labels = {label.split(".", 1)[0] for label in wanted}
    for app_label in sorted(app_labels):
        create_permissions(global_apps.get_app_config(app_label), verbosity=0, apps=apps)
    permission_model = apps.get_model("auth", "Permission")
    available = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in permission_model.objects.filter(
            content_type__app_label__in=app_labels,
            codename__in={label.split(".", 1)[1] for label in wanted},
        ).select_related("content_type")
    }
    missing = sorted(wanted - available.keys())
    # A historical registry may predate a model named above; the later migration that adds the
    # model syncs the roles again. With the installed models, a missing permission is a typo.
    if missing and apps is global_apps:
        raise LookupError(f"Unknown permissions in projects.roles: {', '.join(missing)}")
    return available
