"""Benchmark of the document pipeline: extraction, and detection (with sentence splitting
and proposals), in documents and megabytes per second, per format; and the whole import of
stored documents (extract, detect, write mentions and proposals) through the database.

Run it from the repository with the app's database set up (`make data`, or DATABASE_URL):

    .venv/bin/python bench/import_documents.py [--documents 20] [--kilobytes 200]

It generates its own corpus: news-like paragraphs in which a share of the sentences name
organisations, countries and kinds of project from the reference data, rendered as plain
text, Markdown, HTML (with navigation and footer), DOCX and PDF. Results go to stdout as a
Markdown table; record them in bench/RESULTS.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import sys
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")

import django  # noqa: E402

django.setup()

from django.core.files.storage import default_storage  # noqa: E402
from django.db import transaction  # noqa: E402

from projects.importing.detect import Detector  # noqa: E402
from projects.importing.extract import Limits, extract  # noqa: E402
from projects.importing.propose import draft_proposals  # noqa: E402
from projects.importing.sentences import split_sentences  # noqa: E402
from projects.models import Company, Country, ProjectType, SourceDocument  # noqa: E402
from projects.services import imports  # noqa: E402

FILLER = [
    "The agreement was discussed at length by officials from both sides during the visit.",
    "Analysts say the financing terms remain unclear and the timeline has slipped twice.",
    "Critics raised concerns about debt sustainability and the transparency of the deal.",
    "The ministry said the works would create several hundred local jobs over three years.",
    "Construction is expected to take about eighteen months once the permits are issued.",
    "A spokesperson declined to comment on the cost or on the contractors involved.",
]
VERBS = ["is building", "signed a contract for", "completed", "will finance", "deployed"]
TYPE_WORDS = {
    "fiber-link": "a fiber-optic link",
    "submarine-cable": "a submarine cable",
    "mobile-network": "a 5G network",
    "data-center": "a national data center",
    "smart-city": "a safe city system",
    "cloud": "a government cloud platform",
}


def corpus_sentences(rng: random.Random, count: int) -> list[str]:
    companies = list(Company.objects.values_list("name", flat=True)[:40])
    countries = list(Country.objects.exclude(iso2="CN").values_list("name", flat=True))
    sentences = []
    for _ in range(count):
        if rng.random() < 0.3:
            sentences.append(
                f"{rng.choice(companies)} {rng.choice(VERBS)} "
                f"{rng.choice(list(TYPE_WORDS.values()))} in {rng.choice(countries)}."
            )
        else:
            sentences.append(rng.choice(FILLER))
    return sentences


def paragraphs(rng: random.Random, kilobytes: int) -> list[str]:
    result, size = [], 0
    while size < kilobytes * 1024:
        paragraph = " ".join(corpus_sentences(rng, 5))
        result.append(paragraph)
        size += len(paragraph.encode())
    return result


def as_text(paras):
    return "\n\n".join(paras).encode()


def as_markdown(paras):
    body = "\n\n".join(f"## Section {i}\n\n{p}" if i % 5 == 0 else p for i, p in enumerate(paras))
    return f"# A report on digital infrastructure\n\n{body}\n".encode()


def as_html(paras):
    nav = "<nav><ul>" + "".join(f"<li><a href='/{i}'>Menu {i}</a></li>" for i in range(30))
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return (
        "<!doctype html><html><head><title>Report</title><script>var x = 1;</script></head>"
        f"<body>{nav}</ul></nav><main><article><h1>Report</h1>{body}</article></main>"
        "<footer>Copyright, cookies and newsletter</footer></body></html>"
    ).encode()


def as_docx(paras):
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paras)
    document = (
        f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
    )
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def as_pdf(paras):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    pdf.add_page()
    for paragraph in paras:
        pdf.multi_cell(0, 5, paragraph)
        pdf.ln(3)
    return bytes(pdf.output())


FORMATS = {
    "text": as_text,
    "markdown": as_markdown,
    "html": as_html,
    "docx": as_docx,
    "pdf": as_pdf,
}


def rate(count: int, megabytes: float, seconds: float) -> str:
    return f"{count / seconds:8.1f} docs/s  {megabytes / seconds:7.2f} MB/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20, help="documents per format")
    parser.add_argument("--kilobytes", type=int, default=200, help="text per document")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if not ProjectType.objects.exists():
        sys.exit("The database has no reference data: run `make data` first.")

    print(
        f"# Document import benchmark — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{args.documents} documents per format, about {args.kilobytes} KB of text each\n")
    started = time.perf_counter()
    detector = Detector.from_database()
    print(f"dictionary compiled in {time.perf_counter() - started:.2f} s ({detector.size} names)\n")
    limits = Limits.from_settings()
    print("| format | extraction | detection + sentences + proposals |")
    print("|---|---|---|")
    texts = []
    for name, render in FORMATS.items():
        files = [render(paragraphs(rng, args.kilobytes)) for _ in range(args.documents)]
        megabytes = sum(len(f) for f in files) / 1e6
        started = time.perf_counter()
        extracted = [extract(data, limits=limits).text for data in files]
        extraction = time.perf_counter() - started
        text_mb = sum(len(t.encode()) for t in extracted) / 1e6
        started = time.perf_counter()
        for text in extracted:
            found = detector.find(text)
            draft_proposals(text, split_sentences(text), found)
        analysis = time.perf_counter() - started
        texts.extend(extracted)
        print(
            f"| {name} ({megabytes / args.documents:.2f} MB per file) "
            f"| {rate(args.documents, megabytes, extraction)} "
            f"| {rate(args.documents, text_mb, analysis)} |"
        )

    # The whole import through the database, in this process (as `import_document --sync`):
    # store, extract, detect, write mentions and proposals. Rolled back afterwards.
    files = [as_text(paragraphs(rng, args.kilobytes)) for _ in range(args.documents)]
    megabytes = sum(len(f) for f in files) / 1e6
    stored = []
    with transaction.atomic():
        started = time.perf_counter()
        for data in files:
            result = imports.document_import(data=data, filename="bench.txt", enqueue=False)
            imports.document_process(result.document.pk)
            stored.append(result.document.file.name)
        whole = time.perf_counter() - started
        documents = SourceDocument.objects.filter(file__in=stored)
        mentions = sum(document.mentions.count() for document in documents)
        transaction.set_rollback(True)
    for name in stored:
        default_storage.delete(name)
    print(
        f"\nwhole import of text documents (store, process, write): "
        f"{rate(args.documents, megabytes, whole)}, {mentions} mentions written"
    )


if __name__ == "__main__":
    main()
