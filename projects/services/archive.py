"""Full backup and restore of the knowledge base: one versioned `.tar.gz` archive.

An archive holds `manifest.json` (first), one JSON Lines member per model under `data/`
(`data/projects.project.jsonl`: one object per row, every concrete column by value, foreign keys
as raw ids under their `_id` names) and the stored files under `files/<storage name>`.

What is archived is derived, not listed, so a model added to the `projects` app is archived
without a change here: every concrete model of the app (entities, role tables, citations,
documents, mentions, proposals and their auto-created many-to-many tables, the search table,
the pghistory event models), pghistory's `Context`, and the users and groups with their
memberships and permissions. Left out: sessions, API tokens and the admin log (credentials
and traffic of a running site, not knowledge), content types and permission rows (every
database derives its own from the code; permissions are referred to by natural key,
"app_label.codename", because their ids differ between databases), and generated columns
(the database computes them again).

A restore goes into an empty, migrated database in one transaction. Rows are inserted with
their primary keys, in dependency order, with every foreign-key constraint deferred to the
commit (self-references such as Company.parent need that). The database's own triggers are
paused on the restored tables meanwhile — django-pghistory's tracking triggers would record
every restored row as a new event next to the restored events, and the search triggers of
migrations 0003 and 0008 would write `projects_projectsearch` rows that the archive also holds
— and switched back on before the commit. `ALTER TABLE … DISABLE TRIGGER` is used rather than
`pgtrigger.ignore`: the search triggers are hand-written SQL, not pgtrigger's, so its ignore
switch (a session variable each pgtrigger function checks) would not reach them; ALTER TABLE
is transactional in PostgreSQL, costs nothing per row, and (unlike
`session_replication_role`) leaves the foreign-key checks on. Only triggers that were enabled
are paused, so one switched off on purpose stays off.

Groups are the exception to "empty": migration 0007 seeds Editor and Reviewer into every new
database, so the archived groups (with their permissions) replace the target's groups.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, reset_queries, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.duration import duration_iso_string
from pghistory.models import Context, Event

from projects.roles import roles_sync

FORMAT = "dsr-kb-archive"
VERSION = 1
MANIFEST = "manifest.json"
DATA = "data/"
FILES = "files/"
READ_CHUNK = 2000  # rows per fetch of the server-side cursor
INSERT_BATCH = 1000  # rows per INSERT
COPY_BUFFER = 1024 * 1024

# Foreign keys to rows that every database derives itself, archived by natural key.
NATURAL_KEYS: dict[type[models.Model], tuple[str, str]] = {
    Permission: ("content_type__app_label", "codename"),
    ContentType: ("app_label", "model"),
}
# Rows the migrations write into every new database, replaced by the archive's.
SEEDED: tuple[type[models.Model], ...] = (Group, Group.permissions.through)


class ArchiveError(Exception):
    """The archive cannot be written or restored; the message says why, for people."""


@dataclass
class ImportSummary:
    """What a restore did."""

    archive: dict
    models: dict[str, int] = field(default_factory=dict)
    files: int = 0
    files_unchanged: int = 0
    flushed: dict[str, int] = field(default_factory=dict)
    replaced_groups: list[str] = field(default_factory=list)
    paused_triggers: list[str] = field(default_factory=list)
    roles_synced: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "archive": self.archive,
            "models": self.models,
            "files": self.files,
            "files_unchanged": self.files_unchanged,
            "flushed": self.flushed,
            "replaced_groups": self.replaced_groups,
            "paused_triggers": self.paused_triggers,
            "roles_synced": self.roles_synced,
        }


# What is archived ------------------------------------------------------------------------


def archived_models() -> list[type[models.Model]]:
    """Every model whose rows the archive holds, parents before the models pointing at them."""
    user = get_user_model()
    chosen = [
        *apps.get_app_config("projects").get_models(include_auto_created=True),
        Context,
        Group,
        *_auto_through_models(Group),
        user,
        *_auto_through_models(user),
    ]
    return _dependency_order([m for m in chosen if m._meta.managed and not m._meta.proxy])


def _auto_through_models(model: type[models.Model]) -> list[type[models.Model]]:
    """The tables Django creates for a model's many-to-many fields (User.groups, …)."""
    return [
        f.remote_field.through
        for f in model._meta.local_many_to_many
        if f.remote_field.through._meta.auto_created
    ]


