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
        demo_load(data)
    assert not Project.objects.filter(name="Renamed, then rolled back").exists()
