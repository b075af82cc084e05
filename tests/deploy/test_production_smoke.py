"""A production-like deployment on this machine, without Docker: gunicorn with the production
settings, a Celery worker on the Redis broker and a PostgreSQL server of these tests' own.
A document uploaded through the API is processed and served with the pages and the API; and
restarting PostgreSQL fails only the requests in flight: the app and the worker serve again
without being restarted.

Everything runs in other processes and is reached over HTTP as a TLS proxy reaches it (with
X-Forwarded-Proto: https). Redis is the server of DSR_TEST_REDIS_URL, database 8, which the
tests empty; without Redis the tests are skipped — unless CI is "true", where that fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest

from dsr_kb import embedded_db
from tests.support import (
    child_environment,
    free_port,
    manage_py,
    require_redis,
    start_celery_worker,
    start_gunicorn,
    stop_process_group,
    wait_for,
)

REDIS_URL = (
    urllib.parse.urlsplit(os.environ.get("DSR_TEST_REDIS_URL", "redis://127.0.0.1:6379/7"))
    ._replace(path="/8")
    .geturl()
)
DATABASE = "smoke"
EDITOR = "smoke-editor"
REQUEST_TIMEOUT = 10
PROCESSING_TIMEOUT = 120
RECOVERY_TIMEOUT = 30

pytestmark = pytest.mark.slow

KENYA_REPORT = b"""<!doctype html>
<html><head><title>Konza data centre</title></head>
<body><h1>Konza data centre</h1>
<p>Huawei built the national data centre at Konza Technopolis in Kenya, financed by a
concessional loan from China.</p></body></html>
"""


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def is_json(self) -> bool:
        return self.headers.get_content_type() == "application/json"


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect (to HTTPS, say) is an answer to look at, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def http(url: str, *, data: bytes | None = None, headers: dict | None = None) -> Answer:
    request = urllib.request.Request(
        url, data=data, headers={"X-Forwarded-Proto": "https", **(headers or {})}
    )
    try:
        with OPENER.open(request, timeout=REQUEST_TIMEOUT) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def multipart(file_name: str, data: bytes, content_type: str, **fields: str):
    """A multipart/form-data body with `fields` and one file, and its Content-Type."""
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Deployment:
    url: str
    token: str
    data_dir: Path
    database_server: embedded_db.EmbeddedServer
    logs: list[Path]

    def get(self, path: str) -> Answer:
        return http(self.url + path)

    def upload(self, file_name: str, data: bytes, content_type: str) -> dict:
        body, body_type = multipart(file_name, data, content_type, title=file_name)
        answer = http(
            f"{self.url}/api/v1/documents/",
            data=body,
            headers={"Content-Type": body_type, "Authorization": f"Token {self.token}"},
        )
        assert answer.status == 201, (answer.status, answer.body[:2000])
        return answer.json()

    def import_dataset(self, file_name: str, data: bytes, format: str) -> dict:
        """Upload a dataset and wait for the worker to finish importing it."""
        body, body_type = multipart(file_name, data, "text/csv", format=format)
        answer = http(
            f"{self.url}/api/v1/imports/",
            data=body,
            headers={"Content-Type": body_type, "Authorization": f"Token {self.token}"},
        )
        assert answer.status == 202, (answer.status, answer.body[:2000])
        path = f"/api/v1/imports/{answer.json()['id']}/"

        def read() -> dict:
            return http(self.url + path, headers={"Authorization": f"Token {self.token}"}).json()

        finished = wait_for(lambda: read()["state"] in ("done", "failed"), PROCESSING_TIMEOUT, 0.5)
        assert finished, f"not imported within {PROCESSING_TIMEOUT} s\n{self.log_tails()}"
        return read()

    def processed(self, document_id: int) -> dict:
        """The document once the worker is through with it."""
        path = f"/api/v1/documents/{document_id}/"
        finished = wait_for(
            lambda: self.get(path).json()["status"] in ("done", "failed"), PROCESSING_TIMEOUT, 0.5
        )
        assert finished, f"not processed within {PROCESSING_TIMEOUT} s\n{self.log_tails()}"
        return self.get(path).json()

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs
        )


def manage(env: dict[str, str], *arguments: str) -> str:
    result = manage_py(env, *arguments)
    assert result.returncode == 0, f"manage.py {arguments}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    redis = require_redis(REDIS_URL)
    redis.flushdb()
    base = tmp_path_factory.mktemp("deployment")
    # As root, the server runs as another user, who must reach its data dir also when it
    # restarts; pytest makes its temporary root private again whenever a run starts.
    database_dir = Path(tempfile.mkdtemp(prefix="dsr-smoke-"))
    database_dir.chmod(0o711)
    data_dir = database_dir / "postgres"
    database_server = embedded_db.start(data_dir)
    processes: list[subprocess.Popen] = []
    try:
        embedded_db.ensure_database(database_server, DATABASE)
        env = child_environment(
            DJANGO_SETTINGS_MODULE="dsr_kb.settings.production",
            SECRET_KEY=secrets.token_urlsafe(64),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_server.url(DATABASE),
            CELERY_BROKER_URL=REDIS_URL,
            DSR_DATA_DIR=str(base / "data"),
            MEDIA_ROOT=str(base / "media"),
            STATIC_ROOT=str(base / "static"),
            SMOKE_EDITOR_PASSWORD=secrets.token_urlsafe(24),
            # Every dataset goes to the worker (the datasets queue), however small.
            DSR_DATASET_INLINE_BYTES="0",
        )
        manage(env, "migrate", "--noinput")
        manage(env, "load_reference_data")
        manage(env, "load_demo")
        manage(env, "collectstatic", "--noinput")
        manage(env, "create_editor", EDITOR, "--password-from-env", "SMOKE_EDITOR_PASSWORD")
        token = re.search(r"Generated token (\w+)", manage(env, "drf_create_token", EDITOR))

        logs = [base / "gunicorn.log", base / "worker.log"]
        port = free_port()
        web = start_gunicorn(logs[0], env, port)
        processes.append(web)
        worker = start_celery_worker(
            logs[1], env, "-Q", "documents,datasets,celery", "--concurrency=2"
        )
        processes.append(worker)
        deployed = Deployment(f"http://127.0.0.1:{port}", token[1], data_dir, database_server, logs)

        def serving() -> bool:
            try:
                return deployed.get("/healthz").status == 200
            except OSError:
                return False

        assert wait_for(lambda: web.poll() is not None or serving(), 60), deployed.log_tails()
        assert wait_for(lambda: worker.poll() is not None or "ready" in logs[1].read_text(), 60), (
            deployed.log_tails()
        )
        assert web.poll() is None and worker.poll() is None, deployed.log_tails()
        yield deployed
    finally:
        for process in processes:
            stop_process_group(process)
        embedded_db.stop(data_dir)
        shutil.rmtree(database_dir)
        redis.flushdb()


def test_a_production_like_deployment_imports_a_document_and_serves_it(deployment):
    health = deployment.get("/healthz")
    assert health.status == 200 and health.is_json, health.body
    assert health.json()["status"] == "ok"
    ready = deployment.get("/readyz")
    assert ready.status == 200 and ready.is_json, (ready.status, ready.body[:500])
    assert ready.json()["status"] == "ok"

    uploaded = deployment.upload("konza.html", KENYA_REPORT, "text/html")
    document = deployment.processed(uploaded["id"])
    assert document["status"] == "done", document["error"]
    mentions = deployment.get(f"/api/v1/documents/{document['id']}/mentions/").json()["results"]
    named = {(mention["kind"], mention["key"]) for mention in mentions}
    assert {("country", "KE"), ("company", "huawei")} <= named

    pages = ["/", "/projects/", "/countries/ke/", f"/documents/{document['id']}/", "/api/v1/"]
    for path in [*pages, "/api/v1/projects/?format=csv"]:
        answer = deployment.get(path)
        assert answer.status == 200, (path, answer.status, answer.body[:500])
        assert answer.headers["Strict-Transport-Security"].startswith("max-age="), path
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["X-Frame-Options"] == "DENY", path
    print("\nContent-Security-Policy:", answer.headers["Content-Security-Policy"])
    page = deployment.get(f"/documents/{document['id']}/").body
    assert b"concessional loan" in page
    assert b'href="/countries/ke/"' in page and b'href="/companies/huawei/"' in page

    job = deployment.import_dataset(
        "links.csv", b"name,type,countries\nSmoke link,fiber-link,KE:host\n", "csv"
    )
    assert (job["state"], job["report"]["created"]) == ("done", 1), job

    stylesheet = re.search(rb'href="(/static/[^"]+\.css)"', deployment.get("/").body)
    assert stylesheet, "the home page links its stylesheet"
    assert deployment.get(stylesheet[1].decode()).status == 200, "collected static files are served"


@dataclass
class Outcome:
    started: float
    finished: float
    status: int | str  # the HTTP status, or the error when no answer came
    is_json: bool


@dataclass
class Poller:
    """Requests `path` again and again in a thread of its own, recording every outcome."""

    deployment: Deployment
    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                answer = self.deployment.get(self.path)
                status, is_json = answer.status, answer.is_json
            except OSError as error:
                status, is_json = type(error).__name__, False
            self.outcomes.append(Outcome(started, time.monotonic(), status, is_json))
            time.sleep(0.05)

    def answered_after(self, moment: float) -> bool:
        return any(o.started >= moment and o.status == 200 for o in self.outcomes)


def test_restarting_postgresql_fails_only_the_requests_in_flight(deployment):
    poller = Poller(deployment, "/api/v1/projects/")
    poller.thread.start()
    try:
        time.sleep(2)
        stopped_at = time.monotonic()
        assert embedded_db.stop(deployment.data_dir)
        time.sleep(3)  # long enough for many requests to meet the outage
        restarted = embedded_db.start(deployment.data_dir)
        back_at = time.monotonic()
        recovered = wait_for(lambda: poller.answered_after(back_at), RECOVERY_TIMEOUT)
        recovered_at = time.monotonic()
        time.sleep(2)
    finally:
        poller.stopping.set()
        poller.thread.join(REQUEST_TIMEOUT + 5)

    phases = {
        "done before the stop": [o for o in poller.outcomes if o.finished < stopped_at],
        "in flight in the outage": [
            o for o in poller.outcomes if o.finished >= stopped_at and o.started < back_at
        ],
        "started after the restart": [o for o in poller.outcomes if o.started >= back_at],
    }
    print(
        f"\nPostgreSQL down for {back_at - stopped_at:.1f} s; first 200 after the restart in "
        f"{recovered_at - back_at:.2f} s"
    )
    for phase, outcomes in phases.items():
        slowest = max((o.finished - o.started for o in outcomes), default=0)
        print(f"  {phase}: {dict(Counter(o.status for o in outcomes))}, slowest {slowest:.2f} s")

    assert restarted == deployment.database_server, "the server came back on its socket and port"
    assert recovered, deployment.log_tails()
    failures = [o for o in poller.outcomes if o.status != 200]
    assert all(isinstance(o.status, int) for o in failures), "every request had an answer"
    assert all(o.status == 503 and o.is_json for o in failures), failures
    assert all(o.status == 200 for o in phases["done before the stop"])
    assert all(o.status == 200 for o in phases["started after the restart"])

    ready = deployment.get("/readyz")
    assert ready.status == 200 and ready.is_json, (ready.status, ready.body[:500])
    assert ready.json()["status"] == "ok"
    note = b"Huawei is extending the data centre in Kenya after the database came back."
    uploaded = deployment.upload("after-restart.txt", note, "text/plain")
    document = deployment.processed(uploaded["id"])
    assert document["status"] == "done", document["error"]
