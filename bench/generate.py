"""Fill the database with realistic synthetic data at scale, for the benchmarks.

    .venv/bin/python bench/generate.py [--projects 100000] [--seed 7]

By default (the Performance issue's size): every country of the reference data, 5,000
organisations (the reference ones and generated ones), 100,000 projects with their country
and organisation roles, types, initiatives, partial dates, values, lengths and locations,
and 20,000 processed documents of about 10 KB of text, with their mentions (every name in
the text, at its offsets) and citations (one to three per project, each quoting a sentence).
`--projects N` sets the number of projects; the other counts follow in proportion.

It appends to what the database holds (run it after `migrate` and `load_reference_data`)
and loads with COPY, several hundred thousand rows a minute. Row triggers are paused while it
loads: the history of generated rows is not recorded (they are not anybody's edits), and the
projects' search documents are built afterwards in one set-based statement. Documents carry
a stored-file name, size and SHA-256 as if uploaded, but the files are not written.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.text import slugify  # noqa: E402

from projects.models import (  # noqa: E402
    Citation,
    Company,
    Country,
    Initiative,
    Mention,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    SourceDocument,
)

NULL = r"\N"
BATCH = 20_000
STATUSES = [
    ("operational", 35),
    ("under_construction", 15),
    ("planned", 15),
    ("announced", 20),
    ("suspended", 3),
    ("cancelled", 4),
    ("unknown", 8),
]
PUBLICATION = [("published", 90), ("in_review", 4), ("draft", 6)]
COMPANY_ROLES = ["contractor", "operator", "owner", "supplier", "financier", "investor", "partner"]
PREFIXES = ["Sino", "Silk", "Orient", "Harbour", "Delta", "Summit", "Jade", "Pearl", "Unity"]
STEMS = ["Tele", "Net", "Link", "Data", "Cloud", "Grid", "Wave", "Star", "Bridge", "Path"]
SUFFIXES = ["Technologies", "Communications", "Holdings", "Systems", "Networks", "Group"]
PLACES = ["Northern", "Coastal", "Capital", "Eastern", "Western", "Southern", "Central"]
NOUNS = {
    "fiber-link": "fibre backbone",
    "submarine-cable": "submarine cable",
    "mobile-network": "5G network",
    "data-center": "data centre",
    "cloud": "cloud region",
    "smart-city": "smart city",
    "e-commerce": "e-commerce platform",
    "digital-payments": "mobile payments",
    "satellite-navigation": "BeiDou ground stations",
}
PROSE = """
the agreement covers construction operation maintenance of the network and training of local
engineers financed by a concessional loan with a grace period while the ministry said the
project would connect schools hospitals and government offices in the region officials
expected completion within three years although critics questioned the terms of the loan and
the security of the equipment supplied by the contractor
"""
WORDS = PROSE.split()


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choices(WORDS, k=words))
    return text[0].upper() + text[1:] + "."


class Copier:
    """COPY rows into a model's table, with explicit ids taken after the current maximum."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.table = model._meta.db_table
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if not isinstance(f, models.GeneratedField) and not f.primary_key
        ]
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{self.table}"')  # nosec B608
            self.next_id = cursor.fetchone()[0] + 1
        self.count = 0

    def ids(self, n: int) -> range:
        start = self.next_id
        self.next_id += n
        return range(start, start + n)

    def copy(self, rows: Iterable[dict]) -> None:
        now = timezone.now()
        columns = ["id", *(f'"{f.column}"' for f in self.fields)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            values = [row["id"]]
            for f in self.fields:
                if f.attname in row:
                    value = row[f.attname]
                elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    value = now
                else:
                    value = f.get_default()
                values.append(self._encode(f, value))
            writer.writerow(values)
            self.count += 1
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f'COPY "{self.table}" ({", ".join(columns)}) '
                f"FROM STDIN WITH (FORMAT csv, NULL '{NULL}')",
                buffer,
            )

    def copy_new(self, rows: list[dict]) -> None:
        """COPY rows that have no id yet."""
        ids = self.ids(len(rows))
        self.copy(dict(row, id=pk) for row, pk in zip(rows, ids, strict=True))

    def copy_batched(self, rows: Iterator[dict]) -> None:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.copy(batch)
                batch = []
        if batch:
            self.copy(batch)

    @staticmethod
    def _encode(field: models.Field, value):
        if value is None:
            return NULL
        if isinstance(field, models.JSONField):
            return json.dumps(value)
        if isinstance(value, list):
            return "{" + ",".join(json.dumps(str(v)) for v in value) + "}"
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    def reset_sequence(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f'(SELECT coalesce(max(id), 1) FROM "{self.table}"))',  # nosec B608
                [self.table],
            )


