"""Celery tasks: load by id, call a service, record the outcome on the row."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from projects.services import datasets, imports

logger = logging.getLogger(__name__)

RETRYABLE = (imports.TransientImportError, OperationalError, InterfaceError)
MAX_RETRIES = 5


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=settings.IMPORT_TIME_LIMIT,
    time_limit=settings.IMPORT_TIME_LIMIT + 60,
)
def process_document(self, document_id: int) -> str:
    """Extract, analyse and index one document. A worker that dies mid-way leaves the
    message unacknowledged, so the broker delivers it again; the run replaces what an
    earlier one derived. Transient errors are retried with backoff; bad files are not."""
    try:
        return imports.document_process(document_id)
    except SoftTimeLimitExceeded:
        imports.document_fail(
            document_id,
            f"Processing took longer than {settings.IMPORT_TIME_LIMIT} seconds "
            "(DSR_IMPORT_TIME_LIMIT).",
        )
        return "failed"
    except RETRYABLE as error:
        if self.request.retries >= MAX_RETRIES:
            imports.document_fail(
                document_id,
                f"Gave up after {MAX_RETRIES + 1} attempts: {error}. Reprocess it later.",
            )
            return "failed"
        raise self.retry(exc=error, countdown=min(600, 10 * 2**self.request.retries)) from error
    except Exception as error:
        logger.exception("Processing document %s failed", document_id)
        imports.document_fail(
            document_id,
            f"Processing stopped on an unexpected error ({type(error).__name__}: {error}). "
            "It has been logged; reprocess the document once it is fixed.",
        )
        return "failed"


@shared_task(acks_late=True)
def requeue_stuck_documents() -> dict:
    """Periodic (celery beat): queue again the imports whose worker vanished."""
    report = imports.documents_requeue_stuck()
    if report.requeued or report.failed or report.resent:
        logger.warning(
            "Stuck imports: requeued %s, failed %s, resent %s",
            report.requeued,
            report.failed,
            report.resent,
        )
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.DATASET_TIME_LIMIT,
    time_limit=settings.DATASET_TIME_LIMIT + 60,
)
def import_dataset(job_id: int) -> str:
    """Import one uploaded dataset (queue "datasets"). Safe to deliver twice: an import is an
    upsert, and a finished job is left alone."""
    try:
        return datasets.dataset_import_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        datasets.dataset_import_fail(
            job_id,
            f"The import took longer than {settings.DATASET_TIME_LIMIT} seconds "
            "(DSR_DATASET_TIME_LIMIT); the rows committed so far stay. Split the file.",
        )
        return "failed"
    except Exception as error:
        logger.exception("Dataset import %s failed", job_id)
        datasets.dataset_import_fail(
            job_id,
            f"The import stopped on an unexpected error ({type(error).__name__}: {error}). "
            "It has been logged.",
        )
        return "failed"
