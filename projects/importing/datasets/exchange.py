"""The exchange formats: the API's own CSV, JSON and GeoJSON exports, read back.

One schema for the three (see the package's docstring): a JSON export is a list of objects
(or a page of them, `{"results": [...]}`), a GeoJSON export a FeatureCollection whose
properties are the same objects, and a CSV export the same objects flattened — related
objects by their key with ":role" ("KE:landing_point"), lists joined with "; ", structures
(geometry, external ids, landing points, sources) as JSON. Hand-written spreadsheets may
also give `source_url` and `source_quote` columns, and names instead of keys.

Two lists are read: projects, and organisations (the export of `companies/`), which a
projects file names by slug.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import DatasetError, DatasetRow

ROLE_KEYS = {"countries": "iso2", "companies": "slug"}
CSV_FIELD_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class Schema:
    """How one list's export is read back."""

    noun: str
    # What the API writes but a dataset does not set: identifiers of this installation,
    # counts and timestamps.
    read_only: frozenset[str]
    json_cells: frozenset[str]
    list_cells: frozenset[str]
    # Blank cells of these columns mean "none" rather than "empty text".
    nullable: frozenset[str]
    # Related objects written as brief objects ({"slug", "name", "url"}): read as their key.
    brief: dict[str, str]


PROJECTS = Schema(
    noun="project",
    read_only=frozenset({"id", "url", "citation_count", "created", "updated"}),
    json_cells=frozenset({"geometry", "external_ids", "landing_points", "sources"}),
    list_cells=frozenset({"countries", "companies", "initiatives"}),
    nullable=frozenset(
        {
            "value_amount",
            "value_usd",
            "length_km",
            "latitude",
            "longitude",
            "geometry",
            "announced",
            "started",
            "completed",
        }
    ),
    brief={"type": "slug"},
)
ORGANISATIONS = Schema(
    noun="organisation",
    read_only=frozenset({"id", "url", "project_count", "created", "updated"}),
    json_cells=frozenset({"external_ids"}),
    list_cells=frozenset({"aliases"}),
    nullable=frozenset({"headquarters", "parent"}),
    brief={"headquarters": "iso2", "parent": "slug"},
)
SCHEMAS = {"projects": PROJECTS, "organisations": ORGANISATIONS}


def decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"The {what} is not UTF-8 text (byte {error.start} cannot be read); "
            "save it as UTF-8 and import it again."
        ) from None


def read_json(source: Path, schema: Schema = PROJECTS) -> Iterator[DatasetRow]:
    items = _json_items(_load_json(source), schema)
    for number, item in enumerate(items, start=1):
        yield _row(number, item, schema)


def read_geojson(source: Path, schema: Schema = PROJECTS) -> Iterator[DatasetRow]:
    data = _load_json(source)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise DatasetError("A GeoJSON dataset is a FeatureCollection.")
    features = data.get("features")
    if not isinstance(features, list):
        raise DatasetError("The FeatureCollection has no list of features.")
    marked = any(
        isinstance(f, dict)
        and isinstance(f.get("properties"), dict)
        and "geometry" in f["properties"]
        for f in features
    )
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            yield DatasetRow(number, error="a feature needs an object of properties")
            continue
        yield _row(number, _feature_record(feature, marked), schema)


def read_csv(source: Path, schema: Schema = PROJECTS) -> Iterator[DatasetRow]:
    text = decode(source.read_bytes(), "CSV file")
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "name" not in [f.strip() for f in reader.fieldnames]:
        raise DatasetError(
            "The CSV file has no header row with a 'name' column; the first row names the "
            "columns (the same as the API's CSV export)."
        )
    try:
        for cells in reader:
            # The header is line 1; the row number is the line a spreadsheet shows.
            number = reader.line_num
            if None in cells:
                yield DatasetRow(number, error="more cells than the header has columns")
                continue
            try:
                record = _csv_record(cells, schema)
            except ValueError as error:
                yield DatasetRow(number, error=str(error))
                continue
            yield _row(number, record, schema)
    except csv.Error as error:
        raise DatasetError(
            f"The CSV file cannot be read at line {reader.line_num}: {error}."
        ) from None


