"""Who may do what, operation by operation: every operation of the API's OpenAPI schema and
every view of every model registered in the admin, for four actors: an anonymous visitor, a
signed-in account holding no permission, an Editor and a Reviewer (projects/roles.py).

What an operation needs is classified here; whether an actor has it is read from the groups'
real permissions (`has_perm`). An operation or admin view that nobody classified fails the
suite, so a new endpoint is covered the day it appears. A refused write answers 401/403 (API)
or 403/the login page (admin) and leaves every table exactly as it was; a permitted write
succeeds and does what it says. A few cells that matter most are also written out by hand
(KEY_API_CELLS, KEY_ADMIN_CELLS), so a change to the roles themselves fails too."""

from __future__ import annotations

import functools
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import F
from django.test import Client, override_settings
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from pghistory.models import Events
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from projects.models import (
    Citation,
    Company,
    Country,
    CountryRole,
    DatasetImport,
    Initiative,
    Mention,
    Project,
    ProjectCountry,
    ProjectType,
    Proposal,
    Publication,
    SourceDocument,
)
from projects.roles import EDITOR, REVIEWER
from projects.services.imports import document_import
from tests.admin.conftest import form_data

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "user", "editor", "reviewer")
GROUPS = {"editor": EDITOR, "reviewer": REVIEWER}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TEXT = b"Huawei signed a contract for a data centre in Kenya. China Mobile links Nepal."


# The actors and the state of the database ---------------------------------------------------


def account(actor: str):
    """The actor's user: None for an anonymous visitor. The account without permissions is
    staff, so that the admin answers it from its permission checks rather than sending it to
    log in as it does anyone who is not staff."""
    if actor == "anonymous":
        return None
    user = get_user_model().objects.create_user(f"matrix-{actor}", password="x", is_staff=True)
    if actor in GROUPS:
        user.groups.add(Group.objects.get(name=GROUPS[actor]))
    Token.objects.create(user=user)
    return get_user_model().objects.get(pk=user.pk)  # no stale permission cache


def has_all(user, permissions) -> bool:
    """Whether `user` holds every one of `permissions`; anyone holds none at all."""
    if not permissions:
        return True
    return user is not None and user.has_perms(permissions)


def row_writes() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this test's transaction, per table, as
    PostgreSQL counts them: every write counts, even one that leaves a row as it was.
    Sessions aside: signing in writes one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE relname <> 'django_session'"
        )
        return dict(cursor.fetchall())


def written_tables(before: dict, after: dict) -> set[str]:
    return {table for table, count in after.items() if count != before.get(table, 0)}


def test_the_write_counter_sees_every_write():
    before = row_writes()
    Country.objects.filter(iso2="KE").update(name="Kenya (edited)")
    Company.objects.filter(slug="huawei").update(name=F("name"))  # the same value again
    written = written_tables(before, row_writes())
    # The rows, and what triggers derive from them (their history, the projects' search rows).
    assert {"projects_country", "projects_countryevent", "projects_company"} <= written
    assert written_tables(before, row_writes()) == written
    after = row_writes()
    Country.objects.filter(iso2="KE").exists()
    assert written_tables(after, row_writes()) == set()


# The API ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    operation_id: str
    method: str
    path: str
    content_type: str | None

    def __str__(self) -> str:
        kind = {None: "", "application/json": "-json", "multipart/form-data": "-multipart"}
        return self.operation_id + kind.get(self.content_type, f"-{self.content_type}")

    @property
    def resource(self) -> str:
        return self.path.removeprefix("/api/v1/").split("/")[0]

    @property
    def action(self) -> str:
        return self.operation_id.removeprefix(self.resource.replace("-", "_") + "_")

    @property
    def writes(self) -> bool:
        return self.method in WRITE_METHODS


