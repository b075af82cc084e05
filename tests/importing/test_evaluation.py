"""Evaluation of the importer's entity detection against hand-labelled documents.

The labelled data
=================
``tests/importing/evaluation/*.json`` holds one document per file::

    {"title": "...", "language": "en",
     "sentences": [{"text": "...", "countries": ["PK"], "companies": ["huawei"],
                    "project_types": ["fiber-link"]}]}

The sentences are realistic prose in the style of news articles, think-tank reports and press
releases about the Digital Silk Road, in English, Spanish, French, Russian and Chinese. Each
sentence carries three sets of labels.

Labelling guide
---------------
Every sentence is labelled on its own, by meaning, as a human annotator would; the labels
never depend on what the detector finds, and must not be tuned to it.

Countries (ISO alpha-2): every country the sentence names, in any language or inflected form
("Pakistan", "Perú", "Côte d'Ivoire", "в Казахстане", "巴基斯坦"), by its name, official name
or usual abbreviation ("US"), and by its demonym or nationality adjective, whatever its case
("Kenyan", "Chinese-built", "chinois", "la empresa china", "китайская"). China counts like
any other country. Not counted: capitals and other cities (Islamabad, Pékin, 北京); regions
(the Gulf, East Africa, América Latina); a country word inside the proper name of an
organisation ("China Mobile", "Telecom Egypt", "Export-Import Bank of China", "Uganda Police
Force") or of a geographic feature ("Indian Ocean"); people's names ("Chad Anderson");
US states ("Georgia Tech"); common words ("a roast turkey", "fine china", "a guinea pig").
A country word inside the name of a cable or programme ("the Pakistan-China Optical Fibre
Cable", "the China-Arab States BeiDou/GNSS Center") does count.

Companies (slug): every organisation of the knowledge base (projects/reference/
organisations.json and the organisations of demo.json) that the sentence names, by its
name, an alias or abbreviation ("AIIB", "CAMTEL"), its Chinese name, or a translation of its
name ("Banco de Exportación e Importación de China"). The most specific organisation is the
one named: "Huawei Marine" is hmn-technologies, "China Mobile International" is
china-mobile-international. Not counted: organisations outside the knowledge base, products
(Alipay, WeChat Pay), pronouns ("the company").

Project types (slug of projects/reference/project_types.json): the kinds of digital project
the sentence itself describes, judged by meaning ("the cable crosses the Indian Ocean" is a
submarine cable; "a city-wide camera network" is a smart/safe city), without reference to
neighbouring sentences or to the keyword lists. Naming a company does not by itself describe a
project; a sentence that describes no digital project has none.

The test
========
Each document becomes one text: its sentences joined by a space, with a paragraph break
("\\n\\n") before every fourth sentence. ``Detector.from_database().find`` runs once over the
whole text and each match is attributed to the sentence whose span contains its start. Per
kind, micro-averaged over all sentences, a predicted key in the sentence's labels is a true
positive, one outside them a false positive, and a label not predicted a false negative.
Precision and recall must reach 0.9 for countries and companies and 0.8 for project types;
a failure lists every false positive and negative with its sentence. The figures are written
to test-artifacts/evaluation.json and printed as a table (run pytest with -s to see it).

Held-out documents
------------------
Files named ``holdout-*.json`` carry ``"holdout": true``. They were written after the
detector's dictionaries were tuned on the other files and must never be used to tune them:
their figures, reported separately under ``"holdout"``, are the honest estimate. The
thresholds apply to the whole set.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / "evaluation"
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "evaluation.json"

# Label field of the data -> Found.kind of the detector.
KINDS = {"countries": "country", "companies": "company", "project_types": "project_type"}
THRESHOLDS = {"country": 0.9, "company": 0.9, "project_type": 0.8}
SENTENCES_PER_PARAGRAPH = 4


@dataclass
class Sentence:
    document: str
    index: int
    text: str
    start: int
    end: int
    labels: dict[str, set[str]]


@dataclass
class Document:
    name: str
    title: str
    language: str
    text: str
    sentences: list[Sentence]
    holdout: bool = False


def load_documents() -> list[Document]:
    documents = []
    for path in sorted(DATA_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        parts: list[str] = []
        sentences: list[Sentence] = []
        offset = 0
        for index, item in enumerate(data["sentences"]):
            if index:
                separator = "\n\n" if index % SENTENCES_PER_PARAGRAPH == 0 else " "
                parts.append(separator)
                offset += len(separator)
            text = item["text"]
            labels = {kind: set(item[key]) for key, kind in KINDS.items()}
            sentences.append(Sentence(path.stem, index, text, offset, offset + len(text), labels))
            parts.append(text)
            offset += len(text)
        documents.append(
            Document(
                path.stem,
                data["title"],
                data["language"],
                "".join(parts),
                sentences,
                bool(data.get("holdout", False)),
            )
        )
    return documents


DOCUMENTS = load_documents()


def sentence_at(document: Document, position: int) -> Sentence | None:
    for sentence in document.sentences:
        if sentence.start <= position < sentence.end:
            return sentence
    return None


@pytest.fixture
def detector(db):
    from projects.importing.detect import Detector

    return Detector.from_database()


def test_the_evaluation_set_is_large_and_well_formed():
    languages = Counter()
    for document in DOCUMENTS:
        languages[document.language] += len(document.sentences)
        for sentence in document.sentences:
            assert sentence.text == sentence.text.strip() and sentence.text, sentence
            assert document.text[sentence.start : sentence.end] == sentence.text
    assert len(DOCUMENTS) >= 6
    assert sum(languages.values()) >= 60
    assert languages["es"] >= 10 and languages["fr"] >= 10, languages


def test_labels_name_existing_entities(db):
    from projects.models import Company, Country, ProjectType

    known = {
        "country": set(Country.objects.values_list("iso2", flat=True)),
        "company": set(Company.objects.values_list("slug", flat=True)),
        "project_type": set(ProjectType.objects.values_list("slug", flat=True)),
    }
    unknown = [
        f"{sentence.document}#{sentence.index}: {kind} {key}"
        for document in DOCUMENTS
        for sentence in document.sentences
        for kind, keys in sentence.labels.items()
        for key in sorted(keys - known[kind])
    ]
    assert not unknown, "labels that are not in the database:\n" + "\n".join(unknown)


def test_found_text_is_the_matched_slice(detector):
    problems = []
    for document in DOCUMENTS:
        found = detector.find(document.text)
        if [f.start for f in found] != sorted(f.start for f in found):
            problems.append(f"{document.name}: matches are not sorted by start")
        for f in found:
            if not (0 <= f.start < f.end <= len(document.text)):
                problems.append(f"{document.name}: span {f.start}-{f.end} outside the text")
            elif document.text[f.start : f.end] != f.text:
                problems.append(
                    f"{document.name}: {f.kind} {f.key} at {f.start}-{f.end} has text "
                    f"{f.text!r}, the slice is {document.text[f.start : f.end]!r}"
                )
    assert not problems, "\n".join(problems)


def test_sentence_split_finds_every_labelled_sentence():
    from projects.importing.sentences import split_sentences

    problems = []
    for document in DOCUMENTS:
        text = document.text
        spans = split_sentences(text)
        for start, end in spans:
            if not (0 <= start <= end <= len(text)):
                problems.append(f"{document.name}: span {start}-{end} outside the text")
        starts = {start for start, _ in spans}
        for sentence in document.sentences:
            # A split point at the sentence start, or one in the whitespace just before it.
            lead = sentence.start
            while lead > 0 and text[lead - 1].isspace():
                lead -= 1
            if not starts.intersection(range(lead, sentence.start + 1)):
                problems.append(
                    f"{document.name}#{sentence.index}: no split before {sentence.text[:60]!r}"
                )
    assert not problems, "\n".join(problems)


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def score(counts: Counter) -> dict:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {
        "precision": round(ratio(tp, tp + fp), 4),
        "recall": round(ratio(tp, tp + fn), 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def test_detector_precision_and_recall(detector):
    predictions: dict[tuple[str, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for document in DOCUMENTS:
        for found in detector.find(document.text):
            sentence = sentence_at(document, found.start)
            if sentence is not None:
                predictions[sentence.document, sentence.index][found.kind].add(found.key)

    totals: dict[str, Counter] = {kind: Counter() for kind in THRESHOLDS}
    by_language: dict[str, dict[str, Counter]] = defaultdict(
        lambda: {kind: Counter() for kind in THRESHOLDS}
    )
    holdout: dict[str, Counter] = {kind: Counter() for kind in THRESHOLDS}
    errors: dict[str, list[str]] = {kind: [] for kind in THRESHOLDS}
    for document in DOCUMENTS:
        for sentence in document.sentences:
            for kind in THRESHOLDS:
                labelled = sentence.labels[kind]
                predicted = predictions[sentence.document, sentence.index][kind]
                counts = Counter(
                    tp=len(predicted & labelled),
                    fp=len(predicted - labelled),
                    fn=len(labelled - predicted),
                )
                totals[kind].update(counts)
                by_language[document.language][kind].update(counts)
                if document.holdout:
                    holdout[kind].update(counts)
                where = f"{sentence.document}#{sentence.index}: {sentence.text}"
                errors[kind] += [f"  FP {key:<28} {where}" for key in sorted(predicted - labelled)]
                errors[kind] += [f"  FN {key:<28} {where}" for key in sorted(labelled - predicted)]

    languages = Counter()
    documents_per_language = Counter()
    for document in DOCUMENTS:
        languages[document.language] += len(document.sentences)
        documents_per_language[document.language] += 1
    figures = {
        "documents": len(DOCUMENTS),
        "sentences": sum(languages.values()),
        "languages": {
            language: {
                "documents": documents_per_language[language],
                "sentences": languages[language],
                **{kind: score(by_language[language][kind]) for kind in THRESHOLDS},
            }
            for language in sorted(languages)
        },
        "holdout": {
            "documents": sum(1 for document in DOCUMENTS if document.holdout),
            "sentences": sum(len(d.sentences) for d in DOCUMENTS if d.holdout),
            **{kind: score(holdout[kind]) for kind in THRESHOLDS},
        },
        **{kind: {**score(totals[kind]), "threshold": THRESHOLDS[kind]} for kind in THRESHOLDS},
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"\nEntity detection: {figures['documents']} documents, {figures['sentences']} sentences")
    print(f"{'kind':<14}{'precision':>10}{'recall':>8}{'tp':>6}{'fp':>5}{'fn':>5}")
    for kind in THRESHOLDS:
        row = figures[kind]
        print(
            f"{kind:<14}{row['precision']:>10.3f}{row['recall']:>8.3f}"
            f"{row['tp']:>6}{row['fp']:>5}{row['fn']:>5}"
        )
    for language, row in figures["languages"].items():
        cells = "  ".join(
            f"{kind} P={row[kind]['precision']:.2f} R={row[kind]['recall']:.2f}"
            for kind in THRESHOLDS
        )
        print(f"  {language}: {row['documents']} docs, {row['sentences']} sentences; {cells}")
    row = figures["holdout"]
    print(f"Held-out: {row['documents']} documents, {row['sentences']} sentences")
    for kind in THRESHOLDS:
        print(
            f"  {kind:<12}{row[kind]['precision']:>10.3f}{row[kind]['recall']:>8.3f}"
            f"{row[kind]['tp']:>6}{row[kind]['fp']:>5}{row[kind]['fn']:>5}"
        )

    failing = [
        f"{kind}: precision {figures[kind]['precision']:.3f}, recall {figures[kind]['recall']:.3f}"
        f" (need {threshold})"
        for kind, threshold in THRESHOLDS.items()
        if figures[kind]["precision"] < threshold or figures[kind]["recall"] < threshold
    ]
    report = "\n".join(
        f"{kind} errors:\n" + "\n".join(errors[kind]) for kind in THRESHOLDS if errors[kind]
    )
    assert not failing, "\n".join(failing) + "\n\n" + report
