"""TeleGeography's submarine-cable JSON, read into exchange-format records.

TeleGeography publishes one JSON object per cable (see DESIGN.md, "TeleGeography
submarine-cable format"), usually as a folder of files or a zip of that folder. Its values
are written for people ("15,000 km", "2021 Q4", "Kinshasa, Congo, Dem. Rep."), so each one is
parsed here into what the importer expects; anything that cannot be parsed makes that one
cable's row an error, never the whole import.

The archive comes from outside, so it is read in memory under limits instead of being
extracted: a zip bomb or a lying header is refused before it can fill the memory or the disk.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote, urlparse

from django.utils import timezone

from . import DatasetError, DatasetRow

# Archive limits. Real cable files are a few kilobytes and cable-geo.json a few megabytes;
# these leave ample room while keeping a hostile archive from exhausting the memory.
MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 500 * 1024 * 1024
MAX_MEMBER_BYTES = 64 * 1024 * 1024

# Files that sit next to the cables but are not cables.
INDEX_FILE = "all.json"
GEOMETRY_FILE = "cable-geo.json"

PROJECT_TYPE = "submarine-cable"
MAP_URL = "https://www.submarinecablemap.com/submarine-cable/{id}"
CLAIM_GENERAL = "general"  # projects.models.source.ClaimKind.GENERAL
REPLACE_ROLES = {"countries": ["landing_point"], "companies": ["owner"]}

# How TeleGeography (and people) write "we don't know".
UNKNOWN_VALUES = frozenset(
    {"", "n.a.", "n.a", "na", "n/a", "tbd", "t.b.d.", "tba", "t.b.a.", "unknown", "-", "?"}
)

# The second half of country names written the World Bank way ("Congo, Dem. Rep."): when a
# landing point's name ends with one of these, the piece before it belongs to the country.
# fmt: off
COUNTRY_QUALIFIERS = frozenset({
    "dem. rep.", "rep.", "the", "islamic rep.", "arab rep.", "fed. sts.", "rep. of",
    "dem. people's rep.", "rb", "republic of", "islamic republic of", "democratic republic of the",
})
MONTH_NAMES = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]
# fmt: on
MONTHS = {
    spelling: number
    for number, month in enumerate(MONTH_NAMES, start=1)
    for spelling in (month, month[:3])
} | {"sept": 9}

LENGTH_RE = re.compile(
    r"^(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?:km|kms|kilometers|kilometres)?\.?$",
    re.IGNORECASE,
)
YEAR = r"(?P<year>\d{4})"
QUARTER = r"Q(?P<quarter>[1-4])"
MONTH = r"(?P<month>[A-Za-z]+)\.?"
RFS_PATTERNS = [
    re.compile(rf"^{YEAR}$"),
    re.compile(rf"^{YEAR}\s+{QUARTER}$", re.IGNORECASE),
    re.compile(rf"^{QUARTER},?\s+{YEAR}$", re.IGNORECASE),
    re.compile(rf"^{YEAR},?\s+{MONTH}$"),
    re.compile(rf"^{MONTH},?\s+{YEAR}$"),
    re.compile(rf"^{YEAR}-(?P<month_number>\d{{1,2}})$"),
]
EARLIEST_YEAR, LATEST_YEAR = 1850, 2100  # the first submarine cable was laid in 1850


class CableProblem(ValueError):
    """One cable's value cannot be read; the message is the sentence the row will show."""


# --- small parsers, one per TeleGeography field ------------------------------------------


def is_unknown(value: Any) -> bool:
    """True for the ways the data says "not known" (None, "n.a.", "TBD", an empty string)."""
    return value is None or (isinstance(value, str) and value.strip().casefold() in UNKNOWN_VALUES)


