"""The Datasette peer of the API benchmark: the published projects exported to SQLite and
served by Datasette (https://datasette.io), with a canned query that returns the same listing
as `GET /api/v1/projects/?country=…&type=…&status=…&page_size=…`: the same projects, in the
same order (name, then id), with the same fields, nested lists included, and the total count.

    export_sqlite(path)                 PostgreSQL (Django's default database) -> SQLite file
    ensure_datasette(venv)              a virtual environment with Datasette; its executable
    with serve(path, port, exe) as url  Datasette serving the file, stopped on exit
    listing_path(country, type, status) the listing's address on that server

Run it alone for a manual check (the database set up as for `manage.py`):

    .venv/bin/python bench/peer.py --sqlite /tmp/dsr.db --port 8765

Differences of representation, not of content: the related objects' `url`s are paths
(`/api/v1/countries/pk/`) where the API gives absolute addresses, and the total is a column
`total_count` of every row where the API has a `count` beside `results`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.db import connections, transaction  # noqa: E402

from projects.partial_dates import PartialDate  # noqa: E402

DATASETTE_VERSION = "0.65.5"
DATABASE = "dsr"
QUERY = "project_listing"
BATCH = 5_000
PUBLISHED = "published"

SCHEMA = """
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    type_slug TEXT NOT NULL,
    type_name TEXT NOT NULL,
    status TEXT NOT NULL,
    publication TEXT NOT NULL,
    value_amount REAL,
    value_currency TEXT NOT NULL,
    value_usd REAL,
    announced TEXT,
    started TEXT,
    completed TEXT,
    length_km REAL,
    capacity TEXT NOT NULL,
    latitude REAL,
    longitude REAL,
    geometry TEXT,
    landing_points TEXT NOT NULL,
    external_ids TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE project_countries (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    iso2 TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE project_companies (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE project_initiatives (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE project_sources (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    document_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    claim TEXT NOT NULL,
    quote TEXT NOT NULL,
    location TEXT NOT NULL
);
"""

# Built after the rows are in (faster than maintaining them row by row). The filter walks
# projects(type_slug, status, name, id) in the listing's order and stops after a page, or
# starts from the country's rows, whichever ANALYZE's statistics make cheaper; the nested
# lists read their project's rows from indexes already in their display order.
INDEXES = """
CREATE UNIQUE INDEX projects_slug ON projects (slug);
CREATE INDEX projects_type_status_name ON projects (type_slug, status, name, id);
CREATE INDEX project_countries_iso2 ON project_countries (iso2, project_id);
CREATE INDEX project_countries_project ON project_countries (project_id, role, name);
CREATE INDEX project_companies_project ON project_companies (project_id, role, name);
CREATE INDEX project_initiatives_project ON project_initiatives (project_id, name);
CREATE INDEX project_sources_project ON project_sources (project_id, title, claim, id);
"""

# Each export reads the published projects' rows, in project order, and its SQLite table.
# Partial dates come as (first day, precision) and timestamps as datetimes: `_project_row`
# prints them as the API does. Numerics become doubles, as the API's JSON has them.
EXPORTS: dict[str, str] = {
    "projects": """
        SELECT p.id, p.slug, p.name, p.description, t.slug, t.name, p.status, p.publication,
               p.value_amount::float8, p.value_currency, p.value_usd::float8,
               p.announced_on, p.announced_precision, p.started_on, p.started_precision,
               p.completed_on, p.completed_precision,
               p.length_km::float8, p.capacity, p.latitude, p.longitude,
               p.geometry::text, p.landing_points::text, p.external_ids::text,
               p.created, p.updated
        FROM projects_project p JOIN projects_projecttype t ON t.id = p.project_type_id
        WHERE p.publication = %s
        ORDER BY p.id
    """,
    "project_countries": """
        SELECT r.project_id, c.iso2, c.name, r.role
        FROM projects_projectcountry r
        JOIN projects_project p ON p.id = r.project_id
        JOIN projects_country c ON c.id = r.country_id
        WHERE p.publication = %s
        ORDER BY r.project_id
    """,
    "project_companies": """
        SELECT r.project_id, c.slug, c.name, r.role
        FROM projects_projectcompany r
        JOIN projects_project p ON p.id = r.project_id
        JOIN projects_company c ON c.id = r.company_id
        WHERE p.publication = %s
        ORDER BY r.project_id
    """,
    "project_initiatives": """
        SELECT r.project_id, i.slug, i.name
        FROM projects_projectinitiative r
        JOIN projects_project p ON p.id = r.project_id
        JOIN projects_initiative i ON i.id = r.initiative_id
        WHERE p.publication = %s
        ORDER BY r.project_id
    """,
    "project_sources": """
        SELECT r.id, r.project_id, d.id, d.url, d.title, r.claim, r.quote, r.location
        FROM projects_citation r
        JOIN projects_project p ON p.id = r.project_id
        JOIN projects_sourcedocument d ON d.id = r.document_id
        WHERE p.publication = %s
        ORDER BY r.project_id
    """,
}

# The filter, twice: for the page and for the total. Only published projects are exported,
# so the API's `publication = 'published'` for anonymous users needs no condition here.
_FILTER = """p.type_slug = :type AND p.status = :status
      AND EXISTS (SELECT 1 FROM project_countries pc
                  WHERE pc.project_id = p.id AND pc.iso2 = :country)"""

# The API's list, row for row: fields in the serializer's order, nested lists in the order
# of selectors.shaped_projects (countries and companies by role then name, initiatives by
# name, sources by title, claim, id), each ordered in a subquery that json_group_array
# aggregates (SQLite 3.40 has no ORDER BY inside aggregates; an ORDER BY in the FROM
# subquery of an aggregate is kept, the subquery not being flattened).
#
# The total: an uncorrelated scalar subquery, which SQLite evaluates once per statement —
# a separate COUNT, as the API makes, within the same request. Not `count(*) OVER ()`: the
# window makes SQLite number every matching row before LIMIT, so the page can no longer
# stop after page_size rows read in index order. Not a second canned query: that would be a
# second HTTP round trip the API does not make. It costs one repeated integer per row, and
# an empty page carries no total (it is then 0).
LISTING_SQL = f"""
SELECT
  p.id,
  '/api/v1/projects/' || p.slug || '/' AS url,
  p.slug,
  p.name,
  p.description,
  json_object('slug', p.type_slug, 'name', p.type_name,
              'url', '/api/v1/project-types/' || p.type_slug || '/') AS type,
  p.status,
  p.publication,
  (SELECT json_group_array(json_object('iso2', c.iso2, 'name', c.name,
            'url', '/api/v1/countries/' || lower(c.iso2) || '/', 'role', c.role))
     FROM (SELECT iso2, name, role FROM project_countries
           WHERE project_id = p.id ORDER BY role, name) AS c) AS countries,
  (SELECT json_group_array(json_object('slug', c.slug, 'name', c.name,
            'url', '/api/v1/companies/' || c.slug || '/', 'role', c.role))
     FROM (SELECT slug, name, role FROM project_companies
           WHERE project_id = p.id ORDER BY role, name) AS c) AS companies,
  (SELECT json_group_array(json_object('slug', i.slug, 'name', i.name,
            'url', '/api/v1/initiatives/' || i.slug || '/'))
     FROM (SELECT slug, name FROM project_initiatives
           WHERE project_id = p.id ORDER BY name) AS i) AS initiatives,
  p.value_amount,
  p.value_currency,
  p.value_usd,
  p.announced,
  p.started,
  p.completed,
  p.length_km,
  p.capacity,
  p.latitude,
  p.longitude,
  p.geometry,
  p.landing_points,
  p.external_ids,
  (SELECT json_group_array(json_object('document', s.document_id, 'url', s.url,
            'title', s.title, 'claim', s.claim, 'quote', s.quote, 'location', s.location))
     FROM (SELECT document_id, url, title, claim, quote, location FROM project_sources
           WHERE project_id = p.id ORDER BY title, claim, id) AS s) AS sources,
  (SELECT count(*) FROM project_sources s WHERE s.project_id = p.id) AS citation_count,
  p.created,
  p.updated,
  (SELECT count(*) FROM projects p WHERE {_FILTER}) AS total_count
FROM projects p
WHERE {_FILTER}
ORDER BY p.name, p.id
LIMIT :page_size
"""  # nosec B608

# Columns holding JSON text, which Datasette returns parsed when named in `_json`.
JSON_COLUMNS = (
    "type",
    "countries",
    "companies",
    "initiatives",
    "geometry",
    "landing_points",
    "external_ids",
    "sources",
)

METADATA = {
    "databases": {
        DATABASE: {
            "queries": {
                QUERY: {
                    "title": "Projects by country, type and status",
                    "sql": LISTING_SQL,
                    "params": ["country", "type", "status", "page_size"],
                }
            }
        }
    }
}

# Datasette's settings: see serve() for why.
SETTINGS = {
    "num_sql_threads": 2,
    "sql_time_limit_ms": 60_000,
    "cache_size_kb": 65_536,
    "default_cache_ttl": 0,
    "default_page_size": 50,
    "max_returned_rows": 1_000,
}

# Names in the API's order (the column's collation); the first neighbours that byte order
# (COLLATE "C": UTF-8 bytes, hence code points, as SQLite's BINARY and Python compare) would
# swap, if any.
ORDER_CHECK = """
    SELECT name, next_name FROM (
        SELECT name, id, lead(name) OVER w AS next_name, lead(id) OVER w AS next_id
        FROM projects_project WHERE publication = %s WINDOW w AS (ORDER BY name, id)
    ) AS ordered
    WHERE (name COLLATE "C", id) > (next_name COLLATE "C", next_id)
    LIMIT 1
"""


def _partial_date(day: dt.date | None, precision: str) -> str | None:
    return PartialDate(date=day, precision=precision).isoformat() if day else None


def _timestamp(value: dt.datetime) -> str:
    """As DRF's DateTimeField prints it: ISO 8601 in UTC, with Z."""
    text = value.astimezone(dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _project_row(row: Sequence) -> tuple:
    (*head, announced, announced_p, started, started_p, completed, completed_p) = row[:17]
    return (
        *head,
        _partial_date(announced, announced_p),
        _partial_date(started, started_p),
        _partial_date(completed, completed_p),
        *row[17:24],
        _timestamp(row[24]),
        _timestamp(row[25]),
    )


def _read(connection, sql: str, batch: int) -> Iterator[list[tuple]]:
    """The rows of a query in batches, through a server-side cursor."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [PUBLISHED])
        while rows := cursor.fetchmany(batch):
            yield rows


def _warn_unless_same_order(connection) -> None:
    """Warn when PostgreSQL (the column's collation) and SQLite (code points) would list two
    published projects in different orders: the listings would then differ."""
    with connection.cursor() as cursor:
        cursor.execute(ORDER_CHECK, [PUBLISHED])
        disagreement = cursor.fetchone()
    if disagreement:
        first, second = disagreement
        warnings.warn(
            f"PostgreSQL sorts {first!r} before {second!r}, SQLite the other way round: the "
            "API's and Datasette's listings may differ in order.",
            stacklevel=3,
        )


def export_sqlite(path: Path, *, using: str = "default", batch: int = BATCH) -> dict[str, int]:
    """Export the published projects of a Django database into a new SQLite file at `path`
    (replaced atomically); return the number of rows written per table."""
    connection = connections[using]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial, isolation_level=None)
    counts: dict[str, int] = {}
    try:
        target.execute("PRAGMA journal_mode = OFF")
        target.execute("PRAGMA synchronous = OFF")
        target.execute("BEGIN")
        _execute_script(target, SCHEMA)
        outermost = not connection.in_atomic_block
        with transaction.atomic(using=using):
            if outermost:
                # One snapshot for the five reads: no role without its project.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _warn_unless_same_order(connection)
            for table, sql in EXPORTS.items():
                counts[table] = _copy(connection, sql, target, table, batch)
        _execute_script(target, INDEXES)
        target.execute("ANALYZE")
        target.execute("COMMIT")
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    target.close()
    os.replace(partial, path)
    return counts


def _execute_script(target: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated statements inside the open transaction (executescript would commit
    it first)."""
    for statement in filter(str.strip, script.split(";")):
        target.execute(statement)


def _copy(connection, sql: str, target: sqlite3.Connection, table: str, batch: int) -> int:
    rows_written = 0
    insert = None
    for rows in _read(connection, sql, batch):
        if table == "projects":
            rows = [_project_row(row) for row in rows]
        if insert is None:
            insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})"  # nosec B608
        target.executemany(insert, rows)
        rows_written += len(rows)
    return rows_written


def _run(command: Sequence[str | Path]) -> None:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stderr[-3000:]}")


def ensure_datasette(venv: Path) -> Path:
    """A virtual environment at `venv` with Datasette DATASETTE_VERSION (created or completed
    when needed, quietly); the path of its `datasette` executable."""
    executable = venv / "bin" / "datasette"
    marker = venv / f".datasette-{DATASETTE_VERSION}"
    if marker.exists() and executable.exists():
        return executable
    if not (venv / "bin" / "python").exists():
        # The benchmark's own interpreter (through its venv, the base one) rather than
        # whatever python3 comes first on PATH.
        _run([sys.executable, "-m", "venv", venv])
    _run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"datasette=={DATASETTE_VERSION}",
        ]
    )
    marker.touch()
    return executable


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As uvicorn binds: connections of an earlier server in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_ready(base_url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until Datasette answers. The first request also makes it count the rows of every
    table of an immutable database, which is then done before any measured request."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Datasette exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/-/versions.json", timeout=timeout) as answer:  # nosec B310
                if "datasette" in json.load(answer):
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(f"Datasette did not answer within {timeout} s:\n{log.read_text()}")


