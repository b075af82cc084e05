"""Writes to projects and their relations."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from projects.models import (
    Company,
    Country,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    Publication,
)
from projects.partial_dates import PartialDate

from .upsert import delete_rows, insert_objects, insert_rows, update_rows

SCALAR_FIELDS = ["name", "description", "status", "capacity", "publication"]
DATE_FIELDS = ["announced", "started", "completed"]


def _lookup(model: type[models.Model], field: str, value: str, what: str):
    try:
        return model.objects.get(**{field: value})
    except model.DoesNotExist:
        raise ValidationError({what: f"unknown {what} {value!r}"}) from None


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def project_fields_from_record(record: dict) -> dict:
    """Translate a project record (the demo and dataset format) into model field values."""
    fields = {name: record.get(name) or "" for name in SCALAR_FIELDS if name in record}
    fields["project_type"] = _lookup(ProjectType, "slug", record["type"], "type")
    value = record.get("value") or {}
    fields["value_amount"] = _decimal(value.get("amount"))
    fields["value_currency"] = value.get("currency") or ""
    fields["value_usd"] = _decimal(value.get("usd"))
    for name in DATE_FIELDS:
        try:
            date = PartialDate.parse(record[name]) if record.get(name) else None
        except ValueError as error:
            raise ValidationError({name: str(error)}) from None
        fields[f"{name}_on"] = date.date if date else None
        fields[f"{name}_precision"] = date.precision if date else ""
    fields["length_km"] = _decimal(record.get("length_km"))
    location = record.get("location") or {}
    fields["latitude"] = location.get("lat")
    fields["longitude"] = location.get("lon")
    if record.get("external_ids"):
        fields["external_ids"] = record["external_ids"]
    return fields


@dataclass
class ProjectChanges:
    """What to write to a project: model field values and, where not None, the full lists of
    its countries (iso2, role), companies (slug, role) and initiatives (slugs)."""

    fields: dict
    countries: list[tuple[str, str]] | None = None
    companies: list[tuple[str, str]] | None = None
    initiatives: list[str] | None = None


@dataclass
class Lookups:
    """Ids by key that a bulk writer already holds, so a save need not look them up."""

    country: dict[str, int]
    company: dict[str, int]
    initiative: dict[str, int]


def _ids(model, key: str, values, what: str, known: dict[str, int] | None = None) -> dict[str, int]:
    if known is not None and all(value in known for value in values):
        return {value: known[value] for value in values}
    found = dict(model.objects.filter(**{f"{key}__in": list(values)}).values_list(key, "pk"))
    unknown = sorted(set(values) - set(found))
    if unknown:
        raise ValidationError({what: f"unknown {what}: {', '.join(unknown)}"})
    return found


def _set_links(
    project, through, columns: list[str], wanted: set[tuple], current: set | None = None
) -> bool:
    """Make the project's rows in `through` exactly `wanted`, tuples of `columns` values
    (`current`: what they are, when the caller knows). Returns whether anything changed."""
    rows = through.objects.filter(project=project)
    current = set(rows.values_list(*columns)) if current is None else current
    for stale in current - wanted:
        rows.filter(**dict(zip(columns, stale, strict=True))).delete()
    through.objects.bulk_create(
        [
            through(project=project, **dict(zip(columns, new, strict=True)))
            for new in sorted(wanted - current)
        ]
    )
    return current != wanted


@transaction.atomic
def project_save(
    *,
    project: Project | None,
    changes: ProjectChanges,
    check_constraints: bool = True,
    lookups: Lookups | None = None,
) -> tuple[Project, str]:
    """Create (project None) or update a project and its relations.

    Returns the project and "created", "updated" or "unchanged"; nothing is written (and no
    history recorded) when the stored project already matches. Bulk writers that check the
    values themselves pass `check_constraints=False`: Django checks each of the model's
    constraints with a query of its own, and the database enforces them anyway; they may
    also pass the `lookups` they hold.
    """
    if project is None:
        project = Project(**changes.fields)
        outcome = "created"
    else:
        changed = {k: v for k, v in changes.fields.items() if getattr(project, k) != v}
        for name, value in changed.items():
            setattr(project, name, value)
        outcome = "updated" if changed else "unchanged"
    if outcome != "unchanged":
        project.full_clean(
            # The type was resolved from the writer's lookups: no query to check it exists.
            exclude=["project_type"] if lookups else None,
            validate_unique=check_constraints,
            validate_constraints=check_constraints,
        )
        project.save()

    relations_changed = False
    # A project created here has no rows yet: nothing to read back.
    current = set() if outcome == "created" else None
    known = lookups or Lookups(country=None, company=None, initiative=None)
    if changes.countries is not None:
        codes = {c for c, _ in changes.countries}
        ids = _ids(Country, "iso2", codes, "country", known.country)
        wanted = {(ids[code], role) for code, role in changes.countries}
        relations_changed |= _set_links(
            project, ProjectCountry, ["country_id", "role"], wanted, current
        )
    if changes.companies is not None:
        slugs = {c for c, _ in changes.companies}
        ids = _ids(Company, "slug", slugs, "company", known.company)
        wanted = {(ids[slug], role) for slug, role in changes.companies}
        relations_changed |= _set_links(
            project, ProjectCompany, ["company_id", "role"], wanted, current
        )
    if changes.initiatives is not None:
        ids = _ids(Initiative, "slug", set(changes.initiatives), "initiative", known.initiative)
        wanted = {(ids[slug],) for slug in changes.initiatives}
        relations_changed |= _set_links(
            project, ProjectInitiative, ["initiative_id"], wanted, current
        )
    if relations_changed and outcome == "unchanged":
        project.save(update_fields=["updated"])
        outcome = "updated"
    return project, outcome


@dataclass
class ProjectWrite:
    """One project for `project_save_many`: the stored project to update (None to create one;
    it is left as it is), the changes, and what its relations are now, by ids —
    {"countries": {(country_id, role)}, "companies": {(company_id, role)}, "initiatives":
    {(initiative_id,)}} — when the caller knows (None: read them). `touch` marks the project
    updated even when nothing here changes (the caller changed something of its own, such as
    its citations)."""

    project: Project | None
    changes: ProjectChanges
    current: dict[str, set[tuple]] | None = None
    touch: bool = False


ROLE_TABLES = (
    # changes' attribute, table, columns, model and key of the related object
    ("countries", ProjectCountry, ("country_id", "role"), Country, "iso2"),
    ("companies", ProjectCompany, ("company_id", "role"), Company, "slug"),
    ("initiatives", ProjectInitiative, ("initiative_id",), Initiative, "slug"),
)


def _wanted(changes: ProjectChanges, name: str, model, key: str, known: dict[str, int]):
    """The rows `changes` asks for in one role table, as id tuples (None: left alone)."""
    entries = getattr(changes, name)
    if entries is None:
        return None
    if name == "initiatives":
        entries = [(slug,) for slug in entries]
    ids = _ids(model, key, {entry[0] for entry in entries}, model._meta.model_name, known)
    return {(ids[entry[0]], *entry[1:]) for entry in entries}


def _current_links(project: Project) -> dict[str, set[tuple]]:
    return {
        name: set(through.objects.filter(project=project).values_list(*columns))
        for name, through, columns, *_ in ROLE_TABLES
    }


def project_save_many(*, writes: list[ProjectWrite], lookups: Lookups) -> list[tuple[Project, str]]:
    """`project_save` for many projects at once, in a few statements whatever their number:
    one insert of the new projects, one update of the changed ones, and per role table one
    delete and one insert. For bulk writers: the caller has validated the values (as
    `full_clean` would; the database enforces the constraints, and a violation fails the whole
    call, in the caller's savepoint), and holds the lookups. The search triggers run as for
    any write, unless the caller deferred them (`dsr.search_deferred`, migration 0012).

    Returns each project with "created", "updated" or "unchanged", in the order of `writes`;
    a project that already holds what it is given is not written (and records no history)."""
    now = timezone.now()
    results: list[tuple[Project, str]] = []
    to_create: list[Project] = []
    to_update: list[Project] = []
    fields: set[str] = set()
    links: list[tuple[ProjectWrite, Project, dict[str, tuple[set, set]]]] = []
    for write in writes:
        if write.project is None:
            project, outcome, changed = Project(**write.changes.fields), "created", {}
        else:
            # A copy: the caller's stays as stored, should this savepoint be rolled back.
            project = copy.copy(write.project)
            changed = {k: v for k, v in write.changes.fields.items() if getattr(project, k) != v}
            for name, value in changed.items():
                setattr(project, name, value)
            outcome = "updated" if changed else "unchanged"
        current = (
            {name: set() for name, *_ in ROLE_TABLES}
            if project.pk is None
            else write.current
            if write.current is not None
            else _current_links(project)
        )
        diff = {}
        for name, _, _, model, key in ROLE_TABLES:
            wanted = _wanted(
                write.changes, name, model, key, getattr(lookups, model._meta.model_name)
            )
            if wanted is not None and wanted != current[name]:
                diff[name] = (current[name] - wanted, wanted - current[name])
        if outcome == "unchanged" and (diff or write.touch):
            outcome = "updated"
        if outcome == "created":
            to_create.append(project)
        elif outcome == "updated":
            project.updated = now
            to_update.append(project)
            fields.update(changed)
        links.append((write, project, diff))
        results.append((project, outcome))
    insert_objects(Project, to_create)
    update_rows(Project, to_update, [*sorted(fields), "updated"])
    for name, through, columns, *_ in ROLE_TABLES:
        delete_rows(
            through,
            ["project_id", *columns],
            [
                (project.pk, *row)
                for _, project, diff in links
                if name in diff
                for row in sorted(diff[name][0])
            ],
        )
        insert_rows(
            through,
            ["project_id", *columns],
            [
                (project.pk, *row)
                for _, project, diff in links
                if name in diff
                for row in sorted(diff[name][1])
            ],
        )
    return results


def project_upsert(*, record: dict) -> tuple[Project, str]:
    """Create or update the project `record["slug"]` from a record in the exchange format
    (the demo and dataset format)."""
    fields = project_fields_from_record(record)
    fields["slug"] = record["slug"]
    changes = ProjectChanges(
        fields=fields,
        countries=[(c["iso2"].upper(), c["role"]) for c in record.get("countries", [])],
        companies=[(c["slug"], c["role"]) for c in record.get("companies", [])],
        initiatives=list(record.get("initiatives", [])),
    )
    return project_save(
        project=Project.objects.filter(slug=record["slug"]).first(), changes=changes
    )


PUBLISH_PERMISSION = "projects.publish_project"


def crosses_publication(before: str, after: str) -> bool:
    """Whether going from `before` to `after` publishes or unpublishes a project."""
    return Publication.PUBLISHED in (before, after) and before != after


def may_change_publication(user, before: str, after: str) -> bool:
    """The one rule, for the API and the admin: only reviewers (publish_project) publish a
    project or take it back; anyone who may edit it moves it between draft and review."""
    if not crosses_publication(before, after):
        return True
    return user is not None and user.has_perm(PUBLISH_PERMISSION)


def projects_set_publication(*, projects: models.QuerySet, publication: str) -> int:
    """Move a selection of projects to a publication state in one statement."""
    if publication not in Publication.values:
        raise ValidationError({"publication": f"unknown publication state {publication!r}"})
    return projects.exclude(publication=publication).update(
        publication=publication, updated=timezone.now()
    )
