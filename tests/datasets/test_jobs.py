"""Dataset imports from the API and the admin: a job row with state, progress and report;
small files imported during the request, large ones queued for the datasets queue; only
those who may write projects import."""

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from projects.models import Company, DatasetImport, ImportState, Project
from projects.roles import EDITOR
from projects.tasks import import_dataset

from .test_telegeography import CABLES

pytestmark = pytest.mark.django_db

CSV = b"name,type,status,countries\nA new link,fiber-link,planned,KE:host\nBad,nothing,planned,\n"


@pytest.fixture
def editor():
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("importer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITOR))
    return user


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT="application/json")
    if user is not None:
        client.force_authenticate(user)
    return client


def upload(client, content=CSV, name="projects.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content), "format": "csv", **fields}
    return client.post("/api/v1/imports/", data, format="multipart")


def test_an_editor_imports_a_small_file_at_once_and_reads_the_report(editor):
    response = upload(client_for(editor))
    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["state"], job["progress"], job["created_by"]) == ("done", 100, "importer")
    assert job["report"]["created"] == 1
    assert job["report"]["rejected"] == [
        {"row": 3, "reason": "type: unknown project type 'nothing'"}
    ]
    project = Project.objects.get(name="A new link")
    assert project.publication == "draft"
    # History says who imported it.
    event = project.events.get()
    assert event.pgh_context.metadata["user"] == editor.pk
    assert client_for(editor).get(job["url"]).json()["report"] == job["report"]


def test_an_editor_may_not_publish_through_an_import(editor):
    content = b"name,type,publication\nSneaky,fiber-link,published\n"
    job = upload(client_for(editor), content).json()
    assert job["report"]["rejected"][0]["reason"].startswith("publication: only reviewers")
    assert not Project.objects.filter(name="Sneaky").exists()


def test_a_dry_run_through_the_api_writes_nothing(editor):
    count = Project.objects.count()
    job = upload(client_for(editor), dry_run="true").json()
    assert (job["report"]["dry_run"], job["report"]["created"]) == (True, 1)
    assert Project.objects.count() == count


def test_a_large_file_is_queued_for_a_worker(editor, settings, django_capture_on_commit_callbacks):
    settings.DATASET_INLINE_BYTES = 10
    # The message is sent when the job row commits; this test's transaction never does, so
    # it only checks that the sending is arranged (tests/deploy runs a real worker).
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client_for(editor))
    assert response.status_code == 202
    assert len(callbacks) == 1
    job = DatasetImport.objects.get(pk=response.json()["id"])
    assert job.state == ImportState.QUEUED and job.report == {}
    # What the worker runs (the real worker is exercised in tests/deploy).
    assert import_dataset.apply(args=[job.pk]).get() == "done"
    job.refresh_from_db()
    assert job.report["created"] == 1
    # Delivered twice, it is not imported twice.
    assert import_dataset.apply(args=[job.pk]).get() == "done"


def test_a_zipped_telegeography_folder_goes_through_the_api(editor):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in CABLES.iterdir():
            zipped.write(path, path.name)
    response = upload(
        client_for(editor), archive.getvalue(), name="cables.zip", format="telegeography"
    )
    assert response.status_code == 201
    assert response.json()["report"]["created"] == 7


def test_a_file_that_is_not_its_format_fails_the_job_with_the_reason(editor):
    job = upload(client_for(editor), b"\x00\x01 not json", name="x.json", format="json").json()
    assert job["state"] == "failed"
    assert job["error"].startswith("The file is not valid JSON")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"format": "excel"}, "format"), ({"dry_run": "perhaps"}, "dry_run")],
)
def test_bad_fields_are_400_naming_the_field(editor, fields, field):
    response = upload(client_for(editor), **fields)
    assert response.status_code == 400
    assert field in response.json()


def test_an_empty_or_too_large_file_is_400_naming_the_file(editor, settings):
    assert "file" in upload(client_for(editor), b"").json()
    settings.DATASET_MAX_UPLOAD_BYTES = 10
    response = upload(client_for(editor))
    assert response.status_code == 400
    assert "DSR_DATASET_MAX_UPLOAD_BYTES" in str(response.json()["file"])


def test_only_those_who_write_projects_import_or_see_imports(editor):
    anonymous = upload(client_for(None))
    assert anonymous.status_code in (401, 403)
    reader = get_user_model().objects.create_user("reader", password="x")
    assert upload(client_for(reader)).status_code == 403
    assert client_for(reader).get("/api/v1/imports/").status_code == 403
    assert client_for(editor).get("/api/v1/imports/").status_code == 200


