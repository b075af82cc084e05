"""Without CELERY_BROKER_URL, a worker still processes tasks, through a local transport."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def filesystem_options(folder: Path) -> dict:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
    }


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_processes_tasks_over_the_local_transport(tmp_path, monkeypatch):
    # Celery prefers CELERY_BROKER_URL from the environment over any configuration.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    broker_dir = tmp_path / "broker"
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env["DSR_BROKER_DIR"] = str(broker_dir)
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dsr_kb",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for(lambda: "ready" in log.read_text(), 60), log.read_text()
        producer = Celery(broker="filesystem://")
        producer.conf.broker_transport_options = filesystem_options(broker_dir)
        producer.send_task("celery.accumulate", args=[1, 2, 3])
        assert wait_for(lambda: "succeeded" in log.read_text(), 60), log.read_text()
        assert "celery.accumulate" in log.read_text()
        assert not any((broker_dir / "queue").iterdir()), "the message was consumed"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
