"""What each page shows, per the pages' markup contract, with the demo data."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAKISTAN_PROJECTS = {
    "pakistan-china-fiber-optic-project",
    "peace-submarine-cable",
    "islamabad-safe-city",
    "prss-1-pakistan-remote-sensing-satellite",
}


def slugs(page, container: str) -> set[str]:
    cards = page.locator(f"{container} .project-card")
    return set(cards.evaluate_all("cards => cards.map(c => c.dataset.slug)"))


def test_the_dashboard_shows_totals_charts_and_recent_projects(visitor):
    visitor.goto("/")
    page = visitor.page
    expect(page.locator('dd[data-total="projects"]')).to_have_text("17")
    for total in ("countries", "companies", "documents"):
        text = page.locator(f'dd[data-total="{total}"]').inner_text().strip()
        assert text.replace(",", "").isdigit() and int(text.replace(",", "")) > 0, (total, text)
    for chart in ("#chart-types", "#chart-years"):
        expect(page.locator(f"figure{chart} .bar").first).to_be_visible()
    recent = page.locator('section#recent-projects a[href^="/projects/"]')
    expect(recent.first).to_be_visible()


def test_the_country_list_filters_by_region_and_sorts(visitor):
    visitor.goto("/countries/")
    page = visitor.page
    expect(page.locator("#country-table a").first).to_be_visible()
    region = page.locator('#country-filters select[name="region"]')
    expect(region.locator('option[value="Africa"]')).to_have_count(1)

    visitor.goto("/countries/?region=Africa&ordering=name")
    names = page.locator("#country-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('a').textContent.trim())"
    )
    assert "Kenya" in names, names
    assert "Pakistan" not in names, names
    visitor.goto("/countries/?region=Africa&ordering=-name")
    reversed_names = page.locator("#country-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('a').textContent.trim())"
    )
    assert reversed_names == names[::-1]

    visitor.goto("/countries/?ordering=-project_count")
    expect(page.locator("#country-table tbody tr").first).to_contain_text("Pakistan")


def test_the_page_of_pakistan_lists_its_projects_companies_timeline_and_sources(visitor):
    response = visitor.goto("/countries/pk/")
    assert response.status == 200
    page = visitor.page
    expect(page.locator("h1")).to_contain_text("Pakistan")
    expect(page.locator("#project-results .project-card").first).to_be_visible()
    assert slugs(page, "#project-results") == PAKISTAN_PROJECTS
    expect(page.locator("#country-companies")).to_contain_text("Huawei")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator('#country-sources a[href*="/documents/"]').first).to_be_visible()


def test_the_company_list_links_companies_and_huawei_lists_its_projects(visitor):
    visitor.goto("/companies/")
    page = visitor.page
    expect(page.locator('main a[href^="/companies/"]').first).to_be_visible()
    response = visitor.goto("/companies/huawei/")
    assert response.status == 200
    expect(page.locator("h1")).to_contain_text("Huawei")
    assert "pakistan-china-fiber-optic-project" in slugs(page, "#project-results")


def test_the_project_page_shows_roles_quoted_citations_how_to_cite_and_a_map(visitor):
    response = visitor.goto("/projects/pakistan-china-fiber-optic-project/")
    assert response.status == 200
    page = visitor.page
    expect(page.locator("h1")).to_contain_text("Pakistan")
    main = page.locator("main")
    expect(main.locator('a[href="/countries/pk/"]').first).to_be_visible()
    expect(main.locator('a[href="/companies/huawei/"]').first).to_be_visible()
    expect(main).to_contain_text(re.compile("contractor", re.I))
    expect(main).to_contain_text(re.compile("financier", re.I))
    expect(page.locator("#citations blockquote").first).to_be_visible()
    expect(page.locator('#citations a[href^="/documents/"]').first).to_be_visible()
    expect(page.locator("#cite-this")).to_contain_text("Pakistan")
    bibtex = page.locator("#cite-this pre#bibtex")
    expect(bibtex).to_contain_text(re.compile(r"@\w+\{"))
    expect(bibtex).to_contain_text("pakistan-china-fiber-optic-project")
    expect(page.locator("#project-map")).to_be_visible()


def test_the_document_list_leads_to_a_document_and_back_to_the_projects_citing_it(visitor):
    visitor.goto("/documents/")
    page = visitor.page
    links = page.locator('main a[href*="/documents/"]')
    expect(links.first).to_be_visible()
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    detail = next((h for h in hrefs if re.search(r"/documents/\d+/$", h)), None)
    assert detail, f"no link to a document on /documents/: {hrefs[:10]}"
    page.locator(f'main a[href="{detail}"]').first.click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/$"))
    expect(page.locator("h1")).not_to_be_empty()
    expect(page.locator('main a[href^="/projects/"]').first).to_be_visible()
