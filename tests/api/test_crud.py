"""Every model's endpoints list, retrieve, create, update and delete with the right
permissions: anonymous clients read, authenticated users without the permission are refused,
editors holding it write. Written once (ModelAPITests) and applied to every model."""

import pytest
from django.urls import reverse

from projects.models import (
    Citation,
    Company,
    Country,
    Initiative,
    Project,
    ProjectType,
    SourceDocument,
)

from .conftest import token_client

pytestmark = pytest.mark.django_db


class ModelAPITests:
    """Subclasses set the model, the route's basename and lookup, and valid data."""

    model = None
    basename = ""
    lookup_field = "slug"
    create_data: dict = {}
    update_data: dict = {}

    def make_object(self):
        raise NotImplementedError

    def lookup(self, obj) -> str:
        return getattr(obj, self.lookup_field)

    def list_url(self) -> str:
        return reverse(f"api:{self.basename}-list")

    def detail_url(self, obj) -> str:
        return reverse(f"api:{self.basename}-detail", kwargs={self.lookup_field: self.lookup(obj)})

    def permission(self, action: str) -> str:
        return f"projects.{action}_{self.model._meta.model_name}"

    @pytest.fixture
    def editor(self, make_user):
        actions = ("add", "change", "delete", "view")
        return token_client(make_user("editor", *(self.permission(a) for a in actions)))

    @pytest.fixture
    def reader(self, make_user):
        return token_client(make_user("reader"))

    def test_anyone_can_list(self, api):
        self.make_object()
        response = api.get(self.list_url())
        assert response.status_code == 200
        assert response.json()["count"] >= 1

    def test_anyone_can_retrieve(self, api):
        obj = self.make_object()
        response = api.get(self.detail_url(obj))
        assert response.status_code == 200
        assert response.json()["id"] == obj.pk

    def test_an_unknown_key_is_404(self, api):
        obj = self.make_object()
        url = self.detail_url(obj).rstrip("/").rsplit("/", 1)[0] + "/zz/"
        assert api.get(url).status_code == 404

    def test_anonymous_clients_cannot_write(self, api):
        obj = self.make_object()
        count = self.model.objects.count()
        assert api.post(self.list_url(), self.create_data, format="json").status_code == 401
        assert api.patch(self.detail_url(obj), self.update_data, format="json").status_code == 401
        assert api.delete(self.detail_url(obj)).status_code == 401
        assert self.model.objects.count() == count

    def test_users_without_the_permission_cannot_write(self, reader):
        obj = self.make_object()
        count = self.model.objects.count()
        assert reader.post(self.list_url(), self.create_data, format="json").status_code == 403
        assert (
            reader.patch(self.detail_url(obj), self.update_data, format="json").status_code == 403
        )
        assert reader.delete(self.detail_url(obj)).status_code == 403
        assert self.model.objects.count() == count

    def test_editors_create(self, editor):
        response = editor.post(self.list_url(), self.create_data, format="json")
        assert response.status_code == 201, response.json()
        created = self.model.objects.get(pk=response.json()["id"])
        assert editor.get(self.detail_url(created)).status_code == 200

    def test_editors_update(self, editor):
        obj = self.make_object()
        response = editor.patch(self.detail_url(obj), self.update_data, format="json")
        assert response.status_code == 200, response.json()
        obj.refresh_from_db()
        for field, value in self.update_data.items():
            assert response.json()[field] == value

    def test_editors_delete(self, editor):
        obj = self.make_object()
        assert editor.delete(self.detail_url(obj)).status_code == 204
        assert not self.model.objects.filter(pk=obj.pk).exists()

    def test_invalid_data_is_a_400_naming_the_field(self, editor):
        field = next(iter(self.create_data))
        response = editor.post(self.list_url(), {**self.create_data, field: None}, format="json")
        assert response.status_code == 400
        assert field in response.json()


class TestCountryAPI(ModelAPITests):
    model = Country
    basename = "country"
    lookup_field = "iso2"
    create_data = {
        "iso2": "XA",
        "iso3": "XAA",
        "numeric": "901",
        "name": "Testland",
        "slug": "testland",
    }
    update_data = {"name": "Testland Two", "region": "Oceania"}

    def lookup(self, obj) -> str:
        return obj.iso2.lower()

    def make_object(self):
        return Country.objects.create(
            iso2="XB", iso3="XBB", numeric="902", name="Otherland", slug="otherland"
        )


