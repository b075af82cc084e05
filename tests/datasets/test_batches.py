"""Project rows are written a batch at a time, in a few statements: the search documents are
right after an import (rebuilt once per batch by `projects_project_search_refresh_many`, the
per-row triggers waiting meanwhile), history records every row written, a row the database
refuses is rejected alone, later rows see what earlier rows of their batch wrote, and the
number of queries does not grow with the number of rows."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from projects.models import (
    Citation,
    Company,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectSearch,
    SourceDocument,
)
from projects.services.datasets import TRUSTED, dataset_import, dataset_read

pytestmark = pytest.mark.django_db

COLUMNS = [
    "slug",
    "name",
    "type",
    "publication",
    "countries",
    "companies",
    "initiatives",
    "value_amount",
    "value_currency",
    "external_ids",
    "source_url",
    "source_quote",
]


def row(number: int, **values) -> dict:
    return {
        "name": f"Batch probe {number}",
        "type": "fiber-link",
        "publication": "published",
        "countries": "BT:host; Nepal:transit",
        "companies": "huawei:contractor; zte:supplier",
        "initiatives": "digital-silk-road",
        "external_ids": json.dumps({"probe": str(number)}),
        "source_url": f"https://probe.example/news/{number}",
        "source_quote": f"Probe {number} was signed.",
        **values,
    }


def content(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def import_rows(tmp_path, rows: list[dict], **options):
    path = tmp_path / "rows.csv"
    path.write_bytes(content(rows))
    return dataset_import(
        rows=dataset_read(path=path, format="csv"), format="csv", user=TRUSTED, **options
    )


def probes():
    return Project.objects.filter(external_ids__has_key="probe")


def search(query: str) -> list[str]:
    response = APIClient().get("/api/v1/projects/", {"q": query, "page_size": 500})
    assert response.status_code == 200, response.content
    return [project["slug"] for project in response.json()["results"]]


def test_imported_projects_are_found_by_their_names_countries_and_organisations(tmp_path):
    rows = [row(1, companies="huawei:contractor; Quuxwave Networks:partner"), row(2)]
    report = import_rows(tmp_path, rows)
    assert (report.created, report.rejected) == (2, [])
    first = Project.objects.get(external_ids__probe="1")
    assert search("Batch probe 1")[0] == first.slug
    assert first.slug in search("Bhutan")  # its host country, by code in the file
    assert first.slug in search("Nepal")  # its transit country, by name
    assert first.slug in search("huawei")
    assert search("Quuxwave") == [first.slug]  # an organisation the import created


def test_the_batch_builds_the_same_documents_as_the_per_row_function(tmp_path):
    import_rows(tmp_path, [row(number) for number in range(5)])
    ids = list(probes().values_list("pk", flat=True))
    documents = ProjectSearch.objects.filter(project_id__in=ids)
    batched = dict(documents.values_list("project_id", "document"))
    assert len(batched) == 5
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT projects_project_search_refresh(id) FROM projects_project WHERE id = ANY(%s)",
            [ids],
        )
    assert dict(documents.values_list("project_id", "document")) == batched


def test_the_per_row_triggers_work_again_after_an_import(tmp_path):
    import_rows(tmp_path, [row(1)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('dsr.search_deferred', true)")
        assert cursor.fetchone()[0] != "on"
    probes().update(name="Renamed zebrafish link")
    assert search("zebrafish") == [probes().get().slug]
    assert search("Batch probe 1") == []


def test_an_updated_project_is_found_by_its_new_name_and_roles_only(tmp_path):
    import_rows(tmp_path, [row(1), row(2), row(3)])
    report = import_rows(
        tmp_path,
        [row(1, name="Kestrel link"), row(2, countries="KE:host"), row(3)],
    )
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    first, second = (Project.objects.get(external_ids__probe=n) for n in ("1", "2"))
    assert search("Kestrel") == [first.slug]
    assert first.slug not in search("Batch probe 1")
    assert set(second.country_roles.values_list("country__iso2", "role")) == {("KE", "host")}
    assert second.slug not in search("Bhutan")
    removed = ProjectCountry.pgh_event_model.objects.filter(
        project_id=second.pk, pgh_label="delete"
    )
    assert removed.count() == 2
    assert first.events.order_by("pgh_id").last().pgh_label == "update"


def test_history_records_every_imported_row_with_the_import_as_its_context(tmp_path):
    rows = [row(n, companies="huawei:contractor; Quuxwave Networks:partner") for n in range(3)]
    import_rows(tmp_path, rows)
    ids = list(probes().values_list("pk", flat=True))
    assert len(ids) == 3
    for project in probes():
        event = project.events.get()
        assert event.pgh_label == "insert"
        assert event.pgh_context.metadata["service"] == "dataset_import"
    for model in (ProjectCountry, ProjectCompany, ProjectInitiative, Citation):
        written = model.objects.filter(project_id__in=ids)
        events = model.pgh_event_model.objects.filter(project_id__in=ids, pgh_label="insert")
        assert written.count() == events.count() > 0, model
        assert {e.pgh_context.metadata["service"] for e in events} == {"dataset_import"}
    company = Company.objects.get(name="Quuxwave Networks")
    assert company.pgh_event_model.objects.filter(pgh_obj_id=company.pk).count() == 1


def test_a_row_the_database_refuses_is_rejected_alone_and_the_others_go_in(tmp_path):
    rows = [row(n) for n in range(30)]
    # An amount without its currency: a check constraint only the database enforces.
    rows[6] = row(6, value_amount="100")
    rows[21] = row(
        21,
        value_amount="100",
        companies="Orphan Holdings:owner",
        source_url="https://probe.example/orphan",
    )
    report = import_rows(tmp_path, rows)
    message = "An amount needs its ISO 4217 currency, and vice versa."
    # CSV lines: the header is line 1.
    assert report.rejected == [{"row": 8, "reason": message}, {"row": 23, "reason": message}]
    assert report.created == 28
    assert probes().count() == 28
    assert not probes().filter(external_ids__probe__in=["6", "21"]).exists()
    # What only the refused row asked for is not created, nor reported.
    assert not Company.objects.filter(name="Orphan Holdings").exists()
    assert report.as_dict()["unresolved"]["companies"] == []
    assert not SourceDocument.objects.filter(url="https://probe.example/orphan").exists()
    for project in probes():
        assert project.country_roles.count() == 2
        assert project.citations.get().quote.startswith("Probe ")


def test_a_refused_row_in_a_dry_run_or_atomic_import_counts_the_same(tmp_path):
    rows = [row(n) for n in range(10)]
    rows[3] = row(3, value_amount="100")
    dry = import_rows(tmp_path, rows, dry_run=True).as_dict()
    atomic = import_rows(tmp_path, rows, atomic=True).as_dict()
    assert not probes().exists()
    real = import_rows(tmp_path, rows).as_dict()
    assert {**dry, "dry_run": False} == real
    assert {**atomic, "atomic": False} == real
    assert (real["created"], len(real["rejected"])) == (9, 1)


def test_later_rows_see_what_earlier_rows_of_their_batch_wrote(tmp_path):
    rows = [
        row(1, slug="dup-link", name="First name", external_ids=""),
        row(2),
        row(3, slug="dup-link", name="Ocelot crossing", countries="UG:host", external_ids=""),
        # Namesakes from one dataset: two projects, the second with a slug of its own.
        row(4, name="Twin cable"),
        row(5, name="Twin cable"),
        # The same external id again: the same project.
        row(6, name="Renamed six", external_ids=json.dumps({"probe": "2"})),
    ]
    report = import_rows(tmp_path, rows)
    assert (report.created, report.updated, report.rejected) == (4, 2, [])
    duplicate = Project.objects.get(slug="dup-link")
    assert duplicate.name == "Ocelot crossing"
    assert set(duplicate.country_roles.values_list("country__iso2", "role")) == {("UG", "host")}
    assert search("Ocelot") == ["dup-link"]
    twins = Project.objects.filter(name="Twin cable").order_by("pk")
    assert [t.slug for t in twins] == ["twin-cable", "twin-cable-2"]
    assert Project.objects.get(external_ids__probe="2").name == "Renamed six"


def test_importing_more_rows_takes_no_more_queries(tmp_path):
    def queries(first: int, count: int) -> int:
        rows = [row(n) for n in range(first, first + count)]
        with CaptureQueriesContext(connection) as captured:
            report = import_rows(tmp_path, rows)
        assert (report.created, report.rejected) == (count, [])
        return len(captured.captured_queries)

    few = queries(0, 20)
    many = queries(1000, 200)
    # The same statements whatever the number of rows (one batch): not ten times as many.
    assert many <= few + 2, (few, many)
    again = len(probes())
    with CaptureQueriesContext(connection) as captured:
        report = import_rows(tmp_path, [row(n) for n in range(1000, 1200)])
    assert (report.unchanged, again) == (200, 220)
    assert len(captured.captured_queries) <= few
