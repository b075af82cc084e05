"""Every write to curated models is recorded, with who and through what, before and after."""

import pghistory
import pytest
from django.contrib.auth import get_user_model
from pghistory.models import Events

from projects.models import Company, Project, ProjectCountry
from projects.services.projects import project_upsert, projects_set_publication

pytestmark = pytest.mark.django_db

RECORD = {
    "slug": "test-cable",
    "name": "Test cable",
    "description": "A cable for tests.",
    "type": "submarine-cable",
    "status": "planned",
    "countries": [{"iso2": "KE", "role": "landing_point"}, {"iso2": "DJ", "role": "landing_point"}],
    "companies": [{"slug": "hmn-technologies", "role": "contractor"}],
    "initiatives": ["digital-silk-road"],
    "completed": "2022",
}


@pytest.fixture
def editor():
    return get_user_model().objects.create_user("editor", password="x")


def events_for(obj):
    return obj.pgh_event_model.objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id")


def test_a_service_write_records_the_snapshot_and_who_made_it(editor):
    with pghistory.context(user=editor.pk, service="test"):
        project, outcome = project_upsert(record=RECORD)
        project, outcome = project_upsert(record={**RECORD, "status": "operational"})
    assert outcome == "updated"
    labels_and_status = [(e.pgh_label, e.status) for e in events_for(project)]
    assert labels_and_status == [("insert", "planned"), ("update", "operational")]
    update = events_for(project).last()
    assert update.pgh_context.metadata == {"user": editor.pk, "service": "test"}
    roles = ProjectCountry.pgh_event_model.objects.filter(project_id=project.pk)
    assert roles.filter(pgh_label="insert").count() == 2


def test_the_diff_between_versions_shows_before_and_after(committed_db):
    # Each write in its own transaction, as in real use: versions are ordered by commit time.
    project, _ = project_upsert(record=RECORD)
    project_upsert(record={**RECORD, "status": "operational", "name": "Test cable 2"})
    versions = Events.objects.filter(pgh_model="projects.ProjectEvent", pgh_obj_id=project.pk)
    diff = versions.order_by("pgh_created_at").last().pgh_diff
    assert diff["status"] == ["planned", "operational"]
    assert diff["name"] == ["Test cable", "Test cable 2"]


def test_a_write_that_changes_nothing_records_nothing():
    project, _ = project_upsert(record=RECORD)
    before = events_for(project).count()
    _, outcome = project_upsert(record=RECORD)
    assert outcome == "unchanged"
    assert events_for(project).count() == before


def test_a_bulk_operation_records_every_row_it_changes(editor):
    projects = [project_upsert(record={**RECORD, "slug": f"cable-{i}"})[0] for i in range(3)]
    with pghistory.context(user=editor.pk, service="publish"):
        changed = projects_set_publication(
            projects=Project.objects.filter(slug__startswith="cable-"), publication="published"
        )
    assert changed == 3
    for project in projects:
        last = events_for(project).last()
        assert (last.pgh_label, last.publication) == ("update", "published")
        assert last.pgh_context.metadata["service"] == "publish"


def test_bulk_deletes_are_recorded_too():
    company = Company.objects.create(name="Short-lived", slug="short-lived")
    Company.objects.filter(slug="short-lived").delete()
    assert [e.pgh_label for e in events_for(company)] == ["insert", "delete"]


def test_an_earlier_version_can_be_restored():
    project, _ = project_upsert(record=RECORD)
    project_upsert(record={**RECORD, "status": "cancelled"})
    events_for(project).first().revert()
    project.refresh_from_db()
    assert project.status == "planned"