class TestCompanyAPI(ModelAPITests):
    model = Company
    basename = "company"
    create_data = {
        "slug": "new-co",
        "name": "New Co",
        "kind": "firm",
        "ownership": "private",
        "headquarters": "KE",
        "parent": "huawei",
    }
    update_data = {"ownership": "listed", "chinese_name": "新公司"}

    def make_object(self):
        return Company.objects.create(slug="old-co", name="Old Co")


class TestProjectTypeAPI(ModelAPITests):
    model = ProjectType
    basename = "projecttype"
    create_data = {"slug": "test-type", "name": "Test type", "keywords": ["test network"]}
    update_data = {"keywords": ["test grid", "test mesh"]}

    def make_object(self):
        return ProjectType.objects.create(slug="old-type", name="Old type")


class TestInitiativeAPI(ModelAPITests):
    model = Initiative
    basename = "initiative"
    create_data = {
        "slug": "test-initiative",
        "name": "Test initiative",
        "launched_year": 2020,
        "parent": "belt-and-road-initiative",
    }
    update_data = {"short_name": "TI"}

    def make_object(self):
        return Initiative.objects.create(slug="old-initiative", name="Old initiative")


class TestProjectAPI(ModelAPITests):
    model = Project
    basename = "project"
    create_data = {
        "slug": "new-link",
        "name": "New link",
        "type": "fiber-link",
        "countries": [{"iso2": "ke", "role": "host"}, {"iso2": "UG", "role": "transit"}],
        "companies": [{"slug": "huawei", "role": "contractor"}],
        "initiative_slugs": ["digital-silk-road"],
        "announced": "2019-04",
        "value_amount": 1000000,
        "value_currency": "USD",
        "value_usd": 1000000,
        "length_km": 120.5,
    }
    update_data = {"status": "operational", "completed": "2021"}

    def make_object(self):
        return Project.objects.create(
            slug="old-link",
            name="Old link",
            publication="published",
            project_type=ProjectType.objects.get(slug="fiber-link"),
        )

    def test_editors_create(self, editor):
        super().test_editors_create(editor)
        project = Project.objects.get(slug="new-link")
        assert project.publication == "draft"
        assert set(project.country_roles.values_list("country__iso2", "role")) == {
            ("KE", "host"),
            ("UG", "transit"),
        }
        assert str(project.announced) == "2019-04"

    def test_relations_are_replaced_only_when_given(self, editor):
        editor.post(self.list_url(), self.create_data, format="json")
        project = Project.objects.get(slug="new-link")
        editor.patch(self.detail_url(project), {"name": "Renamed"}, format="json")
        assert project.company_roles.count() == 1
        body = {"companies": [{"slug": "zte", "role": "supplier"}]}
        response = editor.patch(self.detail_url(project), body, format="json")
        assert [c["slug"] for c in response.json()["companies"]] == ["zte"]

    def test_a_value_without_currency_is_a_400(self, editor):
        body = {**self.create_data, "value_currency": ""}
        response = editor.post(self.list_url(), body, format="json")
        assert response.status_code == 400
        assert "value_currency" in str(response.json()) or "currency" in str(response.json())

    def test_unknown_countries_and_roles_are_named(self, editor):
        body = {
            **self.create_data,
            "countries": [{"iso2": "ZZ", "role": "host"}, {"iso2": "KE", "role": "owner"}],
        }
        errors = editor.post(self.list_url(), body, format="json").json()["countries"]
        assert "iso2" in errors["0"] and "role" in errors["1"]

    def test_only_reviewers_publish(self, editor, make_user):
        obj = Project.objects.create(
            slug="draft-link",
            name="Draft link",
            project_type=ProjectType.objects.get(slug="fiber-link"),
        )
        response = editor.patch(self.detail_url(obj), {"publication": "published"}, format="json")
        assert response.status_code == 400 and "publication" in response.json()
        reviewer = token_client(
            make_user(
                "reviewer",
                "projects.change_project",
                "projects.view_project",
                "projects.publish_project",
            )
        )
        response = reviewer.patch(self.detail_url(obj), {"publication": "published"}, format="json")
        assert response.json()["publication"] == "published"

    def test_drafts_are_hidden_from_anonymous_clients(self, api, editor):
        editor.post(self.list_url(), self.create_data, format="json")
        project = Project.objects.get(slug="new-link")
        assert api.get(self.detail_url(project)).status_code == 404
        assert "new-link" not in [
            p["slug"] for p in api.get(self.list_url(), {"page_size": 500}).json()["results"]
        ]

    def test_api_writes_are_recorded_with_their_author(self, editor):
        editor.post(self.list_url(), self.create_data, format="json")
        project = Project.objects.get(slug="new-link")
        event = project.pgh_event_model.objects.filter(pgh_obj_id=project.pk).last()
        assert event.pgh_context.metadata["user"] == project_editor_id()


