"""Importing source documents: intake (store, deduplicate, enqueue) and processing.

Intake runs in the request (or the command): it refuses what can never be imported (empty,
too big, not a supported format) with a message naming the field, stores the file and the
document row, and enqueues processing once the transaction commits. The same bytes give the
same document: its SHA-256 is unique.

Processing runs in a Celery worker (or in the calling process with `--sync`): extract the
text, split it into sentences, find mentions, derive proposals and store them, replacing
what an earlier run derived, so running it twice gives the same result. The document's
status and progress say where it is — written when it starts, at most every
PROGRESS_INTERVAL while a long one is read or analysed, and with the results, in the one
transaction that stores them; a bad file ends `failed` with a message for people. Each
document's time per stage is logged.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from projects.importing.detect import COMPANY, COUNTRY, PROJECT_TYPE, current_detector
from projects.importing.extract import (
    ExtractionError,
    Limits,
    describe,
    extract,
    format_size,
    sniff,
)
from projects.importing.fetch import FetchError, fetch
from projects.importing.language import detect_language
from projects.importing.propose import Draft, draft_proposals
from projects.importing.sentences import split_sentences
from projects.models import (
    Mention,
    ProcessingStatus,
    Project,
    ProjectCompany,
    ProjectCountry,
    Proposal,
    ProposalStatus,
    SourceDocument,
)
from projects.models.source import DocumentKind
from projects.partial_dates import PartialDate

logger = logging.getLogger(__name__)

EXTENSIONS = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/plain": ".txt",
    "text/markdown": ".md",
}
METADATA_FIELDS = ("title", "authors", "publisher", "date", "url", "language", "kind")
EXTRACTED_SHARE = 60  # percent of the progress bar that extraction fills
PROGRESS_INTERVAL = 0.5  # seconds, at least, between two progress writes of one document
# A text longer than this is stored, and the document shown "analyzing", before its analysis
# (a few seconds for the longest); a shorter one is stored with the results.
ANALYZING_STATE_CHARACTERS = 200_000
STAGES = ("read", "extract", "detect", "write")  # of one document's processing, as logged


class TransientImportError(Exception):
    """Worth trying again later: the storage or the database was briefly unavailable."""


@dataclass
class ImportResult:
    document: SourceDocument
    created: bool  # False when the same bytes had been imported before


def _metadata_fields(metadata: dict) -> dict:
    """Model fields from optional import metadata; a bad value is a ValidationError naming it."""
    unknown = sorted(set(metadata) - set(METADATA_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown metadata field."))
    fields: dict = {}
    for name in ("title", "publisher", "url", "language"):
        value = metadata.get(name)
        if value not in (None, ""):
            if not isinstance(value, str):
                raise ValidationError({name: "Must be text."})
            fields[name] = value.strip()
    if "language" in fields:
        fields["language"] = fields["language"].lower()
    authors = metadata.get("authors")
    if authors:
        if isinstance(authors, str):
            authors = [author.strip() for author in authors.split(";")]
        if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
            raise ValidationError({"authors": "A list of names, or names separated by ';'."})
        fields["authors"] = [author.strip() for author in authors if author.strip()]
    if metadata.get("date"):
        try:
            published = PartialDate.parse(str(metadata["date"]))
        except ValueError as error:
            raise ValidationError({"date": str(error)}) from None
        fields["published_on"], fields["published_precision"] = published.date, published.precision
    if metadata.get("kind"):
        if metadata["kind"] not in DocumentKind.values:
            raise ValidationError(
                {"kind": f"One of {', '.join(DocumentKind.values)}, not {metadata['kind']!r}."}
            )
        fields["kind"] = metadata["kind"]
    return fields


def check_size(size: int, *, name: str = "file") -> None:
    """Refuse a file over the upload limit before reading it."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ValidationError(
            {
                name: f"The file is {format_size(size)}; imports are limited to "
                f"{format_size(limit)} (DSR_IMPORT_MAX_UPLOAD_BYTES)."
            }
        )


