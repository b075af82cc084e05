"""TeleGeography's submarine cables imported end to end: names resolved through aliases,
owners matched or created, landing points kept, nothing dropped without a word, and the same
folder imported twice changes nothing."""

import json
import zipfile
from pathlib import Path

import pghistory.models
import pytest

from projects.models import (
    Company,
    Country,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectType,
    SourceDocument,
    Status,
)
from projects.services.datasets import TRUSTED, dataset_import, dataset_read

from .conftest import run

CABLES = Path(__file__).resolve().parents[1] / "importing" / "datasets" / "telegeography" / "cables"

pytestmark = pytest.mark.django_db


def import_cables(path: Path = CABLES, **options):
    return dataset_import(
        rows=dataset_read(path=path, format="telegeography"),
        format="telegeography",
        user=TRUSTED,
        **options,
    )


def cable(telegeography_id: str) -> Project:
    return Project.objects.get(external_ids__telegeography=telegeography_id)


def test_the_cables_become_projects_with_their_facts():
    report = import_cables()
    assert report.created == 7
    assert {r["row"] for r in report.rejected} == {"broken.json", "missing-name.json"}
    mea = cable("meridian-east-africa")
    assert mea.project_type.slug == "submarine-cable"
    assert mea.length_km == 15000
    assert str(mea.completed) == "2019-03"
    assert mea.status == Status.OPERATIONAL
    assert mea.publication == "draft"
    pearl = cable("west-africa-pearl")
    assert pearl.status == Status.PLANNED
    assert str(pearl.completed) == "2030"


def test_owners_are_matched_by_alias_and_new_ones_created_and_reported():
    before = Company.objects.count()
    report = import_cables()
    mea = cable("meridian-east-africa")
    owners = set(mea.company_roles.filter(role="owner").values_list("company__slug", flat=True))
    # "China Unicom" is an alias of the reference organisation; stray commas and spaces go.
    assert owners == {"china-unicom", "pccw-global"}
    # "China Telecom" and "china telecom" are one owner.
    pearl = cable("west-africa-pearl")
    assert pearl.company_roles.filter(company__slug="china-telecom").count() == 1
    created = Company.objects.count() - before
    assert len(report.as_dict()["unresolved"]["companies"]) == created
    assert "MTN GlobalConnect" in report.as_dict()["unresolved"]["companies"]
    assert Company.objects.get(name="MTN GlobalConnect").slug == "mtn-globalconnect"
    assert "China Unicom" not in report.as_dict()["unresolved"]["companies"]


def test_landing_point_countries_resolve_through_aliases_and_the_rest_are_reported():
    report = import_cables()
    mea = cable("meridian-east-africa")
    countries = set(mea.country_roles.values_list("country__iso2", "role"))
    assert ("CD", "landing_point") in countries  # "Congo, Dem. Rep."
    assert ("KE", "landing_point") in countries
    assert ("MM", "landing_point") in set(
        cable("andaman-gateway").country_roles.values_list("country__iso2", "role")
    )  # "Burma"
    pearl = cable("west-africa-pearl")
    assert ("CG", "landing_point") in set(pearl.country_roles.values_list("country__iso2", "role"))
    unresolved = report.as_dict()["unresolved"]["countries"]
    assert unresolved == ["Netherlands Antilles"]
    # The landing point itself stays, with the country as written.
    caribbean = cable("caribbean-link-1")
    antilles = [p for p in caribbean.landing_points if p["country_name"] == "Netherlands Antilles"]
    assert antilles and antilles[0]["country"] is None


def test_landing_points_keep_coordinates_and_the_undecided_ones():
    import_cables()
    mea = cable("meridian-east-africa")
    muanda = next(p for p in mea.landing_points if p["name"] == "Muanda")
    assert (muanda["country"], muanda["latitude"], muanda["longitude"]) == ("CD", -5.93, 12.35)
    pearl = cable("west-africa-pearl")
    undecided = [p for p in pearl.landing_points if p["tbd"]]
    assert len(undecided) == 1 and undecided[0]["country"] == "GH"
    assert undecided[0]["latitude"] is None
    assert mea.geometry["type"] == "MultiLineString"


def test_unknown_lengths_and_dates_leave_what_editors_entered():
    import_cables()
    silk = cable("silk-harbour")
    assert silk.length_km is None and silk.completed is None
    silk.length_km, silk.status = 820, Status.UNDER_CONSTRUCTION
    silk.save()
    report = import_cables()
    silk.refresh_from_db()
    assert (silk.length_km, silk.status) == (820, Status.UNDER_CONSTRUCTION)
    assert report.created == 0 and report.updated == 0


