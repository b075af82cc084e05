"""Helpers for tests that start other processes (servers, workers) against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for the database this test run uses, for child processes."""
    settings = connection.settings_dict
    host = urllib.parse.quote(settings["HOST"] or "localhost", safe="")
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, seconds: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment for a child, without the async override the browser tests
    set (a child must not inherit it)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(overrides)
    return env


ROOT = Path(__file__).resolve().parent.parent


def start_logged(
    log: Path, env: dict[str, str], *command: str, preexec_fn=None
) -> subprocess.Popen:
    """`python -m <command>` from the repository, in its own process group (so
    stop_process_group takes its children too), its output in `log`; `preexec_fn` runs in
    the child before the command (e.g. to set a resource limit)."""
    with open(log, "w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )


def start_celery_worker(
    log: Path, env: dict[str, str], *options: str, preexec_fn=None
) -> subprocess.Popen:
    """A `celery worker` of this project consuming every queue, its output in `log`."""
    return start_logged(
        log,
        env,
        "celery",
        "-A",
        "dsr_kb",
        "worker",
        "--loglevel=INFO",
        "--without-mingle",
        "--without-gossip",
        "--queues=documents,datasets,celery",
        *options,
        preexec_fn=preexec_fn,
    )


class CeleryWorker:
    """A Celery worker with one pool child, in a process group of its own, its output in
    `log` (named after it); by default started only once it says it is ready."""

    def __init__(self, log: Path, env: dict[str, str], *, ready: bool = True, preexec_fn=None):
        self.log = log
        self.process = start_celery_worker(
            log, env, "--concurrency=1", f"--hostname={log.stem}@%h", preexec_fn=preexec_fn
        )
        if ready:
            assert wait_for(lambda: "ready" in self.text() or not self.alive(), 60)
            assert self.alive(), self.text()

    def alive(self) -> bool:
        return self.process.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        return f"--- {self.log.name}\n{self.text()[-4000:]}"

    def kill(self) -> None:
        """SIGKILL the worker and its pool: nothing gets to acknowledge or clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        stop_process_group(self.process)


@contextmanager
def celery_broker(url: str, transport_options: dict | None = None):
    """Make this process's Celery app send to `url` for the duration, then put it back.
    Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets
    it), so both change."""
    from dsr_kb.celery import app

    saved = os.environ.get("CELERY_BROKER_URL"), app.conf.broker_url
    saved_options = app.conf.broker_transport_options
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options or {}
    app._after_fork()  # drop the connections to the previous broker
    try:
        yield app
    finally:
        if saved[0] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved[0]
        app.conf.broker_url, app.conf.broker_transport_options = saved[1], saved_options
        app._after_fork()


@contextmanager
def emptied_redis_broker(url: str, transport_options: dict | None = None):
    """This process's Celery app sends to the Redis database at `url`, emptied before and
    after (see require_redis for when Redis is missing); yields the Redis client."""
    client = require_redis(url)
    client.flushdb()
    with celery_broker(url, transport_options):
        yield client
    client.flushdb()


def require_redis(url: str):
    """A client for the Redis database at `url`; the test is skipped when Redis does not
    answer — unless CI is "true", where a missing Redis is a failure."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        reason = f"Redis does not answer at {url}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI is 'true', so these tests must run.", pytrace=False)
        pytest.skip(reason)
    return client


def stop_process_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM the process group `process` leads, SIGKILL it if it is still there after
    `seconds`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=seconds)


def start_gunicorn(log: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    """gunicorn serving this project on 127.0.0.1:`port`, its output in `log`."""
    return start_logged(
        log,
        env,
        "gunicorn",
        "dsr_kb.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
    )


def manage_py(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """`manage.py ARGUMENTS` of this project in a child process, its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def server_connection(database: str):
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=database,
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"] or "localhost",
        port=settings["PORT"] or 5432,
    )


def server_execute(sql: str) -> None:
    """Run `sql` outside any transaction (CREATE/DROP DATABASE), from the test database."""
    admin = server_connection(connection.settings_dict["NAME"])
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql)
    finally:
        admin.close()


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout
