"""What processing one document costs the database: a fixed number of queries whatever the
number of mentions and proposals, the document's row written twice for a short document
(started, done), progress at most every PROGRESS_INTERVAL, and the state of a long one shown
before its analysis. Also: the per-stage log line, and the worker compiling the dictionary
before it forks."""

import logging
import time
from types import SimpleNamespace

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from fpdf import FPDF

from projects.importing import detect
from projects.models import Mention, ProcessingStatus, Proposal, SourceDocument
from projects.services import imports
from projects.services.imports import document_import, document_process, document_reprocess
from projects.tasks import compile_the_dictionary

pytestmark = pytest.mark.django_db

PROJECTS = [
    "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan.",
    "Huawei signed a contract for a data centre in Nairobi, Kenya.",
    "ZTE deployed a 5G network for Ethio Telecom in Ethiopia.",
    "Hikvision installed surveillance cameras for a safe city in Ecuador and Bolivia.",
    "Alibaba Cloud opened a cloud region in Indonesia with the Export-Import Bank of China.",
    "HMN Tech laid a submarine cable between Pakistan, Djibouti and Egypt.",
]
FILLER = "The works were discussed at length by officials from both sides during the visit."


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def warm_detector():
    detect.current_detector()  # compiled once per process: not part of a document's cost


def stored(text: str, filename: str = "report.txt") -> SourceDocument:
    return document_import(data=text.encode(), filename=filename, enqueue=False).document


def processed_queries(document: SourceDocument) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert document_process(document.pk) == ProcessingStatus.DONE
    return [query["sql"] for query in captured.captured_queries]


def document_updates(queries: list[str]) -> list[str]:
    return [q for q in queries if 'UPDATE "projects_sourcedocument"' in q]


def test_the_queries_do_not_grow_with_the_mentions_and_proposals(warm_detector):
    # The same projects named once, and twenty times over among other sentences: twenty
    # times the mentions and supporting sentences. (Matching proposals to projects takes at
    # most six queries for any number of proposals: see the test further down.)
    small = stored(" ".join(PROJECTS))
    large = stored("\n\n".join(f"{FILLER} {p} {FILLER}" for p in PROJECTS * 20) + "\nEnd.")

    small_queries, large_queries = processed_queries(small), processed_queries(large)

    assert Mention.objects.filter(document=large).count() == 20 * (
        Mention.objects.filter(document=small).count()
    )
    assert Proposal.objects.filter(document=large).count() == len(PROJECTS)
    assert Proposal.objects.filter(document=small).count() == len(PROJECTS)
    assert len(large_queries) == len(small_queries)
    # Read; started; the dictionary's version; then one transaction (a savepoint here): done,
    # earlier proposals, mentions out and in, matching projects, proposals and their links.
    assert len(large_queries) <= 16, [query[:100] for query in large_queries]

    # Again, replacing what the first run wrote: still the same for both.
    for document in (small, large):
        document_reprocess(document, enqueue=False)
    assert len(processed_queries(large)) == len(processed_queries(small))


def test_mentions_are_inserted_in_batches_of_insert_batch_rows(monkeypatch, warm_detector):
    monkeypatch.setattr(imports, "INSERT_BATCH", 5)
    document = stored("\n\n".join(PROJECTS * 3))
    queries = processed_queries(document)
    found = detect.current_detector().find(document.__class__.objects.get(pk=document.pk).text)
    inserts = [q for q in queries if 'INSERT INTO "projects_mention"' in q]
    assert len(inserts) == -(-len(found) // 5)
    assert sorted(Mention.objects.filter(document=document).values_list("start", "end")) == [
        (f.start, f.end) for f in found
    ]


def test_a_short_document_row_is_written_when_it_starts_and_when_it_is_done(warm_detector):
    document = stored(" ".join(PROJECTS))
    updates = document_updates(processed_queries(document))
    assert len(updates) == 2
    assert "'extracting'" in updates[0] and "'done'" in updates[1]
    assert '"text"' in updates[1], "the text is stored with the results"
    document.refresh_from_db()
    assert (document.status, document.progress, document.error) == ("done", 100, "")
    assert document.text.startswith("China Mobile") and document.language == "en"


def test_a_long_text_is_stored_and_shown_analyzing_before_its_analysis(monkeypatch):
    monkeypatch.setattr(imports, "ANALYZING_STATE_CHARACTERS", 100)
    document = stored(" ".join(PROJECTS))
    seen = []
    detector = detect.current_detector()

    def spying_detector():
        seen.append(SourceDocument.objects.values("status", "progress", "text").get(pk=document.pk))
        return detector

    monkeypatch.setattr(imports, "current_detector", spying_detector)
    assert document_process(document.pk) == ProcessingStatus.DONE
    assert seen[0]["status"] == ProcessingStatus.ANALYZING
    assert seen[0]["progress"] == imports.EXTRACTED_SHARE + 5
    assert seen[0]["text"].startswith("China Mobile")


def many_pages(count: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for number in range(count):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {number + 1}. {PROJECTS[number % len(PROJECTS)]}")
    return bytes(pdf.output())


@pytest.mark.parametrize("interval, written", [(0, True), (3600, False)])
def test_extraction_progress_is_written_at_most_every_interval(
    monkeypatch, warm_detector, interval, written
):
    monkeypatch.setattr(imports, "PROGRESS_INTERVAL", interval)
    document = document_import(data=many_pages(40), filename="pages.pdf", enqueue=False).document
    updates = document_updates(processed_queries(document))
    ticks = [u for u in updates[1:] if "'extracting'" in u]
    # Without an interval, every 5 % of the 59 % that extraction fills; within one, none.
    assert len(ticks) >= 8 if written else ticks == []
    document.refresh_from_db()
    assert (document.status, document.progress, document.page_count) == ("done", 100, 40)


def test_going_over_the_time_limit_after_extraction_keeps_the_text(monkeypatch):
    document = stored(" ".join(PROJECTS))
    detector = detect.current_detector()

    class Slow:
        def find(self, text):
            time.sleep(0.3)
            return detector.find(text)

    monkeypatch.setattr(imports, "current_detector", Slow)
    assert document_process(document.pk, time_limit=0.2) == ProcessingStatus.FAILED
    document.refresh_from_db()
    assert document.status == ProcessingStatus.FAILED
    assert "DSR_IMPORT_TIME_LIMIT" in document.error
    assert document.text.startswith("China Mobile")
    assert not document.mentions.exists()


def test_a_document_deleted_while_it_is_processed_is_missing(monkeypatch):
    document = stored(" ".join(PROJECTS))
    detector = detect.current_detector()

    def deleting_detector():
        SourceDocument.objects.filter(pk=document.pk).delete()
        return detector

    monkeypatch.setattr(imports, "current_detector", deleting_detector)
    assert document_process(document.pk) == "missing"
    assert not Mention.objects.filter(document_id=document.pk).exists()
    assert not Proposal.objects.filter(document_id=document.pk).exists()


def test_processing_logs_the_time_of_each_stage(caplog, warm_detector):
    document = stored(" ".join(PROJECTS))
    with caplog.at_level(logging.INFO, logger="projects.services.imports"):
        document_process(document.pk)
    [record] = [r for r in caplog.records if r.getMessage().startswith("Processed document")]
    message = record.getMessage()
    assert f"Processed document {document.pk} (done) in " in message
    for stage in imports.STAGES:
        assert f"{stage} " in message
    assert record.document == document.pk and record.milliseconds > 0


def test_the_dictionary_version_is_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        version = detect.dictionary_version()
    assert len(version) == 3 and all(count > 0 for count, _ in version)


def worker_consuming(*queues: str):
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(
        consume_from=dict.fromkeys(queues)
    ))))  # fmt: skip


@pytest.mark.parametrize(
    "queues, compiled",
    [(("documents", "celery"), True), ((), True), (("datasets",), False)],
)
def test_a_document_worker_compiles_the_dictionary_before_it_forks(monkeypatch, queues, compiled):
    monkeypatch.setattr(detect, "_cached", None)
    connection.ensure_connection()
    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    compile_the_dictionary(sender=worker_consuming(*queues))
    assert (detect._cached is not None) == compiled
    assert bool(closed) == compiled


# Matching proposals to existing projects ------------------------------------------------------


def reference_match(draft, projects) -> int | None:
    """The rule, one project at a time: same kind (if the draft names kinds), one of its
    organisations (if it names any), the most countries in common, then the oldest."""
    scored = [
        (-len(countries & draft.countries), pk)
        for pk, (kind, companies, countries) in projects.items()
        if countries & draft.countries
        and (not draft.project_types or kind in draft.project_types)
        and (not draft.companies or companies & draft.companies)
    ]
    return min(scored)[1] if scored else None


@pytest.mark.parametrize("rounds", [imports.KIND_ROUNDS, (1, 2, None)])
def test_matching_projects_follows_the_rule_in_a_few_queries(
    django_assert_max_num_queries, monkeypatch, rounds
):
    import random

    from projects.importing.propose import Draft
    from projects.models import (
        Company,
        Country,
        Project,
        ProjectCompany,
        ProjectCountry,
        ProjectType,
    )
    from projects.services.imports import matching_projects

    rng = random.Random(5)
    kinds = list(ProjectType.objects.values_list("pk", flat=True)[:3])
    companies = list(Company.objects.values_list("pk", flat=True)[:4])
    countries = list(Country.objects.exclude(iso2="CN").values_list("pk", flat=True)[:5])
    Project.objects.all().delete()
    projects = {}
    for number in range(40):
        project = Project.objects.create(
            name=f"Project {number}", slug=f"project-{number}", project_type_id=rng.choice(kinds)
        )
        chosen = (set(rng.sample(companies, rng.randint(0, 2))), set(rng.sample(countries, 2)))
        for company in chosen[0]:
            ProjectCompany.objects.create(project=project, company_id=company, role="partner")
        for country in chosen[1]:
            ProjectCountry.objects.create(project=project, country_id=country, role="host")
        projects[project.pk] = (project.project_type_id, *chosen)
    drafts = [
        Draft(
            frozenset(rng.sample(companies, rng.randint(0, 2))),
            frozenset(rng.sample(kinds, rng.randint(0 if number % 2 else 1, 2))),
            frozenset(rng.sample(countries, rng.randint(1, 3))),
        )
        for number in range(60)
    ]
    drafts = [d for d in drafts if d.companies or d.project_types]

    # Organisations: their projects, and those projects' countries. Kinds only: the projects
    # of the drafts' countries, then the kinds of the best ranked, a few at a time.
    monkeypatch.setattr(imports, "KIND_ROUNDS", rounds)
    with django_assert_max_num_queries(2 + 1 + len(rounds)):
        matches = matching_projects(drafts)
    assert matches == [reference_match(draft, projects) for draft in drafts]
    assert sum(1 for m in matches if m) > len(drafts) / 3, "the test exercises matches"