def _load_json(source: Path):
    try:
        return json.loads(decode(source.read_bytes(), "JSON file"))
    except json.JSONDecodeError as error:
        raise DatasetError(f"The file is not valid JSON: {error}.") from None


def _json_items(data, schema: Schema) -> list:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        raise DatasetError("This is a GeoJSON FeatureCollection: import it as geojson.")
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    raise DatasetError(f"A JSON dataset is a list of {schema.noun}s (or an object with 'results').")


def _row(number: int, item, schema: Schema) -> DatasetRow:
    if not isinstance(item, dict):
        return DatasetRow(number, error=f"each {schema.noun} is a JSON object")
    record = {key: value for key, value in item.items() if key not in schema.read_only}
    for key, brief_key in schema.brief.items():
        if isinstance(record.get(key), dict):
            record[key] = record[key].get(brief_key) or record[key].get("name")
    if schema is not PROJECTS:
        return DatasetRow(number, record=record)
    for key in ("countries", "companies"):
        if isinstance(record.get(key), list):
            record[key] = [_role_item(key, entry) for entry in record[key]]
    if isinstance(record.get("initiatives"), list):
        record["initiatives"] = [
            entry.get("slug") or entry.get("name") if isinstance(entry, dict) else entry
            for entry in record["initiatives"]
        ]
    if "source_url" in record or "source_quote" in record:
        _add_simple_source(record)
    return DatasetRow(number, record=record)


def _role_item(key: str, entry):
    """A role as the API writes it (brief object with its role), or "key:role"."""
    if isinstance(entry, dict):
        return {k: v for k, v in entry.items() if k not in {"url"}}
    if isinstance(entry, str):
        value, _, role = entry.rpartition(":")
        if not value:
            return {"name": entry.strip(), "role": ""}
        return {"name": value.strip(), "role": role.strip()}
    return entry


def _add_simple_source(record: dict) -> None:
    url = (record.pop("source_url", None) or "").strip()
    quote = (record.pop("source_quote", None) or "").strip()
    if url or quote:
        record.setdefault("sources", [])
        if isinstance(record["sources"], list):
            record["sources"].append({"url": url, "quote": quote})


def _feature_record(feature: dict, marked: bool) -> dict:
    """The properties, with the geometry back. Our export marks each object without a
    geometry (`"geometry": null` among its properties): its feature's Point is only its
    coordinates, and any other feature's geometry is the object's. In files without the
    mark, a Point at the object's own coordinates is read as no geometry."""
    record = dict(feature["properties"])
    geometry = feature.get("geometry")
    if "geometry" in record:
        return record
    point = (
        [record.get("longitude"), record.get("latitude")]
        if record.get("latitude") is not None
        else None
    )
    only_the_point = (
        not marked
        and bool(geometry)
        and geometry.get("type") == "Point"
        and geometry.get("coordinates") == point
    )
    record["geometry"] = geometry if geometry and not only_the_point else None
    return record


def _csv_record(cells: dict[str, str], schema: Schema) -> dict:
    record = {}
    for column, cell in cells.items():
        column = (column or "").strip()
        if not column or column in schema.read_only:
            continue
        cell = (cell or "").strip()
        record[column] = _csv_value(column, cell, schema)
    return record


def _csv_value(column: str, cell: str, schema: Schema):
    if column in schema.json_cells:
        if not cell:
            return {} if column == "external_ids" else (None if column == "geometry" else [])
        if column == "external_ids" and not cell.startswith("{"):
            return _pairs(cell)
        try:
            return json.loads(cell)
        except json.JSONDecodeError as error:
            raise ValueError(f"{column}: not valid JSON ({error})") from None
    if column in schema.list_cells:
        items = [item.strip() for item in cell.split(";") if item.strip()]
        if column in ROLE_KEYS:
            return [_role_item(column, item) for item in items]
        return items
    if column in schema.nullable and not cell:
        return None
    return cell


def _pairs(cell: str) -> dict:
    """External ids written by hand as "telegeography=peace; itu=123"."""
    pairs = {}
    for part in cell.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"external_ids: {part.strip()!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs
