"""Crashes: nothing is lost or done twice when a process dies.

1. A load of imports while the Celery worker is SIGKILLed again and again (its whole process
   group, at varied moments after it started a task) ends with every document processed
   exactly once. What brings an interrupted task back is the app's own recovery: the task is
   acknowledged late, so its message stays "unacked" in Redis and, once the visibility
   timeout has passed, the next worker to start delivers it again; processing replaces what
   an earlier run derived. Only a message lost outright (kombu pops it before recording it
   as unacked, so a kill in that instant loses it) is left to the periodic sweep, which sends
   again a document left queued or half-processed for too long: should the final worker sit
   idle with documents not done, the test runs the sweep, as beat would — and checks that it
   had next to nothing to rescue.
   Redis is the server of DSR_TEST_CRASH_REDIS_URL (default redis://127.0.0.1:6379/9, a
   database these tests empty); without it the test is skipped — unless CI is "true".

2. A writer creating projects through the API while PostgreSQL is restarted — once with
   `pg_ctl restart -m fast`, once crashed with `pg_ctl stop -m immediate` and started again
   (crash recovery) — loses no acknowledged write, and the requests that meet the outage are
   answered 503 (or fail to connect), never 500. The server restarted is one of the test's
   own, from the system's PostgreSQL binaries in a temporary directory on a free port: the
   shared server the rest of the suite uses is never touched. gunicorn runs the production
   settings against it and is not restarted.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import random
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import psycopg2
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from projects.importing.detect import Detector
from projects.importing.propose import draft_proposals
from projects.importing.sentences import split_sentences
from projects.models import Mention, ProcessingStatus, Proposal, SourceDocument
from projects.services.imports import documents_requeue_stuck
from tests.support import (
    CeleryWorker,
    child_environment,
    database_url,
    emptied_redis_broker,
    free_port,
    manage_py,
    start_gunicorn,
    stop_process_group,
    wait_for,
)

pytestmark = pytest.mark.slow


def require(condition: bool, reason: str) -> None:
    """Skip when `condition` does not hold — a failure when CI is "true"."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI is 'true', so this test must run.", pytrace=False)
    pytest.skip(reason)


# 1. The worker killed again and again ------------------------------------------------------

REDIS_URL = os.environ.get("DSR_TEST_CRASH_REDIS_URL", "redis://127.0.0.1:6379/9")
VISIBILITY_TIMEOUT = 3  # seconds before Redis hands an unacknowledged task to a new worker
KILLS = 11
DOCUMENTS = 34
FIRST_UPLOADS = 12  # before the first worker; the others while the workers run
UPLOADS_PER_ROUND = (DOCUMENTS - FIRST_UPLOADS) // KILLS
PARAGRAPHS = 400  # ~90 KB of text: a task long enough for most kills to land inside it
# Seconds between seeing a task start and the kill: from "at once" to "probably after it".
KILL_DELAYS = (0.0, 0.02, 0.04, 0.07, 0.1, 0.13, 0.25, 0.4, 0.7)
INTERRUPTED_AT_LEAST = 4  # kills that must land inside a task (most do)
SEED = int(os.environ.get("DSR_TEST_CRASH_SEED", "20250"))
COMPLETED = r"Processed document \d+ \(done\) in ([\d.]+) ms"  # a run, in a worker's log
RUNNING = (ProcessingStatus.EXTRACTING, ProcessingStatus.ANALYZING)
STALL_SECONDS = 20  # no document changing status for this long: the queue is drained
SENTENCES = [
    "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan.",
    "Huawei signed a contract to build a national data centre in Nairobi, Kenya.",
    "ZTE deployed a 5G network for Ethio Telecom in Ethiopia.",
]


def report(number: int) -> bytes:
    """A distinct text naming organisations and countries in every paragraph."""
    paragraphs = [f"Field report {number} on digital infrastructure abroad."]
    for paragraph in range(PARAGRAPHS):
        turn = (number + paragraph) % len(SENTENCES)
        sentences = SENTENCES[turn:] + SENTENCES[:turn]
        paragraphs.append(f"Section {number}.{paragraph}. " + " ".join(sentences))
    return "\n\n".join(paragraphs).encode()


@dataclass
class Kill:
    delay: float
    # (document, status, progress) of the documents this worker left half-processed.
    interrupted: list[tuple[int, str, int]]


@pytest.fixture
def crash_broker():
    with emptied_redis_broker(REDIS_URL, {"visibility_timeout": VISIBILITY_TIMEOUT}) as client:
        yield client


def running_since(documents: list[int], moment) -> list[tuple[int, str, int]]:
    """Those of `documents` a worker started after `moment` and has not finished."""
    return list(
        SourceDocument.objects.filter(pk__in=documents, status__in=RUNNING, updated__gte=moment)
        .order_by("pk")
        .values_list("pk", "status", "progress")
    )


def statuses(documents: list[int]) -> Counter:
    return Counter(SourceDocument.objects.filter(pk__in=documents).values_list("status", flat=True))


def drain(documents: list[int], worker: CeleryWorker, seconds: float) -> Counter:
    """Wait until every document is done or failed, or none has moved for STALL_SECONDS."""
    deadline = time.monotonic() + seconds
    last, moved = None, time.monotonic()
    while time.monotonic() < deadline and worker.alive():
        now = list(
            SourceDocument.objects.filter(pk__in=documents).values_list("status", "progress")
        )
        if now != last:
            last, moved = now, time.monotonic()
        if {status for status, _ in now} <= {ProcessingStatus.DONE, ProcessingStatus.FAILED}:
            break
        if time.monotonic() - moved > STALL_SECONDS:
            break
        time.sleep(0.3)
    return statuses(documents)


def assert_derived_once(document: SourceDocument, detector: Detector) -> None:
    """The stored mentions and proposals are exactly what one run derives from the text."""
    found = detector.find(document.text)
    drafts = draft_proposals(document.text, split_sentences(document.text), found)
    mentions = Mention.objects.filter(document=document)
    assert len(found) > 0, document.pk
    assert sorted(mentions.values_list("start", "end")) == [(f.start, f.end) for f in found], (
        document.pk
    )
    keys = sorted(Proposal.objects.filter(document=document).values_list("key", flat=True))
    assert keys == sorted(draft.key for draft in drafts), document.pk


def test_imports_survive_a_worker_killed_again_and_again(
    crash_broker, committed_db, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    env = child_environment(
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.test",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    editor = get_user_model().objects.create_user("crash-importer")
    editor.user_permissions.add(Permission.objects.get(codename="add_sourcedocument"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    uploaded: list[int] = []

    def upload(count: int) -> None:
        for number in range(len(uploaded), min(DOCUMENTS, len(uploaded) + count)):
            file = BytesIO(report(number))
            file.name = f"report-{number}.txt"
            fields = {"file": file, "title": f"Report {number}"}
            response = client.post("/api/v1/documents/", fields, format="multipart")
            assert response.status_code == 201, response.content
            uploaded.append(response.json()["id"])

    rng = random.Random(SEED)
    workers: list[CeleryWorker] = []
    kills: list[Kill] = []
    began = time.monotonic()
    try:
        upload(FIRST_UPLOADS)
        for round_ in range(KILLS):
            since = timezone.now()
            worker = CeleryWorker(tmp_path / f"worker-{round_:02d}.log", env, ready=False)
            workers.append(worker)
            upload(UPLOADS_PER_ROUND)
            started = wait_for(
                lambda w=worker, t=since: not w.alive() or running_since(uploaded, t), 120, 0.02
            )
            assert started and worker.alive(), f"round {round_}: no task started\n{worker.tail()}"
            delay = rng.choice(KILL_DELAYS)
            time.sleep(delay)
            worker.kill()
            kills.append(Kill(delay, running_since(uploaded, since)))
        upload(DOCUMENTS)
        killed_at = time.monotonic()

        # The last killed task's message becomes visible again after the timeout; the final
        # worker restores every such message when it starts.
        time.sleep(VISIBILITY_TIMEOUT + 1)
        final = CeleryWorker(tmp_path / "final.log", env, ready=False)
        workers.append(final)
        after_redelivery = drain(uploaded, final, 240)
        swept: list[int] = []
        if set(after_redelivery) - {ProcessingStatus.DONE, ProcessingStatus.FAILED}:
            # The final worker is idle and documents are not done: their messages were lost
            # outright. The periodic sweep sends them again, as beat would run it — here at
            # once rather than after its timeouts. Its cap on attempts is for documents that
            # kill their workers; these were killed by the test, as often as it pleased.
            settings.IMPORT_QUEUED_TIMEOUT = settings.IMPORT_TIME_LIMIT = 0
            settings.IMPORT_STUCK_GRACE, settings.IMPORT_MAX_ATTEMPTS = 0, KILLS + 2
            sweep = documents_requeue_stuck()
            swept = sweep.resent + sweep.requeued + sweep.failed
            drain(uploaded, final, 120)
        finished_at = time.monotonic()
        assert final.alive(), final.tail()
    finally:
        for worker in workers:
            worker.stop()

    documents = list(SourceDocument.objects.filter(pk__in=uploaded).order_by("pk"))
    runs = [
        float(milliseconds)
        for worker in workers
        for milliseconds in re.findall(COMPLETED, worker.text())
    ]
    interrupted = [kill for kill in kills if kill.interrupted]
    interrupted_documents = {pk for kill in kills for pk, _, _ in kill.interrupted}
    attempts = Counter(document.attempts for document in documents)
    print(
        f"\n{len(kills)} kills (delays {[kill.delay for kill in kills]}), "
        f"{len(interrupted)} mid-task: {[kill.interrupted for kill in interrupted]}"
        f"\nattempts per document: {dict(sorted(attempts.items()))}; after redelivery "
        f"{dict(after_redelivery)}; sent again by the sweep: {swept}"
        f"\nkills took {killed_at - began:.1f} s, the final worker {finished_at - killed_at:.1f} s;"
        f" {len(runs)} runs completed, median {sorted(runs)[len(runs) // 2]:.0f} ms"
    )

    # None lost, none duplicated.
    assert len(uploaded) == len(set(uploaded)) == DOCUMENTS
    assert [document.pk for document in documents] == sorted(uploaded)
    shas = [document.sha256 for document in documents]
    assert SourceDocument.objects.filter(sha256__in=shas).count() == DOCUMENTS
    not_done = [(d.pk, d.status, d.error) for d in documents if d.status != ProcessingStatus.DONE]
    assert not not_done, f"{not_done}\n{workers[-1].tail()}"
    detector = Detector.from_database()
    for document in documents:
        assert document.progress == 100
        assert f"Field report {uploaded.index(document.pk)} " in document.text
        assert_derived_once(document, detector)

    # The kills proved something: at least ten, several of them interrupting a task, which
    # was started again.
    assert len(kills) >= 10
    assert len(interrupted) >= INTERRUPTED_AT_LEAST, [kill.delay for kill in kills]
    restarted = {d.pk for d in documents if d.attempts >= 2}
    assert interrupted_documents <= restarted, (interrupted_documents, attempts)
    # The broker brought the interrupted tasks back: the sweep only ever rescues the rare
    # message lost in the instant between Redis handing it out and the worker recording it.
    assert len(swept) <= 2, swept


# 2. PostgreSQL restarted under a writer ---------------------------------------------------

DATABASE = "dsr_crash"
PROJECT_TYPE = "fiber-link"
COUNTRY_SETS = [["KE"], ["ET", "KE"], ["NP", "MM", "KG"], ["LA"]]
REQUEST_TIMEOUT = 15
RECOVERY_TIMEOUT = 60
ACKS_PER_PHASE = 15  # acknowledged writes to see in each phase before moving on
OUTAGE_SECONDS = 1.5  # how long the crashed server stays down
MAX_WRITES = 5000  # per writer: the loop is bounded whatever happens


def postgres_binaries() -> Path | None:
    """The directory of the system's initdb, pg_ctl and postgres, the newest version."""
    candidates = []
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        candidates.append(Path(pg_ctl).resolve().parent)
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        numbered = [path for path in versions.iterdir() if path.name.isdigit()]
        candidates += [path / "bin" for path in sorted(numbered, key=lambda p: -int(p.name))]
    for candidate in candidates:
        if all((candidate / program).exists() for program in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


class OwnPostgres:
    """A PostgreSQL server of this test's own: data, socket and log in `root`, on 127.0.0.1
    at `port`. As root, the server runs as the system's postgres user (PostgreSQL refuses
    root)."""

    def __init__(self, binaries: Path, root: Path, port: int):
        self.binaries, self.root, self.port = binaries, root, port
        self.data, self.log = root / "data", root / "server.log"
        self.account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.account is not None:
            os.chown(root, self.account.pw_uid, self.account.pw_gid)

    def call(self, program: str, *arguments: str) -> subprocess.CompletedProcess:
        ids = {}
        if self.account is not None:
            ids = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.binaries / program), *arguments],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            **ids,
        )

    def run(self, program: str, *arguments: str) -> str:
        result = self.call(program, *arguments)
        assert result.returncode == 0, (
            f"{program} {' '.join(arguments)}:\n{result.stdout}{result.stderr}\n{self.tail()}"
        )
        return result.stdout

    def tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.log.name}\n{text[-3000:]}"

    def initialise(self) -> None:
        # C locale: the server's messages are the English ones the test reads in its log.
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "--no-locale", "--encoding=UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                 "-o", options)  # fmt: skip

    def restart_fast(self) -> None:
        """Shut down cleanly (sessions ended, a checkpoint) and start again, options kept."""
        self.run("pg_ctl", "restart", "-D", str(self.data), "-l", str(self.log), "-m", "fast",
                 "-w", "-t", "60")  # fmt: skip

    def crash(self) -> None:
        """Stop at once, without a checkpoint: the next start replays the WAL."""
        self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60")

    def running(self) -> bool:
        return self.call("pg_ctl", "status", "-D", str(self.data)).returncode == 0

    def connect(self, database: str):
        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, connect_timeout=10
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def own_postgres():
    binaries = postgres_binaries()
    require(binaries is not None, "no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            require(False, "running as root and there is no 'postgres' user to run a server")
    # Not under pytest's temporary root: that is private to root, and the server's user must
    # reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="dsr-crash-pg-"))
    server = OwnPostgres(binaries, root, free_port())
    try:
        server.initialise()
        server.start()
        connection = server.connect("postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()
        yield server
    finally:
        if server.data.exists() and server.running():
            server.call("pg_ctl", "stop", "-D", str(server.data), "-m", "immediate", "-w")
        shutil.rmtree(root, ignore_errors=True)


SETUP = """
import sys
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from django.contrib.auth import get_user_model
call_command("migrate", "--noinput", verbosity=0)
call_command("load_reference_data", stdout=sys.stderr)
call_command("create_editor", "crash-writer", "--no-password", stdout=sys.stderr)
print("TOKEN", Token.objects.create(user=get_user_model().objects.get(username="crash-writer")))
"""


@dataclass
class Attempt:
    slug: str
    sent: dict
    started: float
    finished: float = 0.0
    status: int | str = ""  # the HTTP status, or the error when no answer came
    body: bytes = b""
    retry_after: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status == 201

    @property
    def unavailable(self) -> bool:
        """A 503 as the app answers one: JSON saying why, and when to try again."""
        if self.status != 503 or not self.retry_after:
            return False
        try:
            return bool(json.loads(self.body).get("detail"))
        except ValueError:
            return False


def project_payload(prefix: str, number: int) -> dict:
    return {
        "slug": f"{prefix}-{number:05d}",
        "name": f"Crash writer {prefix} link {number}",
        "type": PROJECT_TYPE,
        "description": f"Written by {prefix} as write {number}, while PostgreSQL restarts.",
        "length_km": f"{number}.5",
        "capacity": f"{number % 7 + 1}x100G",
        "countries": [
            {"iso2": code, "role": "host"} for code in COUNTRY_SETS[number % len(COUNTRY_SETS)]
        ],
    }


@dataclass
class Writer:
    """POSTs new projects one after the other in a thread of its own, recording every
    outcome."""

    base: str
    token: str
    prefix: str
    attempts: list[Attempt] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        for number in range(1, MAX_WRITES + 1):
            if self.stopping.is_set():
                return
            payload = project_payload(self.prefix, number)
            attempt = Attempt(payload["slug"], payload, time.monotonic())
            request = urllib.request.Request(
                f"{self.base}/api/v1/projects/",
                data=json.dumps(payload).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Token {self.token}",
                    "X-Forwarded-Proto": "https",
                },
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                    attempt.status, attempt.body = response.status, response.read()
            except urllib.error.HTTPError as error:
                attempt.status, attempt.body = error.code, error.read()
                attempt.retry_after = error.headers.get("Retry-After")
            except (OSError, http.client.HTTPException) as error:
                attempt.status = type(error).__name__
            attempt.finished = time.monotonic()
            self.attempts.append(attempt)
            time.sleep(0.01)

    def acknowledged(self, after: float = 0.0, before: float = float("inf")) -> int:
        """Writes acknowledged that were sent after `after` and answered before `before`."""
        return sum(
            1
            for a in list(self.attempts)
            if a.acknowledged and a.started >= after and a.finished <= before
        )


def stored_projects(server: OwnPostgres) -> dict[str, dict]:
    """Every project the writers could have created, read straight from the database."""
    connection = server.connect(DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT p.id, p.slug, p.name, p.description, p.length_km, p.capacity, t.slug,
                       coalesce(array_agg(c.iso2 || ':' || pc.role ORDER BY c.iso2)
                                FILTER (WHERE c.iso2 IS NOT NULL), '{}')
                FROM projects_project p
                JOIN projects_projecttype t ON t.id = p.project_type_id
                LEFT JOIN projects_projectcountry pc ON pc.project_id = p.id
                LEFT JOIN projects_country c ON c.id = pc.country_id
                WHERE p.slug LIKE 'crash-writer-%%'
                GROUP BY p.id, t.slug
                """
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    return {
        slug: {
            "id": pk,
            "name": name,
            "description": description,
            "length_km": length,
            "capacity": capacity,
            "type": kind,
            "countries": list(countries),
        }
        for pk, slug, name, description, length, capacity, kind, countries in rows
    }


def expected_row(attempt: Attempt) -> dict:
    sent = attempt.sent
    return {
        "id": json.loads(attempt.body)["id"],
        "name": sent["name"],
        "description": sent["description"],
        "length_km": Decimal(sent["length_km"]),
        "capacity": sent["capacity"],
        "type": sent["type"],
        "countries": sorted(f"{c['iso2']}:{c['role']}" for c in sent["countries"]),
    }


def test_no_acknowledged_write_is_lost_when_postgresql_restarts(own_postgres, tmp_path):
    server = own_postgres
    env = child_environment(
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=server.url(DATABASE),
        DSR_DATA_DIR=str(tmp_path / "data"),
        MEDIA_ROOT=str(tmp_path / "media"),
        STATIC_ROOT=str(tmp_path / "static"),
        # One client sends every request: no throttling in the way (empty: no limit).
        API_USER_THROTTLE_RATE="",
        API_ANON_THROTTLE_RATE="",
    )
    began = time.monotonic()
    setup = manage_py(env, "shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    token = re.search(r"^TOKEN (\w+)$", setup.stdout, re.MULTILINE)
    assert token, setup.stdout + setup.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    web = start_gunicorn(log, env, port)
    writers = [Writer(base, token[1], f"crash-writer-{n}") for n in (1, 2)]

    def serving() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                return response.status == 200
        except (OSError, http.client.HTTPException):
            return False

    def acknowledged(after: float = 0.0, before: float = float("inf")) -> int:
        return sum(writer.acknowledged(after, before) for writer in writers)

    try:
        assert wait_for(lambda: web.poll() is not None or serving(), 60), log.read_text()
        assert web.poll() is None, log.read_text()
        serving_at = time.monotonic()
        for writer in writers:
            writer.thread.start()
        assert wait_for(lambda: acknowledged() >= ACKS_PER_PHASE, RECOVERY_TIMEOUT), (
            log.read_text()[-4000:]
        )

        fast_at = time.monotonic()
        server.restart_fast()
        fast_back = time.monotonic()
        assert wait_for(
            lambda: acknowledged(after=fast_back) >= ACKS_PER_PHASE, RECOVERY_TIMEOUT
        ), log.read_text()[-4000:]

        crash_at = time.monotonic()
        server.crash()
        time.sleep(OUTAGE_SECONDS)
        server.start()  # crash recovery: the WAL is replayed
        crash_back = time.monotonic()
        assert wait_for(
            lambda: acknowledged(after=crash_back) >= ACKS_PER_PHASE, RECOVERY_TIMEOUT
        ), log.read_text()[-4000:] + server.tail()
        time.sleep(2)  # writing on for a while
    finally:
        for writer in writers:
            writer.stopping.set()
        for writer in writers:
            writer.thread.join(REQUEST_TIMEOUT + 5)
        web_survived = web.poll() is None
        stop_process_group(web)

    attempts = [attempt for writer in writers for attempt in writer.attempts]
    stored = stored_projects(server)
    web_log = log.read_text(errors="replace")
    recovered = "automatic recovery in progress" in server.log.read_text(errors="replace")

    def phase(start: float, end: float) -> Counter:
        return Counter(a.status for a in attempts if start <= a.finished < end)

    acknowledged_unstored = [a.slug for a in attempts if a.acknowledged and a.slug not in stored]
    committed_unacknowledged = [a.slug for a in attempts if not a.acknowledged and a.slug in stored]
    print(
        f"\nmigrated and served in {serving_at - began:.1f} s; "
        f"{len(attempts)} writes, {sum(a.acknowledged for a in attempts)} acknowledged"
        f"\nbefore the restarts: {dict(phase(0, fast_at))}"
        f"\nfast restart ({fast_back - fast_at:.1f} s): {dict(phase(fast_at, fast_back))}"
        f"\nbetween: {dict(phase(fast_back, crash_at))}"
        f"\ncrash ({crash_back - crash_at:.1f} s down): {dict(phase(crash_at, crash_back))}"
        f"\nafter: {dict(phase(crash_back, float('inf')))}"
        f"\ncommitted though not acknowledged: {committed_unacknowledged}"
    )

    assert web_survived, "gunicorn kept running through the restarts\n" + web_log[-4000:]
    assert recovered, "the immediate stop made the server recover from its WAL\n" + server.tail()
    # The test proved something: writes acknowledged before, between and after the restarts.
    assert acknowledged(before=fast_at) > 0
    assert acknowledged(after=fast_back, before=crash_at) > 0
    assert acknowledged(after=crash_back) > 0
    assert set(phase(crash_at, crash_back)) - {201}, "the writer met the outage"

    # Failures were clean: a 503 with Retry-After, or no answer at all; never a 500.
    unclean = [
        (a.slug, a.status, a.body[:300])
        for a in attempts
        if not a.acknowledged and not isinstance(a.status, str) and not a.unavailable
    ]
    assert not unclean, unclean
    assert "Internal Server Error" not in web_log, web_log[-6000:]

    # No acknowledged write lost, each stored as sent; nothing stored that was not sent.
    assert not acknowledged_unstored, acknowledged_unstored
    for attempt in attempts:
        if attempt.acknowledged:
            assert stored[attempt.slug] == expected_row(attempt), attempt.slug
    assert set(stored) <= {attempt.slug for attempt in attempts}