def parse_length(value: Any) -> str | None:
    """ "15,000 km" → "15000": a decimal string the importer can store exactly."""
    if is_unknown(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return str(value)
        raise CableProblem(f"length {value!r} is not a length in km")
    match = LENGTH_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise CableProblem(f"length {value!r} is not a length in km")
    return match["number"].replace(",", "")


@dataclass(frozen=True)
class ReadyForService:
    """When a cable was (or will be) ready: a year, optionally narrowed to a month or quarter.

    The exchange format has no quarters, so a quarter is published as its year only, but the
    status still uses it: a cable due in Q1 is not "planned" any more in June of that year.
    """

    year: int
    month: int | None = None
    quarter: int | None = None

    def partial_date(self) -> str:
        return f"{self.year:04d}-{self.month:02d}" if self.month else f"{self.year:04d}"

    def has_passed(self, today: dt.date) -> bool:
        """Whether the date is behind us: a month counts from its first day, a quarter from
        its last month (it may be ready on the quarter's last day), a bare year only once it
        is over (it may mean December)."""
        last_month = self.month or (self.quarter * 3 if self.quarter else None)
        if last_month is None:
            return self.year < today.year
        return (self.year, last_month) <= (today.year, today.month)


def _checked_year(text: str) -> int:
    year = int(text)
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"year {year} is out of range")
    return year


def parse_rfs_text(text: str) -> ReadyForService:
    """ "2021", "2019 March", "March 2019", "2019 Mar", "2021 Q4" → a ReadyForService.

    Raise ValueError when the text is none of these.
    """
    text = " ".join(text.split())
    for pattern in RFS_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groupdict()
        year = _checked_year(groups["year"])
        if groups.get("quarter"):
            return ReadyForService(year, quarter=int(groups["quarter"]))
        if groups.get("month"):
            month = MONTHS.get(groups["month"].casefold())
            if month is None:
                raise ValueError(f"{groups['month']!r} is not a month")
            return ReadyForService(year, month=month)
        if groups.get("month_number"):
            month = int(groups["month_number"])
            if not 1 <= month <= 12:
                raise ValueError(f"{month} is not a month")
            return ReadyForService(year, month=month)
        return ReadyForService(year)
    raise ValueError(f"{text!r} is not a date")


