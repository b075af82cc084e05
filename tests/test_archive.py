"""export_all and import_all: a backup restored into a freshly migrated database is the same
knowledge base, row for row and file for file.

One archive is written (in this process, from the test database with some things added that
are easy to lose) and restored once into a second database on the same server, created and
migrated for the module and dropped after it; the refusals and --flush run in this process
against the test database, inside each test's rolled-back transaction."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pghistory
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from projects.models import Company, Country, Project, ProjectType, Proposal, SourceDocument
from projects.roles import EDITOR
from projects.services.documents import citation_upsert
from projects.services.imports import document_import, document_process
from projects.services.proposals import proposal_reject
from tests.conftest import load_reference_and_demo_data
from tests.support import (
    child_environment,
    database_url,
    manage_py,
    server_connection,
    server_execute,
    succeeded,
)

# Every test, the subprocess ones too: pytest-django creates the test database only when a
# selected test is marked, and the module's fixtures must never read the development database.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PROJECT_MEMBER = "data/projects.project.jsonl"
TEXT = (
    "Digital links in Asia\n\n"
    "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan. "
    "The plan was announced in Beijing by the Chinese government. "
    "Huawei signed a contract for a data centre in Kenya.\n\n"
    "China Mobile is also building fiber-optic links to Kyrgyzstan, Nepal and Myanmar, "
    "officials said. Kenya and Nepal are far apart.\n"
)


@dataclass
class Source:
    archive: Path
    manifest: dict
    rows: dict[str, list[dict]]  # per archived model label, every row as the database has it
    files: dict[str, bytes]
    export_seconds: float


@dataclass
class Restored:
    name: str
    env: dict[str, str]  # for manage.py against it
    media: Path
    summary: dict
    import_seconds: float


# Reading whole tables, the same way in both databases -----------------------------------


def table_rows(cursor, model: type[models.Model], permissions: dict[int, str]) -> list[dict]:
    """Every row of the model's table, generated columns included, ordered by primary key;
    permission ids as natural keys, since each database numbers its permissions itself."""
    table, pk = model._meta.db_table, model._meta.pk.column
    cursor.execute(f'SELECT to_jsonb(t)::text FROM "{table}" t ORDER BY "{pk}"')
    rows = [json.loads(text, parse_float=Decimal) for (text,) in cursor.fetchall()]
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is Permission:
            for row in rows:
                row[f.column] = permissions[row[f.column]]
    return rows


def permission_names(cursor) -> dict[int, str]:
    cursor.execute(
        "SELECT p.id, ct.app_label || '.' || p.codename FROM auth_permission p "
        "JOIN django_content_type ct ON ct.id = p.content_type_id"
    )
    return dict(cursor.fetchall())


def all_rows(cursor, labels) -> dict[str, list[dict]]:
    permissions = permission_names(cursor)
    return {label: table_rows(cursor, apps.get_model(label), permissions) for label in labels}


def stored_files() -> dict[str, bytes]:
    names = SourceDocument.objects.exclude(file="").values_list("file", flat=True)
    return {name: default_storage.open(name, "rb").read() for name in names}


# The source: the test database, with what is easy to lose -------------------------------


def add_things_easy_to_lose() -> None:
    """A user in the Editor group with a permission of their own, a document with a stored
    file and what processing derives from it (mentions, proposals with their many-to-many
    rows), a citation, a decided proposal, an edited project (a history event in a context),
    and companies whose parents come after them in primary-key order."""
    user = get_user_model().objects.create_user(
        "archivist", email="archivist@example.org", password="an archived hash"
    )
    user.groups.add(Group.objects.get(name=EDITOR))
    user.user_permissions.add(Permission.objects.get(codename="publish_project"))
    get_user_model().objects.filter(pk=user.pk).update(last_login="2024-05-06T07:08:09.123456Z")

    document = document_import(
        data=TEXT.encode(), filename="links.txt", user=user, enqueue=False
    ).document
    document_process(document.pk)
    project = Project.objects.order_by("pk").first()
    citation_upsert(project=project, document=document, claim="general", quote="China Mobile")
    proposal = Proposal.objects.filter(document=document).order_by("pk").first()
    proposal_reject(proposal=proposal, user=user, reason="Already known.")

    with pghistory.context(service="archive-test", user=user.pk):
        project.description += " Edited for the archive test."
        project.value_amount, project.value_currency = Decimal("123456789012345678.91"), "CNY"
        project.geometry = {"type": "Point", "coordinates": [73.05, 33.600000000000001]}
        project.external_ids = {"note": "ü 中文 \u2028", "nested": [1.5, None, True]}
        project.save()
        parent = Company.objects.create(name="Archive Holding", slug="archive-holding")
        Company.objects.create(name="Archive Child", slug="archive-child", parent=parent)
        first = Company.objects.order_by("pk").first()
        first.parent = parent  # a parent inserted after its child
        first.save()


@pytest.fixture(scope="module")
def source(django_db_setup, django_db_blocker, tmp_path_factory) -> Source:
    """Export once; the additions are rolled back afterwards, their rows kept in `rows`."""
    base = tmp_path_factory.mktemp("archive")
    archive = base / "kb.tar.gz"
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(base / "source-media")),
        transaction.atomic(),
    ):
        if not Country.objects.exists():
            load_reference_and_demo_data()
        add_things_easy_to_lose()
        out = io.StringIO()
        started = time.monotonic()
        call_command("export_all", str(archive), "--json", stdout=out)
        seconds = time.monotonic() - started
        manifest = json.loads(out.getvalue())
        with connection.cursor() as cursor:
            rows = all_rows(cursor, manifest["models"])
        files = stored_files()
        transaction.set_rollback(True)
    return Source(archive, manifest, rows, files, seconds)


# The restored database --------------------------------------------------------------------


@pytest.fixture(scope="module")
def restored(source, tmp_path_factory) -> Iterator[Restored]:
    """A database created on the same server, migrated and restored by the real commands."""
    name = f"{connection.settings_dict['NAME']}_restored"
    media = tmp_path_factory.mktemp("restored") / "media"
    env = child_environment(
        DATABASE_URL=f"{database_url().rsplit('/', 1)[0]}/{name}",
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.test",
        MEDIA_ROOT=str(media),
    )
    server_execute(f'DROP DATABASE IF EXISTS "{name}"')  # left by an interrupted run
    server_execute(f'CREATE DATABASE "{name}"')
    try:
        succeeded(manage_py(env, "migrate", "--noinput"))
        started = time.monotonic()
        summary = json.loads(succeeded(manage_py(env, "import_all", str(source.archive), "--json")))
        yield Restored(name, env, media, summary, time.monotonic() - started)
    finally:
        server_execute(f'DROP DATABASE IF EXISTS "{name}"')


def restored_rows(restored: Restored, labels) -> dict[str, list[dict]]:
    target = server_connection(restored.name)
    try:
        with target.cursor() as cursor:
            return all_rows(cursor, labels)
    finally:
        target.close()


# The archive --------------------------------------------------------------------------------


def concrete_models(app_label: str) -> set[str]:
    return {
        m._meta.label
        for m in apps.get_app_config(app_label).get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }


def test_the_manifest_comes_first_and_describes_version_1(source):
    manifest = source.manifest
    with tarfile.open(source.archive, "r:gz") as tar:
        names = tar.getnames()
        assert json.load(tar.extractfile("manifest.json")) == manifest
    assert names[0] == "manifest.json"
    assert set(names[1:]) == set(manifest["sha256"])
    assert (manifest["format"], manifest["version"]) == ("dsr-kb-archive", 1)
    assert manifest["created"].endswith("+00:00")
    applied = MigrationRecorder(connection).applied_migrations()
    assert set(manifest["migrations"]["projects"]) == {n for a, n in applied if a == "projects"}
    assert manifest["models"] == {label: len(rows) for label, rows in source.rows.items()}
    assert manifest["files"] == len(source.files) == 1
    assert manifest["missing_files"] == []
    [stored] = source.files
    assert f"files/{stored}" in manifest["sha256"]


def test_every_model_of_the_app_and_the_accounts_are_archived_and_nothing_else(source):
    archived = set(source.manifest["models"])
    assert concrete_models("projects") <= archived  # events, search, auto-created M2M included
    accounts = {"auth.User", "auth.Group", "auth.User_groups", "auth.User_user_permissions"}
    assert accounts | {"auth.Group_permissions", "pghistory.Context"} <= archived
    assert archived - concrete_models("projects") == accounts | {
        "auth.Group_permissions",
        "pghistory.Context",
    }
    for easy_to_lose in (
        "projects.ProjectEvent",
        "projects.ProposalEvent",
        "projects.Proposal_countries",
        "projects.Mention",
        "projects.Citation",
        "projects.ProjectSearch",
        "auth.User_groups",
        "auth.User_user_permissions",
    ):
        assert source.rows[easy_to_lose], f"the test adds rows to {easy_to_lose}"


def test_values_are_written_exactly(source):
    with tarfile.open(source.archive, "r:gz") as tar:
        # Lines end at b"\n" only (str.splitlines would also cut at the U+2028 in a value).
        projects = tar.extractfile(PROJECT_MEMBER).read().split(b"\n")
        document_line = tar.extractfile("data/projects.sourcedocument.jsonl").readline()
        permission = json.loads(tar.extractfile("data/auth.user_user_permissions.jsonl").read())
    edited = next(json.loads(line) for line in projects if b"archive test" in line)
    assert edited["value_amount"] == "123456789012345678.91"  # a string, not a rounded float
    assert isinstance(edited["project_type_id"], int)  # a foreign key by its raw id
    assert edited["updated"].endswith("+00:00") and "." in edited["updated"]  # microseconds
    assert edited["external_ids"] == {"note": "ü 中文 \u2028", "nested": [1.5, None, True]}
    assert permission["permission"] == "projects.publish_project"  # by natural key
    # A generated column is left out: the database computes it again.
    assert "search_vector" not in json.loads(document_line)


# The restore --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_restored_database_holds_every_row_as_it_was(source, restored):
    rows = restored_rows(restored, source.rows)
    for label, expected in source.rows.items():
        assert rows[label] == expected, f"{label} differs after the restore"
    assert restored.summary["models"] == source.manifest["models"]
    # The migrations' groups were replaced by the archive's, not added to.
    assert restored.summary["replaced_groups"] == ["Editor", "Reviewer"]
    assert restored.summary["roles_synced"] == {}


@pytest.mark.slow
def test_the_stored_files_are_written_back(source, restored):
    for name, data in source.files.items():
        assert (restored.media / name).read_bytes() == data
    assert restored.summary["files"] == 1


@pytest.mark.slow
def test_sequences_are_reset_and_triggers_are_on_again(source, restored):
    """A new project, role and user get fresh ids, and the history and search triggers record
    them (written in a transaction that is rolled back, so the other tests see the restore)."""
    script = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from projects.models import Country, Project, ProjectCountry, ProjectType
with transaction.atomic():
    project = Project.objects.create(
        name="After the restore", slug="after-the-restore",
        project_type=ProjectType.objects.first())
    role = ProjectCountry.objects.create(project=project, country=Country.objects.first())
    user = get_user_model().objects.create_user("after-the-restore")
    print(json.dumps({
        "project": project.pk, "role": role.pk, "user": user.pk,
        "events": project.events.count(),
        "search": Project.objects.filter(pk=project.pk, search__isnull=False).exists(),
    }))
    transaction.set_rollback(True)
"""
    created = json.loads(succeeded(manage_py(restored.env, "shell", "-c", script)).splitlines()[-1])

    def highest(label: str) -> int:
        return max(row["id"] for row in source.rows[label])

    assert created["project"] > highest("projects.Project")
    assert created["role"] > highest("projects.ProjectCountry")
    assert created["user"] > highest("auth.User")
    assert created["events"] == 1
    assert created["search"] is True


