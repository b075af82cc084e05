"""Every change to a curated entry is in its history, with who made it — from the admin, the
API, an import or a bulk operation — and the admin's history page shows it with a readable
diff. Reverting puts a project back as it was, its countries and organisations included; the
revert is a change like any other, recorded and undone the same way."""

import re

import pghistory
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from projects.models import (
    Company,
    Country,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectType,
    Publication,
    SourceDocument,
)
from projects.services.imports import document_import, document_process
from projects.services.merge import companies_merge
from projects.services.projects import projects_set_publication

from .conftest import USERNAMES, admin_url, change_form, messages_of, revert_url, run_action

NOTES = b"China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan.\n"


def events(obj):
    return obj.pgh_event_model.objects.filter(pgh_obj_id=obj.pk).select_related("pgh_context")


def last_event(obj):
    return events(obj).latest("pgh_id")


def context_of(event) -> dict:
    return event.pgh_context.metadata if event.pgh_context else {}


def history_page(client, obj):
    response = client.get(admin_url(type(obj), "history", obj.pk))
    assert response.status_code == 200
    return response


def change_for(response, event):
    """The history page's row for `event`."""
    return next(c for c in response.context["changes"] if c.event_id == event.pgh_id)


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def project(make_project):
    return make_project(name="History link", slug="history-link")


# Recorded, with the user -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_edit_is_recorded_with_its_author_and_shown_as_a_diff(client_as, project):
    client = client_as("editor")
    data = change_form(client, Project, project)
    data.update(name="History link, renamed", status="planned")

    assert client.post(admin_url(Project, "change", project.pk), data).status_code == 302

    event = last_event(project)
    assert event.pgh_label == "update"
    assert context_of(event)["user"] == get_user_model().objects.get(username="ed").pk
    assert context_of(event)["url"] == admin_url(Project, "change", project.pk)
    page = history_page(client, project)
    change = change_for(page, event)
    assert change.user == USERNAMES["editor"]
    assert change.diff["name"] == ["History link", "History link, renamed"]
    assert change.diff["status"] == ["unknown", "planned"]
    assert "name : History link → History link, renamed" in page_text(page)
    assert "status : unknown → planned" in page_text(page)