def _parse_rfs_year(value: Any) -> ReadyForService | None:
    """Newer files add `rfs_year`, an integer (sometimes written as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and EARLIEST_YEAR <= value <= LATEST_YEAR:
        return ReadyForService(value)
    return None


def parse_ready_for_service(cable: dict) -> ReadyForService | None:
    """The cable's ready-for-service date: `rfs` when it says one, else `rfs_year`.

    `rfs` is the richer of the two (it may carry a month or a quarter), so it wins; an `rfs`
    that cannot be parsed is an error only when `rfs_year` cannot stand in for it.
    """
    rfs, fallback = cable.get("rfs"), _parse_rfs_year(cable.get("rfs_year"))
    if is_unknown(rfs):
        return fallback
    try:
        if not isinstance(rfs, str | int) or isinstance(rfs, bool):
            raise ValueError("not a text")
        return parse_rfs_text(str(rfs))
    except ValueError:
        if fallback is not None:
            return fallback
        raise CableProblem(
            f"rfs {rfs!r} is not a date such as 2021, 2019 March or 2021 Q4"
        ) from None


def status_for(ready: ReadyForService | None, today: dt.date) -> str:
    if ready is None:
        return "unknown"
    return "operational" if ready.has_passed(today) else "planned"


def parse_owners(value: Any) -> list[dict]:
    """ "A, ,B ,  a" → owners A and B: one string, owners separated by commas."""
    if is_unknown(value):
        return []
    if not isinstance(value, str):
        raise CableProblem(f"owners {value!r} is not a text")
    owners: list[dict] = []
    seen: set[str] = set()
    for part in value.split(","):
        name = " ".join(part.split())
        if is_unknown(name) or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        owners.append({"name": name, "role": "owner"})
    return owners


def split_landing_point_name(name: str) -> tuple[str, str | None]:
    """ "City, Country" → (city, country), where either part may hold commas itself.

    The country is the last comma-separated piece, unless that piece only qualifies the one
    before it ("Congo, Dem. Rep.", "Korea, Rep."): then the country is both pieces. Whatever
    comes before is the city ("Sandwich, MA"). A name without a comma has no country part.
    """
    pieces = [piece.strip() for piece in name.split(",") if piece.strip()]
    if len(pieces) < 2:
        return " ".join(name.split()), None
    country_size = 2 if pieces[-1].casefold() in COUNTRY_QUALIFIERS else 1
    if country_size == 2 and len(pieces) == 2:  # "Congo, Dem. Rep." alone: only a country
        return ", ".join(pieces), ", ".join(pieces)
    return ", ".join(pieces[:-country_size]), ", ".join(pieces[-country_size:])


def parse_latlon(value: Any) -> tuple[float, float] | tuple[None, None]:
    """ "lat,lon" (or a [lat, lon] pair) → floats; anything unusable → no coordinates.

    A landing point stays useful without coordinates (its name and country still count), so
    bad coordinates drop the coordinates, not the point.
    """
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None, None
    try:
        latitude, longitude = (float(str(part).strip()) for part in value)
    except ValueError:
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return latitude, longitude


def parse_tbd(value: Any) -> bool:
    """`is_tbd` is a bool in some files and the string "true"/"false" in others."""
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "yes", "1"}
    return value is True or value == 1


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_landing_point(point: Any, number: int) -> dict:
    """One landing point in the exchange format. The country stays a name: the importer
    resolves it, since only it knows the countries and their aliases."""
    if not isinstance(point, dict):
        raise CableProblem(f"landing point {number} is not an object")
    name = point.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CableProblem(f"landing point {number} has no name")
    city, country_name = split_landing_point_name(name)
    given_country = _text_or_none(point.get("country"))
    if given_country:  # newer files carry the country separately; it beats our guess
        country_name = given_country
        suffix = f", {given_country}"
        city = name.strip()[: -len(suffix)].strip() if name.strip().endswith(suffix) else city
    latitude, longitude = parse_latlon(point.get("latlon"))
    return {
        "id": _text_or_none(point.get("id")) or _text_or_none(point.get("landing_point_id")),
        "name": city,
        "country_name": country_name,
        "country": None,
        "latitude": latitude,
        "longitude": longitude,
        "tbd": parse_tbd(point.get("is_tbd")),
    }


def parse_landing_points(value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CableProblem("landing_points is not a list")
    return [parse_landing_point(point, number) for number, point in enumerate(value, start=1)]


def landing_countries(points: list[dict]) -> list[dict]:
    """The distinct countries the cable lands in, in the order the cable lists them."""
    countries: list[dict] = []
    seen: set[str] = set()
    for point in points:
        name = point["country_name"]
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            countries.append({"name": name, "role": "landing_point"})
    return countries


def is_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value.strip())
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


def cable_sources(cable_id: str, name: str, url: Any) -> list[dict]:
    """The map's page for the cable always; the cable's own site when the data gives one."""
    sources = [_source(MAP_URL.format(id=quote(cable_id, safe="")), f"Submarine Cable Map: {name}")]
    if is_web_url(url):
        sources.append(_source(url.strip(), f"{name}: the cable's own site"))
    return sources


def _source(url: str, title: str) -> dict:
    return {"url": url, "title": title, "quote": "", "claim": CLAIM_GENERAL, "location": ""}


# --- one cable -----------------------------------------------------------------------------


def _identity(cable: dict) -> tuple[str, str]:
    """The cable's id and name, which every record needs: without them there is no cable."""
    cable_id, name = cable.get("id"), cable.get("name")
    cable_id = cable_id.strip() if isinstance(cable_id, str) else ""
    name = " ".join(name.split()) if isinstance(name, str) else ""
    missing = [label for label, value in (("id", cable_id), ("name", name)) if not value]
    if missing:
        raise CableProblem(f"missing the cable's {' and '.join(missing)}")
    return cable_id, name


