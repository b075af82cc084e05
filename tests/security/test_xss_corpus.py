"""Stored XSS: with a payload in every text field and an imported document made of payloads,
every public page, every API read (JSON, CSV, GeoJSON) and the admin's pages show them as
text. No browser: the HTML is read for what a browser would build (tests/browser/
test_xss_corpus.py has Chromium look too)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from projects import urls as page_urls
from projects.api.urls import router
from projects.models import Company, Project, ProposalStatus, SourceDocument
from projects.services.imports import document_import
from projects.stats import GROUPINGS

from .xss_corpus import (
    HOSTILE_ISO2,
    HOSTILE_SLUG,
    HOSTILE_URL,
    HOSTILE_URL_MARKERS,
    IMPORTABLE,
    JAVASCRIPT_URL,
    MARKER,
    PAYLOADS,
    SHORT,
    VERBATIM_ONLY,
    Filled,
    build_hostile_content,
    escaped_forms,
    import_hostile_document,
    markup_problems,
    payload_text,
    public_pages,
    unfilled_fields,
)

pytestmark = pytest.mark.django_db

SUPERUSER = "corpus-root"


@dataclass
class Hostile:
    filled: Filled
    imported: SourceDocument
    superuser: object

    def obj(self, key: str):
        return self.filled.objects[key]


@pytest.fixture
def hostile(settings, tmp_path) -> Hostile:
    settings.MEDIA_ROOT = tmp_path / "media"
    root = get_user_model().objects.create_superuser(
        SUPERUSER,
        password="x",
        first_name=payload_text(0, 150),
        last_name=payload_text(4, 150),
    )
    filled = build_hostile_content(user=root)
    document, status = import_hostile_document(user=root)
    assert status == "done", document.error
    return Hostile(filled, document, root)


def superuser_client(hostile: Hostile) -> Client:
    client = Client()
    client.force_login(hostile.superuser)
    return client


def check_html(response, where: str, statuses=(200,), *, with_data=True) -> list[str]:
    """The problems of one HTML answer, each prefixed by where it was seen."""
    assert response.status_code in statuses, f"{where}: HTTP {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), where
    html = response.content.decode()
    problems = markup_problems(html)
    if with_data and MARKER not in html:
        problems.append("no payload on the page: the test would prove nothing")
    return [f"{where}: {problem}" for problem in problems]


# The data ----------------------------------------------------------------------------------


def test_every_text_field_of_every_content_model_holds_payloads(hostile):
    assert unfilled_fields(hostile.filled) == []
    for key, obj in hostile.filled.objects.items():
        obj.refresh_from_db()
        for name in hostile.filled.fields[obj._meta.model_name]:
            value = getattr(obj, name)
            text = json.dumps(value) if not isinstance(value, str) else value
            assert MARKER in text or SHORT in text, f"{key}.{name} = {value!r}"
    assert hostile.filled.count >= 40


def test_the_imported_document_is_made_of_payloads(hostile):
    document = hostile.imported
    assert document.media_type == "text/html"
    for payload in IMPORTABLE:
        assert payload in document.text
    assert IMPORTABLE[0] in document.title
    # What the page ran is not text: extraction drops scripts and handlers.
    assert "xss-import" not in document.text
    assert document.mentions.exists()
    assert document.proposals.exists()


def test_models_refuse_javascript_addresses_and_every_write_path_does_too(hostile):
    """The URL fields never hold a script address: model validation (used by the import
    services), the API and the admin refuse one."""
    refused = hostile.filled.refused_urls
    assert set(refused) == {"company.website", "sourcedocument.url"}, refused

    api = APIClient()
    api.force_authenticate(hostile.superuser)
    company = hostile.obj("company")
    response = api.patch(
        f"/api/v1/companies/{company.slug}/", {"website": JAVASCRIPT_URL}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "website" in response.json()
    document = hostile.obj("document")
    response = api.patch(
        f"/api/v1/documents/{document.pk}/", {"source_url": JAVASCRIPT_URL}, format="json"
    )
    assert response.status_code == 400, response.content
    response = api.post(
        "/api/v1/documents/",
        {"title": "A hostile address", "source_url": JAVASCRIPT_URL},
        format="json",
    )
    assert response.status_code == 400, response.content
    # `url` is the API's own address of a document: written, it is ignored.
    api.post("/api/v1/documents/", {"title": "Another", "url": JAVASCRIPT_URL}, format="json")

    client = superuser_client(hostile)
    response = client.post(
        reverse("admin:projects_company_change", args=[company.pk]),
        {
            "name": "Renamed",
            "slug": company.slug,
            "kind": "firm",
            "ownership": "unknown",
            "website": JAVASCRIPT_URL,
            "aliases": "",
            "external_ids": "{}",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "website" in response.context["adminform"].form.errors
    company.refresh_from_db()
    assert company.website == HOSTILE_URL
    with pytest.raises(ValidationError) as refused_import:
        document_import(data=b"Some text.", metadata={"url": JAVASCRIPT_URL}, enqueue=False)
    assert "url" in refused_import.value.message_dict
    for model, name in [(Company, "website"), (SourceDocument, "url")]:
        assert not model.objects.filter(**{f"{name}__icontains": "javascript:"}).exists()


# Public pages ------------------------------------------------------------------------------


JSON_PAGES = {"healthz", "readyz"}
STATIC_PAGES = {"about"}
# Payloads in the address itself: shown back in the filters (a 400 names a bad filter value).
REFLECTED = [
    f"/projects/?q={PAYLOADS[0]}&company={PAYLOADS[3]}&country={PAYLOADS[1]}",
    f"/companies/?q={PAYLOADS[3]}&kind={PAYLOADS[4]}",
    f"/documents/?q={PAYLOADS[4]}&kind={PAYLOADS[0]}",
    f"/countries/?region={PAYLOADS[3]}",
    f"/search/?q={PAYLOADS[0]}",
    f"/search/?q={PAYLOADS[3]}",
]


def test_every_public_page_shows_the_payloads_as_text(client, hostile):
    addresses = public_pages(hostile.filled, hostile.imported)
    names = {p.name for p in page_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names - JSON_PAGES == set(addresses), "a page is missing from the XSS walk"
    problems = []
    for name, paths in addresses.items():
        for path in paths:
            problems += check_html(client.get(path), path, with_data=name not in STATIC_PAGES)
    for path in REFLECTED:
        problems += check_html(client.get(path), path, statuses=(200, 400))
    assert not problems, "\n".join(problems)


def test_the_detail_pages_show_every_payload_escaped(client, hostile):
    """Proof that the data is there: the payloads appear, escaped, where they are shown."""
    project = hostile.obj("project")
    html = client.get(project.get_absolute_url()).content.decode()
    assert any(form in html for form in escaped_forms(project.name))
    assert all(any(form in html for form in escaped_forms(p)) for p in PAYLOADS[:24])
    for payload in VERBATIM_ONLY:  # template syntax is shown, not evaluated
        assert payload in html
    for marker in HOSTILE_URL_MARKERS:  # the company's website and the document's address
        assert marker in client.get(hostile.obj("company").get_absolute_url()).content.decode()
    html = client.get(hostile.imported.get_absolute_url()).content.decode()
    assert all(any(form in html for form in escaped_forms(p)) for p in IMPORTABLE)
    assert 'class="mention' in html
    assert "xss-import" not in html


# API ---------------------------------------------------------------------------------------


def api_addresses(hostile: Hostile) -> list[tuple[str, list[str]]]:
    """Every list and detail of the router, with the formats each renders, and the extras."""
    lookups = {
        "country": HOSTILE_ISO2.lower(),
        "company": HOSTILE_SLUG,
        "projecttype": HOSTILE_SLUG,
        "initiative": HOSTILE_SLUG,
        "project": HOSTILE_SLUG,
        "sourcedocument": hostile.obj("document").pk,
        "citation": hostile.obj("citation").pk,
        "datasetimport": hostile.obj("dataset_import").pk,
    }
    addresses = []
    for prefix, viewset, basename in router.registry:
        renderers = getattr(viewset, "read_renderers", None) or viewset.renderer_classes
        formats = [renderer.format for renderer in renderers]
        addresses.append((f"/api/v1/{prefix}/", formats))
        addresses.append((f"/api/v1/{prefix}/{lookups[basename]}/", formats))
    addresses.append((f"/api/v1/documents/{hostile.imported.pk}/", ["json", "csv"]))
    addresses.append((f"/api/v1/documents/{hostile.imported.pk}/mentions/", ["json", "csv"]))
    addresses.append((f"/api/v1/documents/{hostile.obj('document').pk}/mentions/", ["json"]))
    addresses += [(f"/api/v1/stats/?group_by={g}", ["json", "csv"]) for g in GROUPINGS]
    return addresses


MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "geojson": "application/geo+json"}


def test_every_api_read_is_data_a_browser_will_not_render(hostile):
    """JSON, CSV and GeoJSON carry the payloads as they are (they are data) with their own
    media type and nosniff, so that no browser renders them as a page."""
    api = APIClient()
    api.force_authenticate(hostile.superuser)
    seen_payloads, problems = set(), []
    for path, formats in api_addresses(hostile):
        for fmt in formats:
            # Asked for by Accept: `?format=` is also a filter of the imports (their format).
            response = api.get(path, HTTP_ACCEPT=MEDIA_TYPES[fmt])
            where = f"{path} ({fmt})"
            if response.status_code != 200:
                problems.append(f"{where}: HTTP {response.status_code}")
                continue
            media_type = response["Content-Type"].split(";")[0]
            if media_type != MEDIA_TYPES[fmt]:
                problems.append(f"{where}: served as {media_type}")
            if response.get("X-Content-Type-Options") != "nosniff":
                problems.append(f"{where}: without X-Content-Type-Options: nosniff")
            body = response.content.decode()
            if fmt != "csv":
                json.loads(body)
            seen_payloads |= {p for p in PAYLOADS if p in body or json.dumps(p)[1:-1] in body}
    assert not problems, "\n".join(problems)
    assert seen_payloads == set(PAYLOADS), "the API reads should carry every payload"


def test_the_api_never_answers_a_browser_with_html(hostile):
    browser = APIClient(HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    for path, _ in api_addresses(hostile):
        if "imports" in path:
            continue
        response = browser.get(path)
        assert response.status_code == 200, path
        assert not response["Content-Type"].startswith("text/html"), path


# Admin -------------------------------------------------------------------------------------


def admin_addresses(hostile: Hostile) -> list[str]:
    """Every registered model's changelist; the change (and history) page of each hostile
    object; the import, action and autocomplete pages that show entries' names."""
    addresses = []
    for model in admin.site._registry:
        opts = model._meta
        addresses.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        addresses.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?q=xss")
    objects = [*hostile.filled.objects.values(), hostile.imported, hostile.superuser]
    objects += list(hostile.imported.proposals.all()[:1])
    for obj in objects:
        opts = obj._meta
        if type(obj) not in admin.site._registry:
            continue
        addresses.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        addresses.append(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
        )
    addresses.append(reverse("admin:projects_sourcedocument_import"))
    addresses.append(reverse("admin:index"))
    return addresses


