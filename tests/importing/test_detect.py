"""The detector finds countries, organisations and kinds of project in one pass over a text:
whole words, longest match, exact offsets, whatever the case, accents, dashes or script."""

import ahocorasick
import pytest

from projects.importing import detect
from projects.importing.detect import (
    ALIAS,
    COMPANY,
    COUNTRY,
    PRIMARY,
    PROJECT_TYPE,
    Detector,
    current_detector,
    dictionary_version,
)
from projects.models import Company, ProjectType

pytestmark = pytest.mark.django_db

EXAMPLE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan"


@pytest.fixture(scope="module")
def detector(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return Detector.from_database()


def keys(found, kind=None) -> list[str]:
    return [f.key for f in found if kind is None or f.kind == kind]


def texts(found) -> list[str]:
    return [f.text for f in found]


def assert_offsets(text: str, found) -> None:
    for f in found:
        assert text[f.start : f.end] == f.text, f


def small(*names: tuple) -> Detector:
    """A hand-built detector: (name, kind, key, id[, rank[, suffixes]]) per entry."""
    entries = []
    for name, kind, key, entity_id, *rest in names:
        rank = rest[0] if rest else PRIMARY
        suffixes = rest[1] if len(rest) > 1 else ""
        entries.append(detect._entry(kind, key, entity_id, rank, name, suffixes=suffixes))
    return Detector(entries)


# The example of the issue ----------------------------------------------------------------


def test_the_example_sentence(detector):
    found = detector.find(EXAMPLE)
    assert keys(found, COMPANY) == ["china-mobile"]
    assert keys(found, PROJECT_TYPE) == ["fiber-link"]
    assert keys(found, COUNTRY) == ["MM", "NP", "KG"]
    assert "CN" not in keys(found)
    assert texts(found) == ["China Mobile", "fiber-optic links", "Myanmar", "Nepal", "Kyrgyzstan"]
    assert_offsets(EXAMPLE, found)
    assert [f.start for f in found] == sorted(f.start for f in found)


def test_detection_is_one_automaton_over_thousands_of_names(detector):
    assert isinstance(detector.automaton, ahocorasick.Automaton)
    assert detector.automaton.kind == ahocorasick.AHOCORASICK  # compiled, not a bare trie
    assert detector.size > 3000
    assert len(detector.automaton) == detector.size


# Longest match, whole words ----------------------------------------------------------------


def test_longest_match_wins_with_a_hand_built_detector():
    small_detector = small(
        ("China", COUNTRY, "CN", 1),
        ("China Mobile", COMPANY, "china-mobile", 2),
        ("China Mobile International", COMPANY, "china-mobile-international", 3),
        ("Mobile", COMPANY, "mobile", 4),
    )
    text = "China Mobile International and China Mobile, not China."
    found = small_detector.find(text)
    assert [(f.key, f.text) for f in found] == [
        ("china-mobile-international", "China Mobile International"),
        ("china-mobile", "China Mobile"),
        ("CN", "China"),
    ]
    assert_offsets(text, found)


def test_longest_match_wins_in_the_database_dictionary(detector):
    found = detector.find("China Mobile International and China Telecom signed in China.")
    assert keys(found) == ["china-mobile-international", "china-telecom", "CN"]


@pytest.mark.parametrize(
    "text, absent",
    [
        ("Indiana is a state.", "IN"),
        ("The Nigerian government.", "NE"),
        ("Nigeria signed.", "NE"),
        ("An Omanization policy.", "OM"),
        ("Perusal of the report.", "PE"),
        ("Chinatown was busy.", "CN"),
    ],
)
def test_whole_words_only(detector, text, absent):
    assert absent not in keys(detector.find(text))


def test_a_demonym_is_its_country_not_a_shorter_name_inside_it(detector):
    found = detector.find("The Nigerian regulator visited Niger and India, not Indiana.")
    assert [(f.key, f.text) for f in found] == [
        ("NG", "Nigerian"),
        ("NE", "Niger"),
        ("IN", "India"),
    ]


def test_whole_words_with_a_hand_built_detector():
    small_detector = small(("Niger", COUNTRY, "NE", 1), ("India", COUNTRY, "IN", 2))
    assert small_detector.find("Nigeria, Indiana, Indian, Nigerien") == []
    assert keys(small_detector.find("(Niger) India's")) == ["NE", "IN"]


# Offsets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "Déjà vu à Zürich: ",
        "😀 ",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🇨🇳🚀 ",
        "中文，",
        "ß æ œ ﬁ ",  # characters that fold to several letters
        "\u200b\u00a0\t",
    ],
)
def test_offsets_survive_anything_before_the_match(detector, prefix):
    text = prefix + EXAMPLE
    found = detector.find(text)
    assert texts(found) == ["China Mobile", "fiber-optic links", "Myanmar", "Nepal", "Kyrgyzstan"]
    assert found[0].start == len(prefix)
    assert_offsets(text, found)


