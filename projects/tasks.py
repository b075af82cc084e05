"""Celery tasks: load by id, call a service, record the outcome on the row."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, task_prerun, worker_init
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from projects.importing.detect import current_detector
from projects.services import datasets, imports

logger = logging.getLogger(__name__)

RETRYABLE = (imports.TransientImportError, OperationalError, InterfaceError)
MAX_RETRIES = 5
DOCUMENTS_QUEUE = settings.CELERY_TASK_ROUTES["projects.tasks.process_document"]["queue"]


@worker_init.connect
def compile_the_dictionary(sender=None, **kwargs) -> None:
    """In a worker that processes documents, compile the detector's dictionary in the main
    process, before the pool forks: every child process — the first, and each one that
    replaces a child after CELERY_WORKER_MAX_TASKS_PER_CHILD tasks — starts with it instead
    of spending its first document compiling it (a second or so). A child still checks the
    dictionary's version before each document, so an edit is picked up as before."""
    amqp = getattr(getattr(sender, "app", None), "amqp", None)
    consumed = amqp.queues.consume_from if amqp is not None else None
    if consumed and DOCUMENTS_QUEUE not in consumed:
        return
    try:
        current_detector()
    except Exception:  # no database yet: each child compiles it at its first document
        logger.warning("Could not compile the detector before forking", exc_info=True)
    finally:
        # The children must not share the main process's connection.
        connections.close_all()


@task_prerun.connect
@task_postrun.connect
def drop_old_connections(sender=None, **kwargs) -> None:
    """Around each task, as Django does around each request: close a database connection
    that is broken or older than CONN_MAX_AGE, and check the kept one before its next use
    (CONN_HEALTH_CHECKS). This matters when Celery keeps connections between tasks
    (CELERY_DB_REUSE_MAX); otherwise its Django fixup closes them after every task, and every
    task pays for a new connection. Not for a task run eagerly, inside the caller's
    transaction."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


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