@functools.cache
def api_cases() -> tuple[ApiCase, ...]:
    """Every operation of the OpenAPI schema, once per content type its request accepts."""
    # Read while collecting: load the URLconf as the tests run it (pytest-django turns DEBUG
    # off), not with the development default, which would add the media route for everyone.
    with override_settings(DEBUG=False):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    cases = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content_types = list(operation.get("requestBody", {}).get("content", {})) or [None]
            for content_type in content_types:
                cases.append(ApiCase(operation["operationId"], method.upper(), path, content_type))
    return tuple(cases)


# The model whose permissions guard a resource's writes (DRF's DjangoModelPermissions).
RESOURCE_MODELS = {
    "countries": Country,
    "companies": Company,
    "project-types": ProjectType,
    "initiatives": Initiative,
    "projects": Project,
    "documents": SourceDocument,
    "citations": Citation,
    "imports": DatasetImport,
}
MODEL_ACTIONS = {
    "list": None,
    "retrieve": None,
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}
# Importing a dataset writes projects: it takes the right to add and change them as well.
IMPORT_PERMISSIONS = (
    "projects.add_datasetimport",
    "projects.view_datasetimport",
    "projects.add_project",
    "projects.change_project",
)
# Operations that are not a model's plain read or write, with what each needs.
SPECIAL_OPERATIONS = {
    "stats_retrieve": (),
    "documents_mentions_list": (),
    "documents_reprocess_create": ("projects.change_sourcedocument",),
    "documents_fetch_create": ("projects.add_sourcedocument",),
    "imports_list": IMPORT_PERMISSIONS,
    "imports_retrieve": IMPORT_PERMISSIONS,
    "imports_create": IMPORT_PERMISSIONS,
}


class Unclassified(LookupError):
    pass


def api_needs(case: ApiCase) -> tuple[str, ...]:
    """The permissions an operation needs; () for a public read."""
    if case.operation_id in SPECIAL_OPERATIONS:
        return SPECIAL_OPERATIONS[case.operation_id]
    model = RESOURCE_MODELS.get(case.resource)
    if model is None or case.action not in MODEL_ACTIONS:
        raise Unclassified(f"{case}: classify it in RESOURCE_MODELS or SPECIAL_OPERATIONS")
    action = MODEL_ACTIONS[case.action]
    if (action is None) == case.writes:
        raise Unclassified(f"{case}: a {case.method} that is not a {case.action}")
    return () if action is None else (f"projects.{action}_{model._meta.model_name}",)


# Hand-written cells: what the roles are meant to allow, whatever the derivation says.
KEY_API_CELLS = {
    ("projects_create", "editor"): True,
    ("projects_partial_update", "editor"): True,
    ("projects_destroy", "editor"): False,
    ("projects_destroy", "reviewer"): True,
    ("companies_destroy", "editor"): False,
    ("companies_destroy", "reviewer"): True,
    ("documents_destroy", "editor"): False,
    ("citations_destroy", "editor"): True,
    ("countries_create", "editor"): True,
    ("countries_destroy", "reviewer"): False,
    ("project_types_destroy", "reviewer"): False,
    ("initiatives_destroy", "reviewer"): False,
    ("documents_reprocess_create", "editor"): True,
    ("documents_fetch_create", "editor"): True,
    ("imports_create", "editor"): True,
    ("imports_list", "user"): False,
    ("imports_list", "editor"): True,
    ("projects_list", "anonymous"): True,
    ("stats_retrieve", "anonymous"): True,
}


def test_the_schema_lists_every_operation_and_each_is_classified():
    cases = api_cases()
    operation_ids = {case.operation_id for case in cases}
    # Seven resources with list, retrieve, create, update, partial update and delete, the
    # imports, the statistics and the documents' own actions.
    assert len(operation_ids) >= 49, sorted(operation_ids)
    assert {case.resource for case in cases} >= {*RESOURCE_MODELS, "stats"}
    assert {"POST", "PUT", "PATCH", "DELETE", "GET"} <= {case.method for case in cases}
    unclassified = []
    for case in cases:
        try:
            api_needs(case)
        except Unclassified as error:
            unclassified.append(str(error))
    assert not unclassified
    assert {operation for operation, _ in KEY_API_CELLS} <= operation_ids
    assert set(SPECIAL_OPERATIONS) <= operation_ids


