import pytest
from django.core.exceptions import ValidationError

from projects.models import Citation, Project, SourceDocument
from projects.services.demo import demo_load
from projects.services.reference import read_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    demo_load()


def test_the_demo_holds_real_sourced_projects(demo):
    projects = Project.objects.all()
    assert projects.count() >= 12
    assert not projects.exclude(publication="published").exists()
    for project in projects.prefetch_related("country_roles", "company_roles", "citations"):
        assert project.description, project.slug
        assert project.country_roles.exists(), project.slug
        assert project.company_roles.exists(), project.slug
        assert project.citations.exists(), project.slug
    assert not SourceDocument.objects.filter(url="").exists()
    assert not SourceDocument.objects.exclude(status="metadata_only").exists()


def test_the_pakistan_china_fiber_link_is_described_with_its_facts(demo):
    project = Project.objects.get(slug="pakistan-china-fiber-optic-project")
    assert project.project_type.slug == "fiber-link"
    assert project.length_km == 820
    assert str(project.completed) == "2018-07-13"
    roles = set(project.company_roles.values_list("company__slug", "role"))
    assert {("huawei", "contractor"), ("china-exim-bank", "financier")} <= roles
    assert project.initiatives.filter(slug="china-pakistan-economic-corridor").exists()


def test_every_citation_quotes_its_source(demo):
    assert not Citation.objects.filter(quote="").exists()


def test_loading_the_demo_twice_changes_nothing(demo):
    counts = [Project.objects.count(), SourceDocument.objects.count(), Citation.objects.count()]
    events = Project.pgh_event_model.objects.count()
    outcomes = demo_load()
    for name in ["projects", "documents", "citations", "organisations"]:
        assert outcomes[name]["created"] == outcomes[name]["updated"] == 0, name
    assert counts == [
        Project.objects.count(),
        SourceDocument.objects.count(),
        Citation.objects.count(),
    ]
    assert Project.pgh_event_model.objects.count() == events


def test_a_bad_record_names_the_project_and_the_field_and_writes_nothing():
    data = read_reference("demo.json")
    data["projects"][-1]["completed"] = "2018-13"
    data["projects"][0]["name"] = "Renamed, then rolled back"
    with pytest.raises(ValidationError, match=r"demo project .*completed.*not a valid date"):
        demo_load(data, update=True)
    assert not Project.objects.filter(name="Renamed, then rolled back").exists()


def test_a_second_load_keeps_what_editors_changed_and_update_resets_it(demo):
    project = Project.objects.get(slug=read_reference("demo.json")["projects"][0]["slug"])
    Project.objects.filter(pk=project.pk).update(name="Renamed by an editor", publication="draft")
    outcomes = demo_load()
    assert outcomes["projects"]["kept"] == len(read_reference("demo.json")["projects"])
    project.refresh_from_db()
    assert (project.name, project.publication) == ("Renamed by an editor", "draft")
    demo_load(update=True)
    project.refresh_from_db()
    assert project.publication == "published"
    assert project.name != "Renamed by an editor"


def test_a_demo_project_merged_into_another_is_not_created_again(demo):
    from projects.services.merge import projects_merge

    records = read_reference("demo.json")["projects"]
    survivor = Project.objects.get(slug=records[0]["slug"])
    duplicate = Project.objects.get(slug=records[1]["slug"])
    projects_merge(survivor=survivor, duplicates=[duplicate])
    demo_load()
    demo_load(update=True)
    assert not Project.objects.filter(slug=records[1]["slug"]).exists()
