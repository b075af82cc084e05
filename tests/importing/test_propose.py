"""Proposals group a document's sentences that name the same organisations, kinds of project
and countries (other than China), with a confidence between 0 and 1."""

import re

import pytest

from projects.importing.detect import COMPANY, COUNTRY, PROJECT_TYPE, Found
from projects.importing.propose import Draft, draft_proposals
from projects.importing.sentences import split_sentences

# name → (kind, key, entity id)
ENTITIES = {
    "China Mobile": (COMPANY, "china-mobile", 101),
    "Huawei": (COMPANY, "huawei", 102),
    "ZTE": (COMPANY, "zte", 103),
    "fiber-optic links": (PROJECT_TYPE, "fiber-link", 201),
    "data centre": (PROJECT_TYPE, "data-center", 202),
    "safe city": (PROJECT_TYPE, "smart-city", 203),
    "China": (COUNTRY, "CN", 1),
    "Myanmar": (COUNTRY, "MM", 2),
    "Nepal": (COUNTRY, "NP", 3),
    "Kyrgyzstan": (COUNTRY, "KG", 4),
    "Kenya": (COUNTRY, "KE", 5),
    "Laos": (COUNTRY, "LA", 6),
    "Egypt": (COUNTRY, "EG", 7),
    "Angola": (COUNTRY, "AO", 8),
}
_NAMES = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, ENTITIES), key=len, reverse=True)) + r")\b"
)


def find(text: str) -> list[Found]:
    """What a detector with the names above finds (longest first, as the real one does)."""
    return [
        Found(*ENTITIES[match.group()], match.start(), match.end(), match.group())
        for match in _NAMES.finditer(text)
    ]


def drafts(text: str) -> list[Draft]:
    return draft_proposals(text, split_sentences(text), find(text))


def quoted(text: str, draft: Draft) -> list[str]:
    return [text[start:end] for start, end in draft.spans]


def one(text: str) -> Draft:
    result = drafts(text)
    assert len(result) == 1, result
    return result[0]


EXAMPLE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."


def test_the_example_sentence_makes_one_proposal():
    draft = one(EXAMPLE)
    assert draft.keys == {
        COMPANY: ["china-mobile"],
        PROJECT_TYPE: ["fiber-link"],
        COUNTRY: ["KG", "MM", "NP"],
    }
    assert (draft.companies, draft.project_types, draft.countries) == (
        frozenset({101}),
        frozenset({201}),
        frozenset({2, 3, 4}),
    )
    assert quoted(EXAMPLE, draft) == [EXAMPLE]
    assert draft.action


def test_sentences_naming_the_same_entities_make_one_proposal_with_several_spans():
    text = (
        f"{EXAMPLE} The weather was fine. "
        "In Kyrgyzstan, Nepal and Myanmar, China Mobile lays fiber-optic links.\n\n"
        "Huawei built a data centre in Kenya. "
        "China Mobile says the fiber-optic links to Nepal, Myanmar and Kyrgyzstan are done."
    )
    result = drafts(text)
    assert [d.keys[COUNTRY] for d in result] == [["KG", "MM", "NP"], ["KE"]]
    assert quoted(text, result[0]) == [
        EXAMPLE,
        "In Kyrgyzstan, Nepal and Myanmar, China Mobile lays fiber-optic links.",
        "China Mobile says the fiber-optic links to Nepal, Myanmar and Kyrgyzstan are done.",
    ]
    assert quoted(text, result[1]) == ["Huawei built a data centre in Kenya."]


def test_different_countries_make_different_proposals():
    text = "Huawei built a data centre in Kenya. Huawei built a data centre in Kenya and Laos."
    assert [d.keys[COUNTRY] for d in drafts(text)] == [["KE"], ["KE", "LA"]]


def test_china_alone_never_makes_a_proposal():
    text = (
        "China Mobile is building fiber-optic links in China. "
        "Huawei built a data centre in China. A safe city in China."
    )
    assert drafts(text) == []


def test_china_is_left_out_of_a_proposal_with_other_countries():
    text = "Huawei built a data centre in China and Kenya. Huawei built a data centre in Kenya."
    draft = one(text)
    assert draft.keys[COUNTRY] == ["KE"]
    assert draft.countries == frozenset({5})
    assert len(draft.spans) == 2


