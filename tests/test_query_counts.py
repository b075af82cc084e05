"""Every read answers in a fixed number of SQL queries, however many projects, roles,
citations and groups it shows: the count is measured once with a few matching projects and
again after adding many more (a full page, several pages, many groups), and must not move.
The API lists' independence from `page_size` is tested in tests/api/test_query_counts.py."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import (
    Citation,
    Company,
    Country,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    SourceDocument,
)

pytestmark = pytest.mark.django_db
serial = itertools.count()

READS = [
    "/",
    "/projects/",
    "/projects/?country=ke&type=fiber-link&status=operational",
    "/projects/?q=counted&company=huawei",
    "/projects/{slug}/",
    "/countries/",
    "/countries/ke/",
    "/companies/",
    "/companies/huawei/",
    "/documents/",
    "/search/?q=counted",
    "/api/v1/projects/{slug}/",
    "/api/v1/projects/?country=KE&type=fiber-link&status=operational",
    "/api/v1/projects/?q=counted",
    "/api/v1/projects/?format=csv&country=KE",
    "/api/v1/projects/?format=geojson&country=KE",
    "/api/v1/countries/ke/",
    "/api/v1/companies/huawei/",
    "/api/v1/citations/",
    *(
        f"/api/v1/stats/?group_by={group}"
        for group in ("country", "region", "company", "type", "status", "year")
    ),
]


def add_projects(count: int) -> Project:
    """`count` published projects in Kenya and other countries, with Huawei and other
    organisations, an initiative and citations: more rows of every kind a page shows."""
    kenya = Country.objects.get(iso2="KE")
    others = list(Country.objects.exclude(iso2="KE").order_by("iso2")[:40])
    huawei = Company.objects.get(slug="huawei")
    companies = list(Company.objects.exclude(slug="huawei").order_by("slug")[:40])
    fiber = ProjectType.objects.get(slug="fiber-link")
    initiative = Initiative.objects.order_by("pk").first()
    documents = list(SourceDocument.objects.order_by("pk")[:3])
    project = None
    for _ in range(count):
        n = next(serial)
        project = Project.objects.create(
            name=f"Counted link {n}",
            slug=f"counted-link-{n}",
            description="A counted project.",
            project_type=fiber,
            status="operational",
            publication="published",
            announced_on=f"{2000 + n % 25}-01-01",
            announced_precision="year",
            value_amount=1000 + n,
            value_currency="USD",
            value_usd=1000 + n,
        )
        ProjectCountry.objects.create(project=project, country=kenya, role="host")
        ProjectCountry.objects.create(project=project, country=others[n % 40], role="transit")
        ProjectCompany.objects.create(project=project, company=huawei, role="contractor")
        ProjectCompany.objects.create(project=project, company=companies[n % 40], role="owner")
        ProjectInitiative.objects.create(project=project, initiative=initiative)
        for document in documents:
            Citation.objects.create(project=project, document=document, quote="Counted.")
    return project


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_ACCEPT="*/*")
    assert response.status_code == 200, (url, response.content[:500])
    return len(captured)


def test_reads_take_as_many_queries_for_many_rows_as_for_few(client):
    slug = add_projects(2).slug
    few = {url: queries(client, url.format(slug=slug)) for url in READS}
    slug = add_projects(60).slug
    many = {url: queries(client, url.format(slug=slug)) for url in READS}
    assert many == few
