"""Turn a document's mentions into proposals: candidate projects, each with its sentences.

A sentence supports a proposal when it names an organisation or a kind of project together
with at least one country other than China (the projects are China's, abroad). Sentences
of one document naming the same organisations, kinds and countries make one proposal.

Confidence, from 0 to 1, adds up what makes a sentence read like a project report:
  0.20  a start
+ 0.25  it names an organisation          + 0.25  it names a kind of project
+ 0.15  it has a verb of building, signing, financing or launching (in several languages)
+ 0.05  for each further supporting sentence, at most 0.10
- 0.15  when it lists more than four countries (a list of partners, not one project)
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field

from .detect import COMPANY, COUNTRY, PROJECT_TYPE, Found

CHINA = "CN"
MANY_COUNTRIES = 4

# Stems that begin a word: "build" matches "builds", "building"; "construct" matches
# "construction". Spanish, French, Portuguese and Chinese forms are listed beside English.
ACTION_STEMS = [
    "build", "built", "construct", "deploy", "install", "lay", "laid", "sign", "launch",
    "complet", "financ", "fund", "loan", "lent", "suppl", "provid", "upgrad", "connect",
    "link", "roll", "award", "contract", "inaugurat", "commission", "operat", "develop",
    "implement", "invest", "expand", "modernis", "moderniz", "open",
    "constru", "despleg", "despliegu", "instal", "firmó", "firmar", "firmaron", "financi",
    "inaugur", "conect",
    "ampli", "moderniz", "implement", "suministr", "desarroll", "invers", "invirt",
    "construi", "déplo", "deplo", "sign", "finan", "raccord", "relie", "lanc", "fourni",
    "achev", "mis en service", "mise en service", "développ", "investi",
]  # fmt: skip
ACTION_WORDS = ["建设", "建造", "承建", "部署", "铺设", "签署", "签约", "开通", "投资", "融资"]
_STEMS = sorted(set(ACTION_STEMS), key=len, reverse=True)
_ACTION = re.compile(
    r"\b(?:" + "|".join(map(re.escape, _STEMS)) + ")|" + "|".join(ACTION_WORDS), re.IGNORECASE
)


@dataclass
class Draft:
    """A proposal before it is stored: entity ids by kind, and its supporting sentences."""

    companies: frozenset[int]
    project_types: frozenset[int]
    countries: frozenset[int]
    spans: list[tuple[int, int]] = field(default_factory=list)
    action: bool = False
    keys: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable identity of the group within its document."""
        parts = [
            ",".join(str(i) for i in sorted(ids))
            for ids in (self.companies, self.project_types, self.countries)
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @property
    def confidence(self) -> float:
        score = 0.20
        score += 0.25 if self.companies else 0
        score += 0.25 if self.project_types else 0
        score += 0.15 if self.action else 0
        score += min(0.10, 0.05 * (len(self.spans) - 1))
        score -= 0.15 if len(self.countries) > MANY_COUNTRIES else 0
        return round(min(1.0, max(0.0, score)), 2)


def draft_proposals(text: str, sentences: list[tuple[int, int]], found: list[Found]) -> list[Draft]:
    """The proposals that `found` (sorted by start) supports, in order of first sentence."""
    starts = [start for start, _ in sentences]
    by_sentence: dict[int, list[Found]] = {}
    for item in found:
        index = bisect.bisect_right(starts, item.start) - 1
        if index >= 0:
            by_sentence.setdefault(index, []).append(item)
    drafts: dict[tuple, Draft] = {}
    for index in sorted(by_sentence):
        items = by_sentence[index]
        entities = {kind: {} for kind in (COMPANY, PROJECT_TYPE, COUNTRY)}
        for item in items:
            if not (item.kind == COUNTRY and item.key == CHINA):
                entities[item.kind][item.entity_id] = item.key
        if not entities[COUNTRY] or not (entities[COMPANY] or entities[PROJECT_TYPE]):
            continue
        group = tuple(frozenset(entities[kind]) for kind in (COMPANY, PROJECT_TYPE, COUNTRY))
        draft = drafts.get(group)
        if draft is None:
            draft = drafts[group] = Draft(*group)
            draft.keys = {kind: sorted(keys.values()) for kind, keys in entities.items()}
        start, end = sentences[index]
        draft.spans.append((start, end))
        draft.action = draft.action or bool(_ACTION.search(text, start, end))
    return list(drafts.values())