class Loopback(BaseHTTPRequestHandler):
    """A public document for /documents/fetch/, served on this machine."""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        body = TEXT + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def loopback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Loopback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def unique() -> str:
    return uuid.uuid4().hex[:10]


def stored_document(title: str = "Matrix report") -> SourceDocument:
    """A document with a file (one can reprocess it), not cited anywhere (one can delete it)."""
    document = document_import(
        data=TEXT + unique().encode(), filename="matrix.txt", enqueue=False
    ).document
    SourceDocument.objects.filter(pk=document.pk).update(title=title)
    document.refresh_from_db()
    return document


def draft_project(slug: str = "matrix-draft") -> Project:
    project = Project.objects.create(
        name=slug.replace("-", " ").capitalize(),
        slug=slug,
        project_type=ProjectType.objects.get(slug="fiber-link"),
        publication=Publication.DRAFT,
    )
    ProjectCountry.objects.create(
        project=project, country=Country.objects.get(iso2="KE"), role=CountryRole.HOST
    )
    return project


def api_target(resource: str):
    """A disposable object of the resource, which no other row points at."""
    if resource == "countries":
        return Country.objects.create(
            iso2="XB", iso3="XBB", numeric="902", name="Matrixland", slug="matrixland"
        )
    if resource == "companies":
        return Company.objects.create(slug="matrix-co", name="Matrix Co")
    if resource == "project-types":
        return ProjectType.objects.create(slug="matrix-type", name="Matrix type")
    if resource == "initiatives":
        return Initiative.objects.create(slug="matrix-initiative", name="Matrix initiative")
    if resource == "projects":
        return draft_project()
    if resource == "documents":
        return stored_document()
    if resource == "citations":
        return Citation.objects.create(
            project=Project.objects.published().get(slug="laosat-1"),
            document=SourceDocument.objects.create(title="Cited", url="https://example.org/c"),
            claim="value",
        )
    if resource == "imports":
        return DatasetImport.objects.create(format="csv", original_filename="old.csv")
    return None


def api_url(case: ApiCase, target) -> str:
    path = case.path
    if "{" in path:
        key = target.iso2.lower() if isinstance(target, Country) else None
        path = path.replace("{iso2}", key or "").replace("{id}", str(target.pk))
        path = path.replace("{slug}", getattr(target, "slug", ""))
    assert "{" not in path, path
    return path


def api_body(case: ApiCase, target, base_url: str) -> dict | None:
    """A valid request for the operation: what succeeds for whoever may do it."""
    new = unique()
    if case.operation_id == "documents_fetch_create":
        return {"url": f"{base_url}/matrix-{new}.txt", "title": "Fetched report"}
    if case.operation_id == "imports_create":
        content = f"name,type,status,countries\nMatrix import {new},fiber-link,planned,KE:host\n"
        return {"file": SimpleUploadedFile("matrix.csv", content.encode()), "format": "csv"}
    if case.operation_id == "documents_create" and case.content_type == "multipart/form-data":
        data = TEXT + new.encode()
        return {"file": SimpleUploadedFile("matrix.txt", data), "title": "Uploaded report"}
    if case.operation_id == "stats_retrieve":
        return {"group_by": "country"}
    if case.method not in ("POST", "PUT", "PATCH") or case.action == "reprocess":
        return None
    if case.method == "PATCH":
        field = "title" if case.resource == "documents" else "name"
        return {"quote": "A better passage."} if case.resource == "citations" else {field: new}
    full = {
        "countries": lambda: {
            "iso2": "XC",
            "iso3": "XCC",
            "numeric": "903",
            "name": f"Newland {new}",
            "slug": "newland",
        },
        "companies": lambda: {"slug": f"matrix-{new}", "name": f"Matrix {new}", "kind": "firm"},
        "project-types": lambda: {"slug": f"type-{new}", "name": f"Type {new}", "keywords": []},
        "initiatives": lambda: {"slug": f"initiative-{new}", "name": f"Initiative {new}"},
        "projects": lambda: {
            "slug": f"matrix-{new}",
            "name": f"Matrix {new}",
            "type": "fiber-link",
            "countries": [{"iso2": "KE", "role": "host"}],
        },
        "documents": lambda: {"title": f"Report {new}", "source_url": "https://example.org/m"},
        "citations": lambda: {
            "project": "laosat-1",
            "document": SourceDocument.objects.create(title="New", url="https://example.org/n").pk,
            "claim": "status",
            "quote": f"In service {new}.",
        },
    }[case.resource]()
    if case.method == "PUT":
        # The same object, every field given anew (its key kept).
        if case.resource == "countries":
            full.update(iso2=target.iso2, iso3=target.iso3, numeric=target.numeric)
        elif "slug" in full:
            full["slug"] = target.slug
    return full