@pytest.mark.django_db
def test_an_api_write_is_recorded_with_its_author(client_as, editor, project):
    api = APIClient(HTTP_ACCEPT="application/json")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")

    response = api.patch(
        f"/api/v1/projects/{project.slug}/",
        {"description": "Written through the API.", "countries": [{"iso2": "KE", "role": "host"}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    event = last_event(project)
    assert context_of(event)["user"] == editor.pk
    assert event.description == "Written through the API."
    country_event = ProjectCountry.pgh_event_model.objects.get(project_id=project.pk)
    assert context_of(country_event)["user"] == editor.pk
    page = history_page(client_as("reviewer"), project)
    assert change_for(page, event).user == USERNAMES["editor"]
    assert change_for(page, country_event).user == USERNAMES["editor"]
    assert change_for(page, event).diff["description"] == ["", "Written through the API."]


@pytest.mark.django_db
def test_an_import_is_recorded_with_its_author(client_as, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    document = document_import(data=NOTES, filename="notes.txt", user=editor, enqueue=False)
    document_process(document.document.pk)

    document = SourceDocument.objects.get(pk=document.document.pk)
    inserted = events(document).get(pgh_label="insert")
    assert context_of(inserted) == {"service": "import", "user": editor.pk}
    page = history_page(client_as("editor"), document)
    shown = change_for(page, inserted)
    assert (shown.user, shown.context) == (USERNAMES["editor"], {"service": "import"})
    assert shown.data["original_filename"] == "notes.txt"


@pytest.mark.django_db
def test_an_import_through_the_admin_is_recorded_with_its_author(client_as, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = {
        "file": SimpleUploadedFile("notes.txt", NOTES, content_type="text/plain"),
        "title": "Admin notes",
    }

    response = client_as("editor").post(admin_url(SourceDocument, "import"), upload)

    assert response.status_code == 302
    document = SourceDocument.objects.get(title="Admin notes")
    context = context_of(events(document).get(pgh_label="insert"))
    assert (context["service"], context["user"]) == ("import", document.uploaded_by_id)


@pytest.mark.django_db
def test_a_bulk_admin_action_records_every_project_with_its_author(
    client_as, reviewer, make_project
):
    chosen = [make_project(name=f"Bulk {i}", slug=f"bulk-{i}") for i in range(3)]
    client = client_as("reviewer")

    response = run_action(client, Project, "publish", chosen)

    assert response.status_code == 302
    assert "3 project(s) published." in messages_of(client.get(response.url))
    for project in chosen:
        event = last_event(project)
        assert (event.pgh_label, event.publication) == ("update", Publication.PUBLISHED)
        assert context_of(event)["user"] == reviewer.pk
        shown = change_for(history_page(client, project), event)
        assert shown.user == USERNAMES["reviewer"]
        assert shown.diff["publication"] == [Publication.DRAFT, Publication.PUBLISHED]


@pytest.mark.django_db
def test_a_bulk_service_records_every_project_with_its_author(client_as, editor, make_project):
    chosen = [make_project(name=f"Bulk {i}", slug=f"bulk-{i}") for i in range(3)]

    with pghistory.context(user=editor.pk, service="review_batch"):
        changed = projects_set_publication(
            projects=Project.objects.filter(slug__startswith="bulk-"),
            publication=Publication.IN_REVIEW,
        )

    assert changed == 3
    client = client_as("editor")
    for project in chosen:
        event = last_event(project)
        assert event.publication == Publication.IN_REVIEW
        shown = change_for(history_page(client, project), event)
        assert (shown.user, shown.context) == (USERNAMES["editor"], {"service": "review_batch"})
        assert shown.diff["publication"] == [Publication.DRAFT, Publication.IN_REVIEW]


@pytest.mark.django_db
def test_the_history_lists_the_changes_of_the_projects_parts(client_as, project):
    with pghistory.context(user=get_user_model().objects.create_user("scripted").pk):
        ProjectCountry.objects.create(
            project=project, country=Country.objects.get(iso2="NP"), role="host"
        )

    page = history_page(client_as("editor"), project)

    parts = [c for c in page.context["changes"] if c.model == "projects.ProjectCountry"]
    assert [(c.label, c.user, c.revertible) for c in parts] == [("insert", "scripted", False)]
    assert parts[0].data["role"] == "host"


# Revert --------------------------------------------------------------------------------------


def roles_of(project) -> tuple[set, set]:
    countries = ProjectCountry.objects.filter(project=project).values_list("country__iso2", "role")
    companies = ProjectCompany.objects.filter(project=project).values_list("company__slug", "role")
    return set(countries), set(companies)


def inline_row(data: dict, prefix: str, pk_field: str, pk: int) -> int:
    """The index of the inline form that edits the row for `pk` (its country or company)."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    return next(i for i in range(total) if data.get(f"{prefix}-{i}-{pk_field}") == str(pk))


def test_revert_restores_a_project_with_its_countries_and_organisations_and_is_undone(
    committed_db, client_as
):
    # Each request commits on its own, as in real use: versions are ordered by time.
    client = client_as("editor")
    kenya, djibouti, nepal = (Country.objects.get(iso2=c) for c in ("KE", "DJ", "NP"))
    huawei, zte = (Company.objects.get(slug=s) for s in ("huawei", "zte"))
    data = change_form(client, Project)
    data.update(
        {
            "name": "Revert cable",
            "slug": "revert-cable",
            "project_type": str(ProjectType.objects.get(slug="submarine-cable").pk),
            "country_roles-TOTAL_FORMS": "2",
            "country_roles-0-country": str(kenya.pk),
            "country_roles-0-role": "landing_point",
            "country_roles-1-country": str(djibouti.pk),
            "country_roles-1-role": "landing_point",
            "company_roles-0-company": str(huawei.pk),
            "company_roles-0-role": "contractor",
        }
    )
    assert client.post(admin_url(Project, "add"), data).status_code == 302
    project = Project.objects.get(slug="revert-cable")
    original = roles_of(project)
    assert original == (
        {("KE", "landing_point"), ("DJ", "landing_point")},
        {("huawei", "contractor")},
    )
    first_version = last_event(project)

    # Through the inlines: Djibouti goes, Kenya becomes a host, Nepal and ZTE come, Huawei goes.
    data = change_form(client, Project, project)
    row = inline_row(data, "country_roles", "country", djibouti.pk)
    data[f"country_roles-{row}-DELETE"] = "on"
    row = inline_row(data, "country_roles", "country", kenya.pk)
    data[f"country_roles-{row}-role"] = "host"
    extra = int(data["country_roles-TOTAL_FORMS"]) - 1
    data.update(
        {f"country_roles-{extra}-country": str(nepal.pk), f"country_roles-{extra}-role": "host"}
    )
    row = inline_row(data, "company_roles", "company", huawei.pk)
    data[f"company_roles-{row}-DELETE"] = "on"
    extra = int(data["company_roles-TOTAL_FORMS"]) - 1
    data.update(
        {f"company_roles-{extra}-company": str(zte.pk), f"company_roles-{extra}-role": "supplier"}
    )
    data["name"] = "Revert cable, edited"
    assert client.post(admin_url(Project, "change", project.pk), data).status_code == 302
    edited = roles_of(project)
    assert edited == ({("KE", "host"), ("NP", "host")}, {("zte", "supplier")})
    second_version = last_event(project)

    response = client.post(revert_url(project, first_version.pgh_id))

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Revert cable"
    assert roles_of(project) == original
    page = client.get(response.url)
    assert any("is back to the version" in m for m in messages_of(page))
    revert = change_for(page, last_event(project))
    assert revert.user == USERNAMES["editor"]
    assert revert.context == {"service": "revert", "reverted_to": first_version.pgh_id}
    assert revert.diff["name"] == ["Revert cable, edited", "Revert cable"]
    assert revert.revertible
    restored = [c for c in page.context["changes"] if c.context.get("reverted_to")]
    parts = {(c.model, c.label) for c in restored if c.model != "projects.Project"}
    assert parts == {
        ("projects.ProjectCountry", "insert"),
        ("projects.ProjectCountry", "delete"),
        ("projects.ProjectCompany", "insert"),
        ("projects.ProjectCompany", "delete"),
    }
    assert {c.user for c in restored} == {USERNAMES["editor"]}

    # The revert is undone like any change: back to the edited version.
    assert client.post(revert_url(project, second_version.pgh_id)).status_code == 302

    project.refresh_from_db()
    assert project.name == "Revert cable, edited"
    assert roles_of(project) == edited
    assert context_of(last_event(project))["reverted_to"] == second_version.pgh_id


@pytest.mark.django_db
def test_a_version_of_another_entry_is_not_reverted_to(client_as, project, make_project):
    other = make_project(name="Other", slug="other")
    client = client_as("editor")

    response = client.post(revert_url(project, last_event(other).pgh_id))

    assert response.status_code == 302
    assert "does not belong to this entry" in " ".join(messages_of(client.get(response.url)))
    project.refresh_from_db()
    assert project.name == "History link"


def test_a_version_naming_a_company_merged_away_since_is_refused_with_a_message(
    committed_db, client_as, make_project
):
    kept = Company.objects.create(name="Kept Co", slug="kept-co")
    duplicate = Company.objects.create(name="Duplicate Co", slug="duplicate-co")
    project = make_project(name="Merged link", slug="merged-link")
    ProjectCompany.objects.create(project=project, company=duplicate, role="contractor")
    project.save()  # the version that names the duplicate
    version = last_event(project)
    companies_merge(survivor=kept, duplicates=[duplicate])
    client = client_as("editor")

    response = client.post(revert_url(project, version.pgh_id))

    assert response.status_code == 302
    said = " ".join(messages_of(client.get(response.url)))
    assert f"company #{duplicate.pk}" in said
    assert roles_of(project)[1] == {("kept-co", "contractor")}


@pytest.mark.django_db
def test_a_document_whose_history_leaves_out_its_text_offers_no_revert(client_as):
    document = SourceDocument.objects.create(title="First title", url="https://example.org/d")
    version = last_event(document)
    SourceDocument.objects.filter(pk=document.pk).update(title="Second title")
    client = client_as("editor")

    page = history_page(client, document)
    response = client.post(revert_url(document, version.pgh_id))

    assert not any(change.revertible for change in page.context["changes"])
    assert "Revert to this version" not in page.content.decode()
    assert response.status_code == 302
    assert "leaves out some of its fields" in " ".join(messages_of(client.get(response.url)))
    document.refresh_from_db()
    assert document.title == "Second title"
