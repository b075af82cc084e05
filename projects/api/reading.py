"""Projects as the API reads them out, built from rows rather than through serializers.

`ProjectSerializer` describes a project, validates writes and documents the schema; reading
a page of 50 projects through it builds some 2,000 model instances and calls a serializer
field, and Django's `reverse()`, for every value. The read path instead takes each page in
six queries of plain rows (the page, then its types, country and organisation roles,
initiatives and citations, each for all its projects at once) and assembles the same
representation as plain dicts, building each API address from a template.
`tests/api/test_reading.py` holds the two representations equal, field for field, for
every project of the demo data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone

from projects.models import (
    Citation,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
)
from projects.partial_dates import PartialDate

from .serializers import LandingPointSerializer

# Stand-ins that the URL patterns accept (a country's pattern takes two letters only).
PLACEHOLDERS = {"iso2": "qq"}
PROJECT_COLUMNS = (
    "id",
    "slug",
    "name",
    "description",
    "status",
    "publication",
    "value_amount",
    "value_currency",
    "value_usd",
    "announced_on",
    "announced_precision",
    "started_on",
    "started_precision",
    "completed_on",
    "completed_precision",
    "length_km",
    "capacity",
    "latitude",
    "longitude",
    "geometry",
    "landing_points",
    "external_ids",
    "created",
    "updated",
)


class Addresses:
    """Absolute API addresses, each built once as a template and then filled in."""

    def __init__(self, request):
        self.request = request
        self.templates: dict[str, tuple[str, str]] = {}

    def __call__(self, view_name: str, key: str, value: str) -> str:
        template = self.templates.get(view_name)
        if template is None:
            placeholder = PLACEHOLDERS.get(key, "key")
            path = reverse(view_name, kwargs={key: placeholder})
            absolute = self.request.build_absolute_uri(path) if self.request else path
            template = self.templates[view_name] = tuple(absolute.rsplit(placeholder, 1))
        # As reverse() quotes a URL argument.
        return f"{template[0]}{quote(value, safe='!$&()*+,;=~:@/')}{template[1]}"


def project_rows(queryset):
    """The plain rows a page of `queryset` is read from, in its order. (Types are few: they
    are read apart, which keeps a join out of the page's query and out of its count.)"""
    return queryset.values(*PROJECT_COLUMNS, "project_type_id")


def _datetime(value: dt.datetime | None) -> str | None:
    # As DRF's DateTimeField: in the current time zone, UTC written "Z".
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _partial(row: dict, name: str) -> str | None:
    date = row[f"{name}_on"]
    return PartialDate(date=date, precision=row[f"{name}_precision"]).isoformat() if date else None


def _related(ids: list[int], address: Addresses) -> dict[str, dict[int, list[dict]]]:
    """Country and organisation roles, initiatives and sources of the projects `ids`, in
    the order the serializer gives them, four queries in all."""
    related: dict[str, dict[int, list[dict]]] = {
        key: defaultdict(list) for key in ("countries", "companies", "initiatives", "sources")
    }
    for key, roles, entity, view_name in (
        ("countries", ProjectCountry.objects, "country", "api:country-detail"),
        ("companies", ProjectCompany.objects, "company", "api:company-detail"),
    ):
        lookup = "iso2" if entity == "country" else "slug"
        rows = (
            roles.filter(project_id__in=ids)
            .order_by("role", f"{entity}__name", "pk")
            .values_list("project_id", f"{entity}__{lookup}", f"{entity}__name", "role")
        )
        for project_id, value, name, role in rows:
            related[key][project_id].append(
                {
                    lookup: value,
                    "name": name,
                    "url": address(
                        view_name, lookup, value.lower() if entity == "country" else value
                    ),
                    "role": role,
                }
            )
    initiatives = (
        ProjectInitiative.objects.filter(project_id__in=ids)
        .order_by("initiative__name", "pk")
        .values_list("project_id", "initiative__slug", "initiative__name")
    )
    for project_id, slug, name in initiatives:
        related["initiatives"][project_id].append(
            {"slug": slug, "name": name, "url": address("api:initiative-detail", "slug", slug)}
        )
    citations = (
        Citation.objects.filter(project_id__in=ids)
        .order_by("document__title", "claim", "pk")
        .values_list(
            "project_id",
            "document_id",
            "document__url",
            "document__title",
            "claim",
            "quote",
            "location",
        )
    )
    for project_id, document, url, title, claim, quote_, location in citations:
        related["sources"][project_id].append(
            {
                "document": document,
                "url": url,
                "title": title,
                "claim": claim,
                "quote": quote_,
                "location": location,
            }
        )
    return related


def represent_projects(rows: Iterable[dict], request) -> list[dict]:
    """The API's representation of each project row (see project_rows), in order."""
    rows = list(rows)
    address = Addresses(request)
    related = _related([row["id"] for row in rows], address)
    types = {
        pk: (slug, name)
        for pk, slug, name in ProjectType.objects.filter(
            pk__in={row["project_type_id"] for row in rows}
        ).values_list("pk", "slug", "name")
    }
    empty: list = []
    results = []
    for row in rows:
        pk = row["id"]
        type_slug, type_name = types[row["project_type_id"]]
        sources = related["sources"].get(pk, empty)
        landing_points = row["landing_points"]
        results.append(
            {
                "id": pk,
                "url": address("api:project-detail", "slug", row["slug"]),
                "slug": row["slug"],
                "name": row["name"],
                "description": row["description"],
                "type": {
                    "slug": type_slug,
                    "name": type_name,
                    "url": address("api:projecttype-detail", "slug", type_slug),
                },
                "status": row["status"],
                "publication": row["publication"],
                "countries": related["countries"].get(pk, empty),
                "companies": related["companies"].get(pk, empty),
                "initiatives": related["initiatives"].get(pk, empty),
                "value_amount": row["value_amount"],
                "value_currency": row["value_currency"],
                "value_usd": row["value_usd"],
                "announced": _partial(row, "announced"),
                "started": _partial(row, "started"),
                "completed": _partial(row, "completed"),
                "length_km": row["length_km"],
                "capacity": row["capacity"],
                "latitude": row["latitude"],
                "longitude": row["longitude"],
                "geometry": row["geometry"],
                "landing_points": (
                    LandingPointSerializer(landing_points, many=True).data if landing_points else []
                ),
                "external_ids": {k: str(v) for k, v in row["external_ids"].items()},
                "sources": sources,
                "citation_count": len(sources),
                "created": _datetime(row["created"]),
                "updated": _datetime(row["updated"]),
            }
        )
    return results
