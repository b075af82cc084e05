"""Importing structured datasets: resolve the names in each record, validate it, upsert it.

Projects are matched by external id (any of the record's), then by slug; a record that
matches nothing creates a project (a draft unless it says otherwise). A record that holds
what is stored writes nothing and records no history, and an edited one changes only what
differs. Every row is validated on its own, and a bad one is rejected with its number and
reason while the others go in — unless the import is atomic, when one rejection rolls
everything back. The valid rows of a batch are written together, in a few statements
(`ProjectBatch`, `project_save_many`), and their search documents rebuilt once. A dry run
does the whole import and rolls it back, so its report is exactly what the import would do.
Organisations are imported one row at a time, each in its own savepoint.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pghistory
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django.utils.text import slugify
from rest_framework import serializers

from projects.api.validators import geojson_geometry, storable_text
from projects.importing.datasets import DatasetError, DatasetRow
from projects.importing.extract import format_size
from projects.models import (
    Citation,
    ClaimKind,
    Company,
    CompanyKind,
    CompanyRole,
    Country,
    CountryRole,
    DatasetFormat,
    DatasetImport,
    ImportState,
    Initiative,
    Ownership,
    ProcessingStatus,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    Publication,
    SourceDocument,
    Status,
)
from projects.models.base import SLUG_PATTERN
from projects.models.landing_points import landing_point_problem
from projects.partial_dates import PartialDate

from .projects import (
    Lookups,
    ProjectChanges,
    ProjectWrite,
    may_change_publication,
    project_save_many,
)
from .reference import ORGANISATION_FIELDS
from .upsert import insert_rows, update_rows

logger = logging.getLogger(__name__)

TEXT_FIELDS = {"name": 300, "description": None, "capacity": 200}
DECIMAL_FIELDS = {"value_amount": 20, "value_usd": 20, "length_km": 10}
DATE_FIELDS = ("announced", "started", "completed")
KNOWN_KEYS = {
    "slug",
    "name",
    "description",
    "capacity",
    "type",
    "status",
    "publication",
    "countries",
    "companies",
    "initiatives",
    "value_amount",
    "value_currency",
    "value_usd",
    *DATE_FIELDS,
    "length_km",
    "latitude",
    "longitude",
    "geometry",
    "landing_points",
    "external_ids",
    "sources",
    "replace_roles",
}
LEGAL_SUFFIXES = re.compile(
    r"\b(ltd|limited|inc|incorporated|co|company|corp|corporation|plc|llc|sa|ag|gmbh|bv|"
    r"group|holdings?)\b"
)
BATCH_ROWS = 500
# The user of an import run from the command line: whoever has the shell may publish.
TRUSTED = "command line"


class RowRejected(Exception):
    """The row cannot go in; the message says why, naming the field."""


@dataclass
class DatasetReport:
    format: str
    dry_run: bool = False
    atomic: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    unresolved_countries: dict[str, None] = field(default_factory=dict)
    unresolved_companies: dict[str, None] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "unresolved": {
                "countries": sorted(self.unresolved_countries),
                "companies": sorted(self.unresolved_companies),
            },
        }

    @property
    def written(self) -> bool:
        return not self.dry_run and not (self.atomic and self.rejected)

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )
        if self.dry_run:
            return f"Dry run, nothing written: {text}."
        if self.atomic and self.rejected:
            return f"Nothing written (atomic import with rejected rows): {text}."
        return f"{text}."


@functools.lru_cache(maxsize=1 << 16)
def normal(name: str) -> str:
    """A name as compared: no case, no accents, no punctuation, single spaces."""
    text = unicodedata.normalize("NFKD", name).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("&", " and ")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _unambiguous(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """name → key, leaving out names that lead to two keys."""
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for name, key in pairs:
        name = normal(name)
        if not name:
            continue
        if found.get(name, key) != key:
            ambiguous.add(name)
        found.setdefault(name, key)
    return {name: key for name, key in found.items() if name not in ambiguous}


class Names:
    """Everything a dataset refers to by name, loaded once per import."""

    def __init__(self) -> None:
        countries = list(Country.objects.values_list("iso2", "iso3", "name", "aliases", "pk"))
        self.country_codes = {iso2 for iso2, *_ in countries}
        self.country_ids = {iso2: pk for iso2, *_, pk in countries}
        self.countries = _unambiguous(
            (name, iso2)
            for iso2, iso3, country_name, aliases, _ in countries
            for name in [iso2, iso3, country_name, *aliases]
        )
        types = list(ProjectType.objects.values_list("pk", "slug", "name"))
        self.types = _unambiguous(
            (name, pk) for pk, slug, type_name in types for name in (slug, type_name)
        )
        initiatives = list(Initiative.objects.values_list("slug", "name", "short_name", "pk"))
        self.initiative_ids = {slug: pk for slug, *_, pk in initiatives}
        self.initiatives = _unambiguous(
            (name, slug) for slug, *names, _ in initiatives for name in (slug, *names) if name
        )
        self.created: dict[str, str] = {}
        # Organisations a row asked for that are not written yet (slug → name): they go in
        # with the batch's writes, and only if a row that names them does.
        self.pending: dict[str, str] = {}
        companies = list(Company.objects.values_list("slug", "name", "aliases", "pk"))
        self.company_slugs = {slug for slug, *_ in companies}
        self.company_ids = {slug: pk for slug, _, _, pk in companies}
        names = [(name, slug) for slug, name, aliases, _ in companies for name in (name, *aliases)]
        self.companies = _unambiguous(names)
        self.companies_loose = _unambiguous((_loose(name), slug) for name, slug in names)

    def country(self, entry: dict) -> str | None:
        code = entry.get("iso2")
        if code:
            code = str(code).strip().upper()
            if code not in self.country_codes:
                raise RowRejected(f"countries: unknown country code {code!r}")
            return code
        name = str(entry.get("name") or "").strip()
        if len(name) == 2 and name.isalpha():
            # Two letters are a code ("KE", "ke"), never a name.
            return self.country({"iso2": name})
        return self.countries.get(normal(name))

    def company(self, entry: dict, report: DatasetReport) -> str:
        """An organisation's slug, by its slug, name or alias; one not found is created (with
        the slug the dataset gives it, when it gives one) and reported."""
        slug = str(entry.get("slug") or "").strip()
        name = " ".join(str(entry.get("name") or "").split())
        if slug in self.company_slugs:
            return slug
        if not name and not slug:
            raise RowRejected("companies: an organisation needs a slug or a name")
        if name in self.company_slugs:
            return name
        found = self.companies.get(normal(name)) or self.companies_loose.get(_loose(name))
        if found:
            return found
        return self._create_company(name or slug, slug, report)

    def _create_company(self, name: str, slug: str, report: DatasetReport) -> str:
        if len(name) > 300:
            raise RowRejected(f"companies: {name[:40]!r}… is longer than 300 characters")
        storable(name, "companies")
        if not is_slug(slug):
            slug = unique_slug(name, Company, taken=self.company_slugs, fallback="organisation")
        self.pending[slug] = name
        self.created[name] = slug
        self.company_slugs.add(slug)
        self.companies[normal(name)] = slug
        self.companies_loose.setdefault(_loose(name), slug)
        report.unresolved_companies[name] = None
        return slug

    def lookups(self, companies: dict[str, int] | None = None) -> Lookups:
        return Lookups(
            country=self.country_ids,
            company={**self.company_ids, **companies} if companies else self.company_ids,
            initiative=self.initiative_ids,
        )

    def create_pending(self, slugs: Iterable[str]) -> dict[str, int]:
        """Insert the pending organisations among `slugs`; their ids by slug. They count as
        created once the caller's savepoint holds (`confirm`)."""
        companies = [
            Company(name=self.pending[slug], slug=slug)
            for slug in dict.fromkeys(slugs)
            if slug in self.pending
        ]
        Company.objects.bulk_create(companies)
        return {company.slug: company.pk for company in companies}

    def confirm(self, created: dict[str, int]) -> None:
        for slug, pk in created.items():
            self.pending.pop(slug, None)
            self.company_ids[slug] = pk

    def find_company(self, value: str) -> str | None:
        """An organisation's slug by its slug, name or alias, without creating one."""
        value = " ".join(value.split())
        if value in self.company_slugs:
            return value
        return self.companies.get(normal(value)) or self.companies_loose.get(_loose(value))

    def add_company(self, company: Company) -> None:
        self.company_slugs.add(company.slug)
        self.company_ids[company.slug] = company.pk
        for name in (company.name, *company.aliases):
            self.companies.setdefault(normal(name), company.slug)
            self.companies_loose.setdefault(_loose(name), company.slug)

    def forget_company(self, name: str) -> None:
        """An organisation created for a row that was then rejected (and rolled back)."""
        slug = self.created.pop(name)
        self.pending.pop(slug, None)
        self.company_slugs.discard(slug)
        self.company_ids.pop(slug, None)
        for mapping in (self.companies, self.companies_loose):
            for key in [k for k, v in mapping.items() if v == slug]:
                del mapping[key]

    def project_type(self, value) -> int:
        found = self.types.get(normal(str(value or "")))
        if found is None:
            raise RowRejected(f"type: unknown project type {value!r}")
        return found

    def initiative(self, value) -> str:
        found = self.initiatives.get(normal(str(value or "")))
        if found is None:
            raise RowRejected(f"initiatives: unknown initiative {value!r}")
        return found


