"""Writes to projects and their relations."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction

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


def _set_roles(project, through, target_field: str, wanted: set[tuple[int, str]]) -> bool:
    current = set(through.objects.filter(project=project).values_list(f"{target_field}_id", "role"))
    stale = current - wanted
    for target_id, role in stale:
        through.objects.filter(
            project=project, role=role, **{f"{target_field}_id": target_id}
        ).delete()
    through.objects.bulk_create(
        [
            through(project=project, role=role, **{f"{target_field}_id": target_id})
            for target_id, role in sorted(wanted - current)
        ]
    )
    return bool(stale or wanted - current)


def _set_initiatives(project, wanted: set[int]) -> bool:
    current = set(project.initiative_links.values_list("initiative_id", flat=True))
    project.initiative_links.filter(initiative_id__in=current - wanted).delete()
    ProjectInitiative.objects.bulk_create(
        [ProjectInitiative(project=project, initiative_id=pk) for pk in sorted(wanted - current)]
    )
    return current != wanted


@transaction.atomic
def project_upsert(*, record: dict) -> tuple[Project, str]:
    """Create or update the project `record["slug"]` with its relations.

    Returns the project and "created", "updated" or "unchanged"; writes nothing when the
    stored project already matches the record.
    """
    fields = project_fields_from_record(record)
    project = Project.objects.filter(slug=record["slug"]).first()
    outcome = "unchanged"
    if project is None:
        project = Project(slug=record["slug"], **fields)
        outcome = "created"
    else:
        changed = {k: v for k, v in fields.items() if getattr(project, k) != v}
        for name, value in changed.items():
            setattr(project, name, value)
        if changed:
            outcome = "updated"
    if outcome != "unchanged":
        project.full_clean()
        project.save()

    countries = {
        (_lookup(Country, "iso2", c["iso2"].upper(), "country").pk, c["role"])
        for c in record.get("countries", [])
    }
    companies = {
        (_lookup(Company, "slug", c["slug"], "company").pk, c["role"])
        for c in record.get("companies", [])
    }
    initiatives = {
        _lookup(Initiative, "slug", slug, "initiative").pk for slug in record.get("initiatives", [])
    }
    relations_changed = _set_roles(project, ProjectCountry, "country", countries)
    relations_changed |= _set_roles(project, ProjectCompany, "company", companies)
    relations_changed |= _set_initiatives(project, initiatives)
    if relations_changed and outcome == "unchanged":
        project.save(update_fields=["updated"])
        outcome = "updated"
    return project, outcome


def projects_set_publication(*, projects: models.QuerySet, publication: str) -> int:
    """Move a selection of projects to a publication state in one statement."""
    if publication not in Publication.values:
        raise ValidationError({"publication": f"unknown publication state {publication!r}"})
    return projects.exclude(publication=publication).update(publication=publication)
