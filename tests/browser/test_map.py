"""The dashboard's world map, drawn by d3 from the vendored world atlas."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

COUNTRIES = "#world-map path.country"
FILL = "element => getComputedStyle(element).fill"


def test_the_map_draws_every_country_and_shades_those_with_projects(visitor):
    visitor.goto("/")
    page = visitor.page
    page.wait_for_function(
        f"() => document.querySelectorAll({COUNTRIES!r}).length > 150", timeout=10_000
    )
    assert page.locator(COUNTRIES).count() > 150
    pakistan = page.locator(f'{COUNTRIES}[data-iso2="PK"]')
    expect(pakistan).to_have_count(1)
    assert int(pakistan.get_attribute("data-count")) >= 1
    without_projects = page.locator(f'{COUNTRIES}[data-count="0"]').first
    expect(without_projects).to_be_attached()
    assert pakistan.evaluate(FILL) != without_projects.evaluate(FILL), (
        "Pakistan (with projects) is filled like a country without any"
    )
    visitor.snap("home")
    assert not visitor.errors, f"JavaScript errors: {visitor.errors}"


def test_clicking_pakistan_on_the_map_opens_the_page_of_pakistan(visitor):
    visitor.goto("/")
    page = visitor.page
    pakistan = page.locator(f'{COUNTRIES}[data-iso2="PK"]')
    expect(pakistan).to_be_visible(timeout=10_000)
    visitor.snap("home")
    pakistan.click()
    expect(page).to_have_url(re.compile(r"/countries/pk/$"))
    expect(page.locator("h1")).to_contain_text("Pakistan")