def _loose(name: str) -> str:
    """A company name without its legal form: "China Mobile Ltd." ~ "China Mobile"."""
    return " ".join(LEGAL_SUFFIXES.sub(" ", normal(name)).split())


def slug_base(name: str, fallback: str) -> str:
    return slugify(name)[:180].strip("-") or fallback


def unique_slug(
    name: str,
    model,
    *,
    taken: set[str] | None = None,
    fallback: str,
    free: Container[str] = (),
) -> str:
    """A slug from `name` that no row of `model` has, nor any of `taken`; `free` are slugs
    the caller has just seen unused (no query for them)."""
    base = slug_base(name, fallback)
    taken = taken if taken is not None else set()
    candidate, number = base, 1
    while candidate in taken or (
        candidate not in free and model.objects.filter(slug=candidate).exists()
    ):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _refuse_unknown(record: dict, known: set[str], schema: str) -> None:
    unknown = sorted(set(record) - known)
    if unknown:
        raise RowRejected(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the schema is that of {schema}"
        )


def is_slug(value) -> bool:
    return isinstance(value, str) and len(value) <= 200 and bool(re.fullmatch(SLUG_PATTERN, value))


def storable(value, what: str):
    try:
        return storable_text(value)
    except serializers.ValidationError as error:
        raise RowRejected(f"{what}: {_detail(error.detail)}") from None


def _detail(detail) -> str:
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_detail(value)}" for key, value in detail.items())
    return str(detail)


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(message for item in errors for message in item.messages)}"
            if name != "__all__"
            else " ".join(message for item in errors for message in item.messages)
            for name, errors in error.error_dict.items()
        )
    return " ".join(error.messages)


def constraint_message(error: IntegrityError | DataError) -> str:
    """The message of the model constraint the database enforced, not its SQL name."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    for model in (Project, ProjectCountry, ProjectCompany, SourceDocument):
        for constraint in model._meta.constraints:
            if constraint.name == name and getattr(constraint, "violation_error_message", None):
                return str(constraint.violation_error_message)
    return f"refused by the database: {str(error).splitlines()[0]}"


# Reading the record's fields


def _text(record: dict, name: str, limit: int | None) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowRejected(f"{name}: text expected, not {type(value).__name__}")
    value = value.strip()
    if limit and len(value) > limit:
        raise RowRejected(f"{name}: longer than {limit} characters")
    return storable(value, name)


def _decimal(record: dict, name: str, digits: int) -> Decimal | None:
    value = record.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise RowRejected(f"{name}: a number expected, not {value!r}")
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise RowRejected(f"{name}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise RowRejected(f"{name}: {value!r} is not a positive number")
    places = 1 if name == "length_km" else 2
    number = number.quantize(Decimal(1).scaleb(-places))
    if len(number.as_tuple().digits) > digits:
        raise RowRejected(f"{name}: {value!r} is too large")
    return number


def _coordinate(record: dict, name: str, limit: float) -> float | None:
    value = record.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowRejected(f"{name}: {value!r} is not a number") from None
    if isinstance(value, bool) or not -limit <= number <= limit:
        raise RowRejected(f"{name}: {value!r} is outside -{limit:g}..{limit:g}")
    return number


@functools.cache
def _choice_names(choices) -> dict[str, str]:
    """A choice's value by its value or label, as compared (`normal`)."""
    return {normal(v): v for v in choices.values} | {
        normal(label): v for v, label in choices.choices
    }


@functools.cache
def _choice_values(choices) -> frozenset[str]:
    return frozenset(choices.values)


def _choice(record: dict, name: str, choices) -> str:
    value = record.get(name)
    if value in (None, ""):
        return choices.UNKNOWN if name == "status" else choices.DRAFT
    found = _choice_names(choices).get(normal(str(value)))
    if found is None:
        raise RowRejected(f"{name}: {value!r} is not one of {', '.join(choices.values)}")
    return found


def _date_fields(record: dict, name: str) -> dict:
    value = record.get(name)
    if value in (None, ""):
        return {f"{name}_on": None, f"{name}_precision": ""}
    try:
        date = PartialDate.parse(str(value))
    except ValueError as error:
        raise RowRejected(f"{name}: {error}") from None
    return {f"{name}_on": date.date, f"{name}_precision": date.precision}


