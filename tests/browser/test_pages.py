"""Every page, the 404 page included: the site's header and navigation, nothing loaded from
another host, no JavaScript error, no serious or critical accessibility violation (axe-core),
and a full-page screenshot as an artifact; the dashboard and the project list at phone width."""

import textwrap

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
    # An unknown slug: a friendly page for people (HTML, heading, the site's navigation).
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


def problems_on(visitor, path: str, status: int) -> list[str]:
    """Everything wrong with one page, so that a run reports every page's problems at once."""
    first_request = len(visitor.requests)
    response = visitor.goto(path)
    page = visitor.page
    # Let the scripts finish (map drawn, htmx ready): every request is recorded and axe sees
    # the page readers get.
    page.wait_for_load_state("networkidle")
    visitor.snap()
    problems = []
    if response.status != status:
        problems.append(f"HTTP {response.status}, expected {status}")
    if "text/html" not in response.headers.get("content-type", ""):
        problems.append(f"not an HTML page: {response.headers.get('content-type')}")
    if page.locator("main h1").count() == 0:
        problems.append("no <h1> heading in <main>")
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
    foreign = [url for url in visitor.foreign_requests() if url in visitor.requests[first_request:]]
    if foreign:
        problems.append("requests to another host: " + ", ".join(sorted(set(foreign))))
    if visitor.errors:
        problems.append(f"JavaScript errors: {visitor.errors}")
        visitor.errors.clear()
    violations = visitor.serious_axe_violations()
    if violations:
        details = textwrap.indent(describe_violations(violations), "    ")
        problems.append(f"serious or critical axe violations:\n{details}")
    return problems


def test_every_page_has_the_navigation_loads_nothing_from_elsewhere_and_passes_axe(visitor):
    """One test visits every page (the demo data is loaded once, not twelve times) and reports
    every problem of every page."""
    report = []
    for path, status in PAGES:
        problems = problems_on(visitor, resolve(path), status)
        if problems:
            report.append(f"{path}:\n  " + "\n  ".join(problems))
    visitor.reported = len(visitor.foreign_requests())
    assert not report, "\n".join(report)


def test_the_dashboard_and_the_project_list_fit_a_phone_screen(visitor_factory):
    visitor = visitor_factory(viewport=PHONE, suffix="-phone")
    page = visitor.page
    too_wide = {}
    for path in ("/", "/projects/"):
        response = visitor.goto(path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        if path == "/":
            expect(page.locator("#world-map path.country").first).to_be_attached()
        page.wait_for_load_state("networkidle")
        visitor.snap()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            too_wide[path] = overflow
    assert not too_wide, f"pages wider than a 390px phone screen (extra px): {too_wide}"
