"""The benchmark, end to end: `make bench` runs this.

    .venv/bin/python bench/run.py [--projects 100000] [--seconds 20] [--regenerate]
                                  [--skip-peer] [--skip-imports] [--no-write]

1. A database named `dsr_bench` (on the server of DATABASE_URL when set, else on the
   embedded PostgreSQL under .data/) is migrated, given the reference data and filled by
   bench/generate.py; it is kept between runs and refilled only when it holds another
   number of projects or with --regenerate.
2. gunicorn serves the app with the production settings (two worker processes per core
   minus nothing else: see WORKERS) and wrk loads it for each scenario of bench/load.py with
   8 concurrent clients, after a warm-up.
3. The peer: the same published projects exported to SQLite and served by Datasette
   (installed in bench/.venv-datasette), loaded with the equivalent listings.
4. Import throughput: bench/import_pipeline.py (10 KB HTML documents through one Celery
   worker process) and bench/import_datasets.py (CSV rows), on the same database.
5. The figures replace the generated part of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
RESULTS = BENCH / "RESULTS.md"
PYTHON = sys.executable
DATABASE_NAME = "dsr_bench"
BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"
CONNECTIONS = 8
TARGETS = {
    "list": 50.0,
    "search": 100.0,
    "stats": 100.0,
    "country_page": 150.0,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url() -> str:
    """The URL of the bench database, created if missing."""
    from urllib.parse import urlsplit, urlunsplit

    base = os.environ.get("DATABASE_URL")
    if base:
        parts = urlsplit(base)
        return urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))
    sys.path.insert(0, str(ROOT))
    from dsr_kb import embedded_db

    data_dir = Path(os.environ.get("DSR_DATA_DIR", ROOT / ".data"))
    server = embedded_db.start(data_dir / "postgres")
    embedded_db.ensure_database(server, DATABASE_NAME)
    settings = server.database_settings(DATABASE_NAME)
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{DATABASE_NAME}"


def create_database(url: str) -> None:
    import psycopg2

    admin = url.rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    connection.close()


def drop_database(url: str) -> None:
    import psycopg2

    admin = url.rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
    connection.close()


def environment(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=url, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def manage(url: str, *args: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=environment(url, DJANGO_SETTINGS_MODULE="dsr_kb.settings.base"),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def project_count(url: str) -> int:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM projects_project")
            return cursor.fetchone()[0]
    except psycopg2.Error:
        return -1
    finally:
        connection.close()


def prepare(url: str, projects: int, regenerate: bool) -> dict:
    if regenerate:
        drop_database(url)
    create_database(url)
    manage(url, "migrate", "--noinput")
    held = project_count(url)
    if held == projects:
        log(f"{DATABASE_NAME} already holds {projects:,} projects; not regenerating")
        return {"reused": True}
    if held > 0:
        log(f"{DATABASE_NAME} holds {held:,} projects, not {projects:,}: regenerating")
        drop_database(url)
        create_database(url)
        manage(url, "migrate", "--noinput")
    manage(url, "load_reference_data")
    log(f"generating {projects:,} projects")
    started = time.monotonic()
    output = subprocess.run(
        [PYTHON, "bench/generate.py", "--projects", str(projects), "--json"],
        cwd=ROOT,
        env=environment(url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts = json.loads(output.strip().splitlines()[-1])
    counts["wall_seconds"] = round(time.monotonic() - started)
    log(f"generated in {counts['wall_seconds']} s: {counts}")
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # nosec B310
                if response.status < 500:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def workers() -> int:
    """Two gunicorn workers per core: a worker waits on PostgreSQL for part of each
    request, and the second keeps the core busy meanwhile."""
    return 2 * (os.cpu_count() or 1)


@contextlib.contextmanager
def gunicorn(url: str, **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = environment(
        url,
        **settings,
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # One client address sends every request: the per-client limits would refuse them
        # (and their bookkeeping, a list of every request's time, would grow without end).
        API_ANON_THROTTLE_RATE="",
        API_USER_THROTTLE_RATE="",
        LOG_LEVEL="WARNING",
        STATIC_ROOT=str(WORK / "static"),
    )
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "dsr_kb.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers()}",
            "--timeout=60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(WORK / "gunicorn.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3")


def configurations() -> dict[str, dict[str, str]]:
    """The server as configured by default — visitors' answers cached until the content
    changes, in Redis as deployed (BENCH_CACHE_URL, emptied first) or, without a Redis
    server, in each process — and with every cache turned off: what a request costs."""
    cached: dict[str, str] = {}
    try:
        import redis

        client = redis.Redis.from_url(CACHE_URL, socket_connect_timeout=2)
        client.flushdb()
        cached["CACHE_URL"] = CACHE_URL
    except Exception as error:
        log(f"no Redis at {CACHE_URL} ({error}): each web process caches in its memory")
    return {
        "cached": cached,
        "uncached": {"DSR_RESPONSE_CACHE_SECONDS": "0", "DSR_AGGREGATE_CACHE_SECONDS": "0"},
    }


def resident_megabytes(parent: int) -> list[float]:
    """Resident memory of the children of `parent` (gunicorn's workers)."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            text = status.read_text()
            if re.search(rf"^PPid:\s+{parent}$", text, re.M):
                rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
                if rss:
                    sizes.append(int(rss.group(1)) / 1024)
    return sorted(sizes)


def request_each(base: str, paths: list[str]) -> None:
    """GET every path once, 8 at a time: after this a cache holds every answer."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(path: str) -> None:
        with urllib.request.urlopen(base + path, timeout=120) as response:  # nosec B310
            response.read()

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(fetch, paths))


def load_runs(base: str, scenarios, seconds: int, *, warm_every_path: bool) -> dict:
    from load import run_wrk

    results = {}
    for scenario in scenarios:
        # Warm-up: connections, compiled templates, PostgreSQL's buffers; with a cache, the
        # steady state of a site in use — every answer asked for once since the last write.
        if warm_every_path:
            request_each(base, scenario.paths)
        run_wrk(base, scenario.paths, seconds=3, connections=CONNECTIONS)
        result = run_wrk(
            base, scenario.paths, seconds=seconds, connections=CONNECTIONS, scenario=scenario.key
        )
        log(
            f"{scenario.key}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
            f"errors {result.non_2xx + result.socket_errors}, cache hits {result.hit_rate}"
        )
        results[scenario.key] = result
    return results


def peer_run(url: str, triples, seconds: int) -> dict:
    import peer
    from load import run_wrk

    WORK.mkdir(exist_ok=True)
    sqlite = WORK / "peer.db"
    started = time.monotonic()
    counts = peer.export_sqlite(sqlite)
    exported = time.monotonic() - started
    datasette = peer.ensure_datasette(BENCH / ".venv-datasette")
    paths = [peer.listing_path(c, t, s) for c, t, s in triples]
    with peer.serve(sqlite, free_port(), datasette) as base:
        run_wrk(base, paths, seconds=3, connections=CONNECTIONS)
        result = run_wrk(base, paths, seconds=seconds, connections=CONNECTIONS, scenario="peer")
    log(
        f"Datasette: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p95 {result.p95_ms:.1f} ms, errors {result.non_2xx + result.socket_errors}"
    )
    return {"result": result, "export_seconds": round(exported, 1), "counts": counts}


def import_runs(url: str, *, documents: int = 200, rows: int = 5000) -> dict:
    figures = {}
    for key, command in (
        ("documents", ["bench/import_pipeline.py", "--documents", str(documents), "--json"]),
        ("datasets", ["bench/import_datasets.py", "--rows", str(rows), "--json"]),
    ):
        log(f"import benchmark: {' '.join(command)}")
        completed = subprocess.run(
            [PYTHON, *command],
            cwd=ROOT,
            env=environment(url),
            capture_output=True,
            text=True,
        )
        if completed.returncode:
            figures[key] = {"error": (completed.stderr or completed.stdout)[-2000:]}
            log(f"{key} failed:\n{figures[key]['error']}")
            continue
        figures[key] = json.loads(completed.stdout.strip().splitlines()[-1])
        log(f"{key}: {figures[key]}")
    return figures


def machine() -> str:
    memory = 0
    with contextlib.suppress(OSError):
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        memory = int(match.group(1)) // 1024 // 1024 if match else 0
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} GB memory, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(
    *, options, counts, scenarios, configs, results, peer, memory, imports, postgres_version
) -> str:
    cached, uncached = results.get("cached", {}), results.get("uncached", {})
    lines = [
        BEGIN,
        f"## Load and throughput (`make bench`), {dt.date.today().isoformat()}",
        "",
        f"- Commit: {commit()}",
        f"- Machine: {machine()}; PostgreSQL {postgres_version} on the same host",
        f"- Data: {options.projects:,} projects"
        + (
            " (the database of an earlier run)"
            if counts.get("reused")
            else f" (generated in {counts.get('wall_seconds', '?')} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items() if "seconds" not in k)
            + ")"
        ),
        f"- Server: gunicorn, {workers()} sync workers, production settings; wrk with "
        f"{CONNECTIONS} connections (concurrent clients), {options.seconds} s per scenario "
        "after a 3 s warm-up, each request's path drawn at random from the scenario's list",
        "- *cached*: as deployed, visitors' answers cached until the content changes"
        + (" (in Redis)" if configs["cached"].get("CACHE_URL") else " (in each process)")
        + ", measured warm (every path asked for once before): a site in use between two "
        "edits; *uncached*: every cache off, every answer computed — a site just edited",
        "",
        "| scenario | requests/s | p50 ms | p95 ms | p99 ms | errors | KB/answer | cache hits |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        for config, measured in (("cached", cached), ("uncached", uncached)):
            if scenario.key in measured:
                title = f"{scenario.title}, {config} ({len(scenario.paths)} paths)"
                lines.append(measured[scenario.key].row(title))
    if peer:
        lines.append(peer["result"].row("Datasette: the equivalent listing, same filters"))
    lines.append("")
    ratios = {}
    if peer and peer["result"].rps:
        for config, measured in (("cached", cached), ("uncached", uncached)):
            if "list" in measured:
                ratios[config] = measured["list"].rps / peer["result"].rps
        lines.append(
            "**Ours / Datasette, requests per second on the three-filter listing: "
            + ", ".join(f"{ratio:.2f} {config}" for config, ratio in ratios.items())
            + f".** (SQLite export of the published projects in {peer['export_seconds']} s.)"
        )
        lines.append("")
    for config, sizes in memory.items():
        lines.append(
            f"Resident memory of the web workers after the {config} load: "
            + ", ".join(f"{m:.0f} MB" for m in sizes)
            + "."
        )
    lines.append("")
    documents, datasets = imports.get("documents", {}), imports.get("datasets", {})
    if documents:
        lines.append(
            "Document pipeline (10 KB HTML documents, one Celery worker process): "
            + (
                f"**{documents['documents_per_second']:.1f} documents/s** "
                f"({documents['documents']} documents in {documents['seconds']:.1f} s)."
                if "documents_per_second" in documents
                else f"failed: `{documents.get('error', '')[-300:]}`"
            )
        )
    if datasets:
        lines.append(
            "CSV dataset import: "
            + (
                f"**{datasets['created_rows_per_second']:,.0f} rows/s** created, "
                f"{datasets.get('unchanged_rows_per_second', 0):,.0f} rows/s unchanged "
                f"({datasets['rows']} rows)."
                if "created_rows_per_second" in datasets
                else f"failed: `{datasets.get('error', '')[-300:]}`"
            )
        )
    lines += [
        "",
        "### Targets",
        "",
        "| target | cached | uncached | |",
        "|---|---|---|---|",
    ]

    def target(label: str, key: str, limit: float) -> None:
        if key not in cached:
            return
        measured = [f"{cached[key].p95_ms:.1f} ms"]
        measured.append(f"{uncached[key].p95_ms:.1f} ms" if key in uncached else "—")
        ok = cached[key].p95_ms <= limit
        lines.append(f"| {label} | {' | '.join(measured)} | {verdict(ok)} |")

    target("list, 3 filters: p95 ≤ 50 ms", "list", TARGETS["list"])
    if ratios:
        lines.append(
            f"| list: requests/s ≥ Datasette's | ratio {ratios.get('cached', 0):.2f} | "
            f"ratio {ratios.get('uncached', 0):.2f} | {verdict(ratios.get('cached', 0) >= 1)} |"
        )
    target("search: p95 ≤ 100 ms", "search", TARGETS["search"])
    target("stats/: p95 ≤ 100 ms", "stats", TARGETS["stats"])
    target("country page: p95 ≤ 150 ms", "country_page", TARGETS["country_page"])
    if "documents_per_second" in documents:
        rate = documents["documents_per_second"]
        lines.append(
            f"| document pipeline ≥ 20 documents/s per worker | {rate:.1f}/s | | "
            f"{verdict(rate >= 20)} |"
        )
    if "created_rows_per_second" in datasets:
        rate = datasets["created_rows_per_second"]
        lines.append(f"| CSV import ≥ 2,000 rows/s | {rate:,.0f}/s | | {verdict(rate >= 2000)} |")
    if memory:
        largest = {config: max(sizes) for config, sizes in memory.items() if sizes}
        lines.append(
            "| web worker < 250 MB resident after the load | "
            + " | ".join(f"{largest.get(c, 0):.0f} MB" for c in ("cached", "uncached"))
            + f" | {verdict(max(largest.values(), default=0) < 250)} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20, help="per scenario")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--only", nargs="*", help="scenario keys to run (default: all)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a quick end-to-end check (CI): 1,000 projects in the database dsr_bench_smoke, "
        "2 s per scenario, 20 documents and 200 CSV rows imported, RESULTS.md left alone",
    )
    options = parser.parse_args()
    if options.smoke:
        global DATABASE_NAME
        DATABASE_NAME = "dsr_bench_smoke"
        options.projects, options.seconds, options.no_write = 1000, 2, True
    if not _has_wrk():
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); make bench does it")
    WORK.mkdir(exist_ok=True)
    url = database_url()
    counts = prepare(url, options.projects, options.regenerate)

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import django

    django.setup()
    from django.db import connection
    from load import listing_filters
    from load import scenarios as make_scenarios

    triples = listing_filters(count=300, seed=7)
    chosen = make_scenarios(triples)
    if options.only:
        chosen = [s for s in chosen if s.key in options.only]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0].split(" ")[0]
    results, memory = {}, {}
    configs = configurations()
    for config, settings in configs.items():
        log(f"server configuration: {config} {settings}")
        with gunicorn(url, **settings) as (base, process):
            results[config] = load_runs(
                base, chosen, options.seconds, warm_every_path=config == "cached"
            )
            memory[config] = resident_megabytes(process.pid)
            log(f"web workers' resident memory: {memory[config]}")
    peer = None
    if not options.skip_peer and any(s.key == "list" for s in chosen):
        peer = peer_run(url, triples, options.seconds)
    connection.close()
    imports = {}
    if not options.skip_imports:
        imports = import_runs(url, **({"documents": 20, "rows": 200} if options.smoke else {}))
    block = report(
        options=options,
        counts=counts,
        scenarios=chosen,
        configs=configs,
        results=results,
        peer=peer,
        memory=memory,
        imports=imports,
        postgres_version=postgres_version,
    )
    print(block)
    if not options.no_write:
        write_results(block)
        log(f"wrote {RESULTS.relative_to(ROOT)}")
    failures = [f"{key} import" for key, figures in imports.items() if "error" in figures]
    failures += [
        f"{scenario} ({config}): {result.non_2xx + result.socket_errors} errors"
        for config, measured in results.items()
        for scenario, result in measured.items()
        if result.non_2xx or result.socket_errors
    ]
    if peer and (peer["result"].non_2xx or peer["result"].socket_errors):
        failures.append("Datasette answered with errors")
    if failures:
        raise SystemExit("bench: " + "; ".join(failures))


def _has_wrk() -> bool:
    from shutil import which

    return which("wrk") is not None


if __name__ == "__main__":
    main()