def _dependency_order(chosen: list[type[models.Model]]) -> list[type[models.Model]]:
    """Sort so that a model comes after the models its foreign keys point at.

    Cycles (a self-reference, or two models pointing at each other) need no order: the
    constraints are deferred to the commit. Ties are broken by label, so archives of the same
    data list their members in the same order."""
    remaining = {m: {t for t in _fk_targets(m) if t in chosen and t is not m} for m in chosen}
    ordered: list[type[models.Model]] = []
    while remaining:
        ready = sorted((m for m, deps in remaining.items() if not deps), key=_label)
        if not ready:  # a cycle: take the first in label order and go on
            ready = [min(remaining, key=_label)]
        for model in ready:
            ordered.append(model)
            del remaining[model]
        for deps in remaining.values():
            deps.difference_update(ready)
    return ordered


def _fk_targets(model: type[models.Model]) -> set[type[models.Model]]:
    return {f.related_model for f in model._meta.concrete_fields if f.is_relation}


def _label(model: type[models.Model]) -> str:
    return model._meta.label


def _member(model: type[models.Model]) -> str:
    return f"{DATA}{model._meta.label_lower}.jsonl"


def _columns(model: type[models.Model]) -> list[models.Field]:
    """The stored columns; generated ones are left out, the database computes them."""
    return [f for f in model._meta.concrete_fields if not f.generated]


def _natural_key(field_: models.Field) -> tuple[str, str] | None:
    """The lookups of the natural key by which a foreign key is archived, if it is."""
    return NATURAL_KEYS.get(field_.related_model) if field_.is_relation else None


def _key(field_: models.Field) -> str:
    """A column's key in a row: the attname (`project_id`), or the field's name when the value
    is a natural key (`permission`: "projects.add_project")."""
    return field_.name if _natural_key(field_) else field_.attname


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    """The FileFields whose files the archive stores. Event models only copy the names."""
    if issubclass(model, Event):
        return []
    return [f for f in _columns(model) if isinstance(f, models.FileField)]


# Export ----------------------------------------------------------------------------------


def archive_export(*, path: Path, force: bool = False) -> dict:
    """Write the whole knowledge base to `path` and return the archive's manifest.

    Rows are streamed from server-side cursors into temporary files, so no table is held in
    memory; all are read in one REPEATABLE READ transaction, so the archive is one consistent
    moment even while the site is writing. The archive holds password hashes: it is created
    readable by its owner only, and appears at `path` only once complete."""
    using = DEFAULT_DB_ALIAS
    path = Path(path)
    if not path.parent.is_dir():
        raise ArchiveError(f"No folder {path.parent} to write the archive in.")
    if path.is_dir():
        raise ArchiveError(f"{path} is a folder; name the archive file to write.")
    if path.exists() and not force:
        raise ArchiveError(f"{path} exists; use --force to overwrite it.")
    chosen = archived_models()
    _check_references(chosen)
    with tempfile.TemporaryDirectory(prefix=".archive-", dir=path.parent) as tmp:
        staging = Path(tmp)
        digests: dict[str, str] = {}
        counts: dict[str, int] = {}
        with _snapshot(using):
            created = timezone.now()  # the moment the archive shows
            for model in chosen:
                counts[_label(model)], digests[_member(model)] = _rows_write(
                    model, staging / _member(model), using
                )
            files, missing = _files_copy(chosen, staging, using)
            migrations = _applied_migrations(chosen, using)
        digests.update(files)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": created.isoformat(),
            "migrations": migrations,
            "models": counts,
            "files": len(files),
            "missing_files": missing,
            "sha256": digests,
        }
        _tar_write(path, staging, manifest)
    return manifest