def _external_ids(record: dict, current: dict) -> dict:
    value = record.get("external_ids") or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise RowRejected('external_ids: an object of names and identifiers, {"dataset": "id"}')
    ids = {k.strip(): str(v).strip() for k, v in value.items() if k.strip() and str(v).strip()}
    if any(len(v) > 200 for v in ids.values()):
        raise RowRejected("external_ids: an identifier is longer than 200 characters")
    # A dataset speaks for its own identifiers; the project's others stay.
    return storable({**current, **ids}, "external_ids")


def _geometry(record: dict):
    try:
        return geojson_geometry(record.get("geometry"))
    except serializers.ValidationError as error:
        raise RowRejected(f"geometry: {_detail(error.detail)}") from None


def _landing_points(record: dict, names: Names, report: DatasetReport) -> list[dict]:
    points = record.get("landing_points") or []
    if not isinstance(points, list):
        raise RowRejected("landing_points: a list of landing points")
    result = []
    for number, point in enumerate(points, start=1):
        if not isinstance(point, dict):
            raise RowRejected(f"landing_points: point {number} is not an object")
        point = {
            "id": point.get("id"),
            "name": point.get("name"),
            "country": point.get("country"),
            "country_name": point.get("country_name"),
            "latitude": point.get("latitude"),
            "longitude": point.get("longitude"),
            "tbd": point.get("tbd", False),
        }
        if point["id"] is not None:
            point["id"] = str(point["id"])
        if point["country"]:
            point["country"] = names.country({"iso2": point["country"]})
        elif point["country_name"]:
            point["country"] = names.country({"name": point["country_name"]})
            if point["country"] is None:
                report.unresolved_countries[point["country_name"]] = None
        problem = landing_point_problem(point)
        if problem:
            raise RowRejected(f"landing_points: point {number}: {problem}")
        result.append(storable(point, "landing_points"))
    return result


def _roles(record: dict, key: str, choices) -> list[dict]:
    entries = record.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RowRejected(f"{key}: a list of entries with their roles")
    for entry in entries:
        role = normal(str(entry.get("role") or "")).replace(" ", "_")
        if role not in _choice_values(choices):
            raise RowRejected(
                f"{key}: {entry.get('role')!r} is not a role; one of {', '.join(choices.values)}"
            )
        entry["role"] = role
    return entries


def _countries(record: dict, names: Names, report: DatasetReport) -> list[tuple[str, str]]:
    result = []
    for entry in _roles(record, "countries", CountryRole):
        code = names.country(entry)
        if code is None:
            report.unresolved_countries[str(entry.get("name"))] = None
        elif (code, entry["role"]) not in result:
            result.append((code, entry["role"]))
    return result


def _companies(record: dict, names: Names, report: DatasetReport) -> list[tuple[str, str]]:
    result = []
    for entry in _roles(record, "companies", CompanyRole):
        pair = (names.company(entry, report), entry["role"])
        if pair not in result:
            result.append(pair)
    return result


def _kept_roles(
    project: Project | None, record: dict, key: str, known: Known
) -> list[tuple[str, str]]:
    """The project's roles this dataset does not speak for (an editor's own additions)."""
    scope = record.get("replace_roles")
    if project is None or not isinstance(scope, dict) or key not in scope:
        return []
    return [(k, role) for k, role in sorted(known.roles(project, key)) if role not in scope[key]]


# Matching


def _match(record: dict, external_ids: dict, known: Known) -> Project | None:
    found = None
    for key, value in external_ids.items():
        project = known.by_external.get((key, value))
        if project is not None and found is not None and project.pk != found.pk:
            raise RowRejected(
                f"external_ids: {key}={value} belongs to {project.slug!r}, "
                f"another id to {found.slug!r}"
            )
        found = found or project
    slug, derived = _slug_of(record)
    if slug:
        by_slug = known.by_slug.get(slug)
        if derived and by_slug is not None and _conflicting(by_slug.external_ids, external_ids):
            # Another project that happens to have the same name: another dataset's entry.
            by_slug = None
        if found is not None and by_slug is not None and by_slug.pk != found.pk:
            raise RowRejected(
                f"slug: {slug!r} is another project than the one with these external ids "
                f"({found.slug!r})"
            )
        found = found or by_slug
    return found


def _slug_of(record: dict) -> tuple[str, bool]:
    """The record's slug, or the one its name gives (and whether it was derived): a file
    without slugs or external ids still imports twice without duplicating."""
    slug = record.get("slug")
    if isinstance(slug, str) and slug.strip():
        return slug.strip(), False
    name = record.get("name")
    return (slugify(name)[:200].strip("-") if isinstance(name, str) else ""), True


def _storable(*values) -> bool:
    try:
        storable_text([str(value) for value in values])
    except serializers.ValidationError:
        return False
    return True


def _conflicting(stored: dict, given: dict) -> bool:
    return any(key in stored and str(stored[key]) != value for key, value in given.items())


