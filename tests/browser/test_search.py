"""Site search: results grouped by kind, the matching words highlighted."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_searching_huawei_groups_the_results_and_highlights_the_word(visitor):
    response = visitor.goto("/search/?q=huawei")
    assert response.status == 200
    page = visitor.page
    projects = page.locator('section.results-group[data-kind="projects"]')
    expect(projects).to_have_count(1)
    expect(projects.locator("a").first).to_be_visible()
    marks = page.locator("main mark")
    expect(marks.first).to_be_visible()
    words = [text.strip().lower() for text in marks.all_inner_texts()]
    assert "huawei" in words, f"highlighted: {words}"
    expect(page.locator('section.results-group[data-kind="companies"]')).to_have_count(1)
    visitor.snap()