API_SUCCESS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}
API_SPECIAL_SUCCESS = {"documents_reprocess_create": 202}


def api_client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT="application/json")
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def api_allowed(case: ApiCase, actor: str, user) -> bool:
    allowed = has_all(user, api_needs(case))
    if case.writes and actor in ("anonymous", "user"):
        assert not allowed, f"{actor} may write through {case}"
    if (case.operation_id, actor) in KEY_API_CELLS:
        assert allowed == KEY_API_CELLS[case.operation_id, actor], "the roles changed"
    return allowed


@pytest.mark.usefixtures("media")
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", api_cases(), ids=str)
def test_api_operation(case, actor, settings, loopback_server):
    settings.IMPORT_URL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    user = account(actor)
    allowed = api_allowed(case, actor, user)
    target = api_target(case.resource)
    url = api_url(case, target)
    body = api_body(case, target, loopback_server)
    client = api_client(user)
    model = RESOURCE_MODELS.get(case.resource)

    before = row_writes()
    fmt = "multipart" if case.content_type == "multipart/form-data" else "json"
    response = getattr(client, case.method.lower())(url, body, format=fmt)
    after = row_writes()

    if not allowed:
        expected = 401 if actor == "anonymous" else 403
        assert response.status_code == expected, (response.status_code, response.content[:300])
        assert written_tables(before, after) == set(), "a refused operation wrote"
        return
    if not case.writes:
        drafts_visible = user is not None and user.has_perm("projects.view_project")
        if case.operation_id == "projects_retrieve":
            # The target is a draft: only those who see drafts find it.
            assert response.status_code == (200 if drafts_visible else 404)
        else:
            assert response.status_code == 200, response.content[:300]
        if case.operation_id == "projects_list":
            listed = client.get(url, {"page_size": 500}).json()["results"]
            assert any(p["publication"] == "draft" for p in listed) is drafts_visible
        assert written_tables(before, after) == set(), "a read wrote"
        return
    status = API_SPECIAL_SUCCESS.get(case.operation_id, API_SUCCESS[case.method])
    assert response.status_code == status, (response.status_code, response.content[:500])
    changed = written_tables(before, after)
    assert model._meta.db_table in changed, changed
    if case.method == "DELETE":
        assert not model.objects.filter(pk=target.pk).exists()


# The admin ----------------------------------------------------------------------------------

# What each kind of admin view needs: any one of these actions on its model, for a GET and for
# a POST (None: the view serves no such request). The changelist's POST is its
# "delete selected" action; a revert is a POST only; an import adds a document.
ADMIN_VIEWS = {
    "changelist": (("view", "change"), ("delete",)),
    "add": (("add",), ("add",)),
    "change": (("view", "change"), ("change",)),
    "delete": (("delete",), ("delete",)),
    "history": (("view", "change"), None),
    "revert": (None, ("change",)),
    "import": (("add",), ("add",)),
    "password_change": (("change",), ("change",)),
}
# What a model's admin refuses to everyone, whatever the permissions: mentions are written by
# imports, proposals come from imports, a dataset import is a record, history is history.
NOBODY = {
    ("projects.mention", "add"),
    ("projects.mention", "change"),
    ("projects.mention", "delete"),
    ("projects.proposal", "add"),
    ("projects.datasetimport", "change"),
    ("pghistory.events", "add"),
    ("pghistory.events", "change"),
    ("pghistory.events", "delete"),
}