class Known:
    """What a batch of rows refers to, read in a few queries rather than a few per row: the
    projects they match (by slug or external id) with their roles and citations, and the
    slugs a new project of theirs might take. A row that holds what is stored is then
    recognised without a query; a project written during the batch is read from the database
    again by later rows."""

    def __init__(self, records: list[dict]) -> None:
        # Only what could match: a malformed slug or id is the row's to reject, not a
        # query's to fail on (PostgreSQL refuses NUL characters outright).
        slugs = {slug for slug in (_slug_of(record)[0] for record in records) if is_slug(slug)}
        # The slugs that new projects without one would take (no query per new project).
        self.checked = slugs | {
            slug_base(record["name"], "project")
            for record in records
            if not record.get("slug") and isinstance(record.get("name"), str)
        }
        self.checked = {slug for slug in self.checked if is_slug(slug)}
        wanted: dict[str, set[str]] = {}
        for record in records:
            ids = record.get("external_ids")
            for key, value in ids.items() if isinstance(ids, dict) else []:
                if isinstance(key, str) and isinstance(value, str | int) and _storable(key, value):
                    wanted.setdefault(key, set()).add(str(value).strip())
        projects = Project.objects.all()
        condition = Q(slug__in=self.checked)
        for number, (key, values) in enumerate(sorted(wanted.items())):
            # One key's values in one condition: `external_ids ? key` (the GIN index) and
            # `external_ids ->> key = ANY(values)` (a containment per value would be tested
            # row by row, and a key may hold "__", so no key lookup).
            alias = f"external_{number}"
            projects = projects.alias(**{alias: KeyTextTransform(key, "external_ids")})
            condition |= Q(external_ids__has_key=key) & Q(**{f"{alias}__in": sorted(values)})
        projects = list(projects.filter(condition)) if self.checked or wanted else []
        self.by_slug = {p.slug: p for p in projects}
        self.by_external = {
            (key, str(value)): p for p in projects for key, value in p.external_ids.items()
        }
        # Slugs taken: the stored projects' and those of the batch's new projects.
        self.taken = set(self.by_slug)
        ids = [p.pk for p in projects]
        self.dirty: set[int] = set()
        self._roles: dict[str, dict[int, set[tuple]]] = {}
        self._links: dict[int, dict[str, set[tuple]]] = {pk: {} for pk in ids}
        for name, rows in (
            (
                "countries",
                ProjectCountry.objects.filter(project_id__in=ids).values_list(
                    "project_id", "country_id", "role", "country__iso2"
                ),
            ),
            (
                "companies",
                ProjectCompany.objects.filter(project_id__in=ids).values_list(
                    "project_id", "company_id", "role", "company__slug"
                ),
            ),
            (
                "initiatives",
                ProjectInitiative.objects.filter(project_id__in=ids).values_list(
                    "project_id", "initiative_id", "initiative__slug"
                ),
            ),
        ):
            keys = self._roles[name] = {}
            for pk in ids:
                self._links[pk][name] = set()
            for project_id, related_id, *rest in rows:
                # By key (iso2 or slug, role) as records say them; by id as rows hold them.
                keys.setdefault(project_id, set()).add((rest[-1], *rest[:-1]))
                self._links[project_id][name].add((related_id, *rest[:-1]))
        self.citations: dict[int, set[tuple]] = {}
        self._citations: dict[int, dict[tuple, tuple]] = {pk: {} for pk in ids}
        for (
            project_id,
            document_id,
            url,
            title,
            claim,
            quote,
            location,
            pk,
        ) in Citation.objects.filter(project_id__in=ids).values_list(
            "project_id",
            "document_id",
            "document__url",
            "document__title",
            "claim",
            "quote",
            "location",
            "pk",
        ):
            cited = self.citations.setdefault(project_id, set())
            cited.add((url, claim, quote, location))
            if not url:
                cited.add((title, claim, quote, location))
            self._citations[project_id][(document_id, claim)] = (pk, quote, location)

    def roles(self, project: Project, key: str) -> set[tuple]:
        if project.pk in self.dirty:
            return set(_current_roles(project, key))
        return self._roles[key].get(project.pk, set())

    def links(self, project: Project) -> dict[str, set[tuple]] | None:
        """The project's role rows by ids (None: written in this batch, to be read again)."""
        return None if project.pk in self.dirty else self._links.get(project.pk)

    def cited(self, project: Project) -> dict[tuple, tuple]:
        """The project's citations: (document id, claim) → (id, quote, location)."""
        if project.pk in self.dirty or project.pk not in self._citations:
            return {
                (document_id, claim): (pk, quote, location)
                for document_id, claim, pk, quote, location in Citation.objects.filter(
                    project=project
                ).values_list("document_id", "claim", "pk", "quote", "location")
            }
        return self._citations[project.pk]

    def written(self, project: Project) -> None:
        self.dirty.add(project.pk)
        self.by_slug[project.slug] = project
        self.taken.add(project.slug)
        for key, value in project.external_ids.items():
            self.by_external[(key, str(value))] = project

    def holds(self, project: Project | None, changes: ProjectChanges, record: dict) -> bool:
        """Whether the stored project already is what the record says."""
        if project is None or project.pk in self.dirty:
            return False
        if any(getattr(project, name) != value for name, value in changes.fields.items()):
            return False
        for key, wanted in (
            ("countries", changes.countries),
            ("companies", changes.companies),
            (
                "initiatives",
                None if changes.initiatives is None else [(slug,) for slug in changes.initiatives],
            ),
        ):
            if wanted is not None and set(wanted) != self._roles[key].get(project.pk, set()):
                return False
        cited = self.citations.get(project.pk, set())
        return all(source in cited for source in _source_keys(record))


def _current_roles(project: Project, key: str):
    if key == "countries":
        return ProjectCountry.objects.filter(project=project).values_list("country__iso2", "role")
    if key == "companies":
        return ProjectCompany.objects.filter(project=project).values_list("company__slug", "role")
    return ProjectInitiative.objects.filter(project=project).values_list("initiative__slug")


def _fields(record: dict, project: Project | None, names: Names, report, user) -> dict:
    fields: dict = {}
    for name, limit in TEXT_FIELDS.items():
        if name in record or (name == "name" and project is None):
            fields[name] = _text(record, name, limit)
    if "name" in fields and not fields["name"]:
        raise RowRejected("name: a project needs a name")
    if "type" in record or project is None:
        if not record.get("type"):
            raise RowRejected("type: a new project needs its type")
        fields["project_type_id"] = names.project_type(record["type"])
    if "status" in record:
        fields["status"] = _choice(record, "status", Status)
    if "publication" in record or project is None:
        fields["publication"] = _choice(record, "publication", Publication)
        current = project.publication if project else Publication.DRAFT
        if user != TRUSTED and not may_change_publication(user, current, fields["publication"]):
            raise RowRejected(
                "publication: only reviewers (permission projects.publish_project) publish "
                "or unpublish"
            )
    for name, digits in DECIMAL_FIELDS.items():
        if name in record:
            fields[name] = _decimal(record, name, digits)
    if "value_currency" in record:
        currency = str(record.get("value_currency") or "").strip().upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise RowRejected(f"value_currency: {currency!r} is not an ISO 4217 code")
        fields["value_currency"] = currency
    for name in DATE_FIELDS:
        if name in record:
            fields.update(_date_fields(record, name))
    if "latitude" in record or "longitude" in record:
        fields["latitude"] = _coordinate(record, "latitude", 90)
        fields["longitude"] = _coordinate(record, "longitude", 180)
    if "geometry" in record:
        fields["geometry"] = _geometry(record)
    if "landing_points" in record:
        fields["landing_points"] = _landing_points(record, names, report)
    return fields


def _changes(
    record: dict, project: Project | None, names: Names, report, user, known: Known
) -> ProjectChanges:
    _refuse_unknown(record, KNOWN_KEYS, "the API's export")
    external_ids = _external_ids(record, project.external_ids if project else {})
    fields = _fields(record, project, names, report, user)
    if external_ids != (project.external_ids if project else {}):
        fields["external_ids"] = external_ids
    if project is None:
        slug = record.get("slug")
        if slug:
            if not is_slug(slug):
                raise RowRejected(f"slug: {slug!r} is not a slug (lowercase words and hyphens)")
            fields["slug"] = slug
        else:
            fields["slug"] = unique_slug(
                fields["name"], Project, taken=known.taken, fallback="project", free=known.checked
            )
    countries = companies = initiatives = None
    if "countries" in record:
        countries = _kept_roles(project, record, "countries", known) + _countries(
            record, names, report
        )
    if "companies" in record:
        companies = _kept_roles(project, record, "companies", known) + _companies(
            record, names, report
        )
    if "initiatives" in record:
        values = record.get("initiatives") or []
        if not isinstance(values, list):
            raise RowRejected("initiatives: a list of initiatives")
        initiatives = sorted({names.initiative(value) for value in values})
    return ProjectChanges(
        fields=fields,
        countries=_unique(countries),
        companies=_unique(companies),
        initiatives=initiatives,
    )


