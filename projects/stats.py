"""Aggregates over a filtered selection of projects, for the API's stats endpoint."""

from __future__ import annotations

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractYear

from .models import Company, Country, ProjectCompany, ProjectCountry

GROUPINGS = ("country", "region", "company", "type", "status", "year")
YEAR_FIELDS = {"announced": "announced_on", "started": "started_on", "completed": "completed_on"}


def _grouped(rows, key: str, label: str):
    return (
        rows.values(key=F(key), label=F(label))
        .annotate(n=Count("project_id", distinct=True), usd=Sum("project__value_usd"))
        .order_by("-n", "label")
    )


def _grouped_by_entity(rows, entity: str, model, key: str) -> list[dict]:
    """Like _grouped, per country or organisation id: the role rows are then read in the
    order of their (entity, project) index and counted without a sort; the names of the
    groups found are read apart."""
    counted = (
        rows.values(entity_id=F(f"{entity}_id"))
        .annotate(n=Count("project_id", distinct=True), usd=Sum("project__value_usd"))
        .order_by()
    )
    counted = list(counted)
    names = {
        pk: (group_key, label)
        for pk, group_key, label in model.objects.filter(
            pk__in=[row["entity_id"] for row in counted]
        ).values_list("pk", key, "name")
    }
    grouped = [
        {"key": names[row["entity_id"]][0], "label": names[row["entity_id"]][1], **row}
        for row in counted
    ]
    return sorted(grouped, key=lambda row: (-row["n"], row["label"]))


def project_stats(*, projects, group_by: str, year_of: str = "announced") -> dict:
    """Count projects and sum their USD value per group. `projects` is an already filtered
    queryset; counts through role tables count each project once per group."""
    ids = projects.order_by().values("pk")
    if group_by == "country":
        rows = _grouped_by_entity(
            ProjectCountry.objects.filter(project__in=ids), "country", Country, "iso2"
        )
    elif group_by == "region":
        rows = _grouped(
            ProjectCountry.objects.filter(project__in=ids),
            "country__subregion",
            "country__subregion",
        )
    elif group_by == "company":
        rows = _grouped_by_entity(
            ProjectCompany.objects.filter(project__in=ids), "company", Company, "slug"
        )
    else:
        column = {
            "type": ("project_type__slug", "project_type__name"),
            "status": ("status", "status"),
            "year": (YEAR_FIELDS[year_of], YEAR_FIELDS[year_of]),
        }[group_by]
        base = projects.order_by()
        if group_by == "year":
            base = base.filter(**{f"{column[0]}__isnull": False}).annotate(
                group_key=ExtractYear(column[0])
            )
            column = ("group_key", "group_key")
        rows = (
            base.values(key=F(column[0]), label=F(column[1]))
            .annotate(n=Count("pk"), usd=Sum("value_usd"))
            .order_by("key" if group_by == "year" else "-n", "label")
        )
    totals = projects.order_by().aggregate(
        n=Count("pk"),
        usd=Sum("value_usd"),
        with_value=Count("pk", filter=Q(value_usd__isnull=False)),
    )
    results = [
        {
            "key": str(row["key"]),
            "label": str(row["label"]),
            "projects": row["n"],
            "value_usd": row["usd"],
        }
        for row in rows
    ]
    return {
        "group_by": group_by,
        "year_of": year_of if group_by == "year" else None,
        "total": {
            "projects": totals["n"],
            "value_usd": totals["usd"],
            "with_value": totals["with_value"],
        },
        "results": results,
    }
