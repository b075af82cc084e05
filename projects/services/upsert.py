"""Idempotent writes shared by the reference, demo and dataset loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
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