def _unique(pairs):
    return None if pairs is None else list(dict.fromkeys(pairs))


# Sources


def _read_sources(record: dict) -> list[dict]:
    sources = record.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise RowRejected("sources: a list of sources, each with a url or a title")
    result = []
    for source in sources:
        url = str(source.get("url") or "").strip()
        title = str(source.get("title") or "").strip()
        if not url and not title:
            raise RowRejected("sources: a source needs a url or a title")
        claim = source.get("claim") or ClaimKind.GENERAL
        if claim not in ClaimKind.values:
            raise RowRejected(
                f"sources: {claim!r} is not a claim; one of {', '.join(ClaimKind.values)}"
            )
        result.append(
            {
                "url": url,
                "title": title,
                "claim": claim,
                "quote": storable(str(source.get("quote") or "").strip(), "sources"),
                "location": str(source.get("location") or "").strip()[:200],
            }
        )
    return result


def _source_keys(record: dict) -> list[tuple]:
    """The citations the record asks for, as `Known.citations` holds them."""
    return [
        (s["url"] or s["title"], s["claim"], s["quote"], s["location"])
        for s in _read_sources(record)
    ]


def _document_key(source: dict) -> tuple[str, str]:
    """How a source names its document: by URL, else by title."""
    return ("url", source["url"]) if source["url"] else ("title", source["title"])


