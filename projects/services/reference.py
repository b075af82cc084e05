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


def countries_load() -> UpsertReport:
    report = UpsertReport()
    upsert_rows(Country, "iso2", list(iso_countries()), report)
    return report


def project_types_load() -> UpsertReport:
    report = UpsertReport()
    rows = [
        {**row, "position": position}
        for position, row in enumerate(read_reference("project_types.json"), start=1)
    ]
    upsert_rows(ProjectType, "slug", rows, report)
    return report


def initiatives_load() -> UpsertReport:
    report = UpsertReport()
    records = read_reference("initiatives.json")
    rows = [{k: v for k, v in record.items() if k != "parent"} for record in records]
    by_slug = upsert_rows(Initiative, "slug", rows, report)
    links = [
        {
            "slug": record["slug"],
            "parent_id": by_slug[record["parent"]].pk if record["parent"] else None,
        }
        for record in records
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


def organisations_load(records: list[dict]) -> UpsertReport:
    """Upsert organisations given as reference records (headquarters by ISO code, parent by
    slug); parents are linked in a second pass so a record may name a later one."""
    report = UpsertReport()
    countries = dict(Country.objects.values_list("iso2", "pk"))
    rows = []
    for record in records:
        row = {name: record.get(name) or "" for name in ORGANISATION_FIELDS}
        row["aliases"] = record.get("aliases") or []
        row["headquarters_id"] = _country_id(countries, record)
        rows.append(row)
    by_slug = upsert_rows(Company, "slug", rows, report)
    missing = {r["parent"] for r in records if r.get("parent")} - set(by_slug)
    by_slug.update(Company.objects.in_bulk(list(missing), field_name="slug"))
    links = [
        {"slug": r["slug"], "parent_id": by_slug[r["parent"]].pk if r.get("parent") else None}
        for r in records
    ]
    upsert_rows(Company, "slug", links, UpsertReport())
    return report


def reference_data_load() -> dict[str, UpsertReport]:
    """Load all reference data in one transaction; running it again changes nothing."""
    with transaction.atomic(), pghistory.context(service="reference_data_load"):
        return {
            "countries": countries_load(),
            "project_types": project_types_load(),
            "initiatives": initiatives_load(),
            "organisations": organisations_load(read_reference("organisations.json")),
        }
