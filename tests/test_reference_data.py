import pytest
from django.core.management import call_command
from django.db.models import Q

from projects.models import Company, Country, Initiative, ProjectType
from projects.services.reference import read_reference, reference_data_load

pytestmark = pytest.mark.django_db

REQUIRED_ORGANISATIONS = [
    "huawei",
    "zte",
    "china-mobile",
    "china-telecom",
    "china-unicom",
    "alibaba-group",
    "alibaba-cloud",
    "tencent",
    "hmn-technologies",
    "hengtong-group",
    "fiberhome",
    "hikvision",
    "dahua-technology",
    "inspur",
    "cetc",
    "peace-cable-international-network",
    "china-exim-bank",
    "china-development-bank",
]


def history_counts() -> dict[str, int]:
    models = [Country, Company, ProjectType, Initiative]
    return {model.__name__: model.pgh_event_model.objects.count() for model in models}


def test_every_iso_country_is_loaded_with_codes_names_and_regions():
    assert Country.objects.count() >= 249
    assert not Country.objects.filter(iso3="").exists()
    kenya = Country.objects.get(iso2="KE")
    assert (kenya.iso3, kenya.numeric, kenya.name, kenya.slug) == ("KEN", "404", "Kenya", "kenya")
    assert kenya.official_name == "Republic of Kenya"
    assert (kenya.region, kenya.subregion) == ("Africa", "Eastern Africa")
    assert kenya.latitude is not None and kenya.longitude is not None


def test_every_country_but_antarctica_has_a_un_region_and_all_have_a_centroid():
    assert list(Country.objects.filter(region="").values_list("iso2", flat=True)) == ["AQ"]
    assert not Country.objects.filter(latitude__isnull=True).exists()


def test_country_aliases_carry_demonyms_and_names_in_other_languages():
    pakistan = Country.objects.get(iso2="PK")
    for alias in ["Pakistani", "Islamic Republic of Pakistan", "Pakistán", "Пакистан", "巴基斯坦"]:
        assert alias in pakistan.aliases
    assert pakistan.names == {
        "en": "Pakistan",
        "es": "Pakistán",
        "fr": "Pakistan",
        "ru": "Пакистан",
        "zh": "巴基斯坦",
    }
    assert "Kenyan" in Country.objects.get(iso2="KE").aliases


def test_colloquial_and_historic_names_resolve_to_their_country():
    for alias, iso2 in [
        ("Burma", "MM"),
        ("Ivory Coast", "CI"),
        ("Swaziland", "SZ"),
        ("Congo, Dem. Rep.", "CD"),
        ("Congo, Rep.", "CG"),
        ("Turkey", "TR"),
        ("Laos", "LA"),
    ]:
        country = Country.objects.get(Q(name=alias) | Q(aliases__contains=[alias]))
        assert country.iso2 == iso2


def test_people_read_common_names_not_inverted_iso_forms():
    names = dict(
        Country.objects.filter(iso2__in=["KR", "CD", "IR", "TW"]).values_list("iso2", "name")
    )
    assert names == {
        "KR": "South Korea",
        "CD": "Democratic Republic of the Congo",
        "IR": "Iran",
        "TW": "Taiwan",
    }


def test_country_aliases_hold_no_bare_iso_codes():
    assert not Country.objects.filter(aliases__overlap=["KE", "KEN", "PK", "PAK"]).exists()


def test_the_taxonomy_has_every_type_with_keywords():
    slugs = set(ProjectType.objects.values_list("slug", flat=True))
    assert {
        "fiber-link",
        "submarine-cable",
        "mobile-network",
        "data-center",
        "cloud",
        "smart-city",
        "e-commerce",
        "digital-payments",
        "satellite-navigation",
        "digital-platform",
        "training",
        "media-cooperation",
        "science-park",
        "other",
    } <= slugs
    assert "submarine cable" in ProjectType.objects.get(slug="submarine-cable").keywords
    assert not ProjectType.objects.exclude(slug="other").filter(keywords=[]).exists()


def test_initiatives_include_the_silk_roads_and_their_umbrella():
    dsr = Initiative.objects.get(slug="digital-silk-road")
    assert dsr.parent.slug == "belt-and-road-initiative"
    assert (
        Initiative.objects.filter(
            slug__in=[
                "polar-silk-road",
                "maritime-silk-road",
                "silk-road-economic-belt",
                "china-pakistan-economic-corridor",
                "virtual-silk-road",
            ]
        ).count()
        == 5
    )
    assert Initiative.objects.get(slug="virtual-silk-road").parent is None


def test_the_organisations_central_to_the_digital_silk_road_are_loaded():
    assert Company.objects.count() >= 25
    loaded = set(
        Company.objects.filter(slug__in=REQUIRED_ORGANISATIONS).values_list("slug", flat=True)
    )
    assert loaded == set(REQUIRED_ORGANISATIONS)
    huawei = Company.objects.get(slug="huawei")
    assert huawei.chinese_name == "华为技术有限公司"
    assert huawei.headquarters.iso2 == "CN"
    assert Company.objects.get(slug="hmn-technologies").parent.slug == "hengtong-optic-electric"
    assert Company.objects.get(slug="china-exim-bank").kind == "bank"


def test_organisation_records_are_consistent():
    records = read_reference("organisations.json")
    slugs = [r["slug"] for r in records]
    assert len(slugs) == len(set(slugs))
    assert {r["parent"] for r in records if r["parent"]} <= set(slugs)
    aliases = [a.casefold() for r in records for a in r["aliases"]]
    assert len(aliases) == len(set(aliases)), "an alias must name one organisation only"


def test_loading_twice_changes_nothing_and_records_no_history():
    rows_before = {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in [Country, Company, ProjectType, Initiative]
    }
    history_before = history_counts()
    reports = reference_data_load()
    assert all(r.created == 0 and r.updated == 0 for r in reports.values())
    assert history_counts() == history_before
    for model in [Country, Company, ProjectType, Initiative]:
        assert list(model.objects.order_by("pk").values()) == rows_before[model.__name__]


def test_an_edited_entry_is_restored_by_a_load_with_update():
    Country.objects.filter(iso2="KE").update(name="Kenia", aliases=[])
    report = reference_data_load(update=True)["countries"]
    assert (report.updated, report.changed_keys) == (1, ["KE"])
    assert Country.objects.get(iso2="KE").name == "Kenya"


def test_the_command_reports_what_it_did(capsys):
    call_command("load_reference_data")
    assert "countries: created 0, updated 0, unchanged 249" in capsys.readouterr().out


def test_a_second_load_keeps_editors_changes_and_update_restores_the_shipped_values():
    fiber = ProjectType.objects.get(slug="fiber-link")
    fiber.keywords = [*fiber.keywords, "dark fibre lease"]
    fiber.save()
    reports = reference_data_load()
    assert reports["project_types"].kept == 1
    fiber.refresh_from_db()
    assert "dark fibre lease" in fiber.keywords

    reference_data_load(update=True)
    fiber.refresh_from_db()
    assert "dark fibre lease" not in fiber.keywords


def test_an_organisation_merged_into_another_is_not_created_again():
    from projects.services.merge import companies_merge

    survivor = Company.objects.get(slug="huawei")
    duplicate = Company.objects.get(slug="zte")
    companies_merge(survivor=survivor, duplicates=[duplicate])
    reference_data_load()
    reference_data_load(update=True)
    assert not Company.objects.filter(slug="zte").exists()
