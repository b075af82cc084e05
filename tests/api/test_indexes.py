"""Filtering and searching can be served by indexes: with sequential scans priced out
(`enable_seqscan = off`), the plans of the filtered project list and of the search read the
large tables through indexes only. A missing or unusable index would leave a sequential scan.
No timings: plans only, on a few thousand projects after ANALYZE."""

import json
import random

import pytest
from django.db import connection

from projects.filtersets import ProjectFilterSet
from projects.models import Company, Country, Project, ProjectCompany, ProjectCountry, ProjectType
from projects.selectors import visible_projects

pytestmark = pytest.mark.django_db
PROJECTS = 2000
# A role table is reached through its (entity, role) or (entity, project) index.
COUNTRY_ROLE_INDEXES = ("projectcountry_country_role", "projectcountry_country_project")
COMPANY_ROLE_INDEXES = ("projectcompany_company_role", "projectcompany_company_project")
LARGE_TABLES = {
    "projects_project",
    "projects_projectcountry",
    "projects_projectcompany",
    "projects_projectsearch",
}


@pytest.fixture
def many_projects():
    rng = random.Random(7)
    types = list(ProjectType.objects.all())
    countries = list(Country.objects.all())
    companies = list(Company.objects.all())
    projects = Project.objects.bulk_create(
        Project(
            slug=f"bulk-{n}",
            name=f"Bulk project {n} {rng.choice(['cable', 'network', 'cloud', 'city'])}",
            description="Generated for plan tests." + (" Tanganyika" if n % 100 == 0 else ""),
            project_type=rng.choice(types),
            status=rng.choice(["operational", "planned", "announced", "cancelled"]),
            publication="published",
        )
        for n in range(PROJECTS)
    )
    ProjectCountry.objects.bulk_create(
        ProjectCountry(project=p, country=c, role="host")
        for p in projects
        for c in rng.sample(countries, 2)
    )
    ProjectCompany.objects.bulk_create(
        ProjectCompany(project=p, company=rng.choice(companies), role="contractor")
        for p in projects
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def plan(queryset) -> dict:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        return cursor.fetchone()[0][0]["Plan"]


def scans(node: dict) -> list[tuple[str, str]]:
    found = []
    if "Relation Name" in node:
        found.append((node["Node Type"], node["Relation Name"]))
    for child in node.get("Plans", []):
        found.extend(scans(child))
    return found


def index_names(node: dict) -> set[str]:
    names = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        names |= index_names(child)
    return names


def sequential_scans_of_large_tables(queryset) -> list[str]:
    return [
        table
        for kind, table in scans(plan(queryset))
        if kind == "Seq Scan" and table in LARGE_TABLES
    ]


def filtered(query: str):
    """The query of the API's project list that finds a page's ids, as its view builds it
    (the page's rows are then read by primary key)."""
    from django.http import QueryDict

    projects = visible_projects(None).order_by("name", "pk")
    filterset = ProjectFilterSet(QueryDict(query), queryset=projects)
    assert filterset.is_valid(), filterset.errors
    return filterset.qs.values_list("pk", flat=True)[:50]


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("country=pk&type=fiber-link&status=operational", COUNTRY_ROLE_INDEXES),
        ("type=fiber-link&status=operational", ("project_type_status_pub",)),
        ("company=huawei&company_role=contractor", COMPANY_ROLE_INDEXES),
        ("region=Eastern Africa&initiative=digital-silk-road", ("projectinitiative_unique",)),
        ("q=Tanganyika", ("projectsearch_document_gin",)),
        ("q=tanganyika projects&ordering=-updated", ("projectsearch_document_gin",)),
    ],
)
def test_filtered_lists_and_search_use_indexes(many_projects, query, indexes):
    queryset = filtered(query)
    described = json.dumps(plan(queryset), indent=1)
    assert sequential_scans_of_large_tables(queryset) == [], described
    used = index_names(plan(queryset))
    assert any(name.startswith(indexes) for name in used), described
