"""Sentences are (start, end) spans of the original text, split where a reader would."""

import itertools

import pytest

from projects.importing.sentences import sentence_at, split_sentences


def sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Huawei Technologies Co., Ltd. signed a deal. ZTE Corp. followed.",
            ["Huawei Technologies Co., Ltd. signed a deal.", "ZTE Corp. followed."],
        ),
        (
            "China Mobile Co. Ltd. is an operator. It builds links.",
            ["China Mobile Co. Ltd. is an operator.", "It builds links."],
        ),
        (
            "The U.S. Department objected. Dr. Smith agreed. Mr. Li left.",
            ["The U.S. Department objected.", "Dr. Smith agreed.", "Mr. Li left."],
        ),
        (
            "Some links, e.g. Pakistan, i.e. Punjab, are done. Others are not.",
            ["Some links, e.g. Pakistan, i.e. Punjab, are done.", "Others are not."],
        ),
        ("See Fig. 3 and pp. 12. Then stop.", ["See Fig. 3 and pp. 12.", "Then stop."]),
    ],
)
def test_abbreviations_do_not_end_a_sentence(text, expected):
    assert sentences(text) == expected


def test_initials_do_not_end_a_sentence():
    text = "The report by J. R. Smith and A. B. Chen was read. It was long."
    assert sentences(text) == ["The report by J. R. Smith and A. B. Chen was read.", "It was long."]


def test_decimals_do_not_end_a_sentence():
    text = "The loan was 3.5 billion dollars. Another 2.75 followed in 2019. Done."
    assert sentences(text) == [
        "The loan was 3.5 billion dollars.",
        "Another 2.75 followed in 2019.",
        "Done.",
    ]


def test_a_sentence_may_begin_with_a_digit():
    assert sentences("It ended. 2020 was quiet.") == ["It ended.", "2020 was quiet."]


def test_ellipses():
    text = "He paused... Then he spoke. She waited… And then left. It went on... and on."
    assert sentences(text) == [
        "He paused...",
        "Then he spoke.",
        "She waited…",
        "And then left.",
        "It went on... and on.",
    ]


def test_quotes_and_brackets_after_the_stop_stay_with_the_sentence():
    text = 'He said "It is done." Then left. She wrote “Why?” He shrugged. (It rained.) Fine.'
    assert sentences(text) == [
        'He said "It is done."',
        "Then left.",
        "She wrote “Why?”",
        "He shrugged.",
        "(It rained.)",
        "Fine.",
    ]


def test_a_quote_may_begin_a_sentence():
    assert sentences('It ended. "Never again," he said.') == [
        "It ended.",
        '"Never again," he said.',
    ]


def test_question_and_exclamation_marks():
    assert sentences("Is it built? Yes! Sure. Really?! Indeed.") == [
        "Is it built?",
        "Yes!",
        "Sure.",
        "Really?!",
        "Indeed.",
    ]


def test_a_lower_case_word_after_a_stop_does_not_begin_a_sentence():
    assert sentences("Version 2. is out. the rest follows.") == [
        "Version 2. is out. the rest follows."
    ]


def test_chinese_stops_need_no_space():
    text = "中国移动在缅甸建设光缆。项目已经完成！是吗？好的"
    assert sentences(text) == ["中国移动在缅甸建设光缆。", "项目已经完成！", "是吗？", "好的"]


def test_chinese_closing_quote_stays_with_its_sentence():
    assert sentences("他说：“完成了。”然后离开。") == ["他说：“完成了。”", "然后离开。"]


def test_spanish_inverted_marks_begin_a_sentence():
    text = "¿Quién construyó el cable? ¡Huawei lo hizo! La obra terminó en Perú."
    assert sentences(text) == [
        "¿Quién construyó el cable?",
        "¡Huawei lo hizo!",
        "La obra terminó en Perú.",
    ]


def test_blank_lines_always_split():
    text = "A heading without a stop\n\nThe first paragraph\ngoes on\n  \n\t\nThe last one"
    assert sentences(text) == [
        "A heading without a stop",
        "The first paragraph\ngoes on",
        "The last one",
    ]


def test_a_single_line_break_does_not_split():
    text = "China Mobile is building fiber-optic links\nto Myanmar and Nepal. Next one."
    assert sentences(text) == [
        "China Mobile is building fiber-optic links\nto Myanmar and Nepal.",
        "Next one.",
    ]


def test_a_line_break_after_a_stop_splits():
    assert sentences("First one.\nSecond one.") == ["First one.", "Second one."]


def test_spans_strip_whitespace_and_index_the_original_text():
    text = "  \n  Leading space. \u00a0 Trailing space.  \n\n\n  Last.  \n "
    spans = split_sentences(text)
    assert [text[start:end] for start, end in spans] == [
        "Leading space.",
        "Trailing space.",
        "Last.",
    ]
    assert spans[0][0] == text.index("Leading")
    assert spans[-1][1] == text.index("Last.") + len("Last.")


def test_offsets_survive_astral_characters():
    text = "😀 Emoji first. 𝔘nicode next."
    assert sentences(text) == ["😀 Emoji first.", "𝔘nicode next."]


@pytest.mark.parametrize("text", ["", " ", "\n\n\n", "\t \n"])
def test_empty_text_has_no_sentences(text):
    assert split_sentences(text) == []


def test_text_without_a_stop_is_one_sentence():
    assert sentences("no stop at all") == ["no stop at all"]


def test_a_pronoun_at_the_end_of_a_sentence_is_not_an_abbreviation():
    text = "The contract was awarded to us. Work starts in May."
    assert sentences(text) == ["The contract was awarded to us.", "Work starts in May."]


def test_sentence_at_finds_the_sentence_containing_an_offset():
    text = "First one. Second one. Third one."
    spans = split_sentences(text)
    starts = [start for start, _ in spans]
    assert sentence_at(spans, starts, text.index("Second")) == 1
    assert sentence_at(spans, starts, text.index("one. Third")) == 1
    assert sentence_at(spans, starts, len(text) - 1) == 2
    assert sentence_at(spans, starts, 0) == 0