@dataclass(frozen=True)
class AdminCase:
    label: str  # the model's app_label.model_name
    kind: str

    def __str__(self) -> str:
        return f"{self.label}-{self.kind}"

    @property
    def model(self):
        return apps.get_model(self.label)

    def url_name(self) -> str:
        return f"admin:{self.label.replace('.', '_')}_{self.kind}"


@functools.cache
def admin_cases() -> tuple[AdminCase, ...]:
    """Every named view of every model registered in the admin."""
    cases = []
    for model, model_admin in admin.site._registry.items():
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        prefix = label.replace(".", "_") + "_"
        for pattern in model_admin.get_urls():
            if pattern.name:
                cases.append(AdminCase(label, pattern.name.removeprefix(prefix)))
    return tuple(sorted(cases, key=str))


def admin_may(user, case: AdminCase, actions) -> bool:
    app_label, model_name = case.label.split(".")
    return user is not None and any(
        (case.label, action) not in NOBODY and user.has_perm(f"{app_label}.{action}_{model_name}")
        for action in actions
    )


KEY_ADMIN_CELLS = {
    ("projects.project-add", "editor"): (True, True),
    ("projects.project-change", "editor"): (True, True),
    ("projects.project-delete", "editor"): (False, False),
    ("projects.project-delete", "reviewer"): (True, True),
    ("projects.project-changelist", "reviewer"): (True, True),
    ("projects.project-revert", "editor"): (False, True),
    ("projects.country-delete", "reviewer"): (False, False),
    ("projects.company-delete", "editor"): (False, False),
    ("projects.sourcedocument-import", "editor"): (True, True),
    ("projects.mention-change", "editor"): (True, False),
    ("projects.proposal-change", "editor"): (True, True),
    ("projects.proposal-delete", "reviewer"): (True, True),
    ("projects.datasetimport-add", "editor"): (True, True),
    ("pghistory.events-changelist", "editor"): (True, False),
    ("auth.user-change", "reviewer"): (False, False),
    ("auth.user-password_change", "reviewer"): (False, False),
    ("auth.group-changelist", "reviewer"): (False, False),
    ("authtoken.tokenproxy-changelist", "reviewer"): (False, False),
    ("projects.project-change", "user"): (False, False),
}


def test_every_admin_view_is_classified():
    cases = admin_cases()
    labels = {case.label for case in cases}
    assert len(labels) >= 14, labels
    assert {"projects.project", "projects.sourcedocument", "auth.user"} <= labels
    unclassified = sorted(str(case) for case in cases if case.kind not in ADMIN_VIEWS)
    assert not unclassified, "classify these admin views in ADMIN_VIEWS"
    missing = sorted(label for label in labels if label not in ADMIN_TARGETS)
    assert not missing, "give these models a disposable object in ADMIN_TARGETS"
    assert {cell for cell, _ in KEY_ADMIN_CELLS} <= {str(case) for case in cases}


def _document_with(**fields) -> SourceDocument:
    return SourceDocument.objects.create(
        title=f"Matrix source {unique()}", url="https://example.org/s", **fields
    )


def _event(obj) -> Events:
    return Events.objects.tracks(obj).first()


def _token():
    user = get_user_model().objects.create_user("matrix-token-holder")
    Token.objects.create(user=user)
    return TokenProxy.objects.get(user=user)


