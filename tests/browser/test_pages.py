"""Every page: the site's header and navigation, nothing loaded from another host, no serious
or critical accessibility violation (axe-core), and a full-page screenshot as an artifact."""

import pytest
from playwright.sync_api import expect

from .support import PHONE, describe_violations

pytestmark = pytest.mark.browser

DOCUMENT = "a document detail"
# (path, expected HTTP status)
PAGES = [
    ("/", 200),
    ("/countries/", 200),
    ("/countries/pk/", 200),
    ("/companies/", 200),
    ("/companies/huawei/", 200),
    ("/projects/", 200),
    ("/projects/pakistan-china-fiber-optic-project/", 200),
    ("/documents/", 200),
    (DOCUMENT, 200),
    ("/search/?q=huawei", 200),
    ("/about/", 200),
    ("/projects/no-such-project/", 404),
]
NAVIGATION = {
    "Projects": "/projects/",
    "Countries": "/countries/",
    "Companies": "/companies/",
    "Documents": "/documents/",
    "Search": "/search/",
    "About": "/about/",
    "API": "/api/v1/",
}


def resolve(path: str) -> str:
    """The path to visit: a document cited by the Pakistan-China fiber project stands for
    "a document detail" page."""
    if path != DOCUMENT:
        return path
    from projects.models import Citation

    citation = (
        Citation.objects.filter(project__slug="pakistan-china-fiber-optic-project")
        .order_by("pk")
        .first()
    )
    return f"/documents/{citation.document_id}/"


def page_ids(pages):
    return [path for path, _ in pages]


@pytest.mark.parametrize(("path", "status"), PAGES, ids=page_ids(PAGES))
def test_the_page_has_the_site_header_and_loads_nothing_from_another_host(visitor, path, status):
    response = visitor.goto(resolve(path))
    page = visitor.page
    assert response.status == status, f"{path} answered HTTP {response.status}"
    expect(page.locator("main#main")).to_have_count(1)
    nav = page.locator('header nav[aria-label="Main"]')
    expect(nav).to_have_count(1)
    for name, href in NAVIGATION.items():
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link, f"the main navigation has a link {name!r}").to_have_count(1)
        assert link.get_attribute("href").endswith(href), f"{name} should lead to {href}"
    page.wait_for_load_state("networkidle")
    visitor.snap()
    visitor.assert_no_foreign_requests()
    assert not visitor.errors, f"JavaScript errors on {path}: {visitor.errors}"


@pytest.mark.parametrize(("path", "status"), PAGES, ids=page_ids(PAGES))
def test_the_page_has_no_serious_or_critical_accessibility_violation(visitor, path, status):
    response = visitor.goto(resolve(path))
    assert response.status == status, f"{path} answered HTTP {response.status}"
    # Let the scripts finish (map drawn, htmx ready) so axe sees the page readers get.
    visitor.page.wait_for_load_state("networkidle")
    violations = visitor.serious_axe_violations()
    assert not violations, f"axe on {path}:\n{describe_violations(violations)}"


def test_an_unknown_slug_gives_a_friendly_not_found_page_with_the_site_navigation(visitor):
    response = visitor.goto("/projects/no-such-project/")
    assert response.status == 404
    page = visitor.page
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator('nav[aria-label="Main"]')).to_be_visible()
    # A page for people, not a JSON error or a traceback.
    assert "text/html" in response.headers.get("content-type", "")
    expect(page.locator("main#main")).not_to_contain_text("Traceback")


@pytest.mark.parametrize("path", ["/", "/projects/"], ids=["home", "projects"])
def test_the_page_fits_a_phone_screen_without_sideways_scrolling(visitor_factory, path):
    visitor = visitor_factory(viewport=PHONE, suffix="-phone")
    response = visitor.goto(path)
    assert response.status == 200
    page = visitor.page
    if path == "/":
        expect(page.locator("#world-map path.country").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    visitor.snap()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{path} is {overflow}px wider than a 390px phone screen"
