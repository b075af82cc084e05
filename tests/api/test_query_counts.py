"""The number of SQL queries of a list request does not grow with the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import Mention, SourceDocument

from .conftest import token_client

pytestmark = pytest.mark.django_db

LIST_ENDPOINTS = [
    "/api/v1/countries/",
    "/api/v1/companies/",
    "/api/v1/project-types/",
    "/api/v1/initiatives/",
    "/api/v1/projects/",
    "/api/v1/documents/",
    "/api/v1/citations/",
    "/api/v1/projects/?country=pk,ke&type=fiber-link,smart-city&status=operational",
    "/api/v1/projects/?q=huawei&company_role=contractor",
    "/api/v1/countries/?has_projects=true&ordering=-project_count",
    "/api/v1/documents/?mentions_country=pk",
]


def queries(client, url: str, page_size: int) -> tuple[int, int]:
    separator = "&" if "?" in url else "?"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{url}{separator}page_size={page_size}")
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["results"])


@pytest.fixture
def mentions():
    for document in SourceDocument.objects.all()[:5]:
        Mention.objects.create(
            document=document, start=0, end=8, text="Pakistan", country_id=_pakistan_id()
        )


def _pakistan_id() -> int:
    from projects.models import Country

    return Country.objects.get(iso2="PK").pk


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_anonymous_list_queries_do_not_grow_with_page_size(api, url, mentions):
    small, small_rows = queries(api, url, 1)
    large, large_rows = queries(api, url, 100)
    assert large_rows > small_rows >= 1
    assert small == large


@pytest.mark.parametrize("url", LIST_ENDPOINTS[:7])
def test_editor_list_queries_do_not_grow_with_page_size(make_user, url):
    editor = token_client(make_user("editor", "projects.view_project"))
    assert queries(editor, url, 1)[0] == queries(editor, url, 100)[0]