def test_the_cable_map_is_cited_as_the_source():
    import_cables()
    mea = cable("meridian-east-africa")
    urls = set(mea.citations.values_list("document__url", flat=True))
    assert "https://www.submarinecablemap.com/submarine-cable/meridian-east-africa" in urls
    assert SourceDocument.objects.filter(url__in=urls, file="").count() == len(urls)


def test_importing_the_same_folder_twice_creates_nothing_the_second_time():
    first = import_cables()
    counts = (Project.objects.count(), Company.objects.count(), SourceDocument.objects.count())
    events = pghistory.models.Events.objects.count()
    second = import_cables()
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert counts == (
        Project.objects.count(),
        Company.objects.count(),
        SourceDocument.objects.count(),
    )
    assert pghistory.models.Events.objects.count() == events, "no history for no change"


def test_an_edited_file_updates_only_what_changed_and_history_records_it(tmp_path):
    import_cables()
    folder = tmp_path / "cables"
    folder.mkdir()
    for path in CABLES.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    edited = json.loads((folder / "gulf-loop.json").read_text())
    edited["length"] = "2,450 km"
    (folder / "gulf-loop.json").write_text(json.dumps(edited))
    report = import_cables(folder)
    assert (report.created, report.updated) == (0, 1)
    gulf = cable("gulf-loop")
    assert gulf.length_km == 2450
    event = gulf.events.order_by("-pgh_id").first()
    assert event.pgh_label == "update"
    assert event.pgh_context.metadata["service"] == "dataset_import"


def test_an_editors_own_roles_survive_a_new_import():
    import_cables()
    mea = cable("meridian-east-africa")
    ProjectCompany.objects.create(
        project=mea, company=Company.objects.get(slug="huawei"), role="contractor"
    )
    ProjectCountry.objects.create(
        project=mea, country=Country.objects.get(iso2="ET"), role="transit"
    )
    report = import_cables()
    assert report.rejected == [
        {"row": "broken.json", "reason": report.rejected[0]["reason"]},
        {"row": "missing-name.json", "reason": "missing the cable's name"},
    ]
    assert mea.company_roles.filter(company__slug="huawei", role="contractor").exists()
    assert mea.country_roles.filter(country__iso2="ET", role="transit").exists()
    assert report.unchanged == 7


def test_a_dry_run_reports_the_same_numbers_and_writes_nothing():
    counts = (Project.objects.count(), Company.objects.count(), SourceDocument.objects.count())
    dry = import_cables(dry_run=True).as_dict()
    assert counts == (
        Project.objects.count(),
        Company.objects.count(),
        SourceDocument.objects.count(),
    )
    real = import_cables().as_dict()
    assert {**dry, "dry_run": False} == real


def test_an_atomic_import_with_a_bad_cable_writes_nothing():
    report = import_cables(atomic=True)
    assert report.rejected and not report.written
    assert not Project.objects.filter(external_ids__has_key="telegeography").exists()


def test_a_zip_of_the_folder_imports_the_same(tmp_path):
    archive = tmp_path / "cables.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in CABLES.iterdir():
            zipped.write(path, f"cable/{path.name}")
    assert import_cables(archive).created == 7


def test_the_command_prints_the_report_as_json():
    status, output = run("import_dataset", str(CABLES), "--format", "telegeography", "--json")
    assert status == 1, "rows were rejected"
    report = json.loads(output)
    assert set(report) >= {
        "format",
        "dry_run",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "unresolved",
    }
    assert report["created"] == 7
    assert {"row": "broken.json", "reason": report["rejected"][0]["reason"]} in report["rejected"]
    assert report["rejected"][0]["reason"].startswith("not valid JSON")
    assert report["unresolved"]["countries"] == ["Netherlands Antilles"]


def test_the_command_refuses_an_unreadable_source_with_its_reason(tmp_path):
    status, output = run(
        "import_dataset", str(tmp_path / "nothing-here"), "--format", "telegeography"
    )
    assert status == 2
    assert output == f"{tmp_path / 'nothing-here'} does not exist."


def test_a_namesake_with_another_cables_id_is_not_overwritten():
    namesake = Project.objects.create(
        name="Gulf Loop Cable System",
        slug="gulf-loop-cable-system",
        project_type=ProjectType.objects.get(slug="submarine-cable"),
        external_ids={"telegeography": "another-gulf-loop"},
    )
    import_cables()
    namesake.refresh_from_db()
    assert namesake.external_ids == {"telegeography": "another-gulf-loop"}
    assert cable("gulf-loop").slug == "gulf-loop-cable-system-2"
