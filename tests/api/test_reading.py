"""The API reads projects out from plain rows (projects/api/reading.py); the serializer
describes the same representation for writes and the schema. The two must not drift apart:
for every project of the demo data, and for projects carrying every optional field, both give
the same JSON, field for field and in the same order."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from projects.api.reading import project_rows, represent_projects
from projects.api.serializers import ProjectSerializer
from projects.models import Citation, Company, Country, Initiative, Project, SourceDocument
from projects.selectors import shaped_projects

pytestmark = pytest.mark.django_db


def rendered(data) -> list:
    return json.loads(JSONRenderer().render(data))


def both(queryset, request):
    through_serializer = ProjectSerializer(
        shaped_projects(queryset), many=True, context={"request": request}
    ).data
    from_rows = represent_projects(project_rows(queryset.order_by("name", "pk")), request)
    return rendered(through_serializer), rendered(from_rows)


@pytest.fixture
def request_():
    from rest_framework.request import Request

    return Request(APIRequestFactory().get("/api/v1/projects/", HTTP_HOST="testserver"))


def test_every_demo_project_reads_the_same(request_):
    projects = Project.objects.all()
    assert projects.count() >= 10
    expected, actual = both(projects, request_)
    assert [list(p) for p in actual] == [list(p) for p in expected]  # same keys, same order
    assert actual == expected


def test_every_optional_field_reads_the_same(request_, make_project):
    project = make_project(
        name="Ünïcode cable — phase 2",
        slug="unicode-cable-phase-2",
        value_amount=Decimal("1234567.50"),
        value_currency="CNY",
        value_usd=Decimal("170000.05"),
        announced_on=dt.date(2018, 5, 1),
        announced_precision="month",
        started_on=dt.date(2019, 1, 1),
        started_precision="year",
        completed_on=dt.date(2021, 3, 14),
        completed_precision="day",
        length_km=Decimal("1200.5"),
        capacity="40 Tbps",
        latitude=-4.05,
        longitude=39.66,
        geometry={"type": "LineString", "coordinates": [[39.6, -4.0], [43.1, 11.6]]},
        landing_points=[
            {"name": "Mombasa", "country": "KE", "latitude": -4.05, "longitude": 39.66},
            {"name": "Djibouti", "country": "DJ", "country_name": "Djibouti", "tbd": True},
        ],
        external_ids={"telegeography": "peace-cable", "bench": "7"},
    )
    project.country_roles.create(country=Country.objects.get(iso2="KE"), role="landing_point")
    project.country_roles.create(country=Country.objects.get(iso2="DJ"), role="landing_point")
    project.country_roles.create(country=Country.objects.get(iso2="PK"), role="host")
    company = Company.objects.order_by("pk").first()
    project.company_roles.create(company=company, role="owner")
    project.company_roles.create(company=company, role="supplier")
    project.initiative_links.create(initiative=Initiative.objects.order_by("pk").first())
    for claim in ("value", "general"):
        Citation.objects.create(
            project=project,
            document=SourceDocument.objects.order_by("pk").first(),
            claim=claim,
            quote="A passage <b>with</b> markup.",
            location="p. 3",
        )
    expected, actual = both(Project.objects.filter(pk=project.pk), request_)
    assert actual == expected
    assert actual[0]["citation_count"] == 2
    assert actual[0]["url"] == "http://testserver/api/v1/projects/unicode-cable-phase-2/"


def test_list_and_detail_answer_from_rows(api):
    listing = api.get("/api/v1/projects/?page_size=3").json()["results"]
    detail = api.get(f"/api/v1/projects/{listing[0]['slug']}/").json()
    assert detail == listing[0]