def refuse_content(data: bytes, *, name: str = "file") -> str:
    """The media type of `data`, or a ValidationError saying why it cannot be imported."""
    check_size(len(data), name=name)
    if not data.strip():
        raise ValidationError({name: "The file is empty."})
    media_type = sniff(data)
    if media_type is None:
        raise ValidationError(
            {
                name: f"This file is not in a format that can be imported ({describe(data)}). "
                "Accepted formats: PDF, HTML, DOCX, plain text and Markdown."
            }
        )
    return media_type


def document_import(
    *,
    data: bytes,
    filename: str = "",
    metadata: dict | None = None,
    user=None,
    reprocess: bool = False,
    enqueue: bool = True,
) -> ImportResult:
    """Store `data` as a document and queue its processing; the same bytes give the same one."""
    user_id = user.pk if user is not None and user.is_authenticated else None
    with pghistory.context(service="import", user=user_id):
        return _document_import(
            data=data,
            filename=filename,
            metadata=metadata,
            user=user,
            reprocess=reprocess,
            enqueue=enqueue,
        )


def _document_import(*, data, filename, metadata, user, reprocess, enqueue) -> ImportResult:
    media_type = refuse_content(data)
    fields = _metadata_fields(metadata or {})
    digest = hashlib.sha256(data).hexdigest()
    existing = SourceDocument.objects.filter(sha256=digest).first()
    if existing is not None:
        if reprocess:
            document_reprocess(existing, enqueue=enqueue)
        return ImportResult(existing, created=False)

    filename = PurePath(filename or "").name[:200]
    stem = PurePath(filename).stem if filename else ""
    document = SourceDocument(
        title=fields.pop("title", "") or stem or f"Document {digest[:12]}",
        original_filename=filename,
        media_type=media_type,
        size=len(data),
        sha256=digest,
        status=ProcessingStatus.QUEUED,
        uploaded_by=user if user is not None and user.is_authenticated else None,
        **fields,
    )
    stored_name = f"{digest[:16]}{EXTENSIONS[media_type]}"
    try:
        with transaction.atomic():
            document.file.save(stored_name, ContentFile(data), save=False)
            document.full_clean(exclude=["file", "sha256"])
            document.save()
    except IntegrityError:
        # Another request stored the same bytes a moment ago.
        if document.file:
            document.file.delete(save=False)
        existing = SourceDocument.objects.filter(sha256=digest).first()
        if existing is None:
            raise
        return ImportResult(existing, created=False)
    if enqueue:
        _enqueue_on_commit(document.pk)
    return ImportResult(document, created=True)


def document_import_url(
    *, url: str, metadata: dict | None = None, user=None, reprocess=False, enqueue=True
) -> ImportResult:
    """Download `url` (public addresses only) and import it; the document keeps the URL."""
    try:
        fetched = fetch(url)
    except FetchError as error:
        raise ValidationError({"url": str(error)}) from None
    metadata = {**(metadata or {})}
    metadata.setdefault("url", url)
    try:
        return document_import(
            data=fetched.data,
            filename=fetched.filename,
            metadata=metadata,
            user=user,
            reprocess=reprocess,
            enqueue=enqueue,
        )
    except ValidationError as error:
        # What was wrong with the file came from the URL: report it there.
        if hasattr(error, "error_dict") and "file" in error.error_dict:
            raise ValidationError({"url": error.error_dict["file"]}) from None
        raise


def document_reprocess(document: SourceDocument, *, enqueue: bool = True) -> None:
    """Queue `document` for processing again; what the last run derived is replaced."""
    if not document.file:
        raise ValidationError({"file": "A document without a file has nothing to process."})
    SourceDocument.objects.filter(pk=document.pk).update(
        status=ProcessingStatus.QUEUED, progress=0, error="", attempts=0, updated=timezone.now()
    )
    document.refresh_from_db()
    if enqueue:
        _enqueue_on_commit(document.pk)


def _enqueue_on_commit(document_id: int) -> None:
    def send():
        from projects.tasks import process_document

        try:
            process_document.delay(document_id)
        except Exception as error:  # the broker is down: say so on the document
            logger.exception("Could not queue document %s", document_id)
            SourceDocument.objects.filter(pk=document_id).update(
                error=f"Waiting for a worker: the task queue could not be reached ({error}). "
                "Reprocess the document once the queue is back.",
            )

    transaction.on_commit(send)


