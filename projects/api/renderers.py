"""CSV and GeoJSON renderings of list and detail responses."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import renderers

IDENTIFYING_KEYS = ("iso2", "slug", "id")


def is_brief(value) -> bool:
    """A related object in its short form: its key, its name and its address."""
    return (
        isinstance(value, dict)
        and "url" in value
        and "name" in value
        and any(key in value for key in IDENTIFYING_KEYS)
    )


def flat_value(value) -> str:
    """One cell: brief objects by their key (with ":role" where they have one), lists of them
    and of plain values joined with "; ", any other structure (a geometry, external ids,
    landing points, sources) as compact JSON — the forms the dataset importer reads back."""
    if value is None:
        return ""
    if is_brief(value):
        key = next(k for k in IDENTIFYING_KEYS if k in value)
        return f"{value[key]}:{value['role']}" if "role" in value else str(value[key])
    if isinstance(value, list | tuple) and all(
        is_brief(item) or not isinstance(item, dict | list | tuple) for item in value
    ):
        return "; ".join(flat_value(item) for item in value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def rows_of(data) -> list[dict]:
    if isinstance(data, dict) and "results" in data:
        return data["results"]
    if isinstance(data, list):
        return data
    return [data]


class CSVRenderer(renderers.BaseRenderer):
    """One flat row per object; nested objects by their key, lists joined with "; "."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        rows = rows_of(data)
        if response is not None and response.status_code >= 400:
            rows = [{"error": flat_value(data)}]
        output = io.StringIO()
        columns = list(rows[0].keys()) if rows else []
        writer = csv.DictWriter(output, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: flat_value(value) for key, value in row.items()})
        return output.getvalue().encode(self.charset)


def point(row: dict) -> dict | None:
    if row.get("geometry"):
        return row["geometry"]
    if row.get("latitude") is not None and row.get("longitude") is not None:
        return {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}
    return None


def properties(row: dict) -> dict:
    """The object without its geometry — which is the feature's. An object that has none
    says so (`"geometry": null`): its feature's Point is then only its coordinates, and an
    import reading the file back does not take that Point for a geometry."""
    kept = {k: v for k, v in row.items() if k != "geometry"}
    if "geometry" in row and row["geometry"] is None:
        kept["geometry"] = None
    return kept


class GeoJSONRenderer(renderers.JSONRenderer):
    """A FeatureCollection: each object's geometry (or its point) and its JSON as properties.
    Pagination travels as foreign members (count, next, previous) and in the Link header."""

    media_type = "application/geo+json"
    format = "geojson"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return super().render(data, accepted_media_type, renderer_context)
        features = [
            {
                "type": "Feature",
                "id": row.get("id"),
                "geometry": point(row),
                "properties": properties(row),
            }
            for row in rows_of(data)
        ]
        if isinstance(data, dict) and "results" not in data:
            return super().render(features[0], accepted_media_type, renderer_context)
        collection = {"type": "FeatureCollection", "features": features}
        if isinstance(data, dict):
            collection.update({k: data[k] for k in ("count", "next", "previous") if k in data})
        return super().render(collection, accepted_media_type, renderer_context)
