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
def test_every_page_has_the_navigation_loads_nothing_from_elsewhere_and_passes_axe(
    visitor, path, status
):
    """One visit per page checks everything, and reports every problem it finds at once."""
    response = visitor.goto(resolve(path))
    page = visitor.page
    # Let the scripts finish (map drawn, htmx ready): every request is recorded and axe sees
    # the page readers get.
    page.wait_for_load_state("networkidle")
    visitor.snap()
    problems = []
    if response.status != status:
        problems.append(f"HTTP {response.status}, expected {status}")
    if page.locator("main#main").count() != 1:
        problems.append('no <main id="main">')
    nav = page.locator('header nav[aria-label="Main"]')
    if nav.count() != 1:
        problems.append('no <nav aria-label="Main"> in the header')
    for name, href in NAVIGATION.items():
        links = nav.get_by_role("link", name=name, exact=True)
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        if not any(h and h.split("?")[0].endswith(href) for h in hrefs):
            problems.append(f"the main navigation has no link {name!r} to {href} ({hrefs})")
    foreign = visitor.foreign_requests()
    visitor.reported = len(foreign)
    if foreign:
        problems.append("requests to another host: " + ", ".join(sorted(set(foreign))))
    if visitor.errors:
        problems.append(f"JavaScript errors: {visitor.errors}")
    violations = visitor.serious_axe_violations()
    if violations:
        problems.append("serious or critical axe violations:\n" + describe_violations(violations))
    assert not problems, f"{path}:\n" + "\n".join(problems)


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
