"""The API's own exports read back: CSV, JSON and GeoJSON exported, imported into an empty
knowledge base, exported again — the same. Bad rows rejected with their numbers and reasons,
the others imported; atomic imports all or nothing; a second import changes nothing."""

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from projects.models import Company, Project, ProjectType, SourceDocument
from projects.services.datasets import TRUSTED, dataset_import, dataset_read

from .conftest import empty_knowledge_base, run

pytestmark = pytest.mark.django_db

# What belongs to one installation, not to the data: its ids, addresses and clock.
# (project_count counts what else the database holds, not the organisation's data.)
LOCAL = {"id", "url", "created", "updated", "document", "project_count"}


def export(format: str, endpoint: str = "projects") -> bytes:
    response = APIClient().get(f"/api/v1/{endpoint}/", {"format": format, "page_size": 1000})
    assert response.status_code == 200, response.content[:500]
    return response.content


def comparable(value):
    """An export without what is local to an installation, in a stable order."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in LOCAL}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def parsed(format: str, content: bytes):
    if format == "csv":
        rows = [comparable(row) for row in csv.DictReader(io.StringIO(content.decode()))]
        for row in rows:
            if "sources" in row:
                row["sources"] = comparable(json.loads(row["sources"]))
        return rows
    data = json.loads(content)
    return comparable(data["features"] if format == "geojson" else data["results"])


def import_file(tmp_path, format: str, content: bytes, entity="projects", **options):
    path = tmp_path / f"{entity}.{format}"
    path.write_bytes(content)
    return dataset_import(
        rows=dataset_read(path=path, format=format, entity=entity),
        format=format,
        entity=entity,
        user=TRUSTED,
        **options,
    )


@pytest.fixture
def rich_project():
    """A project with every kind of value the schema carries (the demo's are published, so
    an anonymous export holds them all)."""
    project = Project.objects.get(slug="peace-submarine-cable")
    project.geometry = {"type": "MultiLineString", "coordinates": [[[62.3, 25.1], [43.1, 11.6]]]}
    project.landing_points = [
        {
            "id": "gwadar",
            "name": "Gwadar",
            "country": "PK",
            "country_name": "Pakistan",
            "latitude": 25.12,
            "longitude": 62.32,
            "tbd": False,
        }
    ]
    project.external_ids = {"telegeography": "peace-cable", "itu": "77"}
    project.value_amount, project.value_currency = 425_000_000, "USD"
    project.save()
    return project


@pytest.mark.parametrize("format", ["csv", "json", "geojson"])
def test_export_then_import_into_an_empty_knowledge_base_gives_the_same(
    format, tmp_path, rich_project
):
    """The organisations go first (from CSV or JSON: they have no geometry), as the projects
    name them by slug; then the projects."""
    organisations = export("csv" if format == "csv" else "json", "companies")
    before = export(format)
    count = Project.objects.count()
    empty_knowledge_base()
    assert not Project.objects.exists()
    organisations_format = "csv" if format == "csv" else "json"
    assert not import_file(tmp_path, organisations_format, organisations, "organisations").rejected
    report = import_file(tmp_path, format, before)
    assert (report.created, report.rejected) == (count, [])
    after = export(format)
    assert parsed(format, after) == parsed(format, before)
    again = import_file(tmp_path, format, after)
    assert (again.created, again.updated, again.unchanged) == (0, 0, count)


@pytest.mark.parametrize("format", ["csv", "json"])
def test_the_organisations_list_round_trips_with_parents_and_headquarters(format, tmp_path):
    child = Company.objects.get(slug="alibaba-cloud")
    assert child.parent is not None and child.headquarters is not None
    before = export(format, "companies")
    count = Company.objects.count()
    empty_knowledge_base()
    Company.objects.update(parent=None)
    Company.objects.all().delete()
    report = import_file(tmp_path, format, before, "organisations")
    assert (report.created, report.rejected) == (count, [])
    assert parsed(format, export(format, "companies")) == parsed(format, before)
    again = import_file(tmp_path, format, before, "organisations")
    assert (again.created, again.updated, again.unchanged) == (0, 0, count)


def test_a_parent_may_come_later_and_bad_organisation_rows_are_rejected(tmp_path):
    content = (
        "slug,name,kind,ownership,headquarters,parent,website\n"
        "zz-subsidiary,ZZ Subsidiary,firm,private,KE,zz-holding,\n"
        "zz-holding,ZZ Holding,firm,private,Kenya,,https://zz.example/\n"
        "zz-orphan,ZZ Orphan,firm,private,,nobody-knows,\n"
        "zz-bank,ZZ Bank,bakery,private,,,\n"
        "zz-nowhere,ZZ Nowhere,firm,private,Atlantis,,\n"
        "zz-site,ZZ Site,firm,private,,,ftp://zz.example/\n"
        "zz-self,ZZ Self,firm,private,,zz-self,\n"
    )
    report = import_file(tmp_path, "csv", content.encode(), "organisations")
    reasons = {r["row"]: r["reason"] for r in report.rejected}
    assert report.created == 2
    assert Company.objects.get(slug="zz-subsidiary").parent.slug == "zz-holding"
    assert Company.objects.get(slug="zz-holding").headquarters.iso2 == "KE"
    assert reasons == {
        4: "parent: unknown organisation 'nobody-knows'",
        5: "kind: 'bakery' is not one of firm, bank, government_agency, intergovernmental, "
        "research, other",
        6: "headquarters: unknown country 'Atlantis'",
        7: "website: 'ftp://zz.example/' is not an http(s) address",
        8: "parent: an organisation cannot be its own parent",
    }


BAD_ROWS = """name,type,status,countries,companies,value_amount,value_currency,announced,latitude
Good link,fiber-link,planned,KE:host,huawei:contractor,,,2021,
Bad date,fiber-link,planned,KE:host,,,,2021-13,
Unknown type,teleportation,planned,KE:host,,,,,
Negative value,fiber-link,planned,,,-5,USD,,
Unknown country code,fiber-link,planned,XX:host,,,,,
Bad role,fiber-link,planned,KE:landlord,,,,,
Amount without currency,fiber-link,planned,,,100,,,
Off the globe,fiber-link,planned,,,,,,123
Second good link,data center,Under construction,Kenya:host; Tanzania:transit,Huawei:supplier,,,,
"""


def test_bad_rows_are_rejected_with_their_line_and_reason_and_the_others_go_in(tmp_path):
    report = import_file(tmp_path, "csv", BAD_ROWS.encode())
    reasons = {r["row"]: r["reason"] for r in report.rejected}
    assert report.created == 2
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3].startswith("announced:")
    assert reasons[4] == "type: unknown project type 'teleportation'"
    assert reasons[5].startswith("value_amount:")
    assert reasons[6] == "countries: unknown country code 'XX'"
    assert reasons[7].startswith("countries: 'landlord' is not a role")
    assert "currency" in reasons[8]
    assert reasons[9].startswith("latitude:")
    second = Project.objects.get(name="Second good link")
    assert second.project_type == ProjectType.objects.get(slug="data-center")
    assert second.status == "under_construction"
    assert set(second.country_roles.values_list("country__iso2", "role")) == {
        ("KE", "host"),
        ("TZ", "transit"),
    }
    assert second.company_roles.get().company.slug == "huawei"


def test_an_atomic_import_with_a_bad_row_writes_nothing(tmp_path):
    count = Project.objects.count()
    report = import_file(tmp_path, "csv", BAD_ROWS.encode(), atomic=True)
    assert report.created == 2 and len(report.rejected) == 7
    assert Project.objects.count() == count


def test_unknown_columns_are_refused_rather_than_ignored(tmp_path):
    report = import_file(tmp_path, "csv", b"name,type,colour\nA link,fiber-link,blue\n")
    assert report.rejected == [
        {"row": 2, "reason": "unknown field 'colour'; the schema is that of the API's export"}
    ]


def test_a_spreadsheets_source_columns_become_a_citation(tmp_path):
    content = (
        "name,type,source_url,source_quote\n"
        'Lagos smart city,smart-city,https://example.org/news/1,"Huawei will build it."\n'
    )
    import_file(tmp_path, "csv", content.encode())
    project = Project.objects.get(name="Lagos smart city")
    citation = project.citations.get()
    assert (citation.document.url, citation.quote) == (
        "https://example.org/news/1",
        "Huawei will build it.",
    )
    assert SourceDocument.objects.get(url="https://example.org/news/1").status == "metadata_only"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"type,status\nfiber-link,planned\n", "no header row with a 'name' column"),
    ],
)
def test_an_unreadable_csv_fails_as_a_whole_with_its_reason(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    status, output = run("import_dataset", str(path), "--format", "csv")
    assert status == 2 and message in output


def test_json_that_is_not_a_list_of_projects_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('"just a string"')
    status, output = run("import_dataset", str(path), "--format", "json")
    assert status == 2 and "list of projects" in output


def test_a_dry_run_from_the_command_writes_nothing(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(BAD_ROWS)
    count = Project.objects.count()
    status, output = run("import_dataset", str(path), "--format", "csv", "--dry-run", "--json")
    report = json.loads(output)
    assert (report["dry_run"], report["created"], len(report["rejected"])) == (True, 2, 7)
    assert Project.objects.count() == count
    assert status == 1


def test_a_file_without_slugs_or_ids_imports_twice_without_duplicating(tmp_path):
    content = b"name,type,countries\nLagos fibre ring,fiber-link,NG:host\n"
    first = import_file(tmp_path, "csv", content)
    second = import_file(tmp_path, "csv", content)
    assert (first.created, second.created, second.unchanged) == (1, 0, 1)
    assert Project.objects.filter(name="Lagos fibre ring").count() == 1


def test_nul_characters_in_keys_are_the_rows_problem_not_the_imports(tmp_path):
    content = json.dumps(
        [
            {"name": "Null\u0000link", "type": "fiber-link", "slug": "nul\u0000slug"},
            {"name": "Ids", "type": "fiber-link", "external_ids": {"x\u0000": "1"}},
            {"name": "Fine link", "type": "fiber-link"},
        ]
    ).encode()
    report = import_file(tmp_path, "json", content)
    assert report.created == 1
    assert [r["row"] for r in report.rejected] == [1, 2]
    assert all("NUL" in r["reason"] for r in report.rejected)


def test_a_point_geometry_at_the_projects_own_coordinates_survives_geojson(tmp_path):
    project = Project.objects.get(slug="peace-submarine-cable")
    project.latitude, project.longitude = 25.12, 62.32
    project.geometry = {"type": "Point", "coordinates": [62.32, 25.12]}
    project.save()
    content = export("geojson")
    project.geometry = None
    project.save()
    report = import_file(tmp_path, "geojson", content)
    project.refresh_from_db()
    assert project.geometry == {"type": "Point", "coordinates": [62.32, 25.12]}
    assert report.updated == 1


def test_another_tools_geojson_points_are_locations_unless_they_differ(tmp_path):
    def feature(name, point):
        properties = {"name": name, "type": "data-center", "latitude": 1.5, "longitude": 2.5}
        return {"type": "Feature", "geometry": point, "properties": properties}

    content = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                feature("At its point", {"type": "Point", "coordinates": [2.5, 1.5]}),
                feature("Elsewhere", {"type": "Point", "coordinates": [3.0, 4.0]}),
            ],
        }
    ).encode()
    import_file(tmp_path, "geojson", content)
    assert Project.objects.get(name="At its point").geometry is None
    assert Project.objects.get(name="Elsewhere").geometry["coordinates"] == [3.0, 4.0]