def _check_references(chosen: list[type[models.Model]]) -> None:
    """Refuse to write an archive whose rows point at rows it does not hold: its restore would
    fail at the commit. A new foreign key to such a model needs a decision here."""
    loose = sorted(
        f"{_label(model)}.{f.name} → {_label(f.related_model)}"
        for model in chosen
        for f in _columns(model)
        if f.is_relation and f.related_model not in chosen and not _natural_key(f)
    )
    if loose:
        raise ArchiveError("Foreign keys to models the archive leaves out: " + "; ".join(loose))


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One read-only REPEATABLE READ transaction, or the caller's transaction if there is one
    (its isolation can no longer be chosen)."""
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    # Run the connection's health check (a query) and connect now, as a cursor would, so
    # that SET TRANSACTION is the transaction's first statement.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _rows_write(model: type[models.Model], target: Path, using: str) -> tuple[int, str]:
    """Stream the model's rows, ordered by primary key, to a JSON Lines file; return the row
    count and the file's SHA-256."""
    columns = _columns(model)
    lookups: list[str] = []
    for f in columns:
        natural = _natural_key(f)
        lookups.extend([f"{f.name}__{part}" for part in natural] if natural else [f.attname])
    keys = [_key(f) for f in columns]
    widths = [len(_natural_key(f) or (None,)) for f in columns]
    rows = (
        model._base_manager.using(using)
        .order_by("pk")
        .values_list(*lookups)
        .iterator(chunk_size=READ_CHUNK)
    )
    digest, count = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for values in rows:
            line = _encode_row(keys, widths, values)
            out.write(line)
            digest.update(line)
            count += 1
    return count, digest.hexdigest()