# A disposable object of each registered model: nothing points at it, so one may delete it.
ADMIN_TARGETS = {
    "auth.group": lambda: Group.objects.create(name="Matrix group"),
    "auth.user": lambda: get_user_model().objects.create_user("matrix-target", password="x"),
    "authtoken.tokenproxy": _token,
    "pghistory.events": lambda: _event(Company.objects.create(slug="evented", name="Evented")),
    "projects.citation": lambda: Citation.objects.create(
        project=Project.objects.get(slug="laosat-1"), document=_document_with(), quote="Q."
    ),
    "projects.company": lambda: Company.objects.create(slug="matrix-co", name="Matrix Co"),
    "projects.country": lambda: Country.objects.create(
        iso2="XB", iso3="XBB", numeric="902", name="Matrixland", slug="matrixland"
    ),
    "projects.datasetimport": lambda: DatasetImport.objects.create(
        format="csv", original_filename="old.csv"
    ),
    "projects.initiative": lambda: Initiative.objects.create(slug="matrix-ini", name="Matrix ini"),
    "projects.mention": lambda: Mention.objects.create(
        document=_document_with(), start=0, end=5, text="Kenya", country_id=_kenya()
    ),
    "projects.project": draft_project,
    "projects.projecttype": lambda: ProjectType.objects.create(slug="matrix-t", name="Matrix t"),
    "projects.proposal": lambda: Proposal.objects.create(
        document=_document_with(), key="k", sentence="Huawei builds in Kenya.", confidence=0.5
    ),
    "projects.sourcedocument": stored_document,
}


def _kenya() -> int:
    return Country.objects.get(iso2="KE").pk


# The field a change (and a revert) moves, per model; proposals have no editable field.
CHANGED_FIELD = {
    "auth.group": "name",
    "auth.user": "first_name",
    "projects.citation": "quote",
    "projects.company": "name",
    "projects.country": "name",
    "projects.initiative": "name",
    "projects.project": "name",
    "projects.projecttype": "name",
    "projects.sourcedocument": "title",
}


# Entries whose history holds every field, so that a revert restores them. A document's
# leaves out its text, a proposal's records its decisions only.
REVERTIBLE = {
    "projects.citation",
    "projects.company",
    "projects.country",
    "projects.initiative",
    "projects.project",
    "projects.projecttype",
}


def still_there(label: str, target) -> bool:
    if label == "authtoken.tokenproxy":  # its pk is its user's
        return Token.objects.filter(user_id=target.user_id).exists()
    if label == "pghistory.events":
        event_model, pgh_id = target.pk.split(":")
        return apps.get_model(event_model).objects.filter(pgh_id=pgh_id).exists()
    return type(target)._default_manager.filter(pk=target.pk).exists()


def add_fields(label: str) -> dict:
    """What makes the superuser's add form, submitted, a new valid object."""
    new = unique()
    fields = {
        "auth.group": {"name": f"Group {new}"},
        "auth.user": {
            "username": f"user-{new}",
            "password1": "Matrix-pass-2024!",
            "password2": "Matrix-pass-2024!",
            "usable_password": "true",
        },
        "authtoken.tokenproxy": lambda: {
            "user": str(get_user_model().objects.create_user(f"holder-{new}").pk)
        },
        "projects.citation": lambda: {
            "project": str(Project.objects.get(slug="laosat-1").pk),
            "document": str(_document_with().pk),
            "claim": "status",
        },
        "projects.company": {"name": f"Company {new}", "slug": f"company-{new}"},
        "projects.country": {
            "iso2": "XC",
            "iso3": "XCC",
            "numeric": "903",
            "name": "Newland",
            "slug": "newland",
        },
        "projects.datasetimport": lambda: {
            "file": SimpleUploadedFile(
                "matrix.csv", f"name,type,status\nAdmin import {new},fiber-link,planned\n".encode()
            ),
            "format": "csv",
            "entity": "projects",
        },
        "projects.initiative": {"name": f"Initiative {new}", "slug": f"initiative-{new}"},
        "projects.project": lambda: {
            "name": f"Project {new}",
            "slug": f"project-{new}",
            "project_type": str(ProjectType.objects.get(slug="fiber-link").pk),
            "country_roles-0-country": str(_kenya()),
            "country_roles-0-role": "host",
        },
        "projects.projecttype": {"name": f"Type {new}", "slug": f"type-{new}", "position": "99"},
        "projects.sourcedocument": {"title": f"Report {new}", "url": "https://example.org/r"},
    }.get(label, {})
    return fields() if callable(fields) else fields


