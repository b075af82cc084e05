"""Idempotent writes shared by the reference, demo and dataset loaders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connections, models, router
from django.utils import timezone


@dataclass
class UpsertReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # differ from the shipped values, left as editors made them
    changed_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": self.kept,
        }


def upsert_rows(
    model: type[models.Model],
    key: str,
    rows: list[dict],
    report: UpsertReport | None = None,
    *,
    update: bool = True,
) -> dict[str, models.Model]:
    """Create missing rows and update changed ones, matched on the unique field `key`.

    Rows that already hold the given values are not written, so running a load twice
    changes nothing (and records no history). New rows go in with one bulk insert.
    Foreign keys are given by their `<name>_id` attribute. Returns the objects by key.
    With `update=False`, existing rows are never written: what editors changed is kept.
    """
    report = report if report is not None else UpsertReport()
    existing = model.objects.in_bulk([row[key] for row in rows], field_name=key)
    to_create, to_update, changed_fields = [], [], set()
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            obj = model(**row)
            obj.full_clean(validate_unique=False, validate_constraints=False)
            to_create.append(obj)
            existing[row[key]] = obj
            report.changed_keys.append(str(row[key]))
            continue
        changes = {name: value for name, value in row.items() if getattr(obj, name) != value}
        if not changes:
            report.unchanged += 1
            continue
        if not update:
            report.kept += 1
            continue
        for name, value in changes.items():
            setattr(obj, name, value)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        to_update.append(obj)
        changed_fields.update(changes)
        report.changed_keys.append(str(row[key]))
    model.objects.bulk_create(to_create)
    if to_update:
        # bulk_update does not touch auto_now fields by itself.
        auto_now = [f.name for f in model._meta.fields if getattr(f, "auto_now", False)]
        now = timezone.now()
        for obj in to_update:
            for name in auto_now:
                setattr(obj, name, now)
        model.objects.bulk_update(to_update, [*changed_fields, *auto_now])
    report.created += len(to_create)
    report.updated += len(to_update)
    return existing


def _values_sql(connection, fields, count: int) -> str:
    """`VALUES (%s::type, …), …` for `count` rows of `fields` (cast, so that no row's NULL
    leaves a column without a type). Text is cast without its length: an explicit cast to
    varchar(n) would cut a longer value, where writing it to the column refuses it."""
    types = [re.sub(r"^varchar\(\d+\)", "varchar", f.cast_db_type(connection)) for f in fields]
    row = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
    return "VALUES " + ", ".join([row] * count)


def update_rows(model: type[models.Model], objects: list[models.Model], fields: list[str]) -> None:
    """Write `fields` of every object (each its own values) in one `UPDATE … FROM (VALUES …)`.

    What `bulk_update` does, at a fraction of its cost: Django builds a `CASE WHEN` expression
    per object and field, which takes longer to compile than the statement takes to run.
    Row triggers (history, search) fire for each row as for any update."""
    if not objects:
        return
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    pk = model._meta.pk
    written = [model._meta.get_field(name) for name in fields]
    columns = [pk, *written]
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for obj in objects
        for field in columns
    ]
    names = ", ".join(qn(field.column) for field in columns)
    sql = (
        f"UPDATE {qn(model._meta.db_table)} AS t SET "  # nosec B608
        + ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in written)
        + f" FROM ({_values_sql(connection, columns, len(objects))}) AS v ({names})"
        + f" WHERE t.{qn(pk.column)} = v.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def delete_rows(model: type[models.Model], fields: list[str], rows: list[tuple]) -> None:
    """Delete the rows whose `fields` hold one of the tuples `rows`, in one statement (row
    triggers fire for each, as for any delete; no Django signals or cascades: for link tables).
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    names = ", ".join(qn(field.column) for field in columns)
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(columns, row, strict=True)
    ]
    sql = (
        f"DELETE FROM {qn(model._meta.db_table)} AS t"
        f" USING ({_values_sql(connection, columns, len(rows))}) AS d ({names})"
        " WHERE " + " AND ".join(f"t.{qn(f.column)} = d.{qn(f.column)}" for f in columns)  # nosec B608
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_rows(model: type[models.Model], fields: list[str], rows: list[tuple]) -> None:
    """Insert `rows`, tuples of `fields` values, in one `INSERT … VALUES`: `bulk_create` without
    model instances, for link tables whose rows are only their keys (row triggers fire as for
    any insert). Django's field defaults are not applied: give every field the table needs.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(columns, row, strict=True)
    ]
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in columns)})"
        f" {_values_sql(connection, columns, len(rows))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_objects(model: type[models.Model], objects: list[models.Model]) -> None:
    """`bulk_create` for a wide model, in one `INSERT … VALUES … RETURNING id` built without
    Django's per-value compiler (which costs more than the insert): every concrete field but
    the primary key (and generated ones) from the objects, `auto_now(_add)` fields set to now;
    the ids are set on the objects, in order, as `bulk_create` sets them."""
    if not objects:
        return
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk and not f.generated]
    now = timezone.now()
    stamped = [
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objects:
        for name in stamped:
            setattr(obj, name, now)
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for obj in objects
        for field in fields
    ]
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
        f" {_values_sql(connection, fields, len(objects))} RETURNING {qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk_value in zip(objects, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = connection.alias