@contextmanager
def serve(
    db_path: Path, port: int, datasette: Path, *, startup_timeout: float = 120
) -> Iterator[str]:
    """Serve `db_path` with Datasette on 127.0.0.1:`port`, immutable (`-i`: no locking, no
    change checks), with the canned query; yield the base URL once it answers; stop it on
    exit. The file is served as DATABASE through a symbolic link, whatever its own name.

    SETTINGS, for a fair comparison on the 2-CPU benchmark machine:
    - num_sql_threads 2: one SQLite connection per CPU. Python's sqlite3 releases the GIL
      while SQLite runs, so two queries execute at once; more threads than CPUs would only
      contend with each other and with the event loop (the default is 3).
    - sql_time_limit_ms 60000: the default (1 s) would abort queries slowed by load, where
      the API has no time limit; a minute never cuts a listing short.
    - cache_size_kb 65536: 64 MiB of page cache per connection (the default is 2 MiB), so
      the two together hold about what PostgreSQL's default shared_buffers (128 MB) does.
    - default_cache_ttl 0: `Cache-Control: no-cache` instead of `max-age=5`; the API sends
      no caching header either, so no client or proxy reuses an answer.
    - default_page_size 50, max_returned_rows 1000: the API's page, and more than its
      largest (500). A canned query returns all its rows up to max_returned_rows, so the
      page size is the SQL's LIMIT; default_page_size only matters to table views.
    Datasette is installed plain (`pip install datasette`: uvicorn on asyncio and h11, no
    uvloop or httptools), as its documentation installs it; its one process logs every
    request (which `datasette serve` cannot turn off), here to a file."""
    if not _port_is_free(port):
        raise RuntimeError(f"Port {port} on 127.0.0.1 is in use.")
    with tempfile.TemporaryDirectory(prefix="dsr-datasette-") as directory:
        workdir = Path(directory)
        database = workdir / f"{DATABASE}.db"
        database.symlink_to(db_path.resolve())
        metadata = workdir / "metadata.json"
        metadata.write_text(json.dumps(METADATA))
        log = workdir / "datasette.log"
        settings = [
            argument
            for name, value in SETTINGS.items()
            for argument in ("--setting", name, str(value))
        ]
        command = [
            str(datasette),
            "serve",
            "-i",
            str(database),
            "-m",
            str(metadata),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            *settings,
        ]
        base_url = f"http://127.0.0.1:{port}"
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
            try:
                _wait_until_ready(base_url, process, log, startup_timeout)
                yield base_url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def listing_path(country: str, type: str, status: str, page_size: int = 50) -> str:
    """The path and query of the canned query's JSON: the first page of the projects with
    `country` in any role, of `type` and `status`, by name then id, as objects whose JSON
    columns are parsed (`_json`), each with the total as `total_count`."""
    parameters: list[tuple[str, str]] = [
        ("country", country.strip().upper()),
        ("type", type.strip().lower()),
        ("status", status),
        ("page_size", str(page_size)),
        ("_shape", "objects"),
        *(("_json", column) for column in JSON_COLUMNS),
    ]
    return f"/{DATABASE}/{QUERY}.json?{urlencode(parameters)}"