class Documents:
    """The source documents an import cites, by `_document_key`: the first stored with that
    URL (or title), or the one the import created. Each batch reads the ones its rows name in
    one or two queries; a document a row needs that does not exist is validated with the row
    and inserted with the batch's writes."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        # Validated, not written yet: those the rows of the current round asked for.
        self.pending: dict[tuple[str, str], SourceDocument] = {}
        # Titles looked up and not found: a document created with one of them is the one a
        # later source naming only that title cites.
        self.absent_titles: set[str] = set()

    def prefetch(self, records: list[dict]) -> None:
        wanted: dict[str, set[str]] = {"url": set(), "title": set()}
        for record in records:
            sources = record.get("sources")
            for source in sources if isinstance(sources, list) else []:
                if not isinstance(source, dict):
                    continue
                url = str(source.get("url") or "").strip()
                key = ("url", url) if url else ("title", str(source.get("title") or "").strip())
                if key[1] and key not in self.ids and _storable(key[1]):
                    wanted[key[0]].add(key[1])
        documents = SourceDocument.objects.order_by("pk")
        for kind, values in wanted.items():
            if values:
                rows = documents.filter(**{f"{kind}__in": values}).values_list(kind, "pk")
                for value, pk in rows:
                    self.ids.setdefault((kind, value), pk)
        self.absent_titles |= {
            title for title in wanted["title"] if ("title", title) not in self.ids
        }

    def validate(self, sources: list[dict], new: dict) -> None:
        """Check the documents `sources` need that neither exist nor are pending; add them to
        `new` (the row's, pending once the row is accepted)."""
        for source in sources:
            key = _document_key(source)
            if key in self.ids or key in self.pending or key in new:
                continue
            document = SourceDocument(
                url=source["url"],
                title=storable(source["title"] or source["url"], "sources")[:500],
                status=ProcessingStatus.METADATA_ONLY,
            )
            document.full_clean(validate_unique=False, validate_constraints=False)
            new[key] = document

    def accept(self, new: dict) -> None:
        for key, document in new.items():
            self.pending.setdefault(key, document)
            if document.title in self.absent_titles:
                self.pending.setdefault(("title", document.title), document)

    def create(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The ids of the documents of `keys`, inserting the pending ones (in one statement);
        `confirm` them once the caller's savepoint holds."""
        found = {key: self.ids[key] for key in keys if key in self.ids}
        needed: dict[int, tuple[SourceDocument, list]] = {}
        for key in keys:
            if key not in found:
                document = self.pending[key]
                needed.setdefault(id(document), (document, []))[1].append(key)
        created = [
            SourceDocument(url=document.url, title=document.title, status=document.status)
            for document, _ in needed.values()
        ]
        SourceDocument.objects.bulk_create(created)
        for (_, keys_of), document in zip(needed.values(), created, strict=True):
            for key in keys_of:
                found[key] = document.pk
        return found

    def confirm(self, ids: dict[tuple[str, str], int]) -> None:
        for key, pk in ids.items():
            if key not in self.ids:
                self.ids[key] = pk
                document = self.pending.pop(key, None)
                if document is not None and document.title in self.absent_titles:
                    self.ids.setdefault(("title", document.title), pk)
                    self.absent_titles.discard(document.title)


# Organisations


# The reference data's fields, plus the links and identifiers the export writes.
ORGANISATION_KEYS = {*ORGANISATION_FIELDS, "headquarters", "parent", "external_ids"}
ORGANISATION_TEXTS = {"name": 300, "chinese_name": 200, "website": 500, "description": None}


def _organisation_fields(record: dict, company: Company | None, names: Names) -> dict:
    fields: dict = {}
    for name, limit in ORGANISATION_TEXTS.items():
        if name in record or (name == "name" and company is None):
            fields[name] = _text(record, name, limit)
    if "name" in fields and not fields["name"]:
        raise RowRejected("name: an organisation needs a name")
    if fields.get("website"):
        try:
            URLValidator(schemes=["http", "https"])(fields["website"])
        except ValidationError:
            raise RowRejected(f"website: {fields['website']!r} is not an http(s) address") from None
    if "aliases" in record:
        aliases = record.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise RowRejected("aliases: a list of names")
        fields["aliases"] = storable(
            list(dict.fromkeys(a.strip() for a in aliases if a.strip())), "aliases"
        )
        if any(len(alias) > 200 for alias in fields["aliases"]):
            raise RowRejected("aliases: a name is longer than 200 characters")
    for name, choices in (("kind", CompanyKind), ("ownership", Ownership)):
        if name in record:
            value = record.get(name)
            fields[name] = (
                (choices.FIRM if name == "kind" else choices.UNKNOWN)
                if value in (None, "")
                else _choice(record, name, choices)
            )
    if "headquarters" in record:
        value = record.get("headquarters")
        if value in (None, ""):
            fields["headquarters_id"] = None
        else:
            code = names.country({"name": str(value)})
            if code is None:
                raise RowRejected(f"headquarters: unknown country {value!r}")
            fields["headquarters_id"] = names.country_ids[code]
    return fields


def _import_organisation(record: dict, names: Names, file_keys: set[str]) -> tuple[str, int]:
    _refuse_unknown(record, ORGANISATION_KEYS, "the API's export of companies/")
    external_ids = _external_ids(record, {})
    company = None
    for key, value in external_ids.items():
        company = company or Company.objects.filter(external_ids__contains={key: value}).first()
    slug = str(record.get("slug") or "").strip()
    if company is None and slug:
        company = Company.objects.filter(slug=slug).first()
    if company is None and not slug and record.get("name"):
        found = names.companies.get(normal(str(record["name"])))
        company = Company.objects.filter(slug=found).first() if found else None
    _check_parent(record, names, file_keys)
    fields = _organisation_fields(record, company, names)
    merged_ids = _external_ids(record, company.external_ids if company else {})
    if merged_ids != (company.external_ids if company else {}):
        fields["external_ids"] = merged_ids
    if company is None:
        if slug and not is_slug(slug):
            raise RowRejected(f"slug: {slug!r} is not a slug (lowercase words and hyphens)")
        fields["slug"] = slug or unique_slug(fields["name"], Company, fallback="organisation")
        company = Company(**fields)
        outcome = "created"
    else:
        changed = {k: v for k, v in fields.items() if getattr(company, k) != v}
        if not changed:
            return "unchanged", company.pk
        for name, value in changed.items():
            setattr(company, name, value)
        outcome = "updated"
    company.full_clean(validate_unique=False, validate_constraints=False)
    company.save()
    names.add_company(company)
    return outcome, company.pk


def _check_parent(record: dict, names: Names, file_keys: set[str]) -> None:
    """A parent must be an organisation known here or named by another row of the file."""
    value = str(record.get("parent") or "").strip()
    if not value:
        return
    if names.find_company(value) is None and normal(value) not in file_keys:
        raise RowRejected(f"parent: unknown organisation {value!r}")
    own = {normal(str(record.get("slug") or "")), normal(str(record.get("name") or ""))}
    if normal(value) in own:
        raise RowRejected("parent: an organisation cannot be its own parent")


def _link_parent(company_id: int, record: dict, names: Names) -> bool:
    """Set an organisation's parent (a second pass: the parent may come later in the file).
    Returns whether it changed."""
    value = str(record.get("parent") or "").strip()
    parent_id = names.company_ids[names.find_company(value)] if value else None
    company = Company.objects.get(pk=company_id)
    if company.parent_id == parent_id:
        return False
    company.parent_id = parent_id
    company.save(update_fields=["parent", "updated"])
    return True


# The import


@dataclass(eq=False)
class _Plan:
    """A validated row, ready to be written with the others of its round."""

    index: int  # in the batch
    row: DatasetRow
    write: ProjectWrite
    sources: list[dict]
    claims: set[tuple]  # the slug, external ids and id it writes: a later row naming one waits


class _Conflict(Exception):
    """The row names a project an earlier row of the round writes: write those first."""


def _record_keys(record: dict, external_ids: dict) -> set[tuple]:
    return {("slug", _slug_of(record)[0])} | {
        ("external", key, value) for key, value in external_ids.items()
    }


class ProjectBatch:
    """One batch of project rows, imported set-based.

    Each row is matched, resolved and validated in Python, as before, and rejected with its
    reason on its own; the valid ones are written together — a round — in a few statements:
    the organisations and documents they need, the new projects, the changed ones, their role
    rows and citations (`project_save_many`). A row that names a project an earlier row of the
    round writes (by slug, external id or id) first writes the round, then is matched again,
    so every row sees what the rows before it wrote, as one at a time would.

    A round the database refuses (a constraint) is halved until the refused row is alone:
    it is rejected with the constraint's message, the others go in.

    The per-row search triggers wait meanwhile (`dsr.search_deferred`, migration 0012): the
    search documents of the projects the batch wrote are rebuilt once, at its end."""

    def __init__(self, rows: list[DatasetRow], names: Names, report, user, documents) -> None:
        self.rows, self.names, self.report, self.user = rows, names, report, user
        self.documents = documents
        records = [row.record for row in rows if row.record]
        self.known = Known(records)
        documents.prefetch(records)
        self.plans: list[_Plan] = []
        self.claimed: set[tuple] = set()
        self.rejected: dict[int, dict] = {}
        self.touched: set[int] = set()

    def run(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('dsr.search_deferred', 'on', true)")
        for index, row in enumerate(self.rows):
            self.add(index, row)
        self.flush()
        self.report.rejected.extend(entry for _, entry in sorted(self.rejected.items()))
        with connection.cursor() as cursor:
            if self.report.written and self.touched:
                cursor.execute(
                    "SELECT projects_project_search_refresh_many(%s::bigint[])",
                    [sorted(self.touched)],
                )
            cursor.execute("SELECT set_config('dsr.search_deferred', 'off', true)")

    def reject(self, index: int, row: DatasetRow, reason: str) -> None:
        self.rejected[index] = {"row": row.row, "reason": reason}

    def add(self, index: int, row: DatasetRow) -> None:
        if row.error or row.record is None:
            self.reject(index, row, row.error or "no record")
            return
        while True:
            companies_before = set(self.report.unresolved_companies)
            try:
                plan = self.plan(index, row, dict(row.record))
            except _Conflict:
                self.flush()
                continue
            except RowRejected as error:
                reason = str(error)
            except ValidationError as error:
                reason = validation_message(error)
            else:
                if plan is None:
                    self.report.unchanged += 1
                    return
                self.plans.append(plan)
                self.claimed |= plan.claims
                if plan.write.project is None:
                    self.known.taken.add(plan.write.changes.fields["slug"])
                if len(self.plans) >= BATCH_ROWS:
                    self.flush()
                return
            # The organisations this row would have created are not created.
            for name in set(self.report.unresolved_companies) - companies_before:
                del self.report.unresolved_companies[name]
                self.names.forget_company(name)
            self.reject(index, row, reason)
            return

    def plan(self, index: int, row: DatasetRow, record: dict) -> _Plan | None:
        """Match and validate one row: None when it holds what is stored."""
        known = self.known
        external_ids = _external_ids(record, {})
        if self.plans and _record_keys(record, external_ids) & self.claimed:
            raise _Conflict
        project = _match(record, external_ids, known)
        if project is not None and ("id", project.pk) in self.claimed:
            raise _Conflict
        changes = _changes(record, project, self.names, self.report, self.user, known)
        if known.holds(project, changes, record):
            return None
        # No `full_clean`: every value comes from a reader above that applies the field's
        # rules (lengths, choices, digits, the slug pattern, dates, GeoJSON, landing points),
        # and the database enforces the constraints (a refusal is the row's, see `flush`).
        sources = _read_sources(record) if "sources" in record else []
        # (A citation needs no more checking: `_read_sources` checked its claim and cut its
        # location to the field's length.)
        new_documents: dict = {}
        self.documents.validate(sources, new_documents)
        self.documents.accept(new_documents)
        fields = changes.fields
        claims = {("slug", fields["slug"] if project is None else project.slug)} | {
            ("external", key, str(value))
            for key, value in fields.get(
                "external_ids", {} if project is None else project.external_ids
            ).items()
        }
        if project is not None:
            claims.add(("id", project.pk))
        return _Plan(
            index=index,
            row=row,
            write=ProjectWrite(
                project=project,
                changes=changes,
                current=None if project is None else known.links(project),
            ),
            sources=sources,
            claims=claims,
        )

    def flush(self) -> None:
        """Write the round's rows."""
        plans, self.plans, self.claimed = self.plans, [], set()
        if plans:
            self.write_or_split(plans)
        # Organisations asked for only by rows the database refused are not created.
        for name in list(self.names.pending.values()):
            self.report.unresolved_companies.pop(name, None)
            self.names.forget_company(name)
        self.documents.pending.clear()

    def write_or_split(self, plans: list[_Plan]) -> None:
        try:
            with transaction.atomic():
                written, companies, documents = self.write(plans)
        except (IntegrityError, DataError, ValidationError) as error:
            if len(plans) > 1:
                middle = len(plans) // 2
                self.write_or_split(plans[:middle])
                self.write_or_split(plans[middle:])
                return
            plan = plans[0]
            if plan.write.project is None:
                self.known.taken.discard(plan.write.changes.fields["slug"])
            self.reject(
                plan.index,
                plan.row,
                validation_message(error)
                if isinstance(error, ValidationError)
                else constraint_message(error),
            )
            return
        self.names.confirm(companies)
        self.documents.confirm(documents)
        for _, project, outcome in written:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            if outcome != "unchanged":
                self.known.written(project)
                self.touched.add(project.pk)

    def write(self, plans: list[_Plan]):
        """Write a round in a few statements; raises what the database refuses."""
        companies = self.names.create_pending(
            slug for plan in plans for slug, _ in plan.write.changes.companies or ()
        )
        documents = self.documents.create(
            list(dict.fromkeys(_document_key(s) for plan in plans for s in plan.sources))
        )
        # Citations: all new for a new project; added or changed for a stored one.
        cite: list[tuple[_Plan, tuple[int, str], str, str]] = []
        changes: dict[int, tuple[str, str]] = {}
        for plan in plans:
            stored = plan.write.project
            plan.write.touch = False
            current = dict(self.known.cited(stored)) if stored is not None else {}
            for source in plan.sources:
                key = (documents[_document_key(source)], source["claim"])
                wanted = (source["quote"], source["location"])
                if stored is None:
                    cite.append((plan, key, *wanted))
                    continue
                if key in current and current[key][1:] == wanted:
                    continue
                plan.write.touch = True
                if key in current and current[key][0] is not None:
                    changes[current[key][0]] = wanted
                elif key in current:
                    # Cited twice by the row: the second quote is the one kept.
                    cite[:] = [c for c in cite if c[0] is not plan or c[1] != key]
                    cite.append((plan, key, *wanted))
                else:
                    cite.append((plan, key, *wanted))
                current[key] = (current.get(key, (None,))[0], *wanted)
        saved = project_save_many(
            writes=[plan.write for plan in plans], lookups=self.names.lookups(companies)
        )
        projects = {id(plan): project for plan, (project, _) in zip(plans, saved, strict=True)}
        now = timezone.now()
        insert_rows(
            Citation,
            ["created", "updated", "project", "document", "claim", "quote", "location"],
            [
                (now, now, projects[id(plan)].pk, document_id, claim, quote, location)
                for plan, (document_id, claim), quote, location in cite
            ],
        )
        update_rows(
            Citation,
            [
                Citation(pk=pk, quote=quote, location=location, updated=now)
                for pk, (quote, location) in changes.items()
            ],
            ["quote", "location", "updated"],
        )
        written = [
            (plan, project, outcome) for plan, (project, outcome) in zip(plans, saved, strict=True)
        ]
        return written, companies, documents


ENTITIES = ("projects", "organisations")


def dataset_import(
    *,
    rows: Iterable[DatasetRow],
    format: str,
    entity: str = "projects",
    dry_run: bool = False,
    atomic: bool = False,
    user=None,
    progress: Callable[[float], None] | None = None,
    context: dict | None = None,
) -> DatasetReport:
    """Import every row of a list of projects or of organisations; return what happened to
    each. Raises nothing for a bad row.

    A plain import commits every BATCH_ROWS rows (a large file neither holds one long
    transaction nor loses its finished part to a crash, and its progress shows); a dry run
    or an atomic import is one transaction, rolled back at the end or on any rejection.
    Organisations' parents are linked after every row is in, as a parent may come later."""
    if entity not in ENTITIES:
        raise ValueError(f"entity is one of {', '.join(ENTITIES)}")
    report = DatasetReport(format=format, dry_run=dry_run, atomic=atomic)
    rows = list(rows)
    size = BATCH_ROWS if not (dry_run or atomic) else max(1, len(rows))
    batches = [rows[start : start + size] for start in range(0, len(rows), size)] or [[]]
    file_keys = _file_keys(rows) if entity == "organisations" else set()
    metadata = {"service": "dataset_import", "format": format, "entity": entity}
    metadata.update(context or {})
    if user is not None and user != TRUSTED:
        metadata["user"] = user.pk
    names = None
    documents = Documents()
    done = 0
    parents: list[tuple[DatasetRow, int, str]] = []
    with pghistory.context(**metadata):
        for number, batch in enumerate(batches, start=1):
            with transaction.atomic():
                names = names or Names()
                if entity == "projects":
                    ProjectBatch(batch, names, report, user, documents).run()
                else:
                    for row in batch:
                        written = _one(row, names, report, file_keys)
                        if written is not None and "parent" in row.record:
                            parents.append((row, *written))
                    if number == len(batches):
                        _link_parents(parents, names, report)
                if not report.written:
                    transaction.set_rollback(True)
            done += len(batch)
            if progress:
                progress(done / max(1, len(rows)))
    return report


def _file_keys(rows: list[DatasetRow]) -> set[str]:
    """The slugs and names of the organisations a file defines (parents may point at them)."""
    return {
        normal(str(row.record.get(key) or ""))
        for row in rows
        if row.record
        for key in ("slug", "name")
    } - {""}


def _link_parents(parents: list[tuple[DatasetRow, int, str]], names: Names, report) -> None:
    for row, company_id, outcome in parents:
        try:
            with transaction.atomic():
                changed = _link_parent(company_id, row.record, names)
        except (RowRejected, KeyError) as error:
            setattr(report, outcome, getattr(report, outcome) - 1)
            report.rejected.append({"row": row.row, "reason": f"parent: {error}"})
            continue
        if changed and outcome == "unchanged":
            report.unchanged -= 1
            report.updated += 1


def _one(
    row: DatasetRow, names: Names, report: DatasetReport, file_keys: set
) -> tuple[int, str] | None:
    """Import one organisation in a savepoint; its id and the outcome."""
    if row.error or row.record is None:
        report.rejected.append({"row": row.row, "reason": row.error or "no record"})
        return None
    try:
        with transaction.atomic():
            outcome, company_id = _import_organisation(dict(row.record), names, file_keys)
    except RowRejected as error:
        reason = str(error)
    except ValidationError as error:
        reason = validation_message(error)
    except IntegrityError as error:
        reason = constraint_message(error)
    else:
        setattr(report, outcome, getattr(report, outcome) + 1)
        return company_id, outcome
    report.rejected.append({"row": row.row, "reason": reason})
    return None


# Reading files, and import jobs


def dataset_read(*, path: Path, format: str, entity: str = "projects") -> list[DatasetRow]:
    """The rows of a dataset file (or TeleGeography folder); DatasetError when unreadable."""
    from projects.importing.datasets import exchange, telegeography

    if entity == "organisations":
        if format not in (DatasetFormat.CSV, DatasetFormat.JSON):
            raise DatasetError("Organisations are imported from CSV or JSON.")
        if not path.is_file():
            raise DatasetError(f"{path} is not a file.")
        reader = exchange.read_csv if format == DatasetFormat.CSV else exchange.read_json
        return list(reader(path, exchange.ORGANISATIONS))

    readers = {
        DatasetFormat.CSV: exchange.read_csv,
        DatasetFormat.JSON: exchange.read_json,
        DatasetFormat.GEOJSON: exchange.read_geojson,
        DatasetFormat.TELEGEOGRAPHY: telegeography.read,
    }
    if format not in readers:
        raise DatasetError(f"Unknown format {format!r}; one of {', '.join(readers)}.")
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    if path.is_dir() and format != DatasetFormat.TELEGEOGRAPHY:
        raise DatasetError(f"{path} is a folder; only the telegeography format reads folders.")
    return list(readers[format](path))


def dataset_upload_check(*, file) -> None:
    """An upload within the limits, or a ValidationError naming the file."""
    limit = settings.DATASET_MAX_UPLOAD_BYTES
    if file.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {format_size(file.size)}; the limit is "
                f"{format_size(limit)} (DSR_DATASET_MAX_UPLOAD_BYTES)."
            }
        )
    if file.size == 0:
        raise ValidationError({"file": "The file is empty."})


# What an import of each list writes, and so the permissions it takes (besides the right to
# add a DatasetImport): the same whether it comes through the API or the admin.
IMPORT_WRITES = {
    "projects": ("projects.add_project", "projects.change_project"),
    "organisations": ("projects.add_company", "projects.change_company"),
}


def dataset_import_refusal(user, entity: str) -> str | None:
    """Why `user` may not import a list of `entity`, or None. No user (the command line): its
    operator may."""
    if user is None or entity not in IMPORT_WRITES or user.has_perms(IMPORT_WRITES[entity]):
        return None
    return (
        f"Importing {entity} adds and changes them: it takes the permissions "
        f"{' and '.join(IMPORT_WRITES[entity])}."
    )


def dataset_import_create(
    *, file, format: str, dry_run: bool, atomic: bool, user, entity: str = "projects"
) -> DatasetImport:
    """Store an uploaded dataset and its job row; `dataset_import_start` runs or queues it."""
    if refusal := dataset_import_refusal(user, entity):
        raise PermissionDenied(refusal)
    if format not in DatasetFormat.values:
        raise ValidationError({"format": f"Unknown format {format!r}."})
    dataset_upload_check(file=file)
    name = Path(file.name or "dataset").name[:300]
    if entity not in ENTITIES:
        raise ValidationError({"entity": f"Unknown list {entity!r}."})
    if entity == "organisations" and format not in (DatasetFormat.CSV, DatasetFormat.JSON):
        raise ValidationError({"format": "Organisations are imported from CSV or JSON."})
    return DatasetImport.objects.create(
        format=format,
        entity=entity,
        file=File(file, name=name),
        original_filename=name,
        size=file.size,
        dry_run=dry_run,
        atomic=atomic,
        created_by=user if user is not None and user.is_authenticated else None,
    )


def dataset_import_start(*, job: DatasetImport) -> DatasetImport:
    """Small files are imported at once; larger ones go to a worker when the row commits."""
    if job.size <= settings.DATASET_INLINE_BYTES:
        try:
            dataset_import_run(job_id=job.pk)
        except Exception as error:
            # The request answers with the failed job, as the worker would record it.
            logger.exception("Dataset import %s failed", job.pk)
            dataset_import_fail(
                job.pk,
                f"The import stopped on an unexpected error ({type(error).__name__}: {error}). "
                "It has been logged.",
            )
        job.refresh_from_db()
        return job
    from projects.tasks import import_dataset

    transaction.on_commit(lambda: import_dataset.delay(job.pk))
    return job


def dataset_import_run(*, job_id: int) -> str:
    """Run one import job and record its outcome on the row. Safe to run twice: a finished
    job is left alone, and an interrupted one runs again (an import is an upsert)."""
    job = DatasetImport.objects.select_related("created_by").get(pk=job_id)
    if job.state in (ImportState.DONE, ImportState.FAILED):
        return job.state
    DatasetImport.objects.filter(pk=job.pk).update(
        state=ImportState.RUNNING, started=timezone.now(), progress=0, error=""
    )

    def progress(fraction: float) -> None:
        DatasetImport.objects.filter(pk=job.pk).update(progress=min(99, int(fraction * 100)))

    try:
        with _local_copy(job.file) as path:
            rows = dataset_read(path=path, format=job.format, entity=job.entity)
        report = dataset_import(
            rows=rows,
            format=job.format,
            entity=job.entity,
            dry_run=job.dry_run,
            atomic=job.atomic,
            user=job.created_by,
            progress=progress,
            context={"dataset_import": job.pk},
        )
    except DatasetError as error:
        return _finish(job, ImportState.FAILED, error=str(error))
    return _finish(job, ImportState.DONE, report=report.as_dict())


def dataset_import_fail(job_id: int, error: str) -> None:
    DatasetImport.objects.filter(pk=job_id).exclude(state=ImportState.DONE).update(
        state=ImportState.FAILED, error=error, finished=timezone.now()
    )


def _finish(job: DatasetImport, state: str, *, error: str = "", report: dict | None = None) -> str:
    DatasetImport.objects.filter(pk=job.pk).update(
        state=state,
        error=error,
        report=report or {},
        progress=100,
        finished=timezone.now(),
    )
    return state


@contextmanager
def _local_copy(file) -> Iterator[Path]:
    """The stored file as a local path (readers open archives and folders by path)."""
    try:
        yield Path(file.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(file.name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        with file.open("rb") as stored:
            shutil.copyfileobj(stored, copy)
        copy.flush()
        yield Path(copy.name)