def test_offsets_with_accents_in_the_match(detector):
    text = "Proyectos en Perú, Sénégal y Côte d’Ivoire."
    found = detector.find(text)
    assert [(f.key, f.text) for f in found] == [
        ("PE", "Perú"),
        ("SN", "Sénégal"),
        ("CI", "Côte d’Ivoire"),
    ]
    assert_offsets(text, found)
    assert found[2].start == text.index("Côte")


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u02bc"])
def test_typographic_apostrophes(detector, apostrophe):
    text = f"Cote d{apostrophe}Ivoire and Côte d{apostrophe}Ivoire"
    found = detector.find(text)
    assert keys(found) == ["CI", "CI"]
    assert_offsets(text, found)


# Dashes, whitespace, plurals --------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase",
    [
        "fiber-optic links",
        "fiber\u2011optic links",  # non-breaking hyphen
        "fiber\u2013optic links",  # en dash
        "fibre optic links",
        "fiber optic\nlinks",
        "fibre\noptic",
        "fibre\u00a0optic",
        "fibre\toptic",
    ],
)
def test_dash_and_whitespace_variants(detector, phrase):
    text = f"Work on {phrase} to Nepal."
    found = [f for f in detector.find(text) if f.kind == PROJECT_TYPE]
    assert keys(found) == ["fiber-link"]
    assert found[0].start == len("Work on ")
    assert_offsets(text, found)


@pytest.mark.parametrize("phrase", ["fibre\r\noptic", "fibre  optic", "fibre \n optic"])
def test_a_run_of_whitespace_inside_a_phrase_is_one_space(detector, phrase):
    # A line break written CR LF, or a justified line with two spaces, is still one gap.
    text = f"Work on {phrase} to Nepal."
    assert keys(detector.find(text), PROJECT_TYPE) == ["fiber-link"]


def test_plurals_of_kind_of_project_keywords(detector):
    text = "Two data centres, three smart cities, many submarine cables and an optical fibres."
    found = [f for f in detector.find(text) if f.kind == PROJECT_TYPE]
    assert [(f.key, f.text) for f in found] == [
        ("data-center", "data centres"),
        ("smart-city", "smart cities"),
        ("submarine-cable", "submarine cables"),
        ("fiber-link", "optical fibres"),
    ]
    assert_offsets(text, found)


def test_plural_with_a_hand_built_detector_stops_at_word_end():
    small_detector = small(("data centre", PROJECT_TYPE, "data-center", 1, ALIAS, "plural"))
    found = small_detector.find("data centres, data centress, data centresque")
    assert texts(found) == ["data centres"]


# Case --------------------------------------------------------------------------------------


def test_all_capitals_are_found(detector):
    text = "CHINA MOBILE IS BUILDING FIBER-OPTIC LINKS TO MYANMAR, NEPAL AND KYRGYZSTAN"
    found = detector.find(text)
    assert keys(found) == ["china-mobile", "fiber-link", "MM", "NP", "KG"]
    assert_offsets(text, found)


@pytest.mark.parametrize(
    "text", ["a roast turkey", "fine china plates", "a guinea pig", "jordan almonds"]
)
def test_an_all_lower_case_country_word_is_not_a_name(detector, text):
    assert keys(detector.find(text), COUNTRY) == []


def test_an_all_lower_case_company_name_is_not_a_name(detector):
    assert keys(detector.find("huawei and china mobile"), COMPANY) == []
    assert keys(detector.find("Huawei and China Mobile"), COMPANY) == ["huawei", "china-mobile"]


def test_capitalised_country_words_are_names(detector):
    assert keys(detector.find("Turkey, Guinea and Jordan signed.")) == ["TR", "GN", "JO"]


