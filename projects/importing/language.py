"""Guess the language of a document's text, deterministically and without a model.

Scripts settle Chinese, Japanese, Korean, Russian, Ukrainian and Arabic; for Latin-script
text, the share of common function words of each language decides.
"""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARACTERS = 20_000
MIN_LETTERS = 20

_SCRIPTS = {
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "kana": re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]"),
    "hangul": re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"),
}
_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")
_WORD = re.compile(r"[^\W\d_]+")

# A script decides the language once it makes up this share of the letters.
_SCRIPT_SHARE = 0.3

_FUNCTION_WORDS = {
    "en": """the of and to in is that for it with as was on be by this are from at which or
        have has an not were their been will its but they would also into more than these
        other between he she we can such after about""",
    "es": """de la que el en y los del las por un una con para es se al lo como más su sus
        pero fue ha son este esta entre sobre también desde está muy sin cuando hasta donde
        han ya porque""",
    "fr": """le la les de des du et en un une est que qui dans pour pas par sur au aux avec
        ce cette sont plus ont été ne se il elle nous leur mais ou où comme être aussi
        entre""",
    "de": """der die das und in den von zu mit ist des sich dem nicht ein eine auch auf für
        im es als an werden wird aus er sie nach bei einer um am sind noch wie über zum zur
        oder wurde durch dass""",
    "pt": """de a o que e do da em um uma para com não os as no na por mais dos das se ao
        foi pelo pela são seu sua como mas também entre quando muito já está há isso nos
        ele ela sobre""",
    "it": """di il la che e è per un una in del della dei delle non sono con si da al alla
        le gli lo anche più come ma nel nella questo questa essere ha hanno tra fra stato
        ci su sul""",
}
_STOPWORDS = {language: frozenset(words.split()) for language, words in _FUNCTION_WORDS.items()}

# The best language must cover this share of the words and beat the runner-up by this factor.
_MIN_WORD_SHARE = 0.08
_MIN_LEAD = 1.2


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language of `text`, or "" when unsure."""
    sample = text[:SAMPLE_CHARACTERS]
    letters = sum(map(str.isalpha, sample))
    if letters < MIN_LETTERS:
        return ""
    return _by_script(sample, letters) or _by_function_words(sample)


def _by_script(sample: str, letters: int) -> str:
    counts = {script: len(pattern.findall(sample)) for script, pattern in _SCRIPTS.items()}
    threshold = letters * _SCRIPT_SHARE
    if counts["kana"] > letters * 0.05 and counts["kana"] + counts["han"] >= threshold:
        return "ja"
    if counts["hangul"] >= threshold:
        return "ko"
    if counts["han"] >= threshold:
        return "zh"
    if counts["cyrillic"] >= threshold:
        ukrainian = len(_UKRAINIAN_LETTERS.findall(sample))
        return "uk" if ukrainian >= counts["cyrillic"] / 100 else "ru"
    if counts["arabic"] >= threshold:
        return "ar"
    return ""


def _by_function_words(sample: str) -> str:
    words = Counter(_WORD.findall(sample.lower()))
    if not words:
        return ""
    scores = {
        language: sum(words[word] for word in stopwords if word in words)
        for language, stopwords in _STOPWORDS.items()
    }
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, runner_up) = ranked[0], ranked[1]
    if best_score < 3 or best_score < words.total() * _MIN_WORD_SHARE:
        return ""
    if best_score < runner_up * _MIN_LEAD:
        return ""
    return best
