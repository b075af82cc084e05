"""Filtering the project list: with JavaScript (htmx swaps the results and updates the URL),
with a shareable URL, and without JavaScript (a plain GET form)."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SUBMARINE_CABLES = {"peace-submarine-cable", "sail-south-atlantic-inter-link"}
FILTERS = "#project-filters"
CARDS = "#project-results .project-card"


def card_slugs(page) -> set[str]:
    return set(page.locator(CARDS).evaluate_all("cards => cards.map(c => c.dataset.slug)"))


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_ticking_a_type_updates_the_results_and_the_url_without_reloading_the_page(visitor):
    visitor.goto("/projects/")
    page = visitor.page
    expect(page.locator(FILTERS)).to_have_attribute("method", re.compile("get", re.I))
    expect(page.locator("#result-count")).to_have_text("17")
    expect(page.locator(f"{FILTERS} .facet-count").first).to_be_visible()
    # A full page load would forget this; an htmx swap keeps it.
    page.evaluate("() => { window.stillTheSamePage = true; }")

    page.locator(f'{FILTERS} input[name="type"][value="submarine-cable"]').check()
    expect(page.locator("#result-count")).to_have_text("2")
    expect(page.locator(CARDS)).to_have_count(2)
    assert card_slugs(page) == SUBMARINE_CABLES
    expect(page).to_have_url(re.compile(r"[?&]type=submarine-cable(&|$)"))
    assert page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"
    for kind in ("csv", "json", "geojson"):
        href = page.locator(f"a#download-{kind}").get_attribute("href")
        assert urlsplit(href).path == "/api/v1/projects/", href
        assert query(href).get("format") == [kind], href
        assert query(href).get("type") == ["submarine-cable"], href
    visitor.snap()

    page.locator(f'{FILTERS} [name="q"]').fill("PEACE")
    expect(page.locator("#result-count")).to_have_text("1")
    expect(page.locator(CARDS)).to_have_count(1)
    assert card_slugs(page) == {"peace-submarine-cable"}
    expect(page).to_have_url(re.compile(r"[?&]q=PEACE(&|$)"))
    assert query(page.url).get("type") == ["submarine-cable"]
    assert page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"
    assert not visitor.errors, f"JavaScript errors: {visitor.errors}"


def test_a_filtered_url_can_be_shared_and_reloaded_with_the_same_results(visitor):
    visitor.goto("/projects/")
    page = visitor.page
    page.locator(f'{FILTERS} input[name="type"][value="submarine-cable"]').check()
    expect(page.locator("#result-count")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"type=submarine-cable"))
    shared = page.url

    page.reload()
    expect(page.locator("#result-count")).to_have_text("2")
    assert card_slugs(page) == SUBMARINE_CABLES
    expect(page.locator(f'{FILTERS} input[name="type"][value="submarine-cable"]')).to_be_checked()

    # Someone else opening the link gets the same list.
    other = visitor.page.context.new_page()
    try:
        other.goto(shared)
        expect(other.locator("#result-count")).to_have_text("2")
        assert card_slugs(other) == SUBMARINE_CABLES
    finally:
        other.close()


def test_the_filters_work_without_javascript(visitor_factory):
    visitor = visitor_factory(javascript=False, suffix="-nojs")
    response = visitor.goto("/projects/")
    assert response.status == 200
    page = visitor.page
    page.locator(f'{FILTERS} input[name="type"][value="submarine-cable"]').check()
    with page.expect_navigation():
        page.locator(f'{FILTERS} [type="submit"]').click()
    assert query(page.url).get("type") == ["submarine-cable"], page.url
    expect(page.locator("#result-count")).to_have_text("2")
    assert card_slugs(page) == SUBMARINE_CABLES
    visitor.snap()

    page.locator(f'{FILTERS} [name="q"]').fill("PEACE")
    with page.expect_navigation():
        page.locator(f'{FILTERS} [type="submit"]').click()
    assert query(page.url).get("q") == ["PEACE"], page.url
    assert query(page.url).get("type") == ["submarine-cable"], page.url
    expect(page.locator("#result-count")).to_have_text("1")
    assert card_slugs(page) == {"peace-submarine-cable"}


def test_an_unknown_country_code_is_shown_next_to_its_filter_not_as_a_server_error(visitor):
    response = visitor.goto("/projects/?country=zz")
    assert response.status in (200, 400), f"HTTP {response.status}"
    page = visitor.page
    expect(page.locator('nav[aria-label="Main"]')).to_be_visible()
    # Next to the filter: in the element that holds the country select.
    beside = page.locator(f'{FILTERS} [name="country"]').locator("xpath=..")
    error = beside.locator(".field-error").first
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
