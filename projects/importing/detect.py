"""Find the countries, organisations and kinds of project a text names.

One pass of an Aho-Corasick automaton over a folded copy of the text finds every dictionary
name at once, whatever the number of names. Folding is character for character (lower case,
accents dropped, dashes and whitespace made spaces, typographic apostrophes made straight),
so an offset in the folded text is the same offset in the original; runs of several spaces
are then made one, with a map back to the original offsets. `text[start:end]` is exactly the
matched words.

Rules, in the order they apply:
- whole words only: a match must not start or end inside a word, except in scripts written
  without spaces (Chinese, Japanese), where names are matched anywhere;
- kind-of-project keywords also match their plural ("data center" finds "data centers") and,
  in Cyrillic, a few inflection letters ("оптоволокон" finds "оптоволоконная");
- a country or organisation written entirely in lower case is not a name ("turkey",
  "fine china"), unless the dictionary writes it in lower case too;
- the longest match wins, so "China Mobile" is the company, not the country China;
- a name shared by two entities counts for the one whose primary name it is; a name that is
  an alias of several entities is ambiguous and ignored.
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick
from django.db import DEFAULT_DB_ALIAS, connections, router

from projects.models import Company, Country, ProjectType

COUNTRY = "country"
COMPANY = "company"
PROJECT_TYPE = "project_type"
KINDS = (COUNTRY, COMPANY, PROJECT_TYPE)

# How a dictionary entry came to name its entity; a lower number wins a clash between
# entities over the same words.
PRIMARY, OFFICIAL, TRANSLATED, ALIAS = range(4)

APOSTROPHES = "\u2019\u2018\u02bc\u2032\u00b4`"
CYRILLIC_INFLECTION = 3  # letters that may follow a Cyrillic stem or name
ACRONYM_LENGTH = 4
STEM_LENGTH = 4
# Country names that are also first names or begin other names: "Chad Anderson",
# "Georgia Tech", "Jordan Peterson". Followed by a capitalised word, they are not the country.
FIRST_NAMES = {"chad", "jordan", "georgia"}


class Found(NamedTuple):
    kind: str
    key: str  # Country.iso2, Company.slug or ProjectType.slug
    entity_id: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Entry:
    kind: str
    key: str
    entity_id: int
    rank: int
    cased: bool  # the dictionary writes it with a capital: an all-lower-case match is a word
    spaceless_start: bool  # starts with a character of a script written without spaces
    spaceless_end: bool
    suffixes: str  # "plural", "cyrillic" or ""
    acronym: bool = False  # short and all capitals ("US", "ZTE"): matches only in capitals
    stem: str = ""  # the first letters of the entity's primary name, folded


_FOLD_CACHE: dict[int, str] = {}


def _fold_char(char: str) -> str:
    """One character for one character, so that offsets survive folding."""
    code = ord(char)
    folded = _FOLD_CACHE.get(code)
    if folded is not None:
        return folded
    if char.isspace() or unicodedata.category(char) == "Pd":
        folded = " "
    elif char in APOSTROPHES:
        folded = "'"
    else:
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        ).casefold()
        # A character that folds to several (ß → ss, ligatures) keeps its first: the text
        # must stay the same length.
        folded = base[0] if base else char
    _FOLD_CACHE[code] = folded
    return folded


def fold(text: str) -> str:
    """The text lower-cased, without accents, with dashes and whitespace as spaces; same length."""
    table = {ord(char): _fold_char(char) for char in set(text)}
    folded = text.translate(table)
    assert len(folded) == len(text)
    return folded


_SPACE_RUN = re.compile(r"  +")


def _collapse_spaces(folded: str):
    """Runs of spaces made one ("fibre  optic", "fibre\r\noptic" match "fibre optic"), and a
    function from an offset in the result back to the offset in `folded`."""
    runs = list(_SPACE_RUN.finditer(folded))
    if not runs:
        return folded, lambda offset: offset
    pieces, kept_at, came_from = [], [], []
    kept = source = 0
    for run in runs:
        kept_at.append(kept)
        came_from.append(source)
        pieces.append(folded[source : run.start() + 1])
        kept += run.start() + 1 - source
        source = run.end()
    kept_at.append(kept)
    came_from.append(source)
    pieces.append(folded[source:])

    def original(offset: int) -> int:
        index = bisect.bisect_right(kept_at, offset) - 1
        return came_from[index] + offset - kept_at[index]

    return "".join(pieces), original


def _fold_name(name: str) -> str:
    return " ".join(fold(name).split())


def _spaceless(char: str) -> bool:
    """Scripts written without spaces between words: Han, kana, Thai, Lao, Khmer, Myanmar."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FA1F
        or 0x0E00 <= code <= 0x0EFF
        or 0x1000 <= code <= 0x109F
        or 0x1780 <= code <= 0x17FF
    )


