"""Import throughput of the document pipeline: 10 KB HTML documents through one Celery worker.

    .venv/bin/python bench/import_pipeline.py [--documents 200] [--warmup 20] [--json] [--keep]
                                              [--broker redis://127.0.0.1:6379/5] [--profile 40]

It generates N distinct news articles of about 10 KB of HTML each (navigation, cookie banner,
related links and footer around the article; a few dozen mentions of organisations,
countries and kinds of project per article, as a real report on a project has), imports them
through the upload path (`imports.document_import`: store the file and the row, enqueue the
processing when the transaction commits), and times one real worker process (`celery -A
dsr_kb worker --concurrency=1 --pool=prefork --queues=documents,celery`, started here as a
subprocess against the same database, media folder and a Redis broker, with the settings the
environment gives) until every document is done or failed:

- cold: from the enqueue (the commit) to the last document done, with a worker that has just
  started (its first task opens the database connection);
- warm: the documents after the first --warmup ones, from the --warmup-th done to the last
  (each document's `updated` is the moment the worker finished it);
- per stage: the split the worker logs for each document (read, extract, detect, write), and
  what is left of the wall time per document (Celery, the broker).

The database is DATABASE_URL's (or the embedded one, as for manage.py). The broker is a Redis
database of the bench's own (--broker, or DSR_BENCH_BROKER_URL): it is emptied before and
after, and a second run on it at the same time is refused. What the run created (documents,
their mentions and proposals, files, history events) is deleted at the end, unless --keep.
With --json the tables go to stderr and the last line of stdout is one JSON object
(`documents`, `seconds`, `documents_per_second`, `warm_documents_per_second`, ...).
--profile N then processes 2N more documents in this process (`imports.document_process`, no
Celery): N timed (`in_process` in the JSON), N under cProfile, whose costliest functions are
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"

# Celery reads CELERY_BROKER_URL from the environment (settings and the app alike): choose the
# bench's broker before Django configures anything.
_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--documents", type=int, default=200, help="documents timed (default 200)")
_parser.add_argument(
    "--warmup", type=int, default=20, help="documents left out of the warm rate (default 20)"
)
_parser.add_argument("--seed", type=int, default=1)
_parser.add_argument(
    "--broker",
    default=os.environ.get("DSR_BENCH_BROKER_URL", DEFAULT_BROKER),
    help=f"a Redis database for the bench alone (default {DEFAULT_BROKER})",
)
_parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")
_parser.add_argument(
    "--profile",
    type=int,
    default=0,
    metavar="N",
    help="N documents in this process, timed and profiled",
)
_parser.add_argument("--keep", action="store_true", help="keep the documents and their files")
_parser.add_argument("--json", action="store_true", help="end with one line of JSON")

if __name__ == "__main__":
    ARGS = _parser.parse_args()
    os.environ["CELERY_BROKER_URL"] = ARGS.broker

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from projects.models import (  # noqa: E402
    Company,
    Country,
    Mention,
    ProcessingStatus,
    ProjectType,
    Proposal,
    SourceDocument,
)
from projects.services import imports  # noqa: E402

FINAL = (ProcessingStatus.DONE, ProcessingStatus.FAILED)
STAGES = ("read", "extract", "detect", "write")
# The line the pipeline logs per document (projects/services/imports.py, _document_process).
TIMINGS = re.compile(
    r"Processed document (?P<id>\d+) \(\w+\) in (?P<total>[\d.]+) ms: "
    r"read (?P<read>[\d.]+), extract (?P<extract>[\d.]+), detect (?P<detect>[\d.]+), "
    r"write (?P<write>[\d.]+)"
)

# The corpus ------------------------------------------------------------------------------

FILLER = [
    "The agreement was discussed at length by officials from both sides during the visit.",
    "Analysts say the financing terms remain unclear and the timeline has slipped twice.",
    "Critics raised concerns about debt sustainability and the transparency of the deal.",
    "The ministry said the works would create about {n} local jobs over three years.",
    "Construction is expected to take about {months} months once the permits are issued.",
    "A spokesperson declined to comment on the cost or on the contractors involved.",
    "Opposition lawmakers have asked for the contract to be published in full.",
    "The project was first announced in {year} but stalled during the pandemic.",
    "Local engineers will be trained to operate the equipment, the statement said.",
    "Officials did not say how much of the cost would be borne by the state budget.",
    "The tender attracted {bids} bids, according to a person familiar with the process.",
    "Several residents told reporters they had not been consulted about the route.",
    "The regulator said it would review the licence before the end of the year.",
    "Prices for consumers are expected to fall by about {percent} percent, the operator said.",
    "The first phase covers {n} kilometres and the capital's main administrative district.",
    "Rights groups warned that the data collected could be misused by the authorities.",
    "The finance minister described the loan as concessional, with a grace period of {months}"
    " months.",
    "Work on the second phase has not started, and no date has been given for it.",
    "An audit published last month found delays in {bids} of the ministry's contracts.",
    "The company said it complies with all local laws and international standards.",
    "Parliament approved the budget for the works in a vote of {n} to {bids}.",
    "Industry sources put the total value at about {amount} million dollars.",
]
VERBS = [
    "is building",
    "signed a contract to build",
    "completed",
    "will supply equipment for",
    "deployed",
    "launched",
    "is upgrading",
    "won the tender for",
]
WITH_ENTITIES = [
    "{company} {verb} {kind} in {country}, officials said on {weekday}.",
    "Under the agreement, {company} will provide the equipment for the {kind}, financed by a "
    "loan of {amount} million dollars from {bank}.",
    "{country}'s ministry of communications said the {kind} would reach {n} districts by {year}.",
    "Neighbouring {country2} signed a similar memorandum with {company2} in {year}.",
    "Critics in {country} questioned the cost of the {kind}.",
    "{company} declined to comment on the terms of the contract.",
    "The ambassador of China to {country} attended the ceremony in the capital.",
    "The {kind} is part of a wider programme that also covers {country2}.",
    "{company2} is a subcontractor on the {kind}, according to documents seen by reporters.",
    "Officials in {country} said the {kind} would be handed over in {year}.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
BANKS = ["Export-Import Bank of China", "China Development Bank", "the Silk Road Fund"]
SECTIONS = ["World", "Africa", "Asia", "Europe", "Americas", "Business", "Technology", "Opinion"]
SECTIONS += ["Climate", "Science", "Health", "Sport", "Culture", "Podcasts", "Newsletters"]


class Vocabulary:
    """Names the detector knows, as a news article writes them."""

    def __init__(self):
        self.companies = []
        for name, aliases in Company.objects.values_list("name", "aliases"):
            latin = [a for a in [name, *aliases] if a.isascii() and len(a) <= 30]
            if latin:
                self.companies.append(min(latin, key=len))
        self.countries = [
            name
            for name in Country.objects.exclude(iso2="CN").values_list("name", flat=True)
            if name.isascii() and "," not in name and "(" not in name
        ]
        self.kinds = [
            keyword
            for keywords in ProjectType.objects.values_list("keywords", flat=True)
            for keyword in keywords[:4]
            if keyword.isascii() and keyword.islower() and " " in keyword
        ]


def sentence(rng: random.Random, template: str, story: dict) -> str:
    values = {
        "n": rng.randrange(20, 900),
        "months": rng.randrange(6, 40),
        "year": rng.randrange(2014, 2027),
        "bids": rng.randrange(2, 12),
        "percent": rng.randrange(5, 40),
        "amount": rng.randrange(20, 900),
        "weekday": rng.choice(WEEKDAYS),
        "verb": rng.choice(VERBS),
        "bank": rng.choice(BANKS),
        **story,
    }
    return template.format(**values)


def article(rng: random.Random, words: Vocabulary, number: int, run: str) -> tuple[str, bytes]:
    """One news article about one project, about 10 KB of HTML."""
    story = {
        "company": rng.choice(words.companies),
        "company2": rng.choice(words.companies),
        "country": rng.choice(words.countries),
        "country2": rng.choice(words.countries),
        "kind": rng.choice(words.kinds),
    }
    headline = f"{story['company']} and {story['country']} agree on a new {story['kind']}"
    paragraphs, size = [], 0
    while size < 7000:
        sentences = [
            sentence(rng, rng.choice(WITH_ENTITIES if rng.random() < 0.2 else FILLER), story)
            for _ in range(rng.randrange(3, 6))
        ]
        if not paragraphs:
            sentences[0] = sentence(rng, WITH_ENTITIES[0], story)
        paragraph = " ".join(sentences)
        paragraphs.append(f"<p>{escape(paragraph)}</p>")
        size += len(paragraph)
    nav = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in SECTIONS)
    related = "".join(
        f'<li><a href="/story/{rng.randrange(10**6)}">{escape(rng.choice(FILLER)[:60])}</a></li>'
        for _ in range(5)
    )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(headline)} | The Ledger</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "{run}-{number}"}});
</script></head>
<body><header><a class="logo" href="/">The Ledger</a><nav><ul>{nav}</ul></nav>
<form action="/search"><input name="q" placeholder="Search"></form></header>
<div class="cookies">We use cookies to improve your experience. <a href="/privacy">Privacy</a>
<button>Accept</button></div>
<main><article><h1>{escape(headline)}</h1>
<p class="byline">By staff reporters, {rng.randrange(1, 29)} March {rng.randrange(2015, 2026)},
ref. {run}-{number}</p>
{"".join(paragraphs)}
</article><aside><h2>Related</h2><ul>{related}</ul></aside></main>
<footer><ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/terms">Terms</a></li><li><a href="/privacy">Privacy</a></li></ul>
<p>&copy; The Ledger. All rights reserved. Subscribe to our newsletter.</p></footer>
</body></html>
"""
    return f"bench-{run}-{number}.html", html.encode()


