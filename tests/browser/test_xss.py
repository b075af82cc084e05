"""Names and texts entered by editors are shown as text, never run as markup."""

import pytest
from playwright.sync_api import expect

from .support import screenshot_name

pytestmark = pytest.mark.browser

PAYLOAD = "<script>alert(1)</script>"
IMAGE_PAYLOAD = '<img src="x" onerror="alert(2)">'
PROJECT = "xss-test-project"
COMPANY = "xss-test-company"
# Elements the payloads would create if a template let them through as markup; JSON islands
# (<script type="application/json">) hold data, not code, and are left out.
RUNNABLE_INJECTED = """() => [
    ...Array.from(document.scripts)
        .filter(s => !s.type || /javascript|module/i.test(s.type))
        .filter(s => s.textContent.includes("alert(")),
    ...document.querySelectorAll("img[onerror]"),
].map(e => e.outerHTML)"""


@pytest.fixture
def hostile_project(server):
    """A published project and a company named like a script, committed for the live server."""
    from projects.models import (
        Company,
        Country,
        Project,
        ProjectCompany,
        ProjectCountry,
        ProjectType,
        Publication,
    )

    company = Company.objects.create(name=PAYLOAD, slug=COMPANY, description=IMAGE_PAYLOAD)
    project = Project.objects.create(
        name=PAYLOAD,
        slug=PROJECT,
        description=f"A project to test escaping: {PAYLOAD} {IMAGE_PAYLOAD} alert",
        project_type=ProjectType.objects.get(slug="fiber-link"),
        status="planned",
        publication=Publication.PUBLISHED,
        latitude=-1.28,
        longitude=36.82,
    )
    ProjectCountry.objects.create(project=project, country=Country.objects.get(iso2="KE"))
    ProjectCompany.objects.create(project=project, company=company, role="contractor")
    return project


def assert_shown_as_text(visitor, container: str) -> None:
    page = visitor.page
    expect(page.locator(container).first).to_contain_text(PAYLOAD)
    injected = page.evaluate(RUNNABLE_INJECTED)
    assert not injected, f"injected markup in the page: {injected}"
    assert not visitor.dialogs, f"a script ran: {visitor.dialogs}"


def test_a_script_in_a_project_or_company_name_is_shown_literally_and_never_runs(
    visitor, hostile_project
):
    for path, container in [
        ("/projects/", f'.project-card[data-slug="{PROJECT}"]'),
        (f"/projects/?company={COMPANY}", f'.project-card[data-slug="{PROJECT}"]'),
        (f"/projects/{PROJECT}/", "main"),
    ]:
        response = visitor.goto(path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        visitor.page.wait_for_load_state("networkidle")
        assert_shown_as_text(visitor, container)
        visitor.snap("xss-" + screenshot_name(visitor.page.url))
    expect(visitor.page.locator("h1")).to_contain_text(PAYLOAD)


def test_a_script_in_a_name_stays_text_on_the_company_page_and_in_highlighted_search(
    visitor, hostile_project
):
    for path in [f"/companies/{COMPANY}/", "/search/?q=alert"]:
        response = visitor.goto(path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        visitor.page.wait_for_load_state("networkidle")
        assert_shown_as_text(visitor, "main")
        visitor.snap("xss-" + screenshot_name(visitor.page.url))