def test_acronym_alias_matches_only_in_capitals(detector):
    assert keys(detector.find("The US objected.")) == ["US"]
    assert keys(detector.find("Let us begin, Us too.")) == []


# Languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("Un cable llega a Perú.", "PE"),
        ("Un câble arrive au Sénégal.", "SN"),
        ("Сеть в Кении построена.", "KE"),
        ("Кения подписала соглашение.", "KE"),
        ("中国企业在巴基斯坦建设光缆。", "PK"),
        ("Les États-Unis ont protesté.", "US"),
        ("Estados Unidos protestó.", "US"),
    ],
)
def test_country_names_in_other_languages(detector, text, key):
    found = detector.find(text)
    assert key in keys(found, COUNTRY)
    assert_offsets(text, found)


def test_chinese_company_name_beats_the_country_inside_it(detector):
    text = "中国移动在缅甸铺设光缆"
    found = detector.find(text)
    assert [(f.kind, f.key, f.text) for f in found] == [
        (COMPANY, "china-mobile", "中国移动"),
        (COUNTRY, "MM", "缅甸"),
        (PROJECT_TYPE, "fiber-link", "光缆"),
    ]
    assert_offsets(text, found)


def test_chinese_demonym_is_china(detector):
    found = detector.find("A Chinese firm built it.")
    assert [(f.key, f.text) for f in found] == [("CN", "Chinese")]


# Names that are also other things ----------------------------------------------------------


def test_first_names_and_institutions_are_not_countries(detector):
    assert keys(detector.find("Chad Anderson studied at Georgia Tech."), COUNTRY) == []


def test_those_words_alone_are_countries(detector):
    text = "Chad and Georgia signed. Then Chad."
    found = detector.find(text)
    assert keys(found) == ["TD", "GE", "TD"]
    assert_offsets(text, found)


def test_an_alias_shared_by_two_organisations_is_ignored():
    for name in ("Zorblax Alpha", "Zorblax Beta"):
        Company.objects.create(
            name=name, slug=name.lower().replace(" ", "-"), aliases=["Zorblax Group"]
        )
    found = Detector.from_database().find("Zorblax Group, Zorblax Alpha and Zorblax Beta.")
    assert [(f.key, f.text) for f in found] == [
        ("zorblax-alpha", "Zorblax Alpha"),
        ("zorblax-beta", "Zorblax Beta"),
    ]


def test_an_alias_of_one_organisation_is_found():
    Company.objects.create(name="Zorblax Alpha", slug="zorblax-alpha", aliases=["Zorblax Group"])
    found = Detector.from_database().find("Zorblax Group signed.")
    assert [(f.key, f.text) for f in found] == [("zorblax-alpha", "Zorblax Group")]


def test_a_primary_name_beats_another_entitys_alias_with_a_hand_built_detector():
    small_detector = small(
        ("Zorblax", COMPANY, "zorblax", 1, PRIMARY),
        ("Zorblax", COMPANY, "other", 2, ALIAS),
        ("Quux", COMPANY, "a", 3, ALIAS),
        ("Quux", COMPANY, "b", 4, ALIAS),
    )
    assert keys(small_detector.find("Zorblax and Quux")) == ["zorblax"]


# Editors change the dictionary --------------------------------------------------------------


def test_a_keyword_added_by_an_editor_is_found_without_a_restart():
    text = "A quantum relay mesh for Nepal."
    before = dictionary_version()
    assert keys(current_detector().find(text), PROJECT_TYPE) == []

    cloud = ProjectType.objects.get(slug="cloud")
    cloud.keywords = [*cloud.keywords, "quantum relay mesh"]
    cloud.save()
    assert dictionary_version() != before
    found = current_detector().find(text)
    assert [(f.key, f.text) for f in found if f.kind == PROJECT_TYPE] == [
        ("cloud", "quantum relay mesh")
    ]

    cloud.keywords = [k for k in cloud.keywords if k != "quantum relay mesh"]
    cloud.save()
    assert keys(current_detector().find(text), PROJECT_TYPE) == []


def test_the_compiled_detector_is_reused_while_nothing_changes():
    assert current_detector() is current_detector()


def test_an_empty_detector_finds_nothing():
    assert Detector([]).find("China Mobile in Nepal") == []
    assert Detector.from_database().find("") == []
