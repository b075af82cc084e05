"""The periodic sweep that queues again the imports whose worker vanished."""

from datetime import timedelta

import pytest
from django.utils import timezone

from projects.models import ProcessingStatus, SourceDocument
from projects.services.imports import document_import
from projects.tasks import requeue_stuck_documents

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_TIME_LIMIT = 600
    settings.IMPORT_STUCK_GRACE = 120
    settings.IMPORT_QUEUED_TIMEOUT = 3600
    settings.IMPORT_MAX_ATTEMPTS = 3


def document(text: str, *, status: str, age: timedelta, attempts: int = 1) -> SourceDocument:
    doc = document_import(data=text.encode(), filename="x.txt", enqueue=False).document
    SourceDocument.objects.filter(pk=doc.pk).update(
        status=status, attempts=attempts, progress=30, updated=timezone.now() - age
    )
    return doc


def test_a_document_whose_worker_vanished_is_queued_again(django_capture_on_commit_callbacks):
    stuck = document("Huawei in Kenya.", status="extracting", age=timedelta(minutes=13))
    busy = document("ZTE in Nepal.", status="analyzing", age=timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as callbacks:
        result = requeue_stuck_documents.apply().get()
    assert result == {"requeued": [stuck.pk], "failed": [], "resent": []}
    assert len(callbacks) == 1, "one task sent, for the stuck document only"
    stuck.refresh_from_db()
    assert (stuck.status, stuck.progress) == (ProcessingStatus.QUEUED, 0)
    assert "interrupted" in stuck.error and "attempt 2 of 3" in stuck.error
    busy.refresh_from_db()
    assert busy.status == ProcessingStatus.ANALYZING, "a document still within its time limit"


def test_a_document_that_keeps_killing_its_workers_fails_with_the_reason(
    django_capture_on_commit_callbacks,
):
    doomed = document("A huge PDF.", status="extracting", age=timedelta(hours=1), attempts=3)
    with django_capture_on_commit_callbacks() as callbacks:
        result = requeue_stuck_documents.apply().get()
    assert result["failed"] == [doomed.pk]
    assert not callbacks
    doomed.refresh_from_db()
    assert doomed.status == ProcessingStatus.FAILED
    assert "interrupted 3 times" in doomed.error


def test_a_document_queued_for_too_long_is_sent_again(django_capture_on_commit_callbacks):
    lost = document("China Mobile in Myanmar.", status="queued", age=timedelta(hours=2))
    recent = document("China Telecom in Laos.", status="queued", age=timedelta(minutes=2))
    with django_capture_on_commit_callbacks() as callbacks:
        result = requeue_stuck_documents.apply().get()
    assert result == {"requeued": [], "failed": [], "resent": [lost.pk]}
    assert len(callbacks) == 1
    recent.refresh_from_db()
    assert recent.status == ProcessingStatus.QUEUED


def test_processing_counts_its_attempts_and_reprocessing_resets_them():
    from projects.services.imports import document_process, document_reprocess

    doc = document_import(data=b"Huawei built a data centre in Kenya.", enqueue=False).document
    document_process(doc.pk)
    document_process(doc.pk)
    doc.refresh_from_db()
    assert doc.attempts == 2
    document_reprocess(doc, enqueue=False)
    doc.refresh_from_db()
    assert doc.attempts == 0


def test_the_sweep_runs_on_a_schedule():
    from django.conf import settings

    schedule = settings.CELERY_BEAT_SCHEDULE["requeue-stuck-documents"]
    assert schedule["task"] == requeue_stuck_documents.name
    assert 0 < schedule["schedule"] <= 3600


def test_document_processing_and_dataset_imports_have_queues_of_their_own():
    from dsr_kb.celery import app
    from projects.tasks import process_document

    router = app.amqp.router
    assert router.route({}, process_document.name)["queue"].name == "documents"
    assert router.route({}, requeue_stuck_documents.name)["queue"].name == "celery"
