"""The editors' workflow through the real admin, end to end: an editor logs in, creates a project
with two countries and an organisation through the inlines and submits it for review; nobody
outside sees it; a reviewer logs in and publishes it; it is then on the public pages and in the
API, and its history names both of them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .support import log_in_to_admin

pytestmark = pytest.mark.browser

NAME = "Almaty-Bishkek Cross-Border Fibre Link"
SLUG = "almaty-bishkek-cross-border-fibre-link"  # what the admin's URLify makes of NAME
PROJECT_TYPE = "fiber-link"
COUNTRIES = {"KZ": "host", "KG": "transit"}  # iso2 -> role
COMPANY = ("huawei", "contractor")  # slug, role
EDITOR = ("edith-editor", "Edith's long passphrase 1")
REVIEWER = ("rémi-reviewer", "Rémi's long passphrase 2")
SUBMIT = "Submit the selected drafts for review"
PUBLISH = "Publish the selected projects"


def staff_user(username: str, password: str, group: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username, password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def log_in(visitor, username: str, password: str) -> None:
    log_in_to_admin(visitor, username, password)
    expect(visitor.page.locator("tr.model-project")).to_be_visible()


def select2_pick(page, container, search: str, option: str) -> None:
    """Open an autocomplete (select2) widget, type in its search field, pick the option."""
    container.locator(".select2-selection").click()
    field = page.locator(".select2-container--open .select2-search__field")
    expect(field).to_be_visible()
    field.press_sequentially(search)
    choice = page.locator(".select2-container--open .select2-results__option", has_text=option)
    # The options come from the admin's autocomplete view: wait for the one wanted, exactly.
    choice = choice.filter(has_text=re.compile(rf"^{re.escape(option)}$"))
    expect(choice).to_have_count(1)
    choice.click()
    expect(container.locator(".select2-selection__rendered")).to_contain_text(option)


def changelist_row(page, name: str):
    return page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def run_action(page, name: str, action: str) -> None:
    """On the projects' changelist: tick the project's row, choose the action, Go."""
    row = changelist_row(page, name)
    expect(row).to_have_count(1)
    row.locator("input.action-select").check()
    page.locator('select[name="action"]').select_option(label=action)
    page.locator('button[name="index"]').click()


def action_labels(page) -> list[str]:
    return page.locator('select[name="action"] option').all_inner_texts()


def open_projects_changelist(visitor) -> None:
    visitor.goto("/admin/")
    visitor.page.locator("tr.model-project th a").click()
    expect(visitor.page.locator("#result_list")).to_be_visible()


def test_an_editor_creates_a_project_a_reviewer_publishes_it_and_the_public_sees_it(
    visitor_factory,
):
    from projects.models import Company, Country, Project, ProjectType

    countries = {iso2: Country.objects.get(iso2=iso2).name for iso2 in COUNTRIES}
    company = Company.objects.get(slug=COMPANY[0]).name
    project_type = ProjectType.objects.get(slug=PROJECT_TYPE).name
    staff_user(*EDITOR, "Editor")
    staff_user(*REVIEWER, "Reviewer")

    # 1. The editor logs in and adds the project: Projects -> Add.
    editor = visitor_factory(suffix="-editor")
    log_in(editor, *EDITOR)
    open_projects_changelist(editor)
    page = editor.page
    page.get_by_role("link", name="Add project", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/projects/project/add/$"))

    page.locator("#id_name").press_sequentially(NAME)
    expect(page.locator("#id_slug")).to_have_value(SLUG)  # prepopulated by the admin's JS
    select2_pick(
        page, page.locator(".field-project_type .select2-container"), "Fiber", project_type
    )
    # Publication stays a draft, and an editor cannot choose "Published".
    expect(page.locator("#id_publication")).to_have_value("draft")
    assert "Published" not in page.locator("#id_publication option").all_inner_texts()

    group = page.locator("#country_roles-group")
    rows = group.locator("tr.form-row:not(.empty-form)")
    expect(rows).to_have_count(1)  # extra = 1
    group.locator(".add-row a").click()  # "Add another country"
    expect(rows).to_have_count(2)
    for index, (iso2, role) in enumerate(COUNTRIES.items()):
        row = page.locator(f"#country_roles-{index}")
        select2_pick(page, row.locator(".field-country .select2-container"), iso2, countries[iso2])
        row.locator(f'select[name="country_roles-{index}-role"]').select_option(role)

    row = page.locator("#company_roles-0")
    select2_pick(page, row.locator(".field-company .select2-container"), "Huawei", company)
    row.locator('select[name="company_roles-0-role"]').select_option(COMPANY[1])
    editor.snap("editors-01-editor-fills-the-new-project")

    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    project = Project.objects.get(slug=SLUG)
    assert project.publication == "draft"
    assert {(r.country.iso2, r.role) for r in project.country_roles.all()} == set(COUNTRIES.items())
    assert {(r.company.slug, r.role) for r in project.company_roles.all()} == {COMPANY}

    # The editor submits it for review from the changelist; publishing is not offered.
    assert PUBLISH not in action_labels(page)
    assert SUBMIT in action_labels(page)
    run_action(page, NAME, SUBMIT)
    expect(page.locator(".messagelist .success")).to_have_text("1 project(s) submitted.")
    expect(changelist_row(page, NAME).locator("td.field-publication")).to_have_text("In review")
    assert PUBLISH not in action_labels(page)
    editor.snap("editors-02-editor-submitted-for-review")

    changelist_row(page, NAME).get_by_role("link", name=NAME, exact=True).click()
    expect(page.locator("#id_publication")).to_have_value("in_review")
    options = page.locator("#id_publication option").all_inner_texts()
    assert "Published" not in options, options
    editor.snap("editors-03-editor-change-form-without-published")

    # 2. Before publication, nobody outside sees it: pages, API, the list.
    public = visitor_factory(suffix="-anonymous")
    assert public.goto(f"/projects/{SLUG}/").status == 404
    assert public.page.request.get(public.url(f"/api/v1/projects/{SLUG}/")).status == 404
    public.goto("/projects/")
    expect(public.page.locator("#project-results .project-card").first).to_be_visible()
    expect(public.page.locator(f'.project-card[data-slug="{SLUG}"]')).to_have_count(0)
    public.snap("editors-04-anonymous-list-before-publication")

    # 3. The reviewer logs in and publishes it.
    reviewer = visitor_factory(suffix="-reviewer")
    log_in(reviewer, *REVIEWER)
    open_projects_changelist(reviewer)
    page = reviewer.page
    assert PUBLISH in action_labels(page)
    run_action(page, NAME, PUBLISH)
    expect(page.locator(".messagelist .success")).to_have_text("1 project(s) published.")
    expect(changelist_row(page, NAME).locator("td.field-publication")).to_have_text("Published")
    reviewer.snap("editors-05-reviewer-published")

    # 4. Now the public sees it: its page, the API, the list, each country's page.
    assert public.goto(f"/projects/{SLUG}/").status == 200
    page = public.page
    expect(page.locator("main h1")).to_have_text(NAME)
    facts = page.locator("dl.facts")
    for name in countries.values():
        expect(facts).to_contain_text(name)
    expect(facts).to_contain_text(company)
    public.snap("editors-06-anonymous-project-page")

    response = page.request.get(public.url(f"/api/v1/projects/{SLUG}/?format=json"))
    assert response.status == 200, response.text()
    data = response.json()
    assert data["name"] == NAME
    assert data["publication"] == "published"
    assert {(c["iso2"], c["role"]) for c in data["countries"]} == set(COUNTRIES.items())
    assert {(c["slug"], c["role"]) for c in data["companies"]} == {COMPANY}

    public.goto("/projects/")
    expect(page.locator(f'#project-results .project-card[data-slug="{SLUG}"]')).to_have_count(1)
    for iso2 in COUNTRIES:
        assert public.goto(f"/countries/{iso2.lower()}/").status == 200
        expect(page.locator(f'.project-card[data-slug="{SLUG}"]')).to_have_count(1)
        public.snap(f"editors-07-anonymous-country-{iso2.lower()}")

    # 5. The history page names the editor's and the reviewer's changes.
    page = reviewer.page
    changelist_row(page, NAME).get_by_role("link", name=NAME, exact=True).click()
    page.locator("a.historylink").click()
    expect(page).to_have_url(re.compile(rf"/admin/projects/project/{project.pk}/history/$"))
    changes = page.locator("#change-history tbody tr")
    by_editor = changes.filter(has=page.locator("td", has_text=re.compile(rf"^{EDITOR[0]}")))
    by_reviewer = changes.filter(has=page.locator("td", has_text=re.compile(rf"^{REVIEWER[0]}")))
    expect(by_editor.first).to_be_visible()
    expect(by_reviewer.first).to_be_visible()
    # The editor created it with its countries and organisation, and submitted it.
    expect(by_editor.filter(has_text="in_review")).not_to_have_count(0)
    for model in ("ProjectCountry", "ProjectCompany"):
        expect(by_editor.filter(has_text=model)).not_to_have_count(0)
    # The reviewer published it.
    expect(by_reviewer.filter(has_text=re.compile(r"in_review\s*→\s*published"))).to_have_count(1)
    reviewer.snap("editors-08-history")

    for visitor in (editor, public, reviewer):
        assert not visitor.errors, f"JavaScript errors: {visitor.errors}"