def project_editor_id() -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="editor").pk


class TestDocumentAPI(ModelAPITests):
    model = SourceDocument
    basename = "sourcedocument"
    lookup_field = "pk"
    create_data = {
        "title": "A report",
        "source_url": "https://example.org/report",
        "kind": "report",
        "language": "en",
        "published": "2020-05",
        "authors": ["A. Author"],
    }
    update_data = {"publisher": "Example Institute", "published": "2020-05-17"}

    def make_object(self):
        return SourceDocument.objects.create(title="Old report", url="https://example.org/old")


class TestCitationAPI(ModelAPITests):
    model = Citation
    basename = "citation"
    lookup_field = "pk"
    update_data = {"quote": "A better passage.", "location": "p. 3"}

    @property
    def create_data(self):
        document = SourceDocument.objects.create(title="New report", url="https://example.org/n")
        return {
            "project": "laosat-1",
            "document": document.pk,
            "claim": "status",
            "quote": "The satellite is in service.",
        }

    def make_object(self):
        document = SourceDocument.objects.create(title="Old report", url="https://example.org/o")
        return Citation.objects.create(
            project=Project.objects.get(slug="laosat-1"), document=document, claim="value"
        )

    def test_a_second_citation_of_the_same_claim_is_a_400(self, editor):
        body = self.create_data
        assert editor.post(self.list_url(), body, format="json").status_code == 201
        response = editor.post(self.list_url(), body, format="json")
        assert response.status_code == 400 and "claim" in response.json()


def test_deleting_a_country_still_in_use_is_refused_with_a_reason(make_user):
    editor = token_client(make_user("editor", "projects.delete_country"))
    response = editor.delete(reverse("api:country-detail", kwargs={"iso2": "pk"}))
    assert response.status_code == 400
    assert "Still in use" in response.json()["detail"]
    assert Country.objects.filter(iso2="PK").exists()


def test_the_root_lists_every_endpoint(api):
    body = api.get("/api/v1/").json()
    assert set(body) == {
        "countries",
        "companies",
        "project-types",
        "initiatives",
        "projects",
        "documents",
        "citations",
        "imports",
        "stats",
        "schema",
        "docs",
    }


@pytest.mark.parametrize(
    ("url", "body", "message"),
    [
        (
            "/api/v1/countries/",
            {"iso2": "xa", "iso3": "XAA", "numeric": "901", "name": "T", "slug": "t"},
            "iso2 is two capital letters.",
        ),
        (
            "/api/v1/countries/",
            {
                "iso2": "XA",
                "iso3": "XAA",
                "numeric": "901",
                "name": "T",
                "slug": "t",
                "latitude": 45,
            },
            "Latitude (-90..90)",
        ),
        ("/api/v1/initiatives/", {"slug": "bad--slug", "name": "Bad"}, "A slug is lowercase"),
        (
            "/api/v1/companies/",
            {"slug": "co", "name": "Co", "external_ids": {"a\x00": "b"}},
            "NUL characters are not allowed.",
        ),
    ],
)
def test_a_broken_invariant_is_a_400_with_its_message(make_user, url, body, message):
    client = token_client(
        make_user(
            "admin-like", "projects.add_country", "projects.add_initiative", "projects.add_company"
        )
    )
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert message in str(response.json())


def test_a_company_cannot_become_its_own_parent_through_the_api(make_user):
    client = token_client(make_user("editor", "projects.change_company"))
    response = client.patch("/api/v1/companies/zte/", {"parent": "zte"}, format="json")
    assert response.status_code == 400
    assert "cannot be its own parent" in str(response.json())
