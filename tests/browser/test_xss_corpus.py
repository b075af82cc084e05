"""Stored XSS in a real browser: with a payload in every text field and a document made of
payloads imported through the import service, Chromium visits the public pages and the
admin's, and no payload runs, opens a dialog or leaves an element that would run.

The pages are visited with the Content-Security-Policy bypassed: the policy would stop an
inline script that escaping let through, and these tests are about the escaping. (tests/
browser/test_csp.py checks the policy itself.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.security.xss_corpus import (
    IMPORTABLE,
    PAYLOADS,
    build_hostile_content,
    import_hostile_document,
    payload_text,
    public_pages,
)

from .support import screenshot_name

pytestmark = pytest.mark.browser

SUPERUSER = ("corpus-admin", "A long passphrase for the corpus")
# Payloads a visitor reads as they are (the last one holds control characters).
READABLE = [p for p in PAYLOADS if p in IMPORTABLE]
# What the payloads would have built had a page taken them for markup. JSON islands
# (<script type="application/json">) hold data, not code, and are left out.
RUNNABLE_INJECTED = r"""() => {
    const found = [];
    const scriptAddress = /^\s*(javascript|vbscript|data\s*:\s*text\/html)/i;
    for (const script of document.scripts) {
        if ((!script.type || /javascript|module/i.test(script.type))
                && /alert\(|__xss|xss-/.test(script.textContent)) found.push(script);
    }
    for (const element of document.querySelectorAll("*")) {
        const tag = element.localName;
        if (["iframe", "object", "embed", "math", "mglyph", "frame", "base"].includes(tag)) {
            found.push(element);
            continue;
        }
        for (const attribute of element.attributes) {
            const name = attribute.name.toLowerCase();
            if (name.startsWith("on")
                || (/^(data-)?hx-/.test(name) && /xss-|alert\(/.test(attribute.value))
                || (["href", "src", "action", "formaction", "data", "xlink:href", "srcdoc"]
                    .includes(name) && scriptAddress.test(attribute.value))
                || name.includes("xss-")) {
                found.push(element);
                break;
            }
        }
        if (tag === "img" && element.getAttribute("src") === "x") found.push(element);
    }
    return found.map((element) => element.outerHTML.slice(0, 300));
}"""


@pytest.fixture
def open_without_csp(visitor_factory):
    return lambda: visitor_factory(suffix="-xss", bypass_csp=True)


@pytest.fixture
def hostile(server, settings, tmp_path):
    """The corpus in every text field and an imported hostile document, committed for the
    live server."""
    from django.contrib.auth import get_user_model

    settings.MEDIA_ROOT = tmp_path / "media"
    root = get_user_model().objects.create_superuser(SUPERUSER[0], password=SUPERUSER[1])
    filled = build_hostile_content(user=root)
    imported, status = import_hostile_document(user=root)
    assert status == "done", imported.error
    return filled, imported, root


def assert_nothing_ran(visitor, path: str) -> None:
    page = visitor.page
    injected = page.evaluate(RUNNABLE_INJECTED)
    assert not injected, f"{path}: injected markup in the page: {injected}"
    assert page.evaluate("() => typeof window.__xss") == "undefined", f"{path}: a payload ran"
    assert not visitor.dialogs, f"{path}: a script ran: {visitor.dialogs}"


def visit(visitor, path: str, statuses=(200,)) -> None:
    response = visitor.goto(path)
    assert response.status in statuses, f"{path}: HTTP {response.status}"
    visitor.page.wait_for_load_state("load")
    # Handlers such as ontoggle and onfocus fire just after load, htmx's on its start-up.
    visitor.page.wait_for_timeout(150)
    assert_nothing_ran(visitor, path)
    visitor.snap("xss-corpus-" + screenshot_name(visitor.page.url))


def test_no_payload_runs_on_any_public_page(open_without_csp, hostile):
    filled, imported, _ = hostile
    visitor = open_without_csp()
    for paths in public_pages(filled, imported).values():
        for path in paths:
            visit(visitor, path)
    # Payloads in the address, shown back in the filters (a 400 names a bad filter value).
    for path in [f"/projects/?q={PAYLOADS[3]}&company={PAYLOADS[0]}", f"/search/?q={PAYLOADS[1]}"]:
        visit(visitor, path, statuses=(200, 400))

    # The data is there, as text: the project's page and the imported document's.
    project = filled.objects["project"]
    visit(visitor, project.get_absolute_url())
    main = visitor.page.locator("main")
    for payload in READABLE:
        expect(main).to_contain_text(payload)
    expect(visitor.page.locator("#citations blockquote").first).to_contain_text(PAYLOADS[0])
    visit(visitor, imported.get_absolute_url())
    expect(visitor.page.locator("h1")).to_contain_text(IMPORTABLE[0])
    text = visitor.page.locator(".document-text")
    for payload in IMPORTABLE:
        expect(text).to_contain_text(payload)
    expect(text.locator("a.mention").first).to_be_visible()
    # The world map read its JSON island, a country named by payloads included.
    visit(visitor, f"/countries/{filled.objects['country'].iso2.lower()}/")
    expect(visitor.page.locator("#world-map path.country").first).to_be_attached()
    assert not visitor.errors, visitor.errors


def test_no_payload_runs_in_the_admin(open_without_csp, hostile):
    """Logged in through the admin's form as a superuser whose own name is a payload."""
    from django.urls import reverse

    from .support import log_in_to_admin

    filled, imported, root = hostile
    visitor = open_without_csp()
    log_in_to_admin(visitor, *SUPERUSER)
    root.first_name = payload_text(0, 150)
    root.save()

    project, document = filled.objects["project"], filled.objects["document"]
    proposal = imported.proposals.first()
    paths = [
        "/admin/",
        reverse("admin:projects_project_changelist") + "?q=xss",
        reverse("admin:projects_project_change", args=[project.pk]),
        reverse("admin:projects_project_history", args=[project.pk]),
        reverse("admin:projects_company_changelist"),
        reverse("admin:projects_company_change", args=[filled.objects["company"].pk]),
        reverse("admin:projects_country_change", args=[filled.objects["country"].pk]),
        reverse("admin:projects_sourcedocument_changelist"),
        reverse("admin:projects_sourcedocument_change", args=[imported.pk]),
        reverse("admin:projects_sourcedocument_change", args=[document.pk]),
        reverse("admin:projects_citation_change", args=[filled.objects["citation"].pk]),
        reverse("admin:projects_mention_changelist"),
        reverse("admin:projects_proposal_changelist"),
        reverse("admin:projects_proposal_change", args=[proposal.pk]),
        reverse("admin:projects_datasetimport_change", args=[filled.objects["dataset_import"].pk]),
        "/admin/pghistory/events/",
    ]
    for path in paths:
        visit(visitor, path)
    expect(visitor.page.locator("#user-tools")).to_contain_text(PAYLOADS[0])

    # An action form lists the selected entries by name: merge two organisations.
    visit(visitor, reverse("admin:projects_company_changelist") + "?q=xss")
    page = visitor.page
    for row in page.locator("#result_list tbody tr").all()[:2]:
        row.locator("input.action-select").check()
    page.locator('select[name="action"]').select_option("merge")
    page.locator('button[name="index"]').click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#content-main li").first).to_contain_text("alert('xss-")
    assert_nothing_ran(visitor, "the merge form")