def _cyrillic(char: str) -> bool:
    return 0x0400 <= ord(char) <= 0x04FF


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _followed_by_name(text: str, end: int) -> bool:
    """Whether the next word, on the same line, is capitalised: "Chad Anderson"."""
    rest = text[end : end + 2]
    return len(rest) == 2 and rest[0] == " " and rest[1].isupper()


class Detector:
    """A compiled dictionary of names; `find` runs it over a text."""

    def __init__(self, names: Iterable[tuple[str, _Entry]]):
        by_pattern: dict[str, list[_Entry]] = {}
        for name, entry in names:
            pattern = _fold_name(name)
            if len(pattern) < 2 or not any(_word_char(c) for c in pattern):
                continue
            by_pattern.setdefault(pattern, []).append(entry)
        self.automaton = ahocorasick.Automaton()
        self.size = 0
        for pattern, entries in by_pattern.items():
            entry = self._winner(pattern, entries)
            if entry is not None:
                self.automaton.add_word(pattern, (len(pattern), entry))
                self.size += 1
        if self.size:
            self.automaton.make_automaton()

    @staticmethod
    def _winner(pattern: str, entries: list[_Entry]) -> _Entry | None:
        distinct = {(e.kind, e.entity_id): e for e in entries}
        best_rank = min(e.rank for e in distinct.values())
        best = [e for e in distinct.values() if e.rank == best_rank]
        if len(best) > 1:
            # A shared demonym belongs to the entity it derives from: "Chinese" is China's,
            # though Hong Kong and Macao list it too.
            best = [e for e in best if e.stem and pattern.startswith(e.stem)] or best
        return best[0] if len(best) == 1 else None

    @classmethod
    def from_database(cls) -> Detector:
        return cls(_dictionary())

    def find(self, text: str) -> list[Found]:
        """Every name in `text`, longest first where they overlap, sorted by position."""
        if not self.size or not text:
            return []
        folded, original = _collapse_spaces(fold(text))
        length = len(folded)
        candidates = []
        for last, (size, entry) in self.automaton.iter(folded):
            start, end = last + 1 - size, last + 1
            if not entry.spaceless_start and start > 0 and _word_char(folded[start - 1]):
                continue
            end = self._word_end(folded, end, entry, length)
            if end is None:
                continue
            first, stop = original(start), original(end - 1) + 1
            words = text[first:stop]
            if entry.cased and words.islower():
                continue
            if entry.acronym and not words.isupper():
                continue
            if (
                entry.kind == COUNTRY
                and folded[start:end] in FIRST_NAMES
                and _followed_by_name(text, stop)
            ):
                continue
            candidates.append((start, end, first, stop, entry))
        # Longest first; among equals, the earlier one. A match may not overlap one taken.
        candidates.sort(key=lambda c: (c[0] - c[1], c[0]))
        taken = bytearray(length)
        found = []
        for start, end, first, stop, entry in candidates:
            if taken.find(1, start, end) != -1:
                continue
            taken[start:end] = b"\x01" * (end - start)
            found.append(
                Found(entry.kind, entry.key, entry.entity_id, first, stop, text[first:stop])
            )
        found.sort(key=lambda f: f.start)
        return found

    @staticmethod
    def _word_end(folded: str, end: int, entry: _Entry, length: int) -> int | None:
        """Where the match ends once allowed endings are taken, or None if it ends mid-word."""
        if entry.spaceless_end or end >= length or not _word_char(folded[end]):
            return end
        if entry.suffixes == "plural":
            for suffix in ("s", "es"):
                stop = end + len(suffix)
                if folded.startswith(suffix, end) and (
                    stop >= length or not _word_char(folded[stop])
                ):
                    return stop
        elif entry.suffixes == "cyrillic":
            stop = end
            while stop < length and stop - end < CYRILLIC_INFLECTION and _cyrillic(folded[stop]):
                stop += 1
            if stop >= length or not _word_char(folded[stop]):
                return stop
        return None