def test_the_admin_uploads_a_dataset_and_shows_its_report(editor, client):
    client.force_login(editor)
    response = client.post(
        "/admin/projects/datasetimport/add/",
        {"file": SimpleUploadedFile("p.csv", CSV), "format": "csv", "entity": "projects"},
        follow=True,
    )
    assert response.status_code == 200
    job = DatasetImport.objects.get()
    assert job.state == ImportState.DONE
    page = response.content.decode()
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in page
    assert "unknown project type" in page
    assert client.get(f"/admin/projects/datasetimport/{job.pk}/change/").status_code == 200


def test_the_admin_refuses_a_too_large_file_in_the_form(editor, client, settings):
    settings.DATASET_MAX_UPLOAD_BYTES = 10
    client.force_login(editor)
    response = client.post(
        "/admin/projects/datasetimport/add/",
        {"file": SimpleUploadedFile("p.csv", CSV), "format": "csv"},
    )
    assert response.status_code == 200
    assert "DSR_DATASET_MAX_UPLOAD_BYTES" in response.content.decode()
    assert not DatasetImport.objects.exists()


def test_an_organisations_list_is_imported_through_the_api(editor):
    content = b"slug,name,kind,headquarters\nzz-telecom,ZZ Telecom,firm,KE\n"
    response = upload(client_for(editor), content, entity="organisations")
    assert response.status_code == 201, response.json()
    assert (response.json()["entity"], response.json()["report"]["created"]) == (
        "organisations",
        1,
    )
    assert Company.objects.get(slug="zz-telecom").headquarters.iso2 == "KE"


def test_organisations_come_from_csv_or_json_only(editor):
    response = upload(client_for(editor), entity="organisations", format="geojson")
    assert response.status_code == 400
    assert "format" in response.json()


def test_the_list_filters_by_file_format_as_format_chooses_the_rendering(editor):
    upload(client_for(editor))
    upload(client_for(editor), b'{"projects": []}', name="p.json", format="json")
    client = client_for(editor)

    def formats(query: str) -> list[str]:
        response = client.get(f"/api/v1/imports/?{query}")
        assert response.status_code == 200, response.content
        return sorted(job["format"] for job in response.json()["results"])

    assert formats("file_format=csv") == ["csv"]
    assert formats("file_format=csv,json&state=done") == ["csv", "json"]
    assert formats("format=json") == ["csv", "json"], "the rendering, not a filter"
    refused = client.get("/api/v1/imports/?file_format=xml")
    assert refused.status_code == 400 and "file_format" in refused.json()


@pytest.fixture
def project_importer():
    """May import projects (and see imports), but not add or change organisations."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("projects-only", password="x", is_staff=True)
    codenames = ["add_datasetimport", "view_datasetimport", "add_project", "change_project"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


ORGANISATIONS_CSV = b"slug,name,kind\nzz-telecom,ZZ Telecom,firm\n"


def test_importing_organisations_takes_the_right_to_write_them_in_the_api(project_importer):
    client = client_for(project_importer)
    refused = upload(client, ORGANISATIONS_CSV, entity="organisations")
    assert refused.status_code == 403
    assert "projects.add_company and projects.change_company" in refused.json()["detail"]
    assert not DatasetImport.objects.exists() and not Company.objects.filter(slug="zz-telecom")
    assert upload(client).status_code == 201, "projects it may import"


def test_importing_organisations_takes_the_right_to_write_them_in_the_admin(project_importer):
    from django.test import Client

    client = Client()
    client.force_login(project_importer)
    form = {"format": "csv", "entity": "organisations", "dry_run": "", "atomic": ""}
    response = client.post(
        "/admin/projects/datasetimport/add/",
        {**form, "file": SimpleUploadedFile("o.csv", ORGANISATIONS_CSV)},
    )
    assert response.status_code == 200
    assert "it takes the permissions projects.add_company" in response.content.decode()
    assert not DatasetImport.objects.exists() and not Company.objects.filter(slug="zz-telecom")


def test_the_admin_offers_imports_only_to_those_who_may_write_projects(db):
    from django.contrib.auth.models import Permission
    from django.test import Client

    user = get_user_model().objects.create_user("jobs-only", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["add_datasetimport", "view_datasetimport"])
    )
    client = Client()
    client.force_login(user)
    assert client.get("/admin/projects/datasetimport/add/").status_code == 403
    response = client.post(
        "/admin/projects/datasetimport/add/",
        {"format": "csv", "entity": "projects", "file": SimpleUploadedFile("p.csv", CSV)},
    )
    assert response.status_code == 403
    assert not DatasetImport.objects.exists()