# Refusals and --flush, against the test database ------------------------------------------


def rewritten(archive: Path, target: Path, changes: dict, *, checksums: bool) -> Path:
    """A copy of the archive with members changed (`changes`: member name → function of its
    bytes, manifest.json included, as a dict); with `checksums`, the manifest's checksums are
    made to match, as an archive written so would have them."""
    with tarfile.open(archive, "r:gz") as original:
        members = {info.name: original.extractfile(info).read() for info in original}
    manifest = json.loads(members.pop("manifest.json"))
    for name, change in changes.items():
        if name == "manifest.json":
            change(manifest)
        else:
            members[name] = change(members[name])
            if checksums:
                manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
    with tarfile.open(target, "w:gz") as copy:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            copy.addfile(info, io.BytesIO(data))
    return target


def test_a_tampered_archive_is_refused_naming_the_member(source, tmp_path):
    def edit(data: bytes) -> bytes:
        return data.replace(b"Edited for the archive test", b"Edited by someone else!!!")

    tampered = rewritten(
        source.archive, tmp_path / "tampered.tar.gz", {PROJECT_MEMBER: edit}, checksums=False
    )
    projects = Project.objects.count()
    with pytest.raises(CommandError, match=f"Checksum mismatch in member {PROJECT_MEMBER}"):
        call_command("import_all", str(tampered), "--flush")
    assert Project.objects.count() == projects


