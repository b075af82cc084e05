"""Every invariant is enforced by the database itself: a violating write is rejected."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from projects.models import (
    Citation,
    Company,
    Country,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectType,
    SourceDocument,
)

SHA = "a" * 64


def rejected(constraint: str, write):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        write()
    assert constraint in str(caught.value)


@pytest.fixture
def kenya(db):
    return Country.objects.get(iso2="KE")


@pytest.fixture
def huawei(db):
    return Company.objects.get(slug="huawei")


@pytest.fixture
def document(db):
    return SourceDocument.objects.create(title="Report", url="https://example.org/report")


def country(**fields):
    values = {"iso2": "XA", "iso3": "XAA", "numeric": "901", "name": "Testland", "slug": "testland"}
    return Country(**{**values, **fields})


COUNTRY_CASES = [
    ({"iso2": "KE"}, "iso2_key"),
    ({"iso3": "KEN"}, "iso3_key"),
    ({"numeric": "404"}, "numeric_key"),
    ({"slug": "kenya"}, "slug_key"),
    ({"iso2": "xa"}, "country_iso2_format"),
    ({"iso3": "XA1"}, "country_iso3_format"),
    ({"numeric": "9"}, "country_numeric_format"),
    ({"slug": "Test Land"}, "country_slug_format"),
    ({"latitude": 91, "longitude": 0}, "country_coordinates_valid"),
    ({"latitude": 10, "longitude": None}, "country_coordinates_valid"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "constraint"), COUNTRY_CASES)
def test_countries_keep_iso_codes_and_coordinates_valid(fields, constraint):
    rejected(constraint, lambda: country(**fields).save())


COMPANY_CASES = [
    ({"slug": "huawei"}, "slug_key"),
    ({"kind": "cartel"}, "company_kind_valid"),
    ({"ownership": "mystery"}, "company_ownership_valid"),
    ({"slug": "-bad-"}, "company_slug_format"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "constraint"), COMPANY_CASES)
def test_companies_keep_slugs_and_choices_valid(fields, constraint):
    values = {"name": "New Co", "slug": "new-co", **fields}
    rejected(constraint, lambda: Company.objects.create(**values))


def test_a_company_cannot_be_its_own_parent(huawei):
    huawei.parent = huawei
    rejected("company_not_own_parent", huawei.save)


def test_an_initiative_cannot_be_its_own_parent(db):
    initiative = Initiative.objects.get(slug="digital-silk-road")
    initiative.parent = initiative
    rejected("initiative_not_own_parent", initiative.save)


def test_initiative_launch_years_are_plausible(db):
    rejected(
        "initiative_launched_year_range",
        lambda: Initiative.objects.create(name="X", slug="x", launched_year=20130),
    )


def test_project_types_have_unique_slugs(db):
    rejected("slug_key", lambda: ProjectType.objects.create(name="Fiber 2", slug="fiber-link"))


PROJECT_CASES = [
    ({"status": "rumoured"}, "project_status_valid"),
    ({"publication": "leaked"}, "project_publication_valid"),
    ({"value_amount": -1, "value_currency": "USD"}, "project_value_amount_non_negative"),
    ({"value_usd": -5}, "project_value_usd_non_negative"),
    ({"length_km": -820}, "project_length_km_non_negative"),
    ({"value_amount": 100}, "project_value_has_currency"),
    ({"value_currency": "USD"}, "project_value_has_currency"),
    ({"value_amount": 100, "value_currency": "usd"}, "project_value_has_currency"),
    (
        {"announced_on": dt.date(2018, 5, 12), "announced_precision": "month"},
        "project_announced_partial_date_valid",
    ),
    (
        {"started_on": dt.date(2018, 5, 1), "started_precision": "year"},
        "project_started_partial_date_valid",
    ),
    (
        {"completed_on": dt.date(2018, 1, 1), "completed_precision": ""},
        "project_completed_partial_date_valid",
    ),
    ({"completed_precision": "year"}, "project_completed_partial_date_valid"),
    (
        {"completed_on": dt.date(2018, 1, 1), "completed_precision": "week"},
        "project_completed_partial_date_valid",
    ),
    ({"latitude": 0, "longitude": 181}, "project_coordinates_valid"),
    ({"slug": "Not A Slug"}, "project_slug_format"),
]


@pytest.mark.parametrize(("fields", "constraint"), PROJECT_CASES)
def test_projects_keep_their_invariants(make_project, fields, constraint):
    rejected(constraint, lambda: make_project(**fields))


def test_partial_dates_at_their_precision_are_accepted(make_project):
    project = make_project(
        announced_on=dt.date(2016, 1, 1),
        announced_precision="year",
        started_on=dt.date(2016, 5, 1),
        started_precision="month",
        completed_on=dt.date(2018, 7, 13),
        completed_precision="day",
    )
    assert Project.objects.filter(pk=project.pk, completed_on__year=2018).exists()


def test_project_slugs_are_unique(make_project):
    make_project()
    rejected("slug_key", lambda: make_project(name="Other"))


ROLE_TABLES = [
    (ProjectCountry, "country", "kenya", ["host", "landing_point"], "owner"),
    (ProjectCompany, "company", "huawei", ["contractor", "supplier"], "landlord"),
]


@pytest.mark.parametrize(("through", "field", "target", "roles", "bad_role"), ROLE_TABLES)
def test_an_entity_has_each_role_in_a_project_once(
    make_project, request, through, field, target, roles, bad_role
):
    project = make_project()
    link = {"project": project, field: request.getfixturevalue(target)}
    for role in roles:
        through.objects.create(**link, role=role)
    table = through._meta.model_name
    rejected(f"{table}_unique_role", lambda: through.objects.create(**link, role=roles[0]))
    rejected(f"{table}_role_valid", lambda: through.objects.create(**link, role=bad_role))


def test_a_project_cites_a_document_once_per_claim(make_project, document):
    project = make_project()
    Citation.objects.create(project=project, document=document, claim="status")
    Citation.objects.create(project=project, document=document, claim="value")
    rejected(
        "citation_unique_claim",
        lambda: Citation.objects.create(project=project, document=document, claim="status"),
    )


def test_citation_claims_come_from_their_choices(make_project, document):
    project = make_project()
    rejected(
        "citation_claim_valid",
        lambda: Citation.objects.create(project=project, document=document, claim="gossip"),
    )


def stored_document(**fields):
    values = {
        "title": "Upload",
        "file": "documents/a.pdf",
        "sha256": SHA,
        "size": 10,
        "status": "queued",
    }
    return SourceDocument(**{**values, **fields})


DOCUMENT_CASES = [
    ({"sha256": "XYZ"}, "document_sha256_format"),
    ({"size": -1}, "document_size_non_negative"),
    ({"progress": 101}, "document_progress_percent"),
    ({"kind": "rumour"}, "document_kind_valid"),
    ({"status": "lost"}, "document_status_valid"),
    ({"status": "metadata_only"}, "document_file_matches_status"),
    ({"file": "", "sha256": None, "size": None}, "document_file_matches_status"),
    ({"sha256": None}, "document_file_has_digest"),
    (
        {"published_on": dt.date(2018, 2, 3), "published_precision": "year"},
        "document_published_partial_date_valid",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "constraint"), DOCUMENT_CASES)
def test_documents_keep_their_invariants(fields, constraint):
    rejected(constraint, lambda: stored_document(**fields).save())


def test_the_same_bytes_are_one_document(db):
    stored_document().save()
    rejected("sha256_key", lambda: stored_document(file="documents/b.pdf").save())


def test_a_document_in_use_cannot_be_deleted_under_its_citations(make_project, document):
    Citation.objects.create(project=make_project(), document=document)
    with pytest.raises(Exception, match="protected"), transaction.atomic():
        document.delete()
