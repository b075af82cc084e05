"""Visitors' answers are cached until the content changes (projects/caching.py, migration
0013): the content's version rises once at the commit of every writing transaction, whatever
wrote, and the next visitor gets the new content. These tests commit for real."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from rest_framework.test import APIClient

from projects.models import Country, Project, ProjectType
from projects.selectors import data_version

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture(autouse=True)
def caching(settings):
    settings.RESPONSE_CACHE_SECONDS = 600
    settings.AGGREGATE_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


def new_project(slug: str, **fields) -> Project:
    project = Project.objects.create(
        slug=slug,
        name=fields.pop("name", slug.replace("-", " ").title()),
        project_type=ProjectType.objects.get(slug="fiber-link"),
        publication="published",
        **fields,
    )
    project.country_roles.create(country=Country.objects.get(iso2="KE"), role="host")
    return project


def test_the_version_rises_once_per_committed_transaction_and_not_on_rollback():
    before = data_version()
    with transaction.atomic():
        for n in range(20):
            new_project(f"versioned-{n}")
    assert data_version() == before + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        new_project("rolled-back")
        raise RuntimeError
    assert data_version() == before + 1
    with connection.cursor() as cursor:  # a write that no Django code sees
        cursor.execute("UPDATE projects_country SET name = name WHERE iso2 = 'KE'")
    assert data_version() == before + 2


CACHED_READS = [
    "/api/v1/projects/?country=KE",
    "/api/v1/stats/?group_by=country",
    "/api/v1/countries/ke/",
    "/projects/?country=ke",
    "/countries/ke/",
    "/",
]


def test_visitors_get_the_cached_answer_until_a_write_commits(client):
    first = {}
    for url in CACHED_READS:
        first[url] = client.get(url)
        assert first[url].status_code == 200
        assert first[url]["X-Cache"] == "miss", url
        second = client.get(url)
        assert second["X-Cache"] == "hit", url
        assert second.content == first[url].content
        assert second["Content-Type"] == first[url]["Content-Type"]

    new_project("cache-breaker", name="Cache breaker link")
    for url in CACHED_READS:
        third = client.get(url)
        assert third["X-Cache"] == "miss", url
        assert third.content != first[url].content, url


def test_an_etag_answers_304_until_the_content_changes(client):
    url = "/api/v1/projects/?country=KE"
    etag = client.get(url)["ETag"]
    assert etag
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    cache.clear()  # also without the cached body: the tag stands for this version's answer
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    new_project("etag-breaker")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_formats_and_hosts_are_cached_apart(client):
    url = "/api/v1/projects/?country=KE"
    as_json = client.get(url, HTTP_ACCEPT="application/json")
    as_csv = client.get(url, HTTP_ACCEPT="text/csv")
    assert as_json["Content-Type"].startswith("application/json")
    assert as_csv["Content-Type"].startswith("text/csv")
    assert as_csv["X-Cache"] == "miss"
    other_host = client.get(url, HTTP_ACCEPT="application/json", HTTP_HOST="localhost")
    assert other_host["X-Cache"] == "miss"
    assert b"http://localhost/" in other_host.content


def test_editors_are_never_answered_from_the_cache(client, admin_client):
    token_user = admin_client  # a session that sees drafts
    draft = new_project("unseen-draft")
    Project.objects.filter(pk=draft.pk).update(publication="draft")
    url = "/api/v1/projects/?country=KE"
    client.get(url)
    assert client.get(url)["X-Cache"] == "hit"
    answer = token_user.get(url)
    assert "X-Cache" not in answer
    assert "unseen-draft" in answer.content.decode()
    assert "unseen-draft" not in client.get(url).content.decode()


def test_errors_and_writes_are_not_cached(client):
    bad = "/api/v1/projects/?country=XX"
    assert client.get(bad).status_code == 400
    assert "X-Cache" not in client.get(bad)
    api = APIClient()
    assert api.post("/api/v1/projects/", {}, format="json").status_code in (401, 403)
