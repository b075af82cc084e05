"""Without CELERY_BROKER_URL, a worker still processes tasks, through a local transport."""

import os
from pathlib import Path

import pytest
from celery import Celery

from tests.support import start_celery_worker, wait_for

pytestmark = pytest.mark.slow


def filesystem_options(folder: Path) -> dict:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def test_a_worker_processes_tasks_over_the_local_transport(tmp_path, monkeypatch):
    # Celery prefers CELERY_BROKER_URL from the environment over any configuration.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    broker_dir = tmp_path / "broker"
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env["DSR_BROKER_DIR"] = str(broker_dir)
    worker = start_celery_worker(log, env, "--pool=solo", "--without-heartbeat")
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
