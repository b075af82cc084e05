"""Benchmark of dataset imports: rows per second for a CSV in the export schema, first into
an empty knowledge base (every row created), then the same file again (every row unchanged,
the idempotency path), then a dry run, then an edited file (every row updated: its status,
value and one organisation's role changed).

Run it from the repository with the app's database set up (`make data`, or DATABASE_URL):

    .venv/bin/python bench/import_datasets.py [--rows 5000] [--keep]

It generates its own CSV: realistic projects with countries and organisations by code and
name (some organisations unknown, so they are created), initiatives, dates, values, lengths
and coordinates. The projects it creates carry the external id "bench" and are deleted at
the end unless --keep. Results go to stdout as a Markdown table; record them in
bench/RESULTS.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")

import django  # noqa: E402

django.setup()

from projects.models import Company, Country, Initiative, Project, ProjectType  # noqa: E402
from projects.services.datasets import TRUSTED, dataset_import, dataset_read  # noqa: E402

COLUMNS = [
    "name",
    "type",
    "status",
    "countries",
    "companies",
    "initiatives",
    "value_amount",
    "value_currency",
    "announced",
    "completed",
    "length_km",
    "latitude",
    "longitude",
    "external_ids",
    "source_url",
    "source_quote",
]
STATUSES = ["announced", "planned", "under_construction", "operational", "unknown"]


def generate(rows: int, seed: int = 7, edited: bool = False) -> bytes:
    """The bench's CSV; `edited`: the same projects with their status, value and one
    organisation's role changed."""
    rng = random.Random(seed)
    countries = list(Country.objects.values_list("iso2", "name"))
    companies = list(Company.objects.values_list("slug", "name"))
    types = list(ProjectType.objects.values_list("slug", flat=True))
    initiatives = list(Initiative.objects.values_list("slug", flat=True))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for number in range(rows):
        picked = rng.sample(countries, rng.randint(1, 3))
        host = [f"{code}:host" for code, _ in picked[:1]]
        transit = [f"{name}:transit" for _, name in picked[1:]]  # by name, resolved by alias
        partners = [
            f"{slug}:{rng.choice(['contractor', 'supplier', 'financier'])}"
            for slug, _ in rng.sample(companies, 2)
        ]
        if edited:
            partners[0] = partners[0].split(":")[0] + ":operator"
        if number % 20 == 0:
            partners.append(f"Bench Partner {number // 20}:partner")  # unknown: created
        year = rng.randint(2008, 2026)
        status = rng.choice(STATUSES)
        if edited:
            status = STATUSES[(STATUSES.index(status) + 1) % len(STATUSES)]
        writer.writerow(
            {
                "name": f"Bench project {number}",
                "type": rng.choice(types),
                "status": status,
                "countries": "; ".join(host + transit),
                "companies": "; ".join(partners),
                "initiatives": rng.choice(initiatives),
                "value_amount": rng.randint(1, 900) * 1_000_000 + (1000 if edited else 0),
                "value_currency": "USD",
                "announced": str(year),
                "completed": f"{min(year + 3, 2030)}-{rng.randint(1, 12):02d}",
                "length_km": rng.randint(10, 20_000),
                "latitude": round(rng.uniform(-60, 70), 4),
                "longitude": round(rng.uniform(-170, 170), 4),
                "external_ids": f'{{"bench": "{number}"}}',
                "source_url": f"https://bench.example/news/{number % 500}",
                "source_quote": f"Project {number} was signed.",
            }
        )
    return out.getvalue().encode()


def timed(path: Path, **options) -> tuple[float, dict]:
    started = time.perf_counter()
    report = dataset_import(
        rows=dataset_read(path=path, format="csv"), format="csv", user=TRUSTED, **options
    )
    return time.perf_counter() - started, report.as_dict()


def clean_up() -> None:
    from projects.models import Citation, SourceDocument

    bench = Project.objects.filter(external_ids__has_key="bench")
    Citation.objects.filter(project__in=bench).delete()
    bench.delete()
    SourceDocument.objects.filter(url__startswith="https://bench.example/").delete()
    Company.objects.filter(name__startswith="Bench Partner ", projects__isnull=True).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="Keep the imported projects.")
    parser.add_argument(
        "--json", action="store_true", help="End with the rates as one JSON line (for run.py)."
    )
    options = parser.parse_args()
    clean_up()
    # Both files before any import: the organisations the first one creates would change
    # the second one's draw.
    content, edited = generate(options.rows), generate(options.rows, edited=True)
    with tempfile.TemporaryDirectory() as folder:
        path, edited_path = Path(folder) / "bench.csv", Path(folder) / "edited.csv"
        path.write_bytes(content)
        edited_path.write_bytes(edited)
        runs = [
            ("first import (all created)", timed(path)),
            ("same file again (all unchanged)", timed(path)),
            ("dry run (all unchanged)", timed(path, dry_run=True)),
            ("edited file (all updated)", timed(edited_path)),
        ]
    print(
        f"Dataset import, {options.rows} CSV rows ({len(content) / 1e6:.1f} MB), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n"
    )
    print("| run | seconds | rows/s | created | updated | unchanged | rejected |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, (seconds, report) in runs:
        print(
            f"| {label} | {seconds:.1f} | {options.rows / seconds:,.0f} | {report['created']} "
            f"| {report['updated']} | {report['unchanged']} | {len(report['rejected'])} |"
        )
    if not options.keep:
        clean_up()
    if options.json:
        rates = [options.rows / seconds for _, (seconds, _) in runs]
        print(
            json.dumps(
                {
                    "rows": options.rows,
                    "created_rows_per_second": round(rates[0], 1),
                    "unchanged_rows_per_second": round(rates[1], 1),
                    "dry_run_rows_per_second": round(rates[2], 1),
                    "updated_rows_per_second": round(rates[3], 1),
                }
            )
        )


if __name__ == "__main__":
    main()