def test_every_admin_page_shows_the_payloads_as_text(hostile):
    client = superuser_client(hostile)
    problems = []
    for path in admin_addresses(hostile):
        response = client.get(path)
        if response.status_code == 200 and MARKER not in response.content.decode():
            continue  # a page of another app, without the corpus: nothing to look at
        problems += check_html(response, path)
    assert not problems, "\n".join(problems)


def test_admin_action_forms_and_autocomplete_show_names_as_text(hostile):
    client = superuser_client(hostile)
    companies = [hostile.obj("company"), hostile.obj("child")]
    proposals = [*hostile.imported.proposals.all(), hostile.obj("proposal")]
    demo = Project.objects.exclude(slug=HOSTILE_SLUG).first()
    problems = []
    for changelist, action, objects in [
        ("admin:projects_company_changelist", "merge", companies),
        ("admin:projects_project_changelist", "merge", [hostile.obj("project"), demo]),
        ("admin:projects_proposal_changelist", "attach", proposals),
        ("admin:projects_proposal_changelist", "reject", proposals),
    ]:
        response = client.post(
            reverse(changelist),
            {"action": action, "_selected_action": [str(o.pk) for o in objects]},
        )
        problems += check_html(response, f"{changelist} {action}")
    autocompletes = [("citation", "project"), ("company", "parent"), ("project", "project_type")]
    for model, field_name in autocompletes:
        response = client.get(
            "/admin/autocomplete/",
            {"app_label": "projects", "model_name": model, "field_name": field_name, "term": "xss"},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert MARKER in response.content.decode()
    assert not problems, "\n".join(problems)
    # Deciding with a hostile reason records it as text.
    reason = payload_text(2, 500)
    response = client.post(
        reverse("admin:projects_proposal_changelist"),
        {
            "action": "reject",
            "apply": "1",
            "reason": reason,
            "_selected_action": [str(proposals[0].pk)],
        },
        follow=True,
    )
    problems = check_html(response, "after rejecting")
    proposals[0].refresh_from_db()
    assert proposals[0].status == ProposalStatus.REJECTED
    response = client.get(reverse("admin:projects_proposal_change", args=[proposals[0].pk]))
    problems += check_html(response, "a rejected proposal")
    assert not problems, "\n".join(problems)


def test_an_editor_with_view_rights_sees_text_too(hostile):
    """Not only superusers: a staff member who may only view gets read-only fields, which
    the admin renders differently (as text, not in inputs)."""
    viewer = get_user_model().objects.create_user("corpus-viewer", password="x", is_staff=True)
    for model in ("project", "company", "sourcedocument", "proposal", "citation", "country"):
        viewer.user_permissions.add(Permission.objects.get(codename=f"view_{model}"))
    client = Client()
    client.force_login(viewer)
    problems = []
    for key in ("project", "company", "document", "proposal", "citation", "country"):
        obj = hostile.obj(key)
        opts = obj._meta
        path = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        problems += check_html(client.get(path), path)
    assert not problems, "\n".join(problems)
