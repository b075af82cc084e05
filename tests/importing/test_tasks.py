"""The Celery task around the processing service, run in this process with `apply()`:
transient errors are retried and then given up on with a message; a time limit fails the
document by name; an unexpected error fails it without taking the worker down."""

import shutil
from pathlib import Path

import pytest

from projects.models import ProcessingStatus, SourceDocument
from projects.services import imports
from projects.tasks import MAX_RETRIES, process_document

TEXT = b"Huawei signed a contract for a data centre in Kenya."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def document() -> SourceDocument:
    return imports.document_import(data=TEXT, filename="kenya.txt", enqueue=False).document


def test_the_task_processes_a_document(document):
    assert process_document.apply(args=[document.pk]).get() == ProcessingStatus.DONE
    document.refresh_from_db()
    assert document.status == ProcessingStatus.DONE
    assert document.mentions.count() == 3


def test_an_unreadable_file_is_retried_then_given_up_with_a_message(document):
    # A directory where the file should be: reading it fails with an OSError that is not
    # "missing", the kind of storage error worth retrying.
    stored = Path(document.file.path)
    stored.unlink()
    stored.mkdir()
    result = process_document.apply(args=[document.pk])
    assert result.get() == "failed"
    document.refresh_from_db()
    assert document.status == ProcessingStatus.FAILED
    assert f"Gave up after {MAX_RETRIES + 1} attempts" in document.error
    assert "Could not read the stored file" in document.error


def test_a_retry_that_finds_the_file_again_succeeds(document):
    stored = Path(document.file.path)
    stored.unlink()
    stored.mkdir()
    # The first attempt fails; put the file back before the retry runs.
    attempts = []

    def restore(*args, **kwargs):
        attempts.append(1)
        shutil.rmtree(stored)
        stored.write_bytes(TEXT)

    from celery.signals import task_retry

    task_retry.connect(restore, weak=False)
    try:
        assert process_document.apply(args=[document.pk]).get() == ProcessingStatus.DONE
    finally:
        task_retry.disconnect(restore)
    assert attempts == [1]
    document.refresh_from_db()
    assert document.status == ProcessingStatus.DONE


def test_a_missing_file_fails_at_once(document):
    Path(document.file.path).unlink()
    assert process_document.apply(args=[document.pk]).get() == ProcessingStatus.FAILED
    document.refresh_from_db()
    assert "The stored file is missing" in document.error


def test_processing_past_the_time_limit_fails_naming_the_setting(document):
    assert imports.document_process(document.pk, time_limit=0) == ProcessingStatus.FAILED
    document.refresh_from_db()
    assert document.status == ProcessingStatus.FAILED
    assert "DSR_IMPORT_TIME_LIMIT" in document.error


def test_a_document_deleted_before_its_task_runs_is_skipped(document):
    pk = document.pk
    document.delete()
    assert process_document.apply(args=[pk]).get() == "missing"