def test_a_database_that_is_not_empty_is_refused_listing_the_tables(source):
    with pytest.raises(CommandError) as refused:
        call_command("import_all", str(source.archive))
    message = str(refused.value)
    assert "not empty" in message and "--flush" in message
    assert f"projects_project ({Project.objects.count()} rows)" in message
    assert f"projects_country ({Country.objects.count()} rows)" in message
    assert "auth_group " not in message  # the migrations' groups are replaced, not refused


def test_flush_replaces_what_the_database_holds(source, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    Project.objects.create(
        name="Not in the archive",
        slug="not-in-the-archive",
        project_type=ProjectType.objects.first(),
    )
    held = Project.objects.count()
    out = io.StringIO()
    call_command("import_all", str(source.archive), "--flush", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["flushed"]["projects_project"] == held
    with connection.cursor() as cursor:
        rows = all_rows(cursor, source.rows)
    for label, expected in source.rows.items():
        assert rows[label] == expected, f"{label} differs after --flush"
    assert stored_files() == source.files


def test_an_archive_from_older_code_gets_the_roles_of_this_code(source, settings, tmp_path):
    """Restored into a database with newer migrations, the groups get the permissions the
    newer code gives them (the migration that gave them has run before the restore)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    editor = next(g["id"] for g in source.rows["auth.Group"] if g["name"] == EDITOR)
    dropped = json.dumps(
        {"group_id": editor, "permission": "projects.add_citation"}, separators=(",", ":")
    )[1:-1]

    def older_roles(data: bytes) -> bytes:
        lines = [line for line in data.split(b"\n") if dropped.encode() not in line]
        assert len(lines) == data.count(b"\n")  # exactly one line dropped
        return b"\n".join(lines)

    def older_migrations(manifest: dict) -> None:
        manifest["migrations"]["projects"].pop()

    older = rewritten(
        source.archive,
        tmp_path / "older.tar.gz",
        {"data/auth.group_permissions.jsonl": older_roles, "manifest.json": older_migrations},
        checksums=True,
    )
    out = io.StringIO()
    call_command("import_all", str(older), "--flush", "--json", stdout=out)
    synced = json.loads(out.getvalue())["roles_synced"]
    assert synced[EDITOR] == {"created": False, "added": ["projects.add_citation"], "removed": []}
    assert Group.objects.get(name=EDITOR).permissions.filter(codename="add_citation").exists()


def test_export_refuses_to_overwrite_a_file_without_force(tmp_path):
    existing = tmp_path / "kept.tar.gz"
    existing.write_bytes(b"precious")
    with pytest.raises(CommandError, match="exists; use --force"):
        call_command("export_all", str(existing))
    assert existing.read_bytes() == b"precious"
    call_command("export_all", str(existing), "--force", stdout=io.StringIO())
    with tarfile.open(existing, "r:gz") as tar:
        assert tar.getnames()[0] == "manifest.json"
    assert existing.stat().st_mode & 0o077 == 0  # password hashes: the owner's only