def _entry(
    kind, key, entity_id, rank, name: str, suffixes: str = "", primary: str = ""
) -> tuple[str, _Entry]:
    name = name.strip()
    cased = kind != PROJECT_TYPE and any(c.isupper() for c in name)
    if not suffixes and name and _cyrillic(name[-1]):
        suffixes = "cyrillic"
    return name, _Entry(
        kind=kind,
        key=key,
        entity_id=entity_id,
        rank=rank,
        cased=cased,
        spaceless_start=bool(name) and _spaceless(name[0]),
        spaceless_end=bool(name) and _spaceless(name[-1]),
        suffixes=suffixes,
        acronym=name.isupper() and len(name) <= ACRONYM_LENGTH and kind != PROJECT_TYPE,
        stem=_fold_name(primary)[:STEM_LENGTH] if len(primary) >= STEM_LENGTH else "",
    )


def _dictionary() -> Iterable[tuple[str, _Entry]]:
    for country in Country.objects.only("pk", "iso2", "name", "official_name", "aliases", "names"):
        args = (COUNTRY, country.iso2, country.pk)
        yield _entry(*args, PRIMARY, country.name, primary=country.name)
        if country.official_name:
            yield _entry(*args, OFFICIAL, country.official_name)
        for name in (country.names or {}).values():
            if isinstance(name, str):
                yield _entry(*args, TRANSLATED, name)
                yield from _cyrillic_stem(args, TRANSLATED, name)
        for alias in country.aliases:
            yield _entry(*args, ALIAS, alias, primary=country.name)
    for company in Company.objects.only("pk", "slug", "name", "chinese_name", "aliases"):
        args = (COMPANY, company.slug, company.pk)
        yield _entry(*args, PRIMARY, company.name)
        if company.chinese_name:
            yield _entry(*args, TRANSLATED, company.chinese_name)
        for alias in company.aliases:
            yield _entry(*args, ALIAS, alias)
    for project_type in ProjectType.objects.only("pk", "slug", "name", "keywords"):
        args = (PROJECT_TYPE, project_type.slug, project_type.pk)
        for keyword in project_type.keywords:
            suffixes = "plural" if keyword and not _spaceless(keyword[-1]) else ""
            if keyword and _cyrillic(keyword[-1]):
                suffixes = "cyrillic"
            yield _entry(*args, ALIAS, keyword, suffixes=suffixes)
            for plural in _phrase_plurals(keyword):
                yield _entry(*args, ALIAS, plural, suffixes=suffixes)


def _phrase_plurals(keyword: str) -> list[str]:
    """Plurals of a Latin phrase whose every word agrees, as in Spanish and French:
    "ville intelligente" → "villes intelligentes", "ciudad segura" → "ciudades seguras".
    (The last word's plural alone is handled at match time.)"""
    words = keyword.split()
    latin = all(w.isalpha() and not _cyrillic(w[0]) and not _spaceless(w[0]) for w in words)
    if not latin or not 2 <= len(words) <= 3:
        return []
    variants = {
        " ".join(w if w.endswith("s") else w + "s" for w in words),
        " ".join(
            w if w.endswith("s") else w + ("s" if w[-1] in "aeiouéè" else "es") for w in words
        ),
    }
    return sorted(variants - {keyword})


def _cyrillic_stem(args, rank, name: str):
    """Russian declines names ("Кения", "в Кении"): the stem without its last vowel also
    matches, followed by at most a few letters."""
    if len(name) >= 5 and " " not in name and name[-1] in "аяьйеоы":
        yield _entry(*args, rank, name[:-1], suffixes="cyrillic")


DICTIONARY_MODELS = (Country, Company, ProjectType)


def dictionary_version() -> tuple:
    """Changes whenever a country, organisation or kind of project is added, edited or removed:
    each table's count of rows and latest `updated`, in one query (it runs for every document)."""
    alias = router.db_for_read(Country) or DEFAULT_DB_ALIAS
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = []
    for model in DICTIONARY_MODELS:
        table = quote(model._meta.db_table)
        updated = quote(model._meta.get_field("updated").column)
        columns += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX({updated}) FROM {table})"]  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}")
        row = cursor.fetchone()
    return tuple(zip(row[0::2], row[1::2], strict=True))


_cache_lock = threading.Lock()
_cached: tuple[tuple, Detector] | None = None


def current_detector() -> Detector:
    """The detector for the dictionary as it is now, compiled once per process and version."""
    global _cached
    version = dictionary_version()
    with _cache_lock:
        if _cached is None or _cached[0] != version:
            _cached = (version, Detector.from_database())
        return _cached[1]