def cable_record(cable: Any, today: dt.date, geometries: dict[str, dict]) -> dict:
    """The exchange-format record for one cable object; raise CableProblem listing every
    value that cannot be read, so that one look at the report is enough to fix the file."""
    if not isinstance(cable, dict):
        raise CableProblem(f"holds {_json_kind(cable)}, not a cable object")
    cable_id, name = _identity(cable)
    record: dict[str, Any] = {"name": name, "type": PROJECT_TYPE}
    record["external_ids"] = {"telegeography": cable_id}
    problems: list[str] = []
    # What the map's authors do not know ("n.a.") is left out of the record rather than set
    # to nothing: an import must not erase what an editor found elsewhere.
    steps: list[Callable[[], None]] = [
        lambda: _add_known(record, "length_km", parse_length(cable.get("length"))),
        lambda: _add_dates(record, parse_ready_for_service(cable), today),
        lambda: _add_known(record, "companies", parse_owners(cable.get("owners"))),
        lambda: _add_landing_points(record, cable.get("landing_points")),
    ]
    for step in steps:
        try:
            step()
        except CableProblem as problem:
            problems.append(str(problem))
    if problems:
        raise CableProblem("; ".join(problems))
    if cable_id in geometries:
        record["geometry"] = geometries[cable_id]
    record["sources"] = cable_sources(cable_id, name, cable.get("url"))
    record["replace_roles"] = {key: list(roles) for key, roles in REPLACE_ROLES.items()}
    notes = cable.get("notes")
    if isinstance(notes, str) and notes.strip():
        record["description"] = notes.strip()
    return record


def _add_known(record: dict, key: str, value) -> None:
    if value not in (None, []):
        record[key] = value


def _add_dates(record: dict, ready: ReadyForService | None, today: dt.date) -> None:
    if ready is not None:
        record["completed"] = ready.partial_date()
        record["status"] = status_for(ready, today)


def _add_landing_points(record: dict, value: Any) -> None:
    points = parse_landing_points(value)
    record["countries"] = landing_countries(points)
    record["landing_points"] = points


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    for kind, label in kinds.items():
        if isinstance(value, kind):
            return label
    return "null" if value is None else "a number"