def superuser_form(client: Client | None, url: str, form_id: str) -> dict:
    """The form of an admin page as the superuser's browser would submit it, untouched; {}
    where even a superuser may not open it, or without the superuser's client."""
    if client is None:
        return {}
    response = client.get(url)
    return form_data(response, form_id) if response.status_code == 200 else {}


@dataclass
class AdminRequest:
    get_url: str | None
    post_url: str | None
    post_data: dict
    succeeded: object  # () -> bool: whether the POST took effect; None: no visible effect


def admin_request(case: AdminCase, target, superuser: Client | None) -> AdminRequest:
    """The GET and the POST of an admin view, and how to tell that the POST worked. With the
    superuser's client, the POST is the whole form its browser would send, changed, which
    succeeds; without it, only the fields that matter (the permission check comes first)."""
    model, label, kind = case.model, case.label, case.kind
    name = case.url_name()
    field = CHANGED_FIELD.get(label)
    manager = model._default_manager

    def gone() -> bool:
        return not still_there(label, target)

    def value(obj=target):
        return manager.values_list(field, flat=True).get(pk=obj.pk)

    if kind == "changelist":
        url = reverse(name)
        data = {"action": "delete_selected", "_selected_action": [str(target.pk)], "post": "yes"}
        return AdminRequest(url, url, data, gone)
    if kind == "add":
        url = reverse(name) + ("?metadata_only=1" if label == "projects.sourcedocument" else "")
        data = superuser_form(superuser, url, f"{model._meta.model_name}_form")
        data.update(add_fields(label))
        count = manager.count()
        return AdminRequest(url, url, data, lambda: manager.count() == count + 1)
    if kind == "change":
        url = reverse(name, args=[target.pk])
        data = superuser_form(superuser, url, f"{model._meta.model_name}_form")
        if field is None:  # nothing to change: the answer alone tells
            return AdminRequest(url, url, data, None)
        data[field] = f"Changed {unique()}"
        return AdminRequest(url, url, data, lambda: value() == data[field])
    if kind == "delete":
        url = reverse(name, args=[target.pk])
        return AdminRequest(url, url, {"post": "yes"}, gone)
    if kind == "history":
        return AdminRequest(reverse(name, args=[target.pk]), None, {}, None)
    if kind == "revert":
        events = model.pgh_event_model.objects.filter(pgh_obj_id=target.pk).order_by("-pgh_id")
        version = events.values_list("pgh_id", flat=True).first() or 0
        url = reverse(name, args=[target.pk, version])
        if label not in REVERTIBLE:
            # Its history leaves fields out: the revert is refused with a message.
            return AdminRequest(None, url, {}, None)
        original = value()
        manager.filter(pk=target.pk).update(**{field: f"Later {unique()}"})
        return AdminRequest(url, url, {}, lambda: value() == original)
    if kind == "import":
        url = reverse(name)
        upload = SimpleUploadedFile("imported.txt", TEXT + unique().encode())
        count = manager.count()
        data = {"file": upload, "title": "Imported report"}
        return AdminRequest(url, url, data, lambda: manager.count() == count + 1)
    if kind == "password_change":
        url = reverse(name, args=[target.pk])
        before = target.password
        data = {"password1": "Matrix-pass-2025!", "password2": "Matrix-pass-2025!"}
        return AdminRequest(url, url, data, lambda: value_of_password(target) != before)
    raise Unclassified(str(case))


def value_of_password(user) -> str:
    return get_user_model().objects.values_list("password", flat=True).get(pk=user.pk)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("admin:login"))