def test_sentences_with_only_countries_make_none():
    assert drafts("Kenya, Nepal and Laos signed a memorandum with China. Egypt did too.") == []


def test_a_company_or_a_type_without_a_country_makes_none():
    assert drafts("Huawei built a data centre. China Mobile lays fiber-optic links.") == []


def test_a_company_alone_or_a_type_alone_with_a_country_is_enough():
    assert one("Huawei is active in Kenya.").keys[PROJECT_TYPE] == []
    assert one("A safe city for Kenya.").keys[COMPANY] == []


def test_names_outside_every_sentence_are_ignored():
    text = "Huawei built a data centre in Kenya."
    outside = [Found(COUNTRY, "NP", 3, 40, 45, "Nepal")]
    assert draft_proposals(text, [], find(text)) == []
    assert draft_proposals(text, [(0, len(text))], outside) == []


# Keys --------------------------------------------------------------------------------------


def test_the_key_is_stable_and_does_not_depend_on_order():
    forwards = one(EXAMPLE)
    backwards = one("Kyrgyzstan, Nepal and Myanmar get fiber-optic links from China Mobile.")
    assert forwards.key == backwards.key
    shuffled = Draft(
        companies=frozenset([101]),
        project_types=frozenset([201]),
        countries=frozenset([4, 2, 3]),
    )
    assert shuffled.key == forwards.key
    assert re.fullmatch(r"[0-9a-f]{64}", forwards.key)
    # The same text gives the same key every time, in this process and any other.
    assert (
        one(EXAMPLE).key
        == forwards.key
        == Draft(frozenset({101}), frozenset({201}), frozenset({2, 3, 4})).key
    )


def test_keys_differ_between_groups():
    groups = [
        Draft(frozenset({1}), frozenset({2}), frozenset({3})),
        Draft(frozenset({2}), frozenset({1}), frozenset({3})),
        Draft(frozenset({1}), frozenset({2}), frozenset({3, 4})),
        Draft(frozenset(), frozenset({1, 2}), frozenset({3})),
        Draft(frozenset({12}), frozenset(), frozenset({3})),
        Draft(frozenset({1, 2}), frozenset(), frozenset({3})),
    ]
    keys = [draft.key for draft in groups]
    assert len(set(keys)) == len(keys)


# Confidence --------------------------------------------------------------------------------


def confidence(text: str) -> float:
    return one(text).confidence


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE,
        "A safe city for Kenya.",
        "Huawei in Kenya.",
        "Huawei, ZTE and China Mobile built a data centre and a safe city in Kenya, Laos, "
        "Nepal, Egypt, Angola and Myanmar. " * 4,
        "Huawei and ZTE, a data centre in Kenya, Laos, Nepal, Egypt, Angola and Myanmar.",
    ],
)
def test_confidence_is_between_0_and_1(text):
    for draft in drafts(text):
        assert 0 <= draft.confidence <= 1


def test_an_action_verb_raises_confidence():
    assert confidence("Huawei built a data centre in Kenya.") > confidence(
        "Huawei and its data centre in Kenya."
    )


@pytest.mark.parametrize(
    "verb", ["is building", "signed a contract for", "financed", "construyó", "a déployé"]
)
def test_action_verbs_in_several_languages(verb):
    assert one(f"Huawei {verb} a data centre in Kenya.").action


def test_company_and_type_beat_a_type_alone():
    assert confidence("Huawei's data centre in Kenya.") > confidence("The data centre in Kenya.")
    assert confidence("Huawei built a data centre in Kenya.") > confidence(
        "They built a data centre in Kenya."
    )


def test_more_than_four_countries_lower_confidence():
    four = "Huawei built a data centre in Kenya, Laos, Nepal and Egypt."
    five = "Huawei built a data centre in Kenya, Laos, Nepal, Egypt and Angola."
    assert confidence(five) < confidence(four)


def test_more_supporting_sentences_raise_confidence_a_little():
    single = confidence("Huawei built a data centre in Kenya.")
    double = confidence("Huawei built a data centre in Kenya. Huawei's data centre in Kenya.")
    assert single < double <= single + 0.1 + 1e-9