def rows_for_file(
    name: str, content: bytes, today: dt.date, geometries: dict
) -> Iterator[DatasetRow]:
    """The rows of one cable file: one for a cable object, one per item for a list."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        yield DatasetRow(
            name, error=f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        )
        return
    except UnicodeDecodeError:
        yield DatasetRow(name, error="not valid JSON: the file is not UTF-8 text")
        return
    if isinstance(data, list):
        for position, cable in enumerate(data, start=1):
            yield _row(f"{name}#{position}", cable, today, geometries)
    else:
        yield _row(name, data, today, geometries)


def _row(label: str, cable: Any, today: dt.date, geometries: dict) -> DatasetRow:
    try:
        return DatasetRow(label, record=cable_record(cable, today, geometries))
    except CableProblem as problem:
        return DatasetRow(label, error=str(problem))


# --- geometries ----------------------------------------------------------------------------


def parse_geometries(content: bytes) -> dict[str, dict]:
    """cable-geo.json → {cable id: GeoJSON geometry}.

    A feature names its cable in `properties.id` (the usual place), its own `id`, or
    `properties.slug`; all three are tried so that older and newer exports both work.
    """
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CableProblem(
            f"{GEOMETRY_FILE} is not valid JSON ({error}); no geometry attached"
        ) from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise CableProblem(
            f"{GEOMETRY_FILE} is not a GeoJSON FeatureCollection; no geometry attached"
        )
    geometries: dict[str, dict] = {}
    for feature in features:
        if not isinstance(feature, dict):
            continue
        geometry, properties = feature.get("geometry"), feature.get("properties") or {}
        if not isinstance(geometry, dict) or not geometry.get("type"):
            continue
        keys = (
            (properties.get("id"), feature.get("id"), properties.get("slug"))
            if isinstance(properties, dict)
            else (feature.get("id"),)
        )
        for key in keys:
            if isinstance(key, str) and key.strip():
                geometries.setdefault(key.strip(), geometry)
    return geometries


# --- sources: a folder, a zip, one file ----------------------------------------------------


def read_capped(stream: IO[bytes], label: str) -> bytes:
    """Read at most MAX_MEMBER_BYTES: sizes written in a header are not to be trusted."""
    content = stream.read(MAX_MEMBER_BYTES + 1)
    if len(content) > MAX_MEMBER_BYTES:
        raise DatasetError(f"{label} is larger than {_megabytes(MAX_MEMBER_BYTES)}; refused")
    return content


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _is_cable_file(name: str) -> bool:
    return (
        name.lower().endswith(".json")
        and not name.startswith(".")
        and name not in {INDEX_FILE, GEOMETRY_FILE}
    )


@dataclass(frozen=True)
class Bundle:
    """The files of a cable folder, however stored: the cable files in reading order and
    the geometry file, if any, named as in the folder (a cable's row is its file name)."""

    cables: list[str]
    geometry: str | None


def rows_from_bundle(
    bundle: Bundle, load: Callable[[str], bytes], today: dt.date
) -> Iterator[DatasetRow]:
    geometries: dict[str, dict] = {}
    if bundle.geometry is not None:
        try:
            geometries = parse_geometries(load(bundle.geometry))
        except CableProblem as problem:
            yield DatasetRow(bundle.geometry, error=str(problem))
    for name in bundle.cables:
        yield from rows_for_file(name, load(name), today, geometries)


def _folder_bundle(folder: Path) -> Bundle:
    names = sorted(path.name for path in folder.iterdir() if path.is_file())
    cables = [name for name in names if _is_cable_file(name)]
    if not cables:
        raise DatasetError(f"{folder.name}: the folder holds no cable .json files")
    geometry = GEOMETRY_FILE if GEOMETRY_FILE in names else None
    return Bundle(cables=cables, geometry=geometry)


def _read_folder(folder: Path, today: dt.date) -> Iterator[DatasetRow]:
    bundle = _folder_bundle(folder)

    def load(name: str) -> bytes:
        with (folder / name).open("rb") as stream:
            return read_capped(stream, name)

    return rows_from_bundle(bundle, load, today)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DatasetError(f"{path.name} is not a readable zip archive: {error}") from None


def _zip_json_members(archive: zipfile.ZipFile, label: str) -> list[zipfile.ZipInfo]:
    """The archive's JSON files, after refusing an archive too large to be a cable folder."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise DatasetError(f"{label} has {len(members)} files, more than {MAX_MEMBERS}; refused")
    declared = sum(member.file_size for member in members)
    if declared > MAX_TOTAL_BYTES:
        raise DatasetError(
            f"{label} unpacks to {_megabytes(declared)}, "
            f"more than {_megabytes(MAX_TOTAL_BYTES)}; refused"
        )
    wanted = []
    for member in members:
        path = PurePosixPath(member.filename)
        if member.is_dir() or "__MACOSX" in path.parts or path.name.startswith("."):
            continue
        if not path.name.lower().endswith(".json"):
            continue
        if member.file_size > MAX_MEMBER_BYTES:
            raise DatasetError(
                f"{label}: {member.filename} unpacks to {_megabytes(member.file_size)}, "
                f"more than {_megabytes(MAX_MEMBER_BYTES)}; refused"
            )
        wanted.append(member)
    return wanted


def _zip_folder(members: list[zipfile.ZipInfo], label: str) -> str:
    """The folder inside the archive that holds the cables.

    An archive of the cable folder may put it at the top or under a folder of its own; when
    JSON files sit in several folders, the one with all.json or cable-geo.json is the cable
    folder (an export of the whole API also has landing-point files, which are not cables).
    """
    folders: dict[str, set[str]] = {}
    for member in members:
        path = PurePosixPath(member.filename)
        folders.setdefault(str(path.parent), set()).add(path.name)
    if len(folders) == 1:
        return next(iter(folders))
    marked = [folder for folder, names in folders.items() if names & {INDEX_FILE, GEOMETRY_FILE}]
    if len(marked) == 1:
        return marked[0]
    raise DatasetError(
        f"{label} holds JSON files in several folders ({', '.join(sorted(folders))}); "
        "archive one folder of cable files"
    )


def _zip_bundle(path: Path) -> tuple[Bundle, dict[str, str]]:
    """The cables of the archive and, for each, its member's full name."""
    with _open_zip(path) as archive:
        members = _zip_json_members(archive, path.name)
    if not members:
        raise DatasetError(f"{path.name}: the archive holds no cable .json files")
    folder = _zip_folder(members, path.name)
    in_folder = {
        PurePosixPath(member.filename).name: member.filename
        for member in members
        if str(PurePosixPath(member.filename).parent) == folder
    }
    cables = sorted(name for name in in_folder if _is_cable_file(name))
    if not cables:
        raise DatasetError(f"{path.name}: the archive holds no cable .json files")
    geometry = GEOMETRY_FILE if GEOMETRY_FILE in in_folder else None
    return Bundle(cables=cables, geometry=geometry), in_folder


ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    EOFError,
)