@pytest.mark.usefixtures("media")
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", admin_cases(), ids=str)
def test_admin_view(case, actor):
    """GET the view, then POST what would succeed for whoever may do it."""
    get_needs, post_needs = ADMIN_VIEWS[case.kind]
    user = account(actor)
    may_get = get_needs is not None and admin_may(user, case, get_needs)
    may_post = post_needs is not None and admin_may(user, case, post_needs)
    if actor in ("anonymous", "user"):
        assert not may_get and not may_post
    if (str(case), actor) in KEY_ADMIN_CELLS:
        assert (may_get, may_post) == KEY_ADMIN_CELLS[str(case), actor], "the roles changed"
    target = ADMIN_TARGETS[case.label]()
    superuser = None
    if may_post and case.kind in ("add", "change"):
        superuser = Client()
        superuser.force_login(get_user_model().objects.create_superuser("matrix-root"))
    request = admin_request(case, target, superuser)
    client = Client()
    if user is not None:
        client.force_login(user)

    if request.get_url is not None:
        before = row_writes()
        response = client.get(request.get_url)
        assert written_tables(before, row_writes()) == set(), "a GET wrote"
        if actor == "anonymous":
            assert is_login_redirect(response), response.status_code
        else:
            assert response.status_code == (200 if may_get else 403)

    if request.post_url is None:
        return
    before = row_writes()
    response = client.post(request.post_url, request.post_data)
    written = written_tables(before, row_writes())
    if actor == "anonymous":
        assert is_login_redirect(response), response.status_code
    elif may_post:
        errors = response.context.get("errors") if response.context else None
        assert response.status_code == 302, (response.status_code, errors)
        assert request.succeeded is None or request.succeeded(), "a permitted POST did nothing"
        return
    elif case.kind == "changelist" and may_get:
        # An action the user may not run is not offered: the changelist comes back, shown
        # again or redirected to ("No action selected").
        assert response.status_code in (200, 302), response.status_code
        assert response.status_code == 200 or response.url == request.post_url
    else:
        assert response.status_code == 403, response.status_code
    assert written == set(), f"a refused POST wrote to {written}"
    assert request.succeeded is None or not request.succeeded()


@functools.cache
def autocomplete_fields() -> tuple[tuple[str, str], ...]:
    """(source model label, field) of every autocomplete field of the admin and its inlines:
    the admin's autocomplete view lists the related entries, drafts included."""
    fields = set()
    for model_admin in admin.site._registry.values():
        for owner in (model_admin, *model_admin.inlines):
            for field in owner.autocomplete_fields:
                fields.add((owner.model._meta.label_lower, field))
    return tuple(sorted(fields))


def test_the_autocomplete_fields_are_found():
    assert ("projects.citation", "project") in autocomplete_fields()
    assert ("projects.projectcountry", "country") in autocomplete_fields()


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("source", autocomplete_fields(), ids="-".join)
def test_admin_autocomplete(source, actor):
    """The related entries an autocomplete lists are for those who may view them."""
    label, field = source
    remote = apps.get_model(label)._meta.get_field(field).related_model._meta
    user = account(actor)
    may = admin_may(user, AdminCase(remote.label_lower, "autocomplete"), ("view", "change"))
    draft_project()
    client = Client()
    if user is not None:
        client.force_login(user)
    app_label, model_name = label.split(".")
    query = {"app_label": app_label, "model_name": model_name, "field_name": field, "term": ""}

    response = client.get(reverse("admin:autocomplete"), query)

    if actor == "anonymous":
        assert is_login_redirect(response)
    elif may:
        assert response.status_code == 200
        results = response.json()["results"]
        assert results
        if remote.model_name == "project":  # editors pick drafts too
            assert "Matrix draft" in {result["text"] for result in results}
    else:
        assert response.status_code == 403


def test_a_signed_in_account_that_is_not_staff_is_sent_to_log_in(media):
    """Whatever its permissions: the admin is for staff."""
    user = account("editor")
    get_user_model().objects.filter(pk=user.pk).update(is_staff=False)
    client = Client()
    client.force_login(user)
    targets = {}
    for case in admin_cases():
        if ADMIN_VIEWS[case.kind][0] is None:
            continue
        if case.label not in targets:
            targets[case.label] = ADMIN_TARGETS[case.label]()
        request = admin_request(case, targets[case.label], None)
        assert is_login_redirect(client.get(request.get_url)), case
        before = row_writes()
        if request.post_url is not None:
            assert is_login_redirect(client.post(request.post_url, request.post_data)), case
        assert written_tables(before, row_writes()) == set(), case