# Processing ----------------------------------------------------------------------------


def _set_state(document_id: int, status: str, progress: int, **fields) -> None:
    SourceDocument.objects.filter(pk=document_id).update(
        status=status, progress=progress, updated=timezone.now(), **fields
    )


def document_fail(document_id: int, message: str) -> None:
    _set_state(document_id, ProcessingStatus.FAILED, 100, error=message)


def document_process(document_id: int, *, time_limit: float | None = None) -> str:
    """Process a stored document; returns its final status. Safe to run twice."""
    with pghistory.context(service="import_processing", document=document_id):
        return _document_process(document_id, time_limit=time_limit)


class _Stopwatch:
    """Milliseconds spent per stage of one document's processing, for the log."""

    def __init__(self):
        self.started = self.mark = time.perf_counter()
        self.stages = dict.fromkeys(STAGES, 0.0)

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] += (now - self.mark) * 1000
        self.mark = now

    def log(self, document_id: int, status: str) -> None:
        total = (time.perf_counter() - self.started) * 1000
        logger.info(
            "Processed document %s (%s) in %.1f ms: read %.1f, extract %.1f, detect %.1f, "
            "write %.1f",
            document_id,
            status,
            total,
            *(self.stages[stage] for stage in STAGES),
            extra={"document": document_id, "status": status, "milliseconds": round(total, 1)},
        )