def partial_date(rng: random.Random, start_year: int, end_year: int) -> tuple:
    year = rng.randint(start_year, end_year)
    precision = rng.choice(["year", "month", "month", "day"])
    month = rng.randint(1, 12) if precision != "year" else 1
    day = rng.randint(1, 28) if precision == "day" else 1
    return dt.date(year, month, day), precision


class Generator:
    def __init__(self, *, projects: int, seed: int):
        self.rng = random.Random(seed)
        self.projects = projects
        self.companies = max(projects // 20, 50)
        self.documents = max(projects // 5, 20)
        self.run = f"{seed}-{int(time.time())}"
        self.countries = list(Country.objects.values_list("id", "name", "iso2"))
        self.types = list(ProjectType.objects.values_list("id", "slug", "name"))
        self.initiatives = list(Initiative.objects.values_list("id", flat=True))
        if not self.countries or not self.types:
            raise SystemExit("Load the reference data first: manage.py load_reference_data")
        # Projects cluster in partner countries, as in reality: a few hosts take most.
        self.rng.shuffle(self.countries)
        self.country_weights = list(
            itertools.accumulate(
                30 if n < 25 else 3 if n < 90 else 1 for n in range(len(self.countries))
            )
        )

    def country(self):
        return self.rng.choices(self.countries, cum_weights=self.country_weights)[0]

    # Organisations ---------------------------------------------------------------------

    def generate_companies(self) -> list[tuple[int, str]]:
        existing = list(Company.objects.values_list("id", "name"))
        wanted = max(self.companies - len(existing), 0)
        copier = Copier(Company)
        ids = copier.ids(wanted)
        rows, made = [], []
        for n, pk in enumerate(ids):
            name = (
                f"{self.rng.choice(PREFIXES)}{self.rng.choice(STEMS).lower()} "
                f"{self.rng.choice(SUFFIXES)} {n}"
            )
            rows.append(
                {
                    "id": pk,
                    "name": name,
                    "slug": f"{slugify(name)}-{self.run}",
                    "kind": self.rng.choice(["firm", "firm", "firm", "bank", "government_agency"]),
                    "ownership": self.rng.choice(["state_owned", "private", "listed", "unknown"]),
                    "headquarters_id": self.country()[0],
                    "website": f"https://www.example.com/org/{n}",
                    "description": sentence(self.rng, 20),
                }
            )
            made.append((pk, name))
        copier.copy_batched(iter(rows))
        copier.reset_sequence()
        return existing + made

    # Documents -------------------------------------------------------------------------

    def generate_documents(self, companies) -> list[tuple[int, list[str]]]:
        documents, mentions = Copier(SourceDocument), Copier(Mention)
        made: list[tuple[int, list[str]]] = []

        def rows():
            for pk in documents.ids(self.documents):
                text, found, sentences = self.document_text(companies)
                data = text.encode()
                made.append((pk, sentences))
                self.pending_mentions.extend({"document_id": pk, **mention} for mention in found)
                published, precision = partial_date(self.rng, 2013, 2026)
                yield {
                    "id": pk,
                    "title": f"{sentence(self.rng, 7)[:-1]} ({pk})",
                    "authors": [f"Reporter {self.rng.randint(1, 400)}"],
                    "publisher": self.rng.choice(["Xinhua", "Reuters", "The Diplomat", "CSIS"]),
                    "published_on": published,
                    "published_precision": precision,
                    "url": f"https://news.example.com/{published.year}/{pk}",
                    "language": "en",
                    "kind": self.rng.choice(["news", "news", "report", "press_release"]),
                    "file": f"documents/bench/{pk}.txt",
                    "original_filename": f"{pk}.txt",
                    "media_type": "text/plain",
                    "size": len(data),
                    "sha256": hashlib.sha256(data + self.run.encode()).hexdigest(),
                    "text": text,
                    "status": "done",
                    "progress": 100,
                }

        self.pending_mentions: list[dict] = []
        batch = []
        for row in rows():
            batch.append(row)
            if len(batch) >= 2000:
                print(f"  documents: {documents.count + len(batch):,}", flush=True)
                documents.copy(batch)
                mentions.copy_new(self._mentions_pending())
                batch = []
        if batch:
            documents.copy(batch)
            mentions.copy_new(self._mentions_pending())
        documents.reset_sequence()
        mentions.reset_sequence()
        self.mention_count = mentions.count
        return made

    def _mentions_pending(self) -> list[dict]:
        pending, self.pending_mentions = self.pending_mentions, []
        return pending

    def document_text(self, companies) -> tuple[str, list[dict], list[str]]:
        """About 10 KB of sentences; one in three names an organisation, a country and a
        kind of project, recorded as mentions at their offsets."""
        parts: list[str] = []
        found: list[dict] = []
        sentences: list[str] = []
        length = 0
        while length < 10_000:
            if self.rng.random() < 0.33:
                company_id, company = self.rng.choice(companies)
                country_id, country, _ = self.country()
                type_id, _, type_name = self.rng.choice(self.types)
                pieces = [
                    (company, {"company_id": company_id}),
                    (" will build a ", None),
                    (type_name.lower(), {"project_type_id": type_id}),
                    (" in ", None),
                    (country, {"country_id": country_id}),
                    (", " + sentence(self.rng, 12), None),
                ]
                text = "".join(p for p, _ in pieces)
                offset = length
                for piece, entity in pieces:
                    if entity:
                        found.append(
                            {
                                "start": offset,
                                "end": offset + len(piece),
                                "text": piece[:300],
                                "sentence": text,
                                **entity,
                            }
                        )
                    offset += len(piece)
                sentences.append(text)
            else:
                text = sentence(self.rng, self.rng.randint(12, 30))
            parts.append(text)
            length += len(text) + 1
        return " ".join(parts), found, sentences

    # Projects --------------------------------------------------------------------------

    def generate_projects(self, companies, documents) -> dict[str, int]:
        projects = Copier(Project)
        country_roles = Copier(ProjectCountry)
        company_roles = Copier(ProjectCompany)
        initiative_links = Copier(ProjectInitiative)
        citations = Copier(Citation)
        first_id = projects.next_id
        remaining = self.projects
        while remaining:
            n = min(remaining, BATCH)
            remaining -= n
            rows, roles_c, roles_o, links, cites = [], [], [], [], []
            for pk in projects.ids(n):
                project, countries, orgs, inits, cited = self.project(pk, companies, documents)
                rows.append(project)
                roles_c.extend(countries)
                roles_o.extend(orgs)
                links.extend(inits)
                cites.extend(cited)
            projects.copy(rows)
            for copier, batch in (
                (country_roles, roles_c),
                (company_roles, roles_o),
                (initiative_links, links),
                (citations, cites),
            ):
                copier.copy_new(batch)
        for copier in (projects, country_roles, company_roles, initiative_links, citations):
            copier.reset_sequence()
        with connection.cursor() as cursor:
            # Fresh statistics first, or the search documents' lookups of role rows are
            # planned as scans of tables the planner believes empty.
            cursor.execute("ANALYZE")
            for start in range(first_id, projects.next_id, BATCH):
                cursor.execute(
                    "SELECT projects_project_search_refresh_many(%s::bigint[])",
                    [list(range(start, min(start + BATCH, projects.next_id)))],
                )
        return {
            "projects": projects.count,
            "project countries": country_roles.count,
            "project companies": company_roles.count,
            "project initiatives": initiative_links.count,
            "citations": citations.count,
        }

    def project(self, pk: int, companies, documents):
        rng = self.rng
        type_id, type_slug, type_name = rng.choice(self.types)
        host_id, host, _ = self.country()
        company_id, company = rng.choice(companies)
        noun = NOUNS.get(type_slug, type_name.lower())
        name = f"{company.split(' ')[0]} {rng.choice(PLACES)} {host} {noun} {pk}"
        announced = partial_date(rng, 2008, 2026) if rng.random() < 0.8 else (None, "")
        started = partial_date(rng, 2010, 2026) if rng.random() < 0.5 else (None, "")
        completed = partial_date(rng, 2012, 2030) if rng.random() < 0.3 else (None, "")
        amount = round(rng.lognormvariate(17, 1.5), 2) if rng.random() < 0.6 else None
        located = rng.random() < 0.6
        cable = type_slug in ("fiber-link", "submarine-cable")
        project = {
            "id": pk,
            "name": name,
            "slug": f"{slugify(name)}-{self.run}",
            "description": " ".join(sentence(rng, rng.randint(15, 30)) for _ in range(3)),
            "project_type_id": type_id,
            "status": weighted(rng, STATUSES),
            "publication": weighted(rng, PUBLICATION),
            "value_amount": amount,
            "value_currency": "USD" if amount else "",
            "value_usd": amount,
            "announced_on": announced[0],
            "announced_precision": announced[1],
            "started_on": started[0],
            "started_precision": started[1],
            "completed_on": completed[0],
            "completed_precision": completed[1],
            "length_km": round(rng.uniform(20, 12000), 1) if cable else None,
            "capacity": f"{rng.choice([10, 40, 100, 400])} Tbps" if cable else "",
            "latitude": round(rng.uniform(-40, 60), 5) if located else None,
            "longitude": round(rng.uniform(-20, 150), 5) if located else None,
            "external_ids": {"bench": str(pk)} if rng.random() < 0.2 else {},
        }
        countries = [{"project_id": pk, "country_id": host_id, "role": "host"}]
        for country_id, _, _ in rng.sample(self.countries, rng.choice([0, 0, 1, 2])):
            if country_id != host_id:
                role = "landing_point" if cable else "transit"
                countries.append({"project_id": pk, "country_id": country_id, "role": role})
        orgs = [{"project_id": pk, "company_id": company_id, "role": "contractor"}]
        for other_id, _ in rng.sample(companies, rng.choice([0, 1, 1, 2])):
            if other_id != company_id:
                role = rng.choice(COMPANY_ROLES[1:])
                orgs.append({"project_id": pk, "company_id": other_id, "role": role})
        inits = [
            {"project_id": pk, "initiative_id": i}
            for i in rng.sample(self.initiatives, min(len(self.initiatives), rng.choice([1, 1, 2])))
        ]
        cited = []
        for document_id, sentences in rng.sample(documents, rng.choice([1, 1, 2, 3])):
            cited.append(
                {
                    "project_id": pk,
                    "document_id": document_id,
                    "claim": "general",
                    "quote": rng.choice(sentences) if sentences else "",
                    "location": f"paragraph {rng.randint(1, 30)}",
                }
            )
        return project, countries, orgs, inits, cited


PAUSED = [
    Company,
    SourceDocument,
    Mention,
    Project,
    ProjectCountry,
    ProjectCompany,
    ProjectInitiative,
    Citation,
]


def triggers(action: str) -> None:
    with connection.cursor() as cursor:
        for model in PAUSED:
            cursor.execute(f'ALTER TABLE "{model._meta.db_table}" {action} TRIGGER USER')


def generate(*, projects: int, seed: int = 7, report=print) -> dict[str, int]:
    generator = Generator(projects=projects, seed=seed)
    counts: dict[str, int] = {}
    started = time.monotonic()
    with transaction.atomic():
        triggers("DISABLE")
        companies = generator.generate_companies()
        counts["organisations"] = len(companies)
        report(f"organisations: {len(companies)} ({time.monotonic() - started:.0f} s)")
        documents = generator.generate_documents(companies)
        counts["documents"] = len(documents)
        counts["mentions"] = generator.mention_count
        report(
            f"documents: {len(documents)}, mentions: {generator.mention_count} "
            f"({time.monotonic() - started:.0f} s)"
        )
        counts.update(generator.generate_projects(companies, documents))
        # Deferred foreign-key checks run now: ALTER TABLE refuses tables with pending ones.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        triggers("ENABLE")
    report(f"projects: {counts['projects']} ({time.monotonic() - started:.0f} s)")
    # Statistics for the planner, and the visibility map that lets index-only scans skip
    # the tables (autovacuum would get there, later).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    options = parser.parse_args()
    counts = generate(projects=options.projects, seed=options.seed)
    print(json.dumps(counts) if options.json else counts)


if __name__ == "__main__":
    main()