def _read_zip(
    path: Path, bundle: Bundle, members: dict[str, str], today: dt.date
) -> Iterator[DatasetRow]:
    """Read the members one by one in memory, counting what they really unpack to."""
    total = 0
    with _open_zip(path) as archive:

        def load(name: str) -> bytes:
            nonlocal total
            label = f"{path.name}: {members[name]}"
            try:
                with archive.open(members[name]) as stream:
                    content = read_capped(stream, label)
            except ZIP_READ_ERRORS as error:
                raise DatasetError(f"{label} cannot be read: {error}") from None
            total += len(content)
            if total > MAX_TOTAL_BYTES:
                raise DatasetError(
                    f"{path.name} unpacks to more than {_megabytes(MAX_TOTAL_BYTES)}; refused"
                )
            return content

        yield from rows_from_bundle(bundle, load, today)


def _read_json_file(path: Path, today: dt.date) -> Iterator[DatasetRow]:
    if path.name in {INDEX_FILE, GEOMETRY_FILE}:
        raise DatasetError(
            f"{path.name} is not a cable file; give the folder (or zip) of cable files instead"
        )
    with path.open("rb") as stream:
        content = read_capped(stream, path.name)
    return rows_for_file(path.name, content, today, {})


def _sniffed_suffix(path: Path) -> str:
    """The suffix a file without one should have had: stored uploads may lose their name."""
    if zipfile.is_zipfile(path):
        return ".zip"
    with path.open("rb") as stream:
        start = stream.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n")
    return ".json" if start[:1] in (b"{", b"[") else ""


def read(source: Path | str, *, today: dt.date | None = None) -> Iterator[DatasetRow]:
    """The rows of a TeleGeography folder, zip of that folder, or single cable JSON file.

    The source is checked before the first row is asked for, so a wrong source fails at once
    with a DatasetError. `today` decides which cables are operational already (tests pin it).
    """
    path = Path(source)
    today = today or timezone.localdate()
    if path.is_dir():
        return _read_folder(path, today)
    if not path.is_file():
        raise DatasetError(f"{path} does not exist")
    suffix = path.suffix.lower() or _sniffed_suffix(path)
    if suffix == ".zip":
        bundle, members = _zip_bundle(path)
        return _read_zip(path, bundle, members, today)
    if suffix == ".json":
        return _read_json_file(path, today)
    raise DatasetError(
        f"{path.name} is not TeleGeography data: expected a folder of cable .json files, "
        "a .zip of that folder, or one .json file"
    )