# The worker ------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL for the database this process uses, for the worker."""
    db = connection.settings_dict
    host = urllib.parse.quote(db["HOST"] or "localhost", safe="")
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = f":{urllib.parse.quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


LOCK = "dsr-import-bench"


def redis_client(url: str, seconds: float):
    """The bench's Redis database, emptied and held for `seconds` (another run of the bench
    on the same database would empty it under this one)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        sys.exit(f"The bench's broker does not answer at {url}: {error}")
    if not client.set(LOCK, os.getpid(), nx=True, ex=int(seconds)):
        sys.exit(f"Another run of this bench is using {url}; wait for it or give --broker.")
    client.flushdb()
    client.set(LOCK, os.getpid(), ex=int(seconds))
    return client


def start_worker(log: Path, broker: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        CELERY_BROKER_URL=broker,
        DJANGO_SETTINGS_MODULE=os.environ["DJANGO_SETTINGS_MODULE"],
        LOG_FORMAT="plain",
        LOG_LEVEL="INFO",
    )
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dsr_kb",
                "worker",
                "--concurrency=1",
                "--pool=prefork",
                "--queues=documents,celery",
                "--prefetch-multiplier=1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                f"--hostname=bench-import-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            sys.exit(f"The worker stopped at start:\n{log.read_text()[-3000:]}")
        if " ready." in log.read_text(errors="replace"):
            return worker
        time.sleep(0.1)
    stop_worker(worker)
    sys.exit(f"The worker did not start within 60 s:\n{log.read_text()[-3000:]}")


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


# The run ---------------------------------------------------------------------------------


def import_all(files: list[tuple[str, bytes]], ids: list[int]) -> float:
    """Store every file and queue it (their ids into `ids`); the tasks are sent when the
    transaction commits. Returns the moment (time.time()) the first was about to be sent."""
    with transaction.atomic():
        for filename, data in files:
            result = imports.document_import(data=data, filename=filename)
            if not result.created:
                sys.exit(f"{filename} was imported before (document {result.document.pk}).")
            ids.append(result.document.pk)
        # on_commit callbacks run right after the commit, in order: the clock starts here.
        started = time.time()
    return started


def wait_until_final(ids: list[int], worker: subprocess.Popen, log: Path, timeout: float):
    deadline = time.monotonic() + timeout
    pending = SourceDocument.objects.filter(pk__in=ids).exclude(status__in=FINAL)
    while pending.exists():
        if worker.poll() is not None:
            sys.exit(f"The worker stopped:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            sys.exit(f"{pending.count()} documents were not processed within {timeout:g} s.")
        time.sleep(0.2)  # the times come from each document's `updated`, not from polling


def stage_split(log: Path, ids: set[int]) -> dict[int, dict[str, float]]:
    """Per document, the milliseconds of each stage the worker logged."""
    split = {}
    for match in TIMINGS.finditer(log.read_text(errors="replace")):
        if int(match["id"]) in ids:
            split[int(match["id"])] = {
                key: float(match[key]) for key in ("total", *STAGES) if match[key] is not None
            }
    return split


def profile(words: Vocabulary, rng: random.Random, run: str, count: int, out, ids) -> dict:
    """`imports.document_process` in this process (no Celery, one kept connection): `count`
    documents timed, then `count` more under cProfile, whose costliest functions are
    printed. The ids of the documents are appended to `ids`."""
    import cProfile
    import pstats

    first = len(ids)
    for number in range(2 * count + 1):
        filename, data = article(rng, words, 10**6 + number, run)
        ids.append(imports.document_import(data=data, filename=filename, enqueue=False).document.pk)
    timed, profiled = ids[first + 1 : first + 1 + count], ids[first + 1 + count :]
    imports.document_process(ids[first])  # compile the dictionary, open the connection
    started = time.perf_counter()
    for pk in timed:
        imports.document_process(pk)
    elapsed = time.perf_counter() - started
    profiler = cProfile.Profile()
    profiler.enable()
    for pk in profiled:
        imports.document_process(pk)
    profiler.disable()
    print(
        f"\n## In this process: {count} documents, {count / elapsed:.1f} documents/s, "
        f"{1000 * elapsed / count:.1f} ms each; then {count} more under cProfile\n",
        file=out,
    )
    print("```", file=out)
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print("```", file=out)
    return {"documents": count, "documents_per_second": round(count / elapsed, 2)}


def clean_up(ids: list[int]) -> None:
    """Delete the documents, their files and the history their import and deletion wrote."""
    from django.apps import apps
    from pghistory.models import Context

    document_events = apps.get_model("projects", "SourceDocumentEvent").objects
    proposal_events = apps.get_model("projects", "ProposalEvent").objects
    names = list(SourceDocument.objects.filter(pk__in=ids).values_list("file", flat=True))
    proposals = list(Proposal.objects.filter(document_id__in=ids).values_list("pk", flat=True))
    with transaction.atomic():
        SourceDocument.objects.filter(pk__in=ids).delete()  # mentions and proposals cascade
        events = [
            document_events.filter(pgh_obj_id__in=ids),
            proposal_events.filter(pgh_obj_id__in=proposals),
        ]
        contexts = {c for e in events for c in e.values_list("pgh_context_id", flat=True) if c}
        for queryset in events:
            queryset.delete()
        Context.objects.filter(pk__in=contexts).delete()
    for name in names:
        if name:
            default_storage.delete(name)


def machine() -> str:
    memory = ""
    try:
        kilobytes = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        memory = f", {kilobytes / 1024 / 1024:.0f} GB"
    except (OSError, TypeError):
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs{memory}, Python "
        f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10000}"
    )


def main(args: argparse.Namespace) -> dict:
    if not ProjectType.objects.exists():
        sys.exit("The database has no reference data: run `make data` first.")
    if args.documents < 1:
        sys.exit("--documents must be at least 1.")
    out = sys.stderr if args.json else sys.stdout
    run = uuid.uuid4().hex[:12]  # distinct bytes in every run: the same bytes are one document
    rng = random.Random(args.seed)
    words = Vocabulary()
    files = [article(rng, words, number, run) for number in range(args.documents)]
    kilobytes = statistics.mean(len(data) for _, data in files) / 1024

    broker = redis_client(args.broker, seconds=args.timeout + 600)
    folder = Path(tempfile.mkdtemp(prefix="dsr-import-bench-"))
    log = folder / "worker.log"
    ids: list[int] = []
    try:
        worker = start_worker(log, args.broker)
        try:
            started = import_all(files, ids)
            wait_until_final(ids, worker, log, args.timeout)
        finally:
            stop_worker(worker)
        result = report(args, ids, started, kilobytes, log, out)
        if args.profile > 0:
            result["in_process"] = profile(words, rng, run, args.profile, out, ids)
    finally:
        broker.flushdb()  # the queues, and the lock
        if args.keep:
            print(f"\nkept: {len(ids)} documents; worker log {log}", file=out)
        else:
            clean_up(ids)
            log.unlink(missing_ok=True)
            folder.rmdir()
    return result


def report(args, ids: list[int], started: float, kilobytes: float, log: Path, out) -> dict:
    """The figures, as a Markdown table on `out`, and as a dict."""
    rows = list(
        SourceDocument.objects.filter(pk__in=ids)
        .order_by("updated")
        .values_list("pk", "status", "updated", "error")
    )
    failed = [(pk, error) for pk, status, _, error in rows if status == ProcessingStatus.FAILED]
    finished = [updated.timestamp() for _, _, updated, _ in rows]
    seconds = finished[-1] - started
    warm = args.warmup if 0 < args.warmup < len(ids) else 0
    warm_seconds = finished[-1] - finished[warm - 1] if warm else None
    mentions = Mention.objects.filter(document_id__in=ids).count()
    proposals = Proposal.objects.filter(document_id__in=ids).count()

    order = [pk for pk, *_ in rows]
    split = stage_split(log, set(ids))
    warm_split = [split[pk] for pk in order[warm:] if pk in split]
    result = {
        "documents": len(ids),
        "kilobytes_per_document": round(kilobytes, 1),
        "seconds": round(seconds, 2),
        "documents_per_second": round(len(ids) / seconds, 2),
        "warmup": warm,
        "warm_seconds": round(warm_seconds, 2) if warm_seconds else None,
        "warm_documents_per_second": (
            round((len(ids) - warm) / warm_seconds, 2) if warm_seconds else None
        ),
        "failed": len(failed),
        "mentions_per_document": round(mentions / len(ids), 1),
        "proposals_per_document": round(proposals / len(ids), 1),
        "stages_ms": {
            stage: round(statistics.mean(s[stage] for s in warm_split), 2)
            for stage in ("total", *STAGES)
        }
        if warm_split
        else None,
        "machine": machine(),
        # Celery's Django fixup closes the database connection around every task unless
        # CELERY_DB_REUSE_MAX is set; a child process is replaced every so many tasks.
        "worker": {
            "max_tasks_per_child": settings.CELERY_WORKER_MAX_TASKS_PER_CHILD,
            "db_reuse_max": getattr(settings, "CELERY_DB_REUSE_MAX", None),
        },
    }

    print(f"# Document pipeline throughput, one worker process — {result['machine']}\n", file=out)
    print(
        f"{len(ids)} HTML documents of {kilobytes:.1f} KB, "
        f"{result['mentions_per_document']} mentions and {result['proposals_per_document']} "
        f"proposals each; warm = without the first {warm} done. Worker: a child process "
        f"every {result['worker']['max_tasks_per_child']} tasks "
        f"(CELERY_WORKER_MAX_TASKS_PER_CHILD), database connections "
        + (
            f"kept for {result['worker']['db_reuse_max']} tasks (CELERY_DB_REUSE_MAX).\n"
            if result["worker"]["db_reuse_max"]
            else "closed after every task (CELERY_DB_REUSE_MAX unset).\n"
        ),
        file=out,
    )
    print("| run | documents | seconds | documents/s |", file=out)
    print("|---|---:|---:|---:|", file=out)
    print(
        f"| cold (from the enqueue, a fresh worker) | {len(ids)} | {seconds:.2f} "
        f"| {result['documents_per_second']:.1f} |",
        file=out,
    )
    if warm_seconds:
        print(
            f"| warm (after {warm} documents) | {len(ids) - warm} | {warm_seconds:.2f} "
            f"| {result['warm_documents_per_second']:.1f} |",
            file=out,
        )
    if warm_split:
        wall = 1000 * warm_seconds / (len(ids) - warm) if warm_seconds else None
        stages = result["stages_ms"]
        print("\n| stage (warm, mean per document) | ms | share of the wall time |", file=out)
        print("|---|---:|---:|", file=out)
        for stage in STAGES:
            share = f"{100 * stages[stage] / wall:.0f} %" if wall else ""
            print(f"| {stage} | {stages[stage]:.1f} | {share} |", file=out)
        if wall:
            rest = wall - stages["total"]
            print(
                f"| outside the task (Celery, broker) | {rest:.1f} | {100 * rest / wall:.0f} % |",
                file=out,
            )
            print(f"| wall time per document | {wall:.1f} | 100 % |", file=out)
    else:
        print("\n(the worker logged no per-stage timings)", file=out)
    for pk, error in failed[:5]:
        print(f"\nfailed: document {pk}: {error}", file=out)

    return result


if __name__ == "__main__":
    figures = main(ARGS)
    if ARGS.json:
        print(json.dumps(figures))