def _document_process(document_id: int, *, time_limit: float | None) -> str:
    watch = _Stopwatch()
    # Only what processing needs: not the text and search vector of an earlier run.
    document = (
        SourceDocument.objects.filter(pk=document_id)
        .only("file", "title", "original_filename", "sha256", "language")
        .first()
    )
    if document is None or not document.file:
        logger.info("Document %s is gone or has no file; nothing to process", document_id)
        return "missing"
    seconds = time_limit if time_limit is not None else settings.IMPORT_TIME_LIMIT
    limits = Limits.from_settings(seconds=seconds)
    watch.lap("read")
    _set_state(document_id, ProcessingStatus.EXTRACTING, 1, error="", attempts=F("attempts") + 1)
    watch.lap("write")
    try:
        with document.file.open("rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        document_fail(document_id, "The stored file is missing; import the document again.")
        return ProcessingStatus.FAILED
    except OSError as error:
        raise TransientImportError(f"Could not read the stored file: {error}") from error
    watch.lap("read")

    # Progress is written at most every PROGRESS_INTERVAL seconds: each write is a commit
    # (and recomputes the row's search vector), and a short document is done before anyone
    # could see a tick.
    reported = [0, time.monotonic()]

    def progress(fraction: float) -> None:
        percent = 1 + int(max(0.0, min(1.0, fraction)) * (EXTRACTED_SHARE - 1))
        now = time.monotonic()
        if percent >= reported[0] + 5 and now - reported[1] >= PROGRESS_INTERVAL:
            reported[:] = [percent, now]
            _set_state(document_id, ProcessingStatus.EXTRACTING, percent)

    try:
        extracted = extract(data, limits=limits, progress=progress)
    except ExtractionError as error:
        document_fail(document_id, str(error))
        return ProcessingStatus.FAILED
    watch.lap("extract")

    text = extracted.text
    updates = {
        "text": text,
        "page_count": extracted.page_count,
        "media_type": extracted.media_type,
    }
    provisional = {
        "",
        PurePath(document.original_filename).stem,
        f"Document {document.sha256[:12]}",
    }
    if extracted.title and document.title in provisional:
        updates["title"] = extracted.title[:500]
    if not document.language:
        updates["language"] = detect_language(text)
    watch.lap("detect")
    if (
        len(text) > ANALYZING_STATE_CHARACTERS
        or time.monotonic() - reported[1] >= PROGRESS_INTERVAL
    ):
        # A long analysis ahead: show it, with the text. A short one writes everything at
        # the end, in the transaction that stores the results.
        _set_state(document_id, ProcessingStatus.ANALYZING, EXTRACTED_SHARE + 5, **updates)
        updates = {}
        watch.lap("write")

    found = current_detector().find(text)
    sentences = split_sentences(text)
    if limits.deadline is not None and time.monotonic() > limits.deadline:
        _set_state(
            document_id,
            ProcessingStatus.FAILED,
            100,
            error=f"Processing took longer than {seconds:g} seconds (DSR_IMPORT_TIME_LIMIT).",
            **updates,
        )
        return ProcessingStatus.FAILED
    drafts = draft_proposals(text, sentences, found)
    watch.lap("detect")
    status = _store_results(
        document_id, text, sentences, extracted.page_starts, found, drafts, updates
    )
    watch.lap("write")
    watch.log(document_id, status)
    return status


def _page(page_starts: list[int], offset: int) -> int | None:
    return bisect.bisect_right(page_starts, offset) if page_starts else None


def _store_results(
    document_id, text, sentences, page_starts, found, drafts: list[Draft], updates: dict
) -> str:
    """Replace what an earlier run derived, in one transaction; the document's final state
    (and `updates`, what extraction found) go with it. Returns the document's status."""
    starts = [start for start, _ in sentences]
    mentions = []
    for item in found:
        index = bisect.bisect_right(starts, item.start) - 1
        mentions.append(
            (
                document_id,
                item.start,
                item.end,
                item.text[:300],
                text[sentences[index][0] : sentences[index][1]] if index >= 0 else "",
                _page(page_starts, item.start),
                item.entity_id if item.kind == COUNTRY else None,
                item.entity_id if item.kind == COMPANY else None,
                item.entity_id if item.kind == PROJECT_TYPE else None,
            )
        )
    with transaction.atomic():
        # The update locks the row first: a redelivered task waits here for the first run
        # to finish, then replaces what it wrote. Nothing is visible before the commit.
        done = SourceDocument.objects.filter(pk=document_id).update(
            status=ProcessingStatus.DONE, progress=100, error="", updated=timezone.now(), **updates
        )
        if not done:
            logger.info("Document %s was deleted while it was processed", document_id)
            return "missing"
        earlier = Proposal.objects.filter(document_id=document_id).order_by()
        decided = set()
        pending = False
        for key, status in earlier.values_list("key", "status"):
            if status == ProposalStatus.PENDING:
                pending = True
            else:
                decided.add(key)
        if pending:
            earlier.filter(status=ProposalStatus.PENDING).delete()
        Mention.objects.filter(document_id=document_id).delete()
        _insert(Mention, MENTION_FIELDS, mentions)
        _create_proposals(
            document_id, text, page_starts, [d for d in drafts if d.key not in decided]
        )
    return ProcessingStatus.DONE


MENTION_FIELDS = [
    "document",
    "start",
    "end",
    "text",
    "sentence",
    "page",
    "country",
    "company",
    "project_type",
]
INSERT_BATCH = 10_000  # rows per statement


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    """Insert `rows` (values of `fields`, in order) with `INSERT … SELECT * FROM unnest(…)`:
    one array per column, one statement per INSERT_BATCH rows. No model instance per row:
    for a document's few dozen mentions, Django's bulk_create spends more time building and
    compiling them than PostgreSQL spends inserting them. The database checks the rows."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(column.column) for column in columns)}) "
        f"SELECT * FROM unnest({', '.join(f'%s::{c.db_type(connection)}[]' for c in columns)})"  # nosec B608
    )
    with connection.cursor() as cursor:
        for first in range(0, len(rows), INSERT_BATCH):
            batch = rows[first : first + INSERT_BATCH]
            cursor.execute(statement, [list(values) for values in zip(*batch, strict=True)])


def _create_proposals(document_id: int, text, page_starts, drafts: list[Draft]) -> None:
    if not drafts:
        return
    matches = matching_projects(drafts)
    proposals = Proposal.objects.bulk_create(
        [
            Proposal(
                document_id=document_id,
                key=draft.key,
                sentence=text[draft.spans[0][0] : draft.spans[0][1]],
                sentences=[text[start:end] for start, end in draft.spans],
                start=draft.spans[0][0],
                page=_page(page_starts, draft.spans[0][0]),
                confidence=draft.confidence,
                project_id=match,
            )
            for draft, match in zip(drafts, matches, strict=True)
        ]
    )
    for relation, attribute in (
        ("companies", "companies"),
        ("project_types", "project_types"),
        ("countries", "countries"),
    ):
        through = getattr(Proposal, relation).through
        target = getattr(Proposal, relation).field.related_model._meta.model_name
        _insert(
            through,
            ["proposal", target],
            [
                (proposal.pk, entity_id)
                for proposal, draft in zip(proposals, drafts, strict=True)
                for entity_id in getattr(draft, attribute)
            ],
        )


# Kinds of project read per round when matching drafts that name only kinds: a draft usually
# finds its project among its first few candidates; then more, then all that are left.
KIND_ROUNDS = (64, 1024, None)


def matching_projects(drafts: list[Draft]) -> list[int | None]:
    """For each draft, the existing project that matches it best, or None: the same kind of
    project (if the draft names one), one of its organisations (if it names any), and the
    most countries in common (then the oldest).

    Each way is led by what is selective, so the cost follows the candidates, not the size
    of the knowledge base. A draft naming organisations is matched among their projects (an
    organisation has a few dozen): two queries for all such drafts. A draft naming only kinds
    ranks the projects of its countries (their ids, from an index) by countries in common and
    age, then reads the kinds of the first few until one matches: two queries for all such
    drafts, or up to four when the first candidates are of other kinds."""
    by_company = [i for i, d in enumerate(drafts) if d.companies and d.countries]
    by_kind = [
        i for i, d in enumerate(drafts) if not d.companies and d.project_types and d.countries
    ]
    matches: list[int | None] = [None] * len(drafts)
    if by_company:
        _match_by_company(drafts, by_company, matches)
    if by_kind:
        _match_by_kind(drafts, by_kind, matches)
    return matches


def _match_by_company(drafts: list[Draft], indexes: list[int], matches: list) -> None:
    partners: dict[int, set[int]] = {}
    for project_id, company_id in ProjectCompany.objects.filter(
        company_id__in=set().union(*(drafts[i].companies for i in indexes))
    ).values_list("project_id", "company_id"):
        partners.setdefault(project_id, set()).add(company_id)
    if not partners:
        return
    candidates: dict[int, tuple[int | None, set[int]]] = {}
    for project_id, kind_id, country_id in (
        ProjectCountry.objects.filter(
            project_id__in=partners,
            country_id__in=set().union(*(drafts[i].countries for i in indexes)),
        )
        .order_by()
        .values_list("project_id", "project__project_type_id", "country_id")
    ):
        candidates.setdefault(project_id, (kind_id, set()))[1].add(country_id)
    for i in indexes:
        draft = drafts[i]
        scored = [
            (-len(shared), project_id)
            for project_id, (kind_id, countries) in candidates.items()
            if (shared := countries & draft.countries)
            and (not draft.project_types or kind_id in draft.project_types)
            and partners[project_id] & draft.companies
        ]
        matches[i] = min(scored)[1] if scored else None


def _match_by_kind(drafts: list[Draft], indexes: list[int], matches: list) -> None:
    in_country: dict[int, set[int]] = {}
    for country_id, project_id in (
        ProjectCountry.objects.filter(
            country_id__in=set().union(*(drafts[i].countries for i in indexes))
        )
        .order_by()
        .values_list("country_id", "project_id")
    ):
        in_country.setdefault(country_id, set()).add(project_id)
    rankings = {}
    for i in indexes:
        countries = [in_country.get(c, ()) for c in drafts[i].countries]
        if len(countries) == 1:
            rankings[i] = sorted(countries[0])  # one country in common each: the oldest first
            continue
        shared = Counter(project_id for ids in countries for project_id in ids)
        rankings[i] = [project_id for _, project_id in sorted((-n, p) for p, n in shared.items())]
    kinds: dict[int, int | None] = {}
    position = dict.fromkeys(indexes, 0)
    for batch in (*KIND_ROUNDS, 0):  # the last round only reads what the others fetched
        wanted: set[int] = set()
        for i in [i for i in indexes if i in position]:
            ranking, at = rankings[i], position[i]
            while at < len(ranking) and ranking[at] in kinds:
                if kinds[ranking[at]] in drafts[i].project_types:
                    matches[i] = ranking[at]
                    break
                at += 1
            if matches[i] is not None or at >= len(ranking):
                del position[i]
                continue
            position[i] = at
            if batch != 0:
                wanted.update(
                    p for p in ranking[at : at + batch if batch else None] if p not in kinds
                )
        if not wanted:
            return
        kinds.update(Project.objects.filter(pk__in=wanted).values_list("pk", "project_type_id"))


@dataclass
class SweepReport:
    requeued: list[int]
    failed: list[int]
    resent: list[int]


def documents_requeue_stuck(*, now=None) -> SweepReport:
    """Find imports whose worker vanished and queue them again.

    A document still `extracting` or `analyzing` past its time limit (plus a grace) has no
    worker any more: it goes back to `queued` and is sent again — unless it has already been
    started IMPORT_MAX_ATTEMPTS times, which means it kills its workers (out of memory, a
    crash): then it fails, saying so. A document `queued` for longer than
    IMPORT_QUEUED_TIMEOUT lost its message (a broker that was flushed, an enqueue that
    failed): it is sent again. Processing is idempotent, so a document sent twice is harmless.
    """
    now = now or timezone.now()
    report = SweepReport([], [], [])
    stale = now - timedelta(seconds=settings.IMPORT_TIME_LIMIT + settings.IMPORT_STUCK_GRACE)
    lost = now - timedelta(seconds=settings.IMPORT_QUEUED_TIMEOUT)
    with transaction.atomic(), pghistory.context(service="requeue_stuck_documents"):
        stuck = SourceDocument.objects.select_for_update(skip_locked=True).filter(
            status__in=[ProcessingStatus.EXTRACTING, ProcessingStatus.ANALYZING],
            updated__lt=stale,
        )
        for pk, attempts in stuck.values_list("pk", "attempts"):
            if attempts >= settings.IMPORT_MAX_ATTEMPTS:
                document_fail(
                    pk,
                    f"Processing was interrupted {attempts} times: its worker stopped each time "
                    "(out of memory, or killed). Split the document or raise the workers' "
                    "memory, then reprocess it.",
                )
                report.failed.append(pk)
                continue
            _set_state(
                pk,
                ProcessingStatus.QUEUED,
                0,
                error=f"Processing was interrupted (its worker stopped); queued again "
                f"(attempt {attempts + 1} of {settings.IMPORT_MAX_ATTEMPTS}).",
            )
            _enqueue_on_commit(pk)
            report.requeued.append(pk)
        waiting = SourceDocument.objects.select_for_update(skip_locked=True).filter(
            status=ProcessingStatus.QUEUED, updated__lt=lost
        )
        for pk in waiting.values_list("pk", flat=True):
            SourceDocument.objects.filter(pk=pk).update(updated=now)
            _enqueue_on_commit(pk)
            report.resent.append(pk)
    return report


def document_summary(document: SourceDocument) -> dict:
    """What an import found, in the shape `import_document --json` prints."""
    mentions = Mention.objects.filter(document=document)

    def distinct(key: str) -> list[str]:
        return sorted(set(mentions.exclude(**{key: None}).values_list(key, flat=True)))

    proposals = document.proposals.prefetch_related("companies", "project_types", "countries")
    return {
        "id": document.pk,
        "sha256": document.sha256,
        "status": document.status,
        "title": document.title,
        "language": document.language,
        "pages": document.page_count,
        "error": document.error,
        "mentions": {
            "countries": distinct("country__iso2"),
            "companies": distinct("company__slug"),
            "project_types": distinct("project_type__slug"),
        },
        "proposals": [
            {
                "companies": sorted(c.slug for c in proposal.companies.all()),
                "project_types": sorted(t.slug for t in proposal.project_types.all()),
                "countries": sorted(c.iso2 for c in proposal.countries.all()),
                "sentence": proposal.sentence,
                "confidence": proposal.confidence,
            }
            for proposal in proposals.order_by("start")
        ],
    }
