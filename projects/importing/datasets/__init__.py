"""Structured datasets: readers that turn a file into project records, one module per format.

Every reader yields `DatasetRow`s: the row's number as a person would point at it (a CSV
line counting the header as 1, a JSON object's position from 1, a TeleGeography cable's file
name) and either a record or the reason the row cannot be read. `services.datasets` resolves
the names in the records, validates and upserts them.

A record is a dict in the exchange format, the API's JSON representation of a project with
names allowed wherever a key is expected. Keys left out are left alone on update.

    slug            str; when missing, matched by external id or made from the name
    name            str (required)
    description, capacity       str
    type            a project type's slug or name (required for a new project)
    status          announced | planned | under_construction | operational | suspended |
                    cancelled | unknown
    publication     draft | in_review | published (new projects: draft)
    countries       [{"iso2": "KE" | "name": "Kenya", "role": "host" | "landing_point" |
                    "transit"}]
    companies       [{"slug": "huawei" | "name": "Huawei", "role": "owner" | ...}]
    initiatives     [slug or name]
    value_amount, value_usd     decimal as str or number;  value_currency  ISO 4217 code
    announced, started, completed   partial dates: "2021", "2021-06", "2021-06-30"
    length_km       decimal;  latitude, longitude  numbers;  geometry  a GeoJSON geometry
    landing_points  [{"name", "country" (iso2 or None), "country_name" (as written),
                    "latitude", "longitude", "tbd": bool, "id"}]
    external_ids    {"telegeography": "2africa", ...}
    sources         [{"url", "title", "quote", "claim", "location"}]: cited documents
    replace_roles   {"countries": [roles], "companies": [roles]}: the roles this dataset
                    speaks for. Only those are replaced on update; other roles (an editor's
                    additions) stay. Without it, the lists given replace the whole lists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetRow:
    row: int | str
    record: dict | None = None
    error: str = ""


class DatasetError(Exception):
    """The whole file cannot be read (not the format it claims, unreadable archive, ...)."""
