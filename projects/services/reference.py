"""Loading the reference data: countries, project types, initiatives, organisations."""

from __future__ import annotations

import json
from pathlib import Path

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction

from projects.models import Company, Country, Initiative, ProjectType
from projects.reference.countries import iso_countries

from .upsert import UpsertReport, upsert_rows

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
ORGANISATION_FIELDS = [
    "slug",
    "name",
    "chinese_name",
    "aliases",
    "kind",
    "ownership",
    "website",
    "description",
]


def read_reference(name: str) -> list | dict:
    return json.loads((REFERENCE_DIR / name).read_text(encoding="utf-8"))


def countries_load(*, update: bool = False) -> UpsertReport:
    report = UpsertReport()
    upsert_rows(Country, "iso2", list(iso_countries()), report, update=update)
    return report


def project_types_load(*, update: bool = False) -> UpsertReport:
    report = UpsertReport()
    rows = [
        {**row, "position": position}
        for position, row in enumerate(read_reference("project_types.json"), start=1)
    ]
    upsert_rows(ProjectType, "slug", rows, report, update=update)
    return report


def initiatives_load(*, update: bool = False) -> UpsertReport:
    report = UpsertReport()
    records = read_reference("initiatives.json")
    rows = [{k: v for k, v in record.items() if k != "parent"} for record in records]
    created = set(Initiative.objects.values_list("slug", flat=True))
    by_slug = upsert_rows(Initiative, "slug", rows, report, update=update)
    created = set(by_slug) - created
    links = [
        {
            "slug": record["slug"],
            "parent_id": by_slug[record["parent"]].pk if record["parent"] else None,
        }
        for record in records
        if update or record["slug"] in created
    ]
    upsert_rows(Initiative, "slug", links, UpsertReport())
    return report


def _country_id(countries: dict[str, int], record: dict) -> int | None:
    code = record.get("headquarters")
    if not code:
        return None
    if code not in countries:
        raise ValidationError(
            {
                "headquarters": f"{record['slug']}: unknown country code {code!r}; "
                "load the countries first (load_reference_data)"
            }
        )
    return countries[code]


def merged_names(model) -> dict[str, int]:
    """Other names of existing rows (aliases, which keep the names of merged duplicates),
    case-folded, with the row's id: a record known under one of them is not created again."""
    names = {}
    for pk, aliases in model.objects.exclude(aliases=[]).values_list("pk", "aliases"):
        for alias in aliases:
            names.setdefault(alias.casefold(), pk)
    return names


def organisations_load(records: list[dict], *, update: bool = False) -> UpsertReport:
    """Load organisations given as reference records (headquarters by ISO code, parent by
    slug); parents are linked in a second pass so a record may name a later one.

    Without `update`, organisations that exist are left as editors keep them, and one that was
    merged into another (its name is now the other's alias) is not created again."""
    report = UpsertReport()
    countries = dict(Country.objects.values_list("iso2", "pk"))
    existing = set(Company.objects.values_list("slug", flat=True))
    merged = merged_names(Company)
    kept_away = {
        record["slug"]
        for record in records
        if record["slug"] not in existing
        and (record["name"].casefold() in merged or record["slug"].casefold() in merged)
    }
    report.kept += len(kept_away)
    records = [record for record in records if record["slug"] not in kept_away]
    rows = []
    for record in records:
        row = {name: record.get(name) or "" for name in ORGANISATION_FIELDS}
        row["aliases"] = record.get("aliases") or []
        row["headquarters_id"] = _country_id(countries, record)
        rows.append(row)
    by_slug = upsert_rows(Company, "slug", rows, report, update=update)
    missing = {r["parent"] for r in records if r.get("parent")} - set(by_slug)
    by_slug.update(Company.objects.in_bulk(list(missing), field_name="slug"))
    links = [
        {"slug": r["slug"], "parent_id": by_slug[r["parent"]].pk if r.get("parent") else None}
        for r in records
        if (update or r["slug"] not in existing) and (not r.get("parent") or r["parent"] in by_slug)
    ]
    upsert_rows(Company, "slug", links, UpsertReport())
    return report


def reference_data_load(*, update: bool = False) -> dict[str, UpsertReport]:
    """Load all reference data in one transaction; running it again changes nothing.

    Rows that are missing are created. Rows that exist are left as editors keep them unless
    `update` asks to bring them back to the shipped values (after an upgrade that improved
    them); history records either way."""
    with transaction.atomic(), pghistory.context(service="reference_data_load"):
        return {
            "countries": countries_load(update=update),
            "project_types": project_types_load(update=update),
            "initiatives": initiatives_load(update=update),
            "organisations": organisations_load(
                read_reference("organisations.json"), update=update
            ),
        }
