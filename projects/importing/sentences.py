"""Split text into sentences, as (start, end) offsets into the text.

A sentence ends at a blank line, at 。！？ (which need no space after them), or at . ! ? …
followed by space and something that can begin a sentence (a capital, a digit, a quote, an
opening bracket or ¿ ¡, or a letter of a script without case). A full stop after a known
abbreviation ("Co.", "Ltd.", "U.S.", "e.g.") or after a single capital (an initial) does not
end a sentence. A single line break does not either: extracted PDFs break lines mid-sentence.
"""

from __future__ import annotations

import bisect
import re

ABBREVIATIONS = {
    # English
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "co", "corp", "inc", "ltd",
    "plc", "llc", "vol", "fig", "figs", "pp", "p", "ed", "eds", "eg", "ie",
    "etc", "al", "vs", "approx", "est", "dept", "gov", "govt", "gen", "col", "lt", "sen",
    "rep", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "u.s", "u.k", "e.g", "i.e", "a.m", "p.m", "bn", "mn", "ca",
    # Spanish, French, Portuguese
    "sra", "srta", "núm", "pág", "págs", "av", "avda", "cía", "mme", "mlle", "mm",
    "cie", "éd", "nº", "art", "s.a", "s.a.s",
}  # fmt: skip

NUMBER_ABBREVIATIONS = {"no", "nos", "nr", "núm"}

# A candidate end: terminal punctuation, closing quotes or brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_CJK_END = re.compile(r"[。！？]+[」』”’）)]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_OPENERS = "\"'“‘«([¿¡—–-"
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _can_begin(char: str) -> bool:
    # Capitals and letters of scripts without case (not lower case) can begin a sentence.
    return char.isdigit() or char in _OPENERS or (char.isalpha() and not char.islower())


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    match = _WORD_BEFORE.search(text, max(0, dot - 20), dot)
    if not match:
        return False
    word = match.group(1).rstrip(".")
    if len(word) == 1 and word.isupper():
        return True  # an initial: "J. Smith", "A. Ltd"
    if word.lower() in NUMBER_ABBREVIATIONS:  # "No. 5", but "The answer was no. Then…"
        following = text[dot + 1 : dot + 4].lstrip()
        return following[:1].isdigit()
    return word.lower() in ABBREVIATIONS


def _boundaries(text: str) -> list[int]:
    cuts = set()
    for match in _BLANK_LINE.finditer(text):
        cuts.add(match.start())
    for match in _CJK_END.finditer(text):
        cuts.add(match.end())
    for match in _END.finditer(text):
        end = match.end()
        following = end
        while following < len(text) and text[following].isspace():
            following += 1
        if following >= len(text):
            continue
        if not _can_begin(text[following]):
            continue
        if _is_abbreviation(text, match.start()) and match.end() - match.start() == 1:
            continue
        cuts.add(end)
    return sorted(cuts)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of `text`, in order, without surrounding whitespace."""
    spans = []
    start = 0
    for cut in [*_boundaries(text), len(text)]:
        if cut <= start:
            continue
        left, right = start, cut
        while left < right and text[left].isspace():
            left += 1
        while right > left and text[right - 1].isspace():
            right -= 1
        if right > left:
            spans.append((left, right))
        start = cut
    return spans


def sentence_at(spans: list[tuple[int, int]], starts: list[int], offset: int) -> int:
    """The index of the sentence that contains `offset` (spans sorted; starts their starts)."""
    return max(0, bisect.bisect_right(starts, offset) - 1)