def _encode_row(keys: list[str], widths: list[int], values: tuple) -> bytes:
    row, position = {}, 0
    for key, width in zip(keys, widths, strict=True):
        parts = values[position : position + width]
        position += width
        row[key] = parts[0] if width == 1 else _join_natural_key(parts)
    text = json.dumps(row, default=_encode_value, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode()


def _join_natural_key(parts: tuple) -> str | None:
    return None if parts[0] is None else ".".join(parts)


def _encode_value(value):
    """JSON for what json cannot write itself, exactly: Decimal as its string (a float would
    round), datetimes in full ISO form with their offset (DjangoJSONEncoder would cut the
    microseconds), binary as base64."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"Cannot archive a value of type {type(value).__name__}")


def _files_copy(
    chosen: list[type[models.Model]], staging: Path, using: str
) -> tuple[dict[str, str], list[str]]:
    """Copy every stored file the rows name into `staging/files/`; return their members'
    SHA-256 and the names of files the storage does not have (the archive is still written:
    a lost file must not stop the backup of everything else)."""
    digests: dict[str, str] = {}
    missing: list[str] = []
    for model in chosen:
        for file_field in _file_fields(model):
            names = (
                model._base_manager.using(using)
                .exclude(**{file_field.attname: ""})
                .order_by(file_field.attname)
                .values_list(file_field.attname, flat=True)
                .distinct()
                .iterator(chunk_size=READ_CHUNK)
            )
            for name in names:
                member = FILES + _safe_name(name)
                if member in digests or name in missing:
                    continue
                try:
                    digests[member] = _file_copy(name, staging / member)
                except FileNotFoundError:
                    missing.append(name)
    return digests, sorted(missing)


def _file_copy(name: str, target: Path) -> str:
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with default_storage.open(name, "rb") as source, open(target, "wb") as out:
        while chunk := source.read(COPY_BUFFER):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _safe_name(name: str) -> str:
    """A storage name as a relative path that stays inside `files/`."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ArchiveError(f"Unsafe stored file name {name!r}.")
    return str(path)


def _applied_migrations(chosen: list[type[models.Model]], using: str) -> dict[str, list[str]]:
    """The applied migrations of the apps whose rows are archived: the schema they fit."""
    app_labels = {m._meta.app_label for m in chosen}
    applied = MigrationRecorder(connections[using]).applied_migrations()
    return {
        label: sorted(name for app, name in applied if app == label) for label in sorted(app_labels)
    }


def _tar_write(path: Path, staging: Path, manifest: dict) -> None:
    """The archive, manifest first, written beside `path` and moved into place whole."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(descriptor, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar,
        ):
            encoded = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            _tar_add(tar, MANIFEST, len(encoded), io.BytesIO(encoded))
            for member in manifest["sha256"]:
                source = staging / member
                with open(source, "rb") as content:
                    _tar_add(tar, member, source.stat().st_size, content)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _tar_add(tar: tarfile.TarFile, name: str, size: int, content) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(timezone.now().timestamp())
    tar.addfile(info, content)


# Import ----------------------------------------------------------------------------------


def archive_import(*, path: Path, flush: bool = False) -> ImportSummary:
    """Restore the archive at `path` into this database, which must hold none of the archived
    rows; `flush` (destructive) empties the archived tables first — and, as TRUNCATE … CASCADE
    does, the tables pointing at them (API tokens, the admin log) — and replaces files of the
    same name. Nothing is written unless the whole archive checks out, and the rows go in
    within one transaction: a failure leaves the database as it was.

    When this database's code is newer than the archive's (it has `projects` migrations the
    archive lacks), the Editor and Reviewer roles are synced again after the restore: the
    archived groups hold the older roles, and the migration that updated them already ran."""
    using = DEFAULT_DB_ALIAS
    with tempfile.TemporaryDirectory(prefix="dsr-archive-") as tmp:
        staging = Path(tmp)
        manifest = _unpack_verified(Path(path), staging)
        chosen = _models_of(manifest)
        _check_migrations(manifest, using)
        files = [m for m in manifest["sha256"] if m.startswith(FILES)]
        changed_files = _files_differing(files, manifest["sha256"])
        if changed_files and not flush:
            raise ArchiveError(
                "The storage already holds different files under these names (--flush "
                "replaces them): " + ", ".join(changed_files)
            )
        summary = ImportSummary(
            archive={k: manifest.get(k) for k in ("format", "version", "created", "missing_files")},
        )
        with transaction.atomic(using=using):
            _rows_restore(chosen, staging, flush, summary, using)
            if _migrations_newer(manifest, using):
                summary.roles_synced = roles_sync()
            summary.files, summary.files_unchanged = _files_restore(
                files, staging, manifest["sha256"]
            )
    return summary


def _unpack_verified(path: Path, staging: Path) -> dict:
    """Unpack the archive into `staging`, checking the manifest and every member's SHA-256;
    nothing in it is trusted before that (member names included)."""
    if not path.is_file():
        raise ArchiveError(f"No archive at {path}.")
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = iter(tar)
            first = next(members, None)
            if first is None or first.name != MANIFEST or not first.isfile():
                raise ArchiveError(f"{path} is not a {FORMAT}: {MANIFEST} is not its first member.")
            manifest = _manifest_read(tar.extractfile(first).read())
            expected = manifest["sha256"]
            seen: set[str] = set()
            for info in members:
                _member_unpack(tar, info, expected, seen, staging)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ArchiveError(f"{path} cannot be read as a .tar.gz archive: {error}") from error
    missing = sorted(expected.keys() - seen)
    if missing:
        raise ArchiveError("Members listed in the manifest are missing: " + ", ".join(missing))
    return manifest


def _manifest_read(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise ArchiveError(f"{MANIFEST} is not JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{MANIFEST} does not describe a {FORMAT}.")
    if manifest.get("version") != VERSION:
        raise ArchiveError(
            f"Archive version {manifest.get('version')!r} is not supported (this code reads "
            f"version {VERSION})."
        )
    for key, kind in (("sha256", dict), ("models", dict), ("migrations", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ArchiveError(f"{MANIFEST} lacks {key!r}.")
    for label in manifest["models"]:
        if f"{DATA}{label.lower()}.jsonl" not in manifest["sha256"]:
            raise ArchiveError(f"{MANIFEST} lists {label} without a checksum of its rows.")
    return manifest


def _member_unpack(
    tar: tarfile.TarFile, info: tarfile.TarInfo, expected: dict, seen: set, staging: Path
) -> None:
    """Copy one member into `staging` while hashing it, and compare with the manifest."""
    name = info.name
    if name not in expected or name in seen or not info.isfile():
        raise ArchiveError(f"Unexpected member {name!r} (not in the manifest, or repeated).")
    relative = _safe_name(name)
    if not relative.startswith((DATA, FILES)):
        raise ArchiveError(f"Unexpected member {name!r}.")
    target = staging / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tar.extractfile(info) as source, open(target, "wb") as out:
        while chunk := source.read(COPY_BUFFER):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected[name]:
        raise ArchiveError(
            f"Checksum mismatch in member {name}: the archive is damaged or was changed."
        )
    seen.add(name)


def _models_of(manifest: dict) -> list[type[models.Model]]:
    """The archive's models, known to this code, in dependency order."""
    unknown, found = [], []
    for label in manifest["models"]:
        try:
            found.append(apps.get_model(label))
        except (LookupError, ValueError):
            unknown.append(label)
    if unknown:
        raise ArchiveError(
            "The archive holds models this code does not have: " + ", ".join(unknown)
        )
    return _dependency_order(found)


def _check_migrations(manifest: dict, using: str) -> None:
    applied = MigrationRecorder(connections[using]).applied_migrations()
    missing = [
        f"{app}.{name}"
        for app, names in sorted(manifest["migrations"].items())
        for name in names
        if (app, name) not in applied
    ]
    if missing:
        raise ArchiveError(
            "The archive was made with migrations this database lacks (run `manage.py "
            "migrate` with code at least as new as the archive's): " + ", ".join(missing)
        )


def _migrations_newer(manifest: dict, using: str) -> list[str]:
    """The `projects` migrations applied here that the archive's database did not have."""
    archived = set(manifest["migrations"].get("projects", []))
    applied = MigrationRecorder(connections[using]).applied_migrations()
    return sorted(name for app, name in applied if app == "projects" and name not in archived)


def _files_differing(members: list[str], digests: dict[str, str]) -> list[str]:
    """Stored files of the same name as archived ones but other content."""
    return [
        member[len(FILES) :]
        for member in members
        if default_storage.exists(member[len(FILES) :])
        and _stored_digest(member[len(FILES) :]) != digests[member]
    ]


def _stored_digest(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as stored:
        while chunk := stored.read(COPY_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def _rows_restore(
    chosen: list[type[models.Model]],
    staging: Path,
    flush: bool,
    summary: ImportSummary,
    using: str,
) -> None:
    """Insert every row, with triggers paused and constraints deferred, then reset sequences."""
    connection = connections[using]
    with connection.cursor() as cursor:
        _target_prepare(cursor, chosen, flush, summary, using)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # rows may precede their parents
        resolvers = _NaturalKeys(using)
        with _stored_timestamps(chosen):
            for model in chosen:
                summary.models[_label(model)] = _rows_load(
                    model, staging / _member(model), resolvers, using
                )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every restored reference checked
        _triggers_resume(cursor, summary.paused_triggers)
        for statement in connection.ops.sequence_reset_sql(no_style(), chosen):
            cursor.execute(statement)


def _target_prepare(
    cursor, chosen: list[type[models.Model]], flush: bool, summary: ImportSummary, using: str
) -> None:
    """Lock the tables, refuse a database that holds rows (unless `flush`, which empties it),
    pause the triggers and clear the groups the migrations seeded."""
    tables = [m._meta.db_table for m in chosen]
    # ALTER TABLE and TRUNCATE refuse tables with pending (deferred) constraint checks: none
    # may be left from before, and the restore's own are run before the triggers are resumed.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # No other session writes to these tables from their count to the commit.
    cursor.execute(f"LOCK TABLE {', '.join(map(_quote, tables))} IN SHARE ROW EXCLUSIVE MODE")
    occupied = _row_counts(cursor, [m for m in chosen if m not in SEEDED])
    if occupied and not flush:
        raise ArchiveError(
            "The database is not empty; these tables hold rows (restore into a freshly "
            "migrated database, or use --flush to delete them first): "
            + ", ".join(f"{table} ({count} rows)" for table, count in occupied.items())
        )
    summary.paused_triggers = _triggers_pause(cursor, tables)
    summary.replaced_groups = sorted(Group.objects.using(using).values_list("name", flat=True))
    if flush:
        summary.flushed = _tables_flush(cursor, tables)
    else:
        _seeded_clear(cursor)


def _triggers_pause(cursor, tables: list[str]) -> list[str]:
    """Disable the enabled user triggers of `tables`; returns them as "table.trigger"."""
    cursor.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgrelid = ANY(%s::regclass[]) "
        "ORDER BY 1, 2",
        [tables],
    )
    triggers = cursor.fetchall()
    for table, trigger in triggers:
        cursor.execute(f"ALTER TABLE {_quote(table)} DISABLE TRIGGER {_quote(trigger)}")
    return [f"{table}.{trigger}" for table, trigger in triggers]


def _triggers_resume(cursor, triggers: list[str]) -> None:
    for qualified in triggers:
        table, trigger = qualified.split(".", 1)
        cursor.execute(f"ALTER TABLE {_quote(table)} ENABLE TRIGGER {_quote(trigger)}")


def _quote(name: str) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)


def _row_counts(cursor, chosen: list[type[models.Model]]) -> dict[str, int]:
    """The tables among `chosen` that hold rows, with their counts."""
    counts = {}
    for model in chosen:
        cursor.execute(f"SELECT count(*) FROM {_quote(model._meta.db_table)}")  # nosec B608
        if count := cursor.fetchone()[0]:
            counts[model._meta.db_table] = count
    return counts


def _tables_flush(cursor, tables: list[str]) -> dict[str, int]:
    """TRUNCATE the tables and, by CASCADE, those pointing at them; returns the rows each of
    them held. TRUNCATE fires no row triggers, so the history records no deletions."""
    emptied = _tables_referencing(cursor, tables)
    counts = {}
    for table in emptied:
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # nosec B608
        counts[table] = cursor.fetchone()[0]
    cursor.execute(f"TRUNCATE {', '.join(_quote(t) for t in tables)} CASCADE")
    return {table: count for table, count in counts.items() if count}


def _tables_referencing(cursor, tables: list[str]) -> list[str]:
    """`tables` and every table whose foreign keys lead to them, as TRUNCATE CASCADE empties."""
    found, frontier = list(tables), list(tables)
    while frontier:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "WHERE k.contype = 'f' AND k.confrelid = ANY(%s::regclass[])",
            [frontier],
        )
        frontier = [name for (name,) in cursor.fetchall() if name not in found]
        found.extend(frontier)
    return found