def _fetch(url: str) -> tuple[dict, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as answer:  # nosec B310
        body = json.load(answer)
    return body, time.perf_counter() - start


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=ROOT / "bench" / ".work" / "dsr.db")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--venv", type=Path, default=ROOT / "bench" / ".venv-datasette")
    parser.add_argument("--country", default="PK")
    parser.add_argument("--type", default="fiber-link")
    parser.add_argument("--status", default="operational")
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args(list(argv) if argv is not None else None)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")
    django.setup()

    start = time.perf_counter()
    counts = export_sqlite(args.sqlite)
    exported = time.perf_counter() - start
    size = args.sqlite.stat().st_size / 1e6
    print(f"export: {counts} in {exported:.2f} s, {size:.1f} MB")
    start = time.perf_counter()
    datasette = ensure_datasette(args.venv)
    print(f"datasette {DATASETTE_VERSION}: {datasette} in {time.perf_counter() - start:.1f} s")
    path = listing_path(args.country, args.type, args.status, args.page_size)
    with serve(args.sqlite, args.port, datasette) as base_url:
        print(f"GET {base_url}{path}")
        body, first = _fetch(base_url + path)
        _, second = _fetch(base_url + path)
    rows = body["rows"]
    total = rows[0]["total_count"] if rows else 0
    print(f"{len(rows)} rows of {total}; {first * 1000:.1f} ms, then {second * 1000:.1f} ms")
    if rows:
        print(json.dumps(rows[0], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
