"""Every page satisfies the Content-Security-Policy with its scripts running: the public pages
(the project filters' htmx included), the browsable API root, the API's Swagger UI (operations
rendered and one run) and the admin (a select2 autocomplete opened). The browser reports no
violation, and every response from the app carries the policy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from .support import log_in_to_admin
from .test_pages import DOCUMENT, resolve

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/projects/pakistan-china-fiber-optic-project/",
    "/countries/",
    "/countries/pk/",
    "/companies/",
    "/companies/huawei/",
    "/documents/",
    DOCUMENT,
    "/search/?q=huawei",
    "/about/",
    "/projects/no-such-project/",
    "/api/v1/",
]
PROJECT = "pakistan-china-fiber-optic-project"
SUPERUSER = ("csp-root", "A long passphrase for the CSP test")
# Reports every violation to the test, on every page the tab opens.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
    window.reportCspViolation(
        `${location.pathname}: ${event.effectiveDirective} refused ` +
        `${event.blockedURI || "(inline)"} (${event.sourceFile}:${event.lineNumber}) ` +
        `${event.sample}`
    );
});
"""


@dataclass
class PolicyWatch:
    """The violations the browser reported, and the responses the app sent, in one tab."""

    base_url: str
    violations: list[str] = field(default_factory=list)
    responses: list = field(default_factory=list)

    def on_violation(self, description: str) -> None:
        self.violations.append(description)

    def on_console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def on_response(self, response) -> None:
        # Static files come from the live server's own handler, outside the middleware (in a
        # deployment WhiteNoise serves them inside it, so they carry the policy too).
        if response.url.startswith(self.base_url + "/") and not response.url.startswith(
            self.base_url + "/static/"
        ):
            self.responses.append(response)

    def responses_without(self, policy: str) -> list[str]:
        found = [
            (response, response.all_headers().get("content-security-policy"))
            for response in self.responses
        ]
        return [f"{r.url} ({r.status}): {value!r}" for r, value in found if value != policy]


@pytest.fixture
def watched(visitor):
    watch = PolicyWatch(base_url=visitor.base_url)
    page = visitor.page
    page.expose_function("reportCspViolation", watch.on_violation)
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", watch.on_console)
    page.on("response", watch.on_response)
    return visitor, watch


def assert_policy_satisfied(watch: PolicyWatch) -> None:
    from django.conf import settings

    from dsr_kb.csp import render_policy

    assert not watch.violations, "CSP violations:\n" + "\n".join(watch.violations)
    assert watch.responses, "no response from the app was seen"
    missing = watch.responses_without(render_policy(settings.CONTENT_SECURITY_POLICY))
    assert not missing, "responses without the policy:\n" + "\n".join(missing)


def visit(visitor, path: str) -> None:
    visitor.goto(path)
    visitor.page.wait_for_load_state("networkidle")


def filter_projects(visitor) -> None:
    """Type in the project list's text filter: htmx fetches and swaps in the results."""
    visit(visitor, "/projects/")
    page = visitor.page
    page.locator("#filter-q").fill("PEACE")
    expect(page).to_have_url(re.compile(r"[?&]q=PEACE"))
    expect(page.locator("#project-results")).to_contain_text("PEACE")


def run_an_operation_in_swagger_ui(visitor) -> None:
    visit(visitor, "/api/v1/docs/")
    page = visitor.page
    operations = page.locator("#swagger-ui .opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 10
    countries = page.locator("#operations-countries-countries_list")
    countries.locator(".opblock-summary").click()
    countries.get_by_role("button", name="Try it out").click()
    countries.get_by_role("button", name="Execute").click()
    status = countries.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text("200")


def test_the_public_pages_and_the_api_docs_satisfy_the_policy(watched):
    visitor, watch = watched
    for path in PUBLIC_PAGES:
        visit(visitor, resolve(path))
    filter_projects(visitor)
    run_an_operation_in_swagger_ui(visitor)
    assert_policy_satisfied(watch)


def open_an_autocomplete(visitor, project) -> None:
    """The project's type is a select2 autocomplete: its options come from the admin."""
    visit(visitor, f"/admin/projects/project/{project.pk}/change/")
    page = visitor.page
    page.locator(".field-project_type .select2-selection").click()
    options = page.locator(
        ".select2-container--open .select2-results__option:not(.loading-results)"
    )
    expect(options.nth(1)).to_be_visible()
    page.keyboard.press("Escape")


def test_the_admin_satisfies_the_policy(watched):
    from django.contrib.auth import get_user_model

    from projects.models import Project

    visitor, watch = watched
    get_user_model().objects.create_superuser(SUPERUSER[0], password=SUPERUSER[1])
    project = Project.objects.get(slug=PROJECT)
    # A change with a diff, so that the history page shows one.
    Project.objects.filter(pk=project.pk).update(length_km=821)

    log_in_to_admin(visitor, *SUPERUSER)
    open_an_autocomplete(visitor, project)
    for path in (
        "/admin/projects/project/",
        "/admin/projects/project/add/",
        "/admin/projects/sourcedocument/import/",
        "/admin/projects/proposal/",
        f"/admin/projects/project/{project.pk}/history/",
    ):
        visit(visitor, path)
    expect(visitor.page.locator("#change-history ul.diff").first).to_be_visible()
    assert_policy_satisfied(watch)