def _seeded_clear(cursor) -> None:
    """Delete the groups (and their permissions) the migrations seeded: the archive's replace
    them. DELETE, not TRUNCATE CASCADE: a row elsewhere still pointing at a group makes the
    commit fail rather than being emptied silently."""
    for model in reversed(SEEDED):
        cursor.execute(f"DELETE FROM {_quote(model._meta.db_table)}")  # nosec B608


class _NaturalKeys:
    """Ids of this database's permissions and content types by natural key, read on demand."""

    def __init__(self, using: str):
        self._using = using
        self._ids: dict[type[models.Model], dict[str, int]] = {}

    def id(self, model: type[models.Model], key: str) -> int:
        if model not in self._ids:
            lookups = NATURAL_KEYS[model]
            self._ids[model] = {
                ".".join(parts): pk
                for *parts, pk in model._base_manager.using(self._using).values_list(*lookups, "pk")
            }
        try:
            return self._ids[model][key]
        except KeyError:
            raise ArchiveError(
                f"This database has no {model._meta.verbose_name} {key!r}; is its code older "
                "than the archive's?"
            ) from None


@contextmanager
def _stored_timestamps(chosen: list[type[models.Model]]) -> Iterator[None]:
    """Let bulk_create write the archived `created` and `updated` values: auto_now and
    auto_now_add would otherwise stamp every restored row with the time of the restore.

    The switch is on the model fields, so it holds for the whole process while the restore
    runs; the restore runs from its command, not in a server answering other requests."""
    switched = [
        (f, f.auto_now, f.auto_now_add)
        for model in chosen
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for f, _, _ in switched:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in switched:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _rows_load(model: type[models.Model], source: Path, resolvers: _NaturalKeys, using: str) -> int:
    """Stream a member's rows into the table, INSERT_BATCH at a time; returns the count."""
    fields = {_key(f): f for f in _columns(model)}
    manager, batch, count = model._base_manager.using(using), [], 0
    # Bytes split at b"\n" only: a text reader would also split at U+2028 and friends in str
    # methods, and JSON leaves those unescaped inside strings.
    with open(source, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            batch.append(model(**_decode_row(json.loads(line), fields, resolvers, source, number)))
            if len(batch) == INSERT_BATCH:
                manager.bulk_create(batch)
                count += len(batch)
                batch = []
                reset_queries()  # with DEBUG on, every INSERT's SQL would stay in memory
    if batch:
        manager.bulk_create(batch)
        count += len(batch)
    return count


def _decode_row(
    row: dict, fields: dict[str, models.Field], resolvers: _NaturalKeys, source: Path, number: int
) -> dict:
    unknown = row.keys() - fields.keys()
    if unknown:
        raise ArchiveError(
            f"{DATA}{source.name}, line {number}: unknown fields {', '.join(sorted(unknown))}."
        )
    values = {}
    for key, value in row.items():
        f = fields[key]
        if _natural_key(f):
            values[f.attname] = None if value is None else resolvers.id(f.related_model, value)
        else:
            values[f.attname] = _decode_value(f, value)
    return values


def _decode_value(field_: models.Field, value):
    """The Python value of an archived one: the field parses what _encode_value wrote (as
    Django's own deserializers do); JSON fields hold JSON as it is."""
    if value is None or isinstance(field_, models.JSONField):
        return value
    if isinstance(field_, ArrayField):
        return [_decode_value(field_.base_field, item) for item in value]
    return field_.to_python(value)


def _files_restore(members: list[str], staging: Path, digests: dict[str, str]) -> tuple[int, int]:
    """Write the files back through the default storage under their names; a file already
    there with the same bytes is kept. Returns (written, unchanged)."""
    written = unchanged = 0
    for member in members:
        name = member[len(FILES) :]
        if default_storage.exists(name):
            if _stored_digest(name) == digests[member]:
                unchanged += 1
                continue
            default_storage.delete(name)  # differing files were refused unless --flush
        with open(staging / member, "rb") as content:
            saved = default_storage.save(name, File(content, name=name))
        if saved != name:
            raise ArchiveError(f"The storage saved {name!r} as {saved!r}.")
        written += 1
    return written, unchanged
