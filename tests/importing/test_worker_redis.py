"""End to end with a real Celery worker process and the Redis broker: a document uploaded
through the API is processed by the worker; and when the worker is killed (SIGKILL) in the
middle of a task, the broker delivers the task again, the document ends done and nothing is
duplicated.

Redis is used when it answers at DSR_TEST_REDIS_URL (default redis://127.0.0.1:6379/7, a
database of its own that the tests empty); otherwise the tests are skipped — unless CI is
"true", where a missing Redis is a failure.
"""

from __future__ import annotations

import os
import time
from io import BytesIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
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
    wait_for,
)

REDIS_URL = os.environ.get("DSR_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
# Seconds before Redis hands an unacknowledged task to another worker.
VISIBILITY_TIMEOUT = 3

pytestmark = pytest.mark.slow

SENTENCES = [
    "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan.",
    "Huawei signed a contract to build a national data centre in Nairobi, Kenya.",
    "ZTE deployed a 5G network for Ethio Telecom in Ethiopia.",
]


@pytest.fixture
def redis_broker():
    """This process's Celery app sends to a Redis database of the test's own."""
    with emptied_redis_broker(REDIS_URL, {"visibility_timeout": VISIBILITY_TIMEOUT}) as client:
        yield client


class Worker(CeleryWorker):
    def __init__(self, log: Path, visibility_timeout: int = VISIBILITY_TIMEOUT):
        env = child_environment(
            DATABASE_URL=database_url(),
            CELERY_BROKER_URL=REDIS_URL,
            CELERY_BROKER_VISIBILITY_TIMEOUT=str(visibility_timeout),
            DJANGO_SETTINGS_MODULE="dsr_kb.settings.test",
        )
        super().__init__(log, env)


@pytest.fixture
def workers(tmp_path, redis_broker, committed_db):
    started: list[Worker] = []

    def start(name: str, **options) -> Worker:
        worker = Worker(tmp_path / f"{name}.log", **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def editor_client(committed_db):
    user = get_user_model().objects.create_user("importer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="add_sourcedocument"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(client, name: str, data: bytes) -> SourceDocument:
    response = client.post(
        "/api/v1/documents/", {"file": BytesIO(data), "title": name}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    return SourceDocument.objects.get(pk=response.json()["id"])


def status_of(document: SourceDocument) -> str:
    document.refresh_from_db()
    return document.status


def assert_derived_once(document: SourceDocument) -> None:
    """The stored mentions and proposals are exactly what one run derives from the text."""
    found = Detector.from_database().find(document.text)
    drafts = draft_proposals(document.text, split_sentences(document.text), found)
    mentions = Mention.objects.filter(document=document)
    assert mentions.count() == len(found) > 0
    assert sorted(mentions.values_list("start", "end")) == [(f.start, f.end) for f in found]
    assert sorted(Proposal.objects.filter(document=document).values_list("key", flat=True)) == (
        sorted(draft.key for draft in drafts)
    )
    assert SourceDocument.objects.filter(sha256=document.sha256).count() == 1


def test_an_upload_is_processed_by_a_worker_over_redis(workers, editor_client):
    worker = workers("worker")
    document = upload(editor_client, "Three projects", "\n\n".join(SENTENCES).encode())

    assert wait_for(lambda: status_of(document) in ("done", "failed"), 90), worker.text()
    assert document.status == ProcessingStatus.DONE, document.error
    assert document.progress == 100
    assert "China Mobile is building" in document.text
    assert_derived_once(document)
    proposal = Proposal.objects.get(document=document, companies__slug="china-mobile")
    assert sorted(proposal.countries.values_list("iso2", flat=True)) == ["KG", "MM", "NP"]
    assert list(proposal.project_types.values_list("slug", flat=True)) == ["fiber-link"]
    assert proposal.sentence == SENTENCES[0]
    assert "projects.tasks.process_document" in worker.text()


def long_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for number in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {number + 1}. " + " ".join(SENTENCES) * 3)
    return bytes(pdf.output())


def test_a_task_killed_mid_way_is_delivered_again_and_nothing_is_duplicated(workers, editor_client):
    first = workers("first")
    document = upload(editor_client, "A long report", long_pdf(600))

    # Kill the worker while it is extracting: some pages done, not all.
    assert wait_for(
        lambda: status_of(document) == "extracting" and document.progress >= 10, 120, 0.05
    ), (document.status, document.progress, first.text())
    first.kill()
    document.refresh_from_db()
    assert document.status == ProcessingStatus.EXTRACTING, "the kill came too late"
    killed_at = document.progress
    assert killed_at < 60

    # The message was never acknowledged: once the visibility timeout has passed, a new
    # worker receives it again.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    second = workers("second")
    assert wait_for(lambda: status_of(document) in ("done", "failed"), 180), second.text()
    assert document.status == ProcessingStatus.DONE, document.error
    assert "projects.tasks.process_document" in second.text(), "the second worker ran it"
    assert document.page_count == 600
    assert_derived_once(document)


def test_the_sweep_requeues_a_document_whose_worker_vanished(workers, editor_client, settings):
    # Redis would hand the message on only after an hour here: what brings the document back
    # is the periodic sweep, as when a worker's message is lost for good.
    first = workers("first", visibility_timeout=3600)
    document = upload(editor_client, "A long report", long_pdf(600))
    assert wait_for(
        lambda: status_of(document) == "extracting" and document.progress >= 10, 120, 0.05
    ), (document.status, document.progress, first.text())
    first.kill()

    settings.IMPORT_TIME_LIMIT, settings.IMPORT_STUCK_GRACE = 1, 1
    time.sleep(2.5)
    report = documents_requeue_stuck()
    assert report.requeued == [document.pk]
    document.refresh_from_db()
    assert document.status == ProcessingStatus.QUEUED and "interrupted" in document.error

    second = workers("second", visibility_timeout=3600)
    assert wait_for(lambda: status_of(document) in ("done", "failed"), 180), second.text()
    assert document.status == ProcessingStatus.DONE, document.error
    assert document.attempts == 2
    assert_derived_once(document)
