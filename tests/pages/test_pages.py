"""The server-rendered pages: status, key content, bounded queries, drafts, escaping, errors."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import (
    Company,
    Country,
    Mention,
    Project,
    ProjectCompany,
    ProjectType,
    SourceDocument,
)

pytestmark = pytest.mark.django_db

PAGES = [
    ("/", "Digital Silk Road projects"),
    ("/projects/", "Pakistan–China Fiber Optic Project"),
    ("/projects/pakistan-china-fiber-optic-project/", "Rawalpindi"),
    ("/countries/", "Pakistan"),
    ("/countries/pk/", "Islamabad Safe City"),
    ("/companies/", "阿里云计算有限公司"),
    ("/companies/huawei/", "Konza National Data Centre"),
    ("/documents/", "Pak-China"),
    ("/search/?q=huawei", "<mark>Huawei</mark>"),
    ("/about/", "How to cite it"),
]


@pytest.mark.parametrize(("url", "text"), PAGES)
def test_every_page_renders_its_key_content(client, url, text):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert text in html
    assert '<main id="main">' in html
    assert 'nav aria-label="Main"' in html


def test_a_document_page_shows_its_text_with_linked_mentions(client):
    document = SourceDocument.objects.create(
        title="Cables report",
        url="https://example.org/c",
        text="Huawei Marine laid a cable to Kenya.",
    )
    Mention.objects.create(
        document=document, start=30, end=35, text="Kenya", country=Country.objects.get(iso2="KE")
    )
    html = client.get(document.get_absolute_url()).content.decode()
    assert '<a class="mention mention-country" href="/countries/ke/"><mark>Kenya</mark></a>' in html


def test_the_project_page_has_citations_and_a_bibtex_entry(client):
    html = client.get("/projects/pakistan-china-fiber-optic-project/").content.decode()
    assert "<blockquote>" in html
    assert "@misc{dsrkb-pakistan-china-fiber-optic-project," in html
    assert "title        = {Pakistan–China Fiber Optic Project (Rawalpindi–Khunjerab)}" in html


def test_the_dashboard_carries_the_map_data_and_charts(client):
    html = client.get("/").content.decode()
    assert 'id="map-data"' in html and '"586": {"iso2": "PK"' in html
    assert 'id="chart-types"' in html and 'id="chart-years"' in html
    assert 'class="bar"' in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "/projects/?type=submarine-cable",
            {"peace-submarine-cable", "sail-south-atlantic-inter-link"},
        ),
        (
            "/projects/?country=pk&status=operational",
            {
                "pakistan-china-fiber-optic-project",
                "islamabad-safe-city",
                "prss-1-pakistan-remote-sensing-satellite",
                "peace-submarine-cable",
            },
        ),
        ("/projects/?q=PEACE", {"peace-submarine-cable"}),
    ],
)
def test_the_project_list_uses_the_api_filters(client, url, expected):
    html = client.get(url).content.decode()
    shown = {
        slug
        for slug in Project.objects.values_list("slug", flat=True)
        if f'data-slug="{slug}"' in html
    }
    assert shown == expected


def test_the_download_links_keep_the_filters(client):
    html = client.get("/projects/?type=submarine-cable&page=1").content.decode()
    assert 'href="/api/v1/projects/?type=submarine-cable&amp;format=csv"' in html


def test_a_bad_filter_is_shown_next_to_the_filter_not_a_server_error(client):
    response = client.get("/projects/?country=zz&announced_from=abc")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "Unknown country code: ZZ." in html
    assert "Enter a whole number." in html


def test_unknown_slugs_and_codes_give_a_friendly_404(client):
    for url in [
        "/projects/nope/",
        "/countries/zz/",
        "/companies/nope/",
        "/documents/999999/",
        "/projects/?page=99",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/projects/",
        "/countries/",
        "/companies/",
        "/documents/",
        "/countries/pk/",
        "/companies/huawei/",
    ],
)
def test_list_pages_make_a_bounded_number_of_queries(client, url):
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    type_ = ProjectType.objects.get(slug="cloud")
    for number in range(30):
        project = Project.objects.create(
            slug=f"extra-{number}",
            name=f"Extra {number}",
            project_type=type_,
            publication="published",
        )
        ProjectCompany.objects.create(
            project=project, company=Company.objects.get(slug="huawei"), role="supplier"
        )
        project.countries.add(Country.objects.get(iso2="PK"), through_defaults={"role": "host"})
    with CaptureQueriesContext(connection) as second:
        client.get(url)
    assert len(second) == len(first), url


def test_drafts_are_hidden_from_anonymous_visitors_and_shown_to_editors(client, django_user_model):
    draft = Project.objects.create(
        slug="secret-cable",
        name="Secret cable",
        project_type=ProjectType.objects.get(slug="submarine-cable"),
    )
    draft.countries.add(Country.objects.get(iso2="KE"), through_defaults={"role": "host"})
    for url in ["/projects/", "/countries/ke/", "/search/?q=secret"]:
        assert "Secret cable" not in client.get(url).content.decode(), url
    assert client.get("/projects/secret-cable/").status_code == 404
    editor = django_user_model.objects.create_user("editor", password="x")
    editor.user_permissions.add(Permission.objects.get(codename="view_project"))
    client.force_login(editor)
    assert "Secret cable" in client.get("/projects/").content.decode()
    assert client.get("/projects/secret-cable/").status_code == 200


def test_names_from_the_database_are_escaped(client):
    payload = "<script>alert(1)</script>"
    company = Company.objects.create(slug="xss-co", name=payload)
    project = Project.objects.create(
        slug="xss",
        name=payload,
        description=payload,
        project_type=ProjectType.objects.get(slug="cloud"),
        publication="published",
    )
    ProjectCompany.objects.create(project=project, company=company, role="owner")
    for url in [
        "/projects/",
        "/projects/xss/",
        "/companies/xss-co/",
        "/search/?q=script",
        "/companies/",
    ]:
        html = client.get(url).content.decode()
        assert payload not in html, url
        assert "&lt;" in html and "alert(1)" in html, url


def test_a_nul_byte_in_a_search_is_refused(client):
    assert client.get("/search/?q=a%00b").status_code == 400
    assert client.get("/projects/?q=a%00b").status_code == 400


def test_facet_counts_are_disjunctive_within_a_facet_and_narrow_across_facets(client):
    html = client.get("/projects/?type=submarine-cable&country=pk").content.decode()
    fiber = html.split('value="fiber-link"')[1].split("</label>")[0]
    assert '<span class="facet-count">1</span>' in fiber  # fiber links hosted by Pakistan
    operational = html.split('value="operational"')[1].split("</label>")[0]
    assert '<span class="facet-count">1</span>' in operational  # Pakistan's submarine cable
