"""The Editor and Reviewer groups hold exactly the permissions of projects.roles, and
create_editor adds people to them."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from projects.roles import EDITOR, EDITOR_PERMISSIONS, REVIEWER, REVIEWER_PERMISSIONS, roles_sync

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "quiet-harbour-lantern-42"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def group_permissions(name: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=name).permissions.select_related("content_type")
    }


def create_editor(*args, **options):
    out = io.StringIO()
    call_command("create_editor", *args, stdout=out, stdin=io.StringIO(), **options)
    return out.getvalue()


def user_with_groups(*names):
    user = get_user_model().objects.create_user("someone", password="x", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=names))
    return get_user_model().objects.get(pk=user.pk)


def test_the_migrations_create_both_groups_with_exactly_their_permissions():
    assert group_permissions(EDITOR) == EDITOR_PERMISSIONS
    assert group_permissions(REVIEWER) == REVIEWER_PERMISSIONS


def test_editors_may_neither_publish_nor_delete_entries_and_reviewers_may_do_both():
    # Editors remove a wrong row from a project's form (a country, a citation); they delete
    # no entry.
    parts = {"projectcountry", "projectcompany", "projectinitiative", "citation"}
    deletes = {label.split("delete_")[1] for label in EDITOR_PERMISSIONS if "delete_" in label}
    assert deletes == parts
    assert not any("publish" in label for label in EDITOR_PERMISSIONS)
    assert {"projects.publish_project", "projects.delete_project"} <= REVIEWER_PERMISSIONS
    assert EDITOR_PERMISSIONS < REVIEWER_PERMISSIONS


def test_roles_sync_is_idempotent_and_removes_a_permission_added_by_hand():
    editor = Group.objects.get(name=EDITOR)
    editor.permissions.add(Permission.objects.get(codename="delete_project"))

    first = roles_sync()
    second = roles_sync()

    assert first[EDITOR] == {"created": False, "added": [], "removed": ["projects.delete_project"]}
    assert second == {
        name: {"created": False, "added": [], "removed": []} for name in (EDITOR, REVIEWER)
    }
    assert group_permissions(EDITOR) == EDITOR_PERMISSIONS


def test_roles_sync_recreates_a_deleted_group():
    Group.objects.filter(name=REVIEWER).delete()

    changes = roles_sync()

    assert changes[REVIEWER]["created"]
    assert group_permissions(REVIEWER) == REVIEWER_PERMISSIONS


def test_an_editor_adds_and_changes_projects_but_neither_deletes_nor_publishes():
    user = user_with_groups(EDITOR)
    assert user.has_perms(["projects.add_project", "projects.change_project"])
    assert user.has_perm("pghistory.view_events")
    assert not user.has_perm("projects.delete_project")
    assert not user.has_perm("projects.publish_project")


def test_a_reviewer_publishes_and_deletes():
    user = user_with_groups(EDITOR, REVIEWER)
    assert user.has_perms(["projects.publish_project", "projects.delete_project"])


def test_create_editor_creates_a_staff_user_in_editor():
    output = create_editor("ana", "--email", "Ana@Example.ORG", "--no-password")

    user = get_user_model().objects.get(username="ana")
    assert user.is_staff and not user.is_superuser
    assert user.email == "Ana@example.org"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [EDITOR]
    assert output == "Created staff user 'ana' in Editor; no password yet.\n"


def test_create_editor_with_reviewer_puts_the_user_in_both_groups():
    create_editor("ana", "--reviewer", "--no-password")

    user = get_user_model().objects.get(username="ana")
    assert set(user.groups.values_list("name", flat=True)) == {EDITOR, REVIEWER}


def test_create_editor_updates_an_existing_user_without_duplicating_it():
    get_user_model().objects.create_user("ana", password=STRONG_PASSWORD)

    output = create_editor("ana", "--reviewer", "--no-password")

    user = get_user_model().objects.get(username="ana")
    assert user.is_staff
    assert user.check_password(STRONG_PASSWORD)
    assert set(user.groups.values_list("name", flat=True)) == {EDITOR, REVIEWER}
    assert output == "Updated staff user 'ana' in Editor, Reviewer; password unchanged.\n"


def test_create_editor_sets_a_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("EDITOR_PASSWORD", STRONG_PASSWORD)

    create_editor("ana", "--password-from-env", "EDITOR_PASSWORD")

    assert authenticate(username="ana", password=STRONG_PASSWORD) is not None


def test_create_editor_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("EDITOR_PASSWORD", "12345678")

    with pytest.raises(CommandError, match="This password is too common"):
        create_editor("ana", "--password-from-env", "EDITOR_PASSWORD")
    assert not get_user_model().objects.filter(username="ana").exists()


def test_create_editor_refuses_an_unset_environment_variable(monkeypatch):
    monkeypatch.delenv("EDITOR_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="EDITOR_PASSWORD is not set"):
        create_editor("ana", "--password-from-env", "EDITOR_PASSWORD")


def test_create_editor_without_a_terminal_or_password_option_refuses():
    with pytest.raises(CommandError, match="No terminal"):
        create_editor("ana")
    assert not get_user_model().objects.filter(username="ana").exists()


def test_create_editor_asks_twice_on_a_terminal(monkeypatch):
    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    call_command("create_editor", "ana", stdout=io.StringIO(), stdin=Terminal())

    assert authenticate(username="ana", password=STRONG_PASSWORD) is not None


def test_create_editor_refuses_passwords_that_differ(monkeypatch):
    answers = iter([STRONG_PASSWORD, "something-else-entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    with pytest.raises(CommandError, match="do not match"):
        call_command("create_editor", "ana", stdout=io.StringIO(), stdin=Terminal())


def test_the_models_need_no_new_migration():
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())
