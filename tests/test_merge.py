"""Merging duplicate companies and projects keeps every relation, citation, alias and id."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from projects.filtersets import search_query
from projects.models import (
    Citation,
    Company,
    Country,
    Initiative,
    Mention,
    Ownership,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectSearch,
    Proposal,
    SourceDocument,
)
from projects.services.merge import companies_merge, projects_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return get_user_model().objects.create_user("merger", password="x")


@pytest.fixture
def documents():
    return [
        SourceDocument.objects.create(title=f"Report {i}", url=f"https://example.org/merge/{i}")
        for i in range(3)
    ]


@pytest.fixture
def make_company():
    def make(slug, **fields):
        fields.setdefault("name", slug.replace("-", " ").title())
        return Company.objects.create(slug=slug, **fields)

    return make


def country(iso2):
    return Country.objects.get(iso2=iso2)


def initiative(slug):
    return Initiative.objects.get(slug=slug)


def proposal(document, key, **fields):
    return Proposal.objects.create(
        document=document, key=key, sentence=f"Sentence {key}.", confidence=0.5, **fields
    )


def mention(document, start, company):
    return Mention.objects.create(
        document=document, start=start, end=start + 3, text="Co.", company=company
    )


def merge_events(model, **filters):
    events = model.pgh_event_model.objects.filter(**filters).select_related("pgh_context")
    return [e for e in events if e.pgh_context and e.pgh_context.metadata.get("service") == "merge"]


# Companies


def test_project_roles_move_and_a_role_the_survivor_has_is_kept_once(make_company, make_project):
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup")
    first, second = make_project(slug="merge-p1"), make_project(slug="merge-p2")
    ProjectCompany.objects.create(project=first, company=survivor, role="owner")
    ProjectCompany.objects.create(project=first, company=duplicate, role="owner")
    ProjectCompany.objects.create(project=first, company=duplicate, role="contractor")
    ProjectCompany.objects.create(project=second, company=duplicate, role="operator")
    expected = {(first.pk, "owner"), (first.pk, "contractor"), (second.pk, "operator")}

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    roles = set(survivor.project_roles.values_list("project_id", "role"))
    assert roles == expected
    assert survivor.project_roles.count() == len(expected)
    assert report.moved["project roles"] == 2
    assert report.merged["project roles"] == 1
    assert not Company.objects.filter(pk=duplicate.pk).exists()


def test_mentions_and_proposal_links_move_without_duplicate_links(make_company, documents):
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup")
    mention(documents[0], 0, survivor)
    mention(documents[0], 10, duplicate)
    mention(documents[1], 0, duplicate)
    both, only_duplicate = proposal(documents[0], "both"), proposal(documents[0], "dup")
    both.companies.add(survivor, duplicate)
    only_duplicate.companies.add(duplicate)

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    assert survivor.mentions.count() == 3
    assert list(both.companies.all()) == [survivor]
    assert list(only_duplicate.companies.all()) == [survivor]
    assert (report.moved["mentions"], report.moved["proposals"], report.merged["proposals"]) == (
        2,
        1,
        1,
    )


def test_subsidiaries_of_a_duplicate_become_the_survivors(make_company):
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup")
    daughters = [make_company(f"merge-daughter-{i}", parent=duplicate) for i in range(2)]
    own = make_company("merge-own-daughter", parent=survivor)

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    assert set(survivor.subsidiaries.all()) == {*daughters, own}
    assert report.moved["subsidiaries"] == 2


def test_a_survivor_whose_parent_was_the_duplicate_gets_the_duplicates_parent(make_company):
    grandparent = make_company("merge-grandparent")
    duplicate = make_company("merge-dup", parent=grandparent)
    survivor = make_company("merge-keep", parent=duplicate)

    companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.parent == grandparent


@pytest.mark.parametrize("shape", ["each other's parent", "parent below the duplicate"])
def test_a_survivor_never_becomes_its_own_ancestor(make_company, shape):
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup")
    if shape == "each other's parent":
        survivor.parent, duplicate.parent = duplicate, survivor
    else:
        survivor.parent = make_company("merge-middle", parent=duplicate)
    survivor.save()
    duplicate.save()

    companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.parent is None


def test_a_survivor_without_parent_takes_the_duplicates(make_company):
    holding = make_company("merge-holding")
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup", parent=holding)

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.parent == holding
    assert "parent" not in report.fields_filled


def test_names_of_the_duplicate_become_distinct_aliases(make_company):
    survivor = make_company(
        "merge-keep",
        name="China Telecom",
        chinese_name="中国电信",
        aliases=["CT", "China Telecom Corp"],
    )
    duplicate = make_company(
        "merge-dup",
        name="China Telecom Corporation",
        chinese_name="中國電信",
        aliases=["ct", "CHINA TELECOM", "China Telecom Corp.", " "],
    )

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.aliases == [
        "CT",
        "China Telecom Corp",
        "China Telecom Corporation",
        "中國電信",
        "China Telecom Corp.",
    ]
    assert survivor.chinese_name == "中国电信"
    assert report.aliases_added == 3


def test_an_alias_that_names_another_company_is_kept(make_company):
    make_company("merge-other", name="Shared Name Ltd")
    survivor = make_company("merge-keep")
    duplicate = make_company("merge-dup", aliases=["Shared Name Ltd"])

    companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert "Shared Name Ltd" in survivor.aliases
    survivor.full_clean()


def test_empty_company_fields_are_filled_and_set_ones_kept(make_company):
    kenya = country("KE")
    survivor = make_company("merge-keep", website="https://keep.example.org", kind="firm")
    duplicate = make_company(
        "merge-dup",
        chinese_name="保留",
        website="https://dup.example.org",
        description="Builds links.",
        headquarters=kenya,
        kind="bank",
        ownership=Ownership.STATE_OWNED,
    )

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.website == "https://keep.example.org"
    assert (survivor.chinese_name, survivor.description) == ("保留", "Builds links.")
    assert survivor.headquarters == kenya
    assert survivor.ownership == Ownership.STATE_OWNED
    assert survivor.kind == "firm"
    assert set(report.fields_filled) == {"chinese_name", "description", "headquarters", "ownership"}


def test_external_ids_are_merged_and_conflicts_kept_under_merged_keys(make_company):
    survivor = make_company("merge-keep", external_ids={"wikidata": "Q1", "lei": "L1"})
    duplicate = make_company(
        "merge-dup", external_ids={"wikidata": "Q2", "lei": "L1", "opencorporates": "OC"}
    )

    report = companies_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.external_ids == {
        "wikidata": "Q1",
        "wikidata_merged": "Q2",
        "lei": "L1",
        "opencorporates": "OC",
    }
    assert report.external_id_conflicts == 1


def test_three_companies_merge_at_once(make_company, make_project, documents):
    survivor = make_company("merge-keep", external_ids={"wikidata": "Q1"})
    duplicates = [
        make_company("merge-dup-a", external_ids={"wikidata": "Q2"}, aliases=["Dup A Co"]),
        make_company("merge-dup-b", external_ids={"wikidata": "Q3"}, description="From B."),
    ]
    project = make_project(slug="merge-p1")
    for company in (survivor, *duplicates):
        ProjectCompany.objects.create(project=project, company=company, role="owner")
    for i, company in enumerate(duplicates):
        ProjectCompany.objects.create(project=project, company=company, role="contractor")
        mention(documents[0], 10 * i, company)
        make_company(f"merge-daughter-{i}", parent=company)
    links = proposal(documents[0], "k")
    links.companies.add(*duplicates)

    report = companies_merge(survivor=survivor, duplicates=duplicates)

    survivor.refresh_from_db()
    assert set(survivor.project_roles.values_list("role", flat=True)) == {"owner", "contractor"}
    assert survivor.project_roles.count() == 2
    assert survivor.mentions.count() == 2
    assert list(links.companies.all()) == [survivor]
    assert survivor.subsidiaries.count() == 2
    assert survivor.aliases == ["Merge Dup A", "Dup A Co", "Merge Dup B"]
    assert survivor.external_ids == {
        "wikidata": "Q1",
        "wikidata_merged": "Q2",
        "wikidata_merged_2": "Q3",
    }
    assert survivor.description == "From B."
    assert not Company.objects.filter(pk__in=[d.pk for d in duplicates]).exists()
    assert report.duplicates == 2
    assert report.merged["project roles"] == 3
    assert report.message().startswith("Merged 2 duplicate(s) into “Merge Keep”")


def test_a_company_merge_is_recorded_in_the_history(make_company, make_project, editor):
    survivor, duplicate = make_company("merge-keep"), make_company("merge-dup")
    project = make_project(slug="merge-p1")
    role = ProjectCompany.objects.create(project=project, company=duplicate, role="owner")

    companies_merge(survivor=survivor, duplicates=[duplicate], user=editor)

    metadata = {
        "service": "merge",
        "merged_into": survivor.pk,
        "merged": [duplicate.pk],
        "user": editor.pk,
    }
    deleted = merge_events(Company, pgh_obj_id=duplicate.pk, pgh_label="delete")
    updated = merge_events(Company, pgh_obj_id=survivor.pk, pgh_label="update")
    moved = merge_events(ProjectCompany, pgh_obj_id=role.pk, pgh_label="update")
    assert [e.pgh_context.metadata for e in deleted] == [metadata]
    assert [e.aliases for e in updated] == [["Merge Dup"]]
    assert [e.company_id for e in moved] == [survivor.pk]


# Projects


def test_every_project_relation_moves_and_shared_rows_are_kept_once(make_project, make_company):
    company = make_company("merge-builder")
    survivor, duplicate = make_project(slug="merge-keep"), make_project(slug="merge-dup")
    ProjectCountry.objects.create(project=survivor, country=country("KE"), role="host")
    ProjectCountry.objects.create(project=duplicate, country=country("KE"), role="host")
    ProjectCountry.objects.create(project=duplicate, country=country("KE"), role="transit")
    ProjectCountry.objects.create(project=duplicate, country=country("DJ"), role="landing_point")
    ProjectCompany.objects.create(project=survivor, company=company, role="owner")
    ProjectCompany.objects.create(project=duplicate, company=company, role="owner")
    ProjectCompany.objects.create(project=duplicate, company=company, role="operator")
    ProjectInitiative.objects.create(project=survivor, initiative=initiative("digital-silk-road"))
    ProjectInitiative.objects.create(project=duplicate, initiative=initiative("digital-silk-road"))
    ProjectInitiative.objects.create(project=duplicate, initiative=initiative("maritime-silk-road"))

    report = projects_merge(survivor=survivor, duplicates=[duplicate])

    assert set(survivor.country_roles.values_list("country__iso2", "role")) == {
        ("KE", "host"),
        ("KE", "transit"),
        ("DJ", "landing_point"),
    }
    assert survivor.country_roles.count() == 3
    assert set(survivor.company_roles.values_list("role", flat=True)) == {"owner", "operator"}
    assert survivor.company_roles.count() == 2
    assert set(survivor.initiatives.values_list("slug", flat=True)) == {
        "digital-silk-road",
        "maritime-silk-road",
    }
    assert report.moved == {
        "countries": 2,
        "companies": 1,
        "initiatives": 1,
        "citations": 0,
        "proposals": 0,
    }
    assert report.merged["countries"] == report.merged["companies"] == 1
    assert not Project.objects.filter(pk=duplicate.pk).exists()


def test_every_citation_and_quote_is_kept(make_project, documents):
    survivor, duplicate = make_project(slug="merge-keep"), make_project(slug="merge-dup")
    first, second, third = documents
    Citation.objects.create(project=survivor, document=first, claim="status", quote="Built.")
    Citation.objects.create(
        project=duplicate, document=first, claim="status", quote="Finished.", location="p. 3"
    )
    Citation.objects.create(project=survivor, document=second, claim="value", quote="$5m.")
    Citation.objects.create(project=duplicate, document=second, claim="value", quote="$5m.")
    Citation.objects.create(project=duplicate, document=third, quote="A new cable.")

    report = projects_merge(survivor=survivor, duplicates=[duplicate])

    citations = {(c.document_id, c.claim): (c.quote, c.location) for c in survivor.citations.all()}
    assert citations == {
        (first.pk, "status"): ("Built.\n\nFinished.", "p. 3"),
        (second.pk, "value"): ("$5m.", ""),
        (third.pk, "general"): ("A new cable.", ""),
    }
    assert (report.moved["citations"], report.merged["citations"]) == (1, 2)


def test_proposals_point_at_the_survivor(make_project, documents):
    survivor, duplicate = make_project(slug="merge-keep"), make_project(slug="merge-dup")
    attached = proposal(documents[0], "a", project=duplicate, status="attached")
    own = proposal(documents[0], "b", project=survivor, status="attached")

    projects_merge(survivor=survivor, duplicates=[duplicate])

    assert set(survivor.proposals.all()) == {attached, own}


def test_empty_project_fields_are_filled_in_groups(make_project):
    survivor = make_project(
        slug="merge-keep",
        name="Keep Link",
        description="Kept.",
        publication="published",
        completed="2020",
        aliases=["Keep"],
    )
    duplicate = make_project(
        slug="merge-dup",
        name="Dup Link",
        aliases=["The dup", "KEEP LINK"],
        description="Lost to the survivor's.",
        status="operational",
        announced="2018-05",
        completed="2021-03-04",
        value_amount=Decimal("100"),
        value_currency="CNY",
        value_usd=Decimal("14"),
        length_km=Decimal("12.5"),
        capacity="10 Tbps",
        latitude=1.5,
        longitude=2.5,
        geometry={"type": "Point", "coordinates": [2.5, 1.5]},
        external_ids={"telegeography": "dup", "osm": "1"},
    )
    survivor.external_ids = {"telegeography": "keep"}
    survivor.save()

    report = projects_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert survivor.aliases == ["Keep", "Dup Link", "The dup"]
    assert (survivor.description, survivor.publication) == ("Kept.", "published")
    assert survivor.status == "operational"
    assert (survivor.announced_on, survivor.announced_precision) == (dt.date(2018, 5, 1), "month")
    assert (survivor.completed_on, survivor.completed_precision) == (dt.date(2020, 1, 1), "year")
    assert (survivor.value_amount, survivor.value_currency, survivor.value_usd) == (
        Decimal("100"),
        "CNY",
        Decimal("14"),
    )
    assert (survivor.length_km, survivor.capacity) == (Decimal("12.5"), "10 Tbps")
    assert (survivor.latitude, survivor.longitude) == (1.5, 2.5)
    assert survivor.geometry == {"type": "Point", "coordinates": [2.5, 1.5]}
    assert survivor.external_ids == {
        "telegeography": "keep",
        "telegeography_merged": "dup",
        "osm": "1",
    }
    assert "completed" not in report.fields_filled
    survivor.full_clean()


def test_a_value_is_only_copied_with_its_currency(make_project):
    survivor = make_project(slug="merge-keep", value_usd=Decimal("7"))
    duplicate = make_project(slug="merge-dup", value_amount=Decimal("50"), value_currency="EUR")

    projects_merge(survivor=survivor, duplicates=[duplicate])

    survivor.refresh_from_db()
    assert (survivor.value_amount, survivor.value_currency, survivor.value_usd) == (
        None,
        "",
        Decimal("7"),
    )


def test_the_survivors_search_finds_what_the_duplicate_brought(make_project, make_company):
    survivor = make_project(slug="merge-keep", name="Keep Link")
    duplicate = make_project(slug="merge-dup", name="Quokka Link")
    company = make_company("merge-wombat", name="Wombat Networks")
    ProjectCompany.objects.create(project=duplicate, company=company, role="owner")

    projects_merge(survivor=survivor, duplicates=[duplicate])

    found = ProjectSearch.objects.filter(document=search_query("Wombat"))
    assert list(found.values_list("project_id", flat=True)) == [survivor.pk]
    assert not ProjectSearch.objects.filter(project_id=duplicate.pk).exists()


def test_the_survivors_search_finds_the_duplicates_name(make_project):
    survivor = make_project(slug="merge-keep", name="Keep Link")
    duplicate = make_project(slug="merge-dup", name="Quokka Link")

    projects_merge(survivor=survivor, duplicates=[duplicate])

    found = ProjectSearch.objects.filter(document=search_query("Quokka"))
    assert list(found.values_list("project_id", flat=True)) == [survivor.pk]


def test_a_project_merge_is_recorded_in_the_history(make_project, documents, editor):
    survivor, duplicate = make_project(slug="merge-keep"), make_project(slug="merge-dup")
    citation = Citation.objects.create(project=duplicate, document=documents[0])
    attached = proposal(documents[0], "a", project=duplicate, status="attached")

    projects_merge(survivor=survivor, duplicates=[duplicate], user=editor)

    deleted = merge_events(Project, pgh_obj_id=duplicate.pk, pgh_label="delete")
    assert [e.pgh_context.metadata for e in deleted] == [
        {
            "service": "merge",
            "merged_into": survivor.pk,
            "merged": [duplicate.pk],
            "user": editor.pk,
        }
    ]
    assert merge_events(Project, pgh_obj_id=survivor.pk, pgh_label="update")
    moved = merge_events(Citation, pgh_obj_id=citation.pk, pgh_label="update")
    assert [e.project_id for e in moved] == [survivor.pk]
    assert [e.project_id for e in merge_events(Proposal, pgh_obj_id=attached.pk)] == [survivor.pk]


def test_a_merge_that_cannot_finish_changes_nothing(make_project, documents):
    survivor, duplicate = make_project(slug="merge-keep"), make_project(slug="merge-dup")
    Citation.objects.create(project=survivor, document=documents[0], location="a" * 150)
    Citation.objects.create(project=duplicate, document=documents[0], location="b" * 150)
    ProjectCountry.objects.create(project=duplicate, country=country("KE"))

    with pytest.raises(ValidationError):
        projects_merge(survivor=survivor, duplicates=[duplicate])

    assert Project.objects.filter(pk=duplicate.pk).exists()
    assert duplicate.citations.count() == 1
    assert duplicate.country_roles.count() == 1


# Refusals


@pytest.mark.parametrize("merge", [companies_merge, projects_merge])
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("itself", "cannot be merged into itself"),
        ("nothing", "at least one duplicate"),
        ("including the survivor", "cannot be merged into itself"),
        ("unsaved", "Only saved entries"),
    ],
)
def test_a_merge_that_makes_no_sense_is_refused(make_company, make_project, merge, case, message):
    if merge is companies_merge:
        survivor, other, unsaved = make_company("merge-keep"), make_company("merge-dup"), Company()
    else:
        survivor, other = make_project(slug="merge-keep"), make_project(slug="merge-dup")
        unsaved = Project()
    duplicates = {
        "itself": [survivor],
        "nothing": [],
        "including the survivor": [other, survivor],
        "unsaved": [unsaved],
    }[case]

    with pytest.raises(ValidationError, match=message):
        merge(survivor=survivor, duplicates=duplicates)

    assert type(survivor).objects.filter(pk__in=[survivor.pk, other.pk]).count() == 2
