"""Hostile text for the stored-XSS tests: a corpus of classic payloads, a filler that puts them
into every text field of every content model, an import of a document made of them, and the
checks that tell escaped text from markup a browser would run.

Each payload carries its own marker (`xss-N`) and, where it would run, calls
`alert('xss-N')` and/or sets `window.__xss = N`, so a failure names the payload that got
through. The filler enumerates the models' fields (`_meta.concrete_fields`), so a text field
added later is filled too; fields that must stay valid (slugs, choices, ISO codes, URLs) are
kept valid, URL fields get `javascript:` only if the model accepts it, and a JSON field
nobody has decided about yet stops the tests (`UndecidedField`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import escape

MARKER = "xss-"
PAYLOADS: list[str] = [
    # 1-3: plain elements that run script
    "<script>alert('xss-1');window.__xss=1</script>",
    "<img src=x onerror=\"alert('xss-2');window.__xss=2\">",
    "<svg onload=\"alert('xss-3');window.__xss=3\"></svg>",
    # 4-5: out of a double- or single-quoted attribute
    "\"><script>alert('xss-4');window.__xss=4</script>",
    "'><img src=x onerror=alert('xss-5')>",
    # 6-7: out of a JavaScript string
    "'-alert('xss-6')-'",
    "\";alert('xss-7');window.__xss=7;//",
    # 8: out of a <script> element, e.g. a JSON island
    "</script><script>alert('xss-8');window.__xss=8</script>",
    # 9-10: template injection (Django/Jinja, JavaScript template literals); 9 has no HTML
    # special character, so it must come out verbatim, not evaluated
    "{{7*7}}{{request.META}}{% debug %}${7*7}#{7*7}xss-9",
    "`${alert('xss-10')}`",
    # 11-13, 23: script addresses
    "javascript:alert('xss-11')",
    "<a href=\"javascript:alert('xss-12')\">xss-12</a>",
    "<iframe src=\"javascript:alert('xss-13')\"></iframe>",
    # 14-15, 24: handlers that fire without a click
    "<details open ontoggle=\"alert('xss-14')\">",
    "<input autofocus onfocus=\"alert('xss-15')\">",
    # 16-18: already encoded: must not be decoded into markup
    "&lt;script&gt;alert('xss-16')&lt;/script&gt;",
    "%3Cscript%3Ealert('xss-17')%3C%2Fscript%3E",
    "\\u003cscript\\u003ealert('xss-18')\\u003c/script\\u003e",
    # 19-21: filter evasion and mutation XSS
    "<scr<script>ipt>alert('xss-19')</scr</script>ipt>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"alert('xss-20')\">",
    '<!--<img src="--><img src=x onerror="alert(\'xss-21\')">',
    # 22: htmx attributes (htmx is on every page)
    '<div hx-get="/admin/" hx-trigger="load" hx-on::load="alert(\'xss-22\')">xss-22</div>',
    "<object data=\"javascript:alert('xss-23')\"></object>",
    "<body onload=\"alert('xss-24')\">",
    # 25: the control characters the search highlighter swaps for <mark> (projects/pages.py)
    "\x02<script>alert('xss-25')</script>\x03",
]
# What an import can carry: extraction refuses control characters as binary.
IMPORTABLE = [p for p in PAYLOADS if not re.search(r"[\x00-\x08\x0b\x0e-\x1f]", p)]
# The characters HTML escaping changes: a payload holding one must never appear verbatim.
HTML_SPECIAL = set("<>\"'&")
VERBATIM_ONLY = [p for p in PAYLOADS if not HTML_SPECIAL & set(p)]
# For fields too short for any payload (a language code).
SHORT = "\"'<b>&"
JAVASCRIPT_URL = "javascript:alert('xss-url')//https://example.org/"
# An address the URL validator accepts that still carries breakouts in its path and query.
HOSTILE_URL = (
    "https://example.org/\"><script>alert('xss-u1')</script>"
    "?q='><img/src=x/onerror=alert('xss-u2')>&r=</script><svg/onload=alert('xss-u3')>"
)
HOSTILE_URL_MARKERS = ("xss-u1", "xss-u2", "xss-u3")

HOSTILE_SLUG = "hostile-corpus"  # no marker in it: addresses hold the slug
HOSTILE_ISO2 = "QZ"  # user-assigned in ISO 3166: no real country has it


class UndecidedField(Exception):
    """A field the filler does not know how to fill while keeping it valid."""


def payload_text(start: int = 0, max_length: int | None = None, pool: list[str] = PAYLOADS):
    """As many payloads as fit, from the `start`th on (wrapping), joined by spaces; SHORT cut
    to size when not even one fits."""
    ordered = pool[start % len(pool) :] + pool[: start % len(pool)]
    if max_length is None:
        return " ".join(ordered)
    chosen, length = [], -1
    for payload in ordered:
        if length + 1 + len(payload) <= max_length:
            chosen.append(payload)
            length += 1 + len(payload)
    return " ".join(chosen) if chosen else SHORT[:max_length]


def content_models() -> list[type[models.Model]]:
    """The app's concrete models, without the history's event tables (written by triggers)
    and the search index (no text of its own)."""
    import pghistory.models

    return [
        model
        for model in apps.get_app_config("projects").get_models()
        if not issubclass(model, pghistory.models.Event)
        and model._meta.model_name != "projectsearch"
    ]


# Text columns whose values are identities or codes with a format: kept valid.
KEPT_VALID = {
    "country": {"iso2", "iso3", "numeric"},
    "project": {"value_currency"},
    "sourcedocument": {"sha256"},
}
# JSON columns: what each holds, with payloads in every string it has.
STRUCTURAL_JSON = {("project", "geometry")}


def json_value(model_name: str, name: str, start: int):
    def text(offset: int = 0, max_length: int | None = 200) -> str:
        return payload_text(start + offset, max_length)

    builders = {
        ("project", "landing_points"): lambda: [
            {
                "id": text(1, 100),
                "name": text(2),
                "country": "KE",
                "country_name": text(3),
                "latitude": -4.05,
                "longitude": 39.66,
                "tbd": False,
            }
        ],
        ("project", "external_ids"): lambda: {"telegeography": text(4), text(5, 60): text(6)},
        ("company", "external_ids"): lambda: {"wikidata": text(7), text(8, 60): text(9)},
        ("country", "names"): lambda: {"en": text(10), "zh": text(11), text(12, 40): text(13)},
        ("datasetimport", "report"): lambda: {
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "rejected": [{"row": text(14, 40), "reason": text(15)}],
            "unresolved": {"countries": [text(16)], "companies": [text(17)]},
        },
    }
    if (model_name, name) not in builders:
        raise UndecidedField(
            f"{model_name}.{name} is a JSON field the XSS corpus does not fill yet: add it to "
            "tests/security/xss_corpus.py (json_value, or STRUCTURAL_JSON if it holds no text)."
        )
    return builders[(model_name, name)]()


@dataclass
class Filled:
    """Which payload-carrying fields were filled, and which URLs the models refused."""

    fields: dict[str, list[str]] = field(default_factory=dict)  # "model" -> field names
    refused_urls: dict[str, str] = field(default_factory=dict)  # "model.field" -> message
    objects: dict[str, models.Model] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(names) for names in self.fields.values())


def fill(obj: models.Model, filled: Filled, start: int = 0) -> models.Model:
    """Put payloads into every text field of `obj` (not saved) that need not stay valid."""
    model_name = obj._meta.model_name
    names = filled.fields.setdefault(model_name, [])
    for number, model_field in enumerate(obj._meta.concrete_fields):
        name, offset = model_field.name, start + number
        if model_field.choices or isinstance(model_field, models.SlugField | models.FileField):
            continue
        if name in KEPT_VALID.get(model_name, set()) or name.endswith("_precision"):
            continue
        if isinstance(model_field, models.URLField):
            try:
                model_field.clean(JAVASCRIPT_URL, obj)
            except ValidationError as error:
                filled.refused_urls[f"{model_name}.{name}"] = " ".join(error.messages)
                setattr(obj, name, HOSTILE_URL)
            else:  # the model accepts it: the pages must then neutralise it
                setattr(obj, name, JAVASCRIPT_URL)
        elif isinstance(model_field, ArrayField):
            size = getattr(model_field.base_field, "max_length", None)
            value = [payload_text(offset + k, size) for k in range(3)]
            setattr(obj, name, value)
        elif isinstance(model_field, models.JSONField):
            if (model_name, name) in STRUCTURAL_JSON:
                continue
            setattr(obj, name, json_value(model_name, name, offset))
        elif isinstance(model_field, models.CharField | models.TextField):
            setattr(obj, name, payload_text(offset, model_field.max_length))
        else:
            continue
        if name not in names:
            names.append(name)
    return obj


def saved(obj: models.Model, filled: Filled, key: str, **fields) -> models.Model:
    """Fill, set `fields`, validate as the app's forms and services do, save."""
    fill(obj, filled, start=len(filled.objects) * 3)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    filled.objects[key] = obj
    return obj


def build_hostile_content(*, user=None) -> Filled:
    """One published project and everything around it, every text field a payload: a
    country, two organisations (parent and subsidiary), a kind of project, an initiative, a
    document with its text, mentions and a citation, a proposal and a dataset import."""
    from projects.models import (
        Citation,
        Company,
        Country,
        DatasetImport,
        Initiative,
        Mention,
        Project,
        ProjectCompany,
        ProjectCountry,
        ProjectInitiative,
        ProjectType,
        Proposal,
        Publication,
        SourceDocument,
    )

    filled = Filled()
    country = saved(
        Country(iso2=HOSTILE_ISO2, iso3="QZZ", numeric="999", slug=HOSTILE_SLUG),
        filled,
        "country",
        latitude=1.0,
        longitude=30.0,
    )
    kind = saved(ProjectType(slug=HOSTILE_SLUG, position=99), filled, "project_type")
    initiative = saved(Initiative(slug=HOSTILE_SLUG, launched_year=2015), filled, "initiative")
    parent = saved(Company(slug=HOSTILE_SLUG), filled, "company", headquarters=country)
    child = saved(Company(slug=f"{HOSTILE_SLUG}-subsidiary", parent=parent), filled, "child")
    project = saved(
        Project(
            slug=HOSTILE_SLUG,
            project_type=kind,
            status="under_construction",
            publication=Publication.PUBLISHED,
            value_amount=Decimal("1000000"),
            value_currency="USD",
            value_usd=Decimal("1000000"),
            length_km=Decimal("120.5"),
            latitude=-4.05,
            longitude=39.66,
            announced="2019-05",
            started="2020",
            completed="2021-03-01",
        ),
        filled,
        "project",
    )
    # Changed once, so that the history shows the payloads as a diff too.
    project.description, project.capacity = payload_text(11), payload_text(13, 200)
    project.save()
    kenya = Country.objects.get(iso2="KE")
    for where, role in ((country, "host"), (kenya, "landing_point")):
        ProjectCountry.objects.create(project=project, country=where, role=role)
    for company, role in ((parent, "contractor"), (child, "operator")):
        ProjectCompany.objects.create(project=project, company=company, role=role)
    ProjectInitiative.objects.create(project=project, initiative=initiative)

    # The document's text names the entities at known places, each name itself a payload.
    names = [country.name, parent.name, kind.name]
    pieces, spans = [], []
    for number, name in enumerate(names):
        pieces.append(payload_text(number * 5, 400) + " ")
        start = sum(len(p) for p in pieces)
        pieces.append(name + ". ")
        spans.append((start, start + len(name)))
    document = saved(
        SourceDocument(published_on=date(2020, 1, 1), published_precision="year"),
        filled,
        "document",
        text="".join(pieces) + payload_text(7),
    )
    targets = ({"country": country}, {"company": parent}, {"project_type": kind})
    for (start, end), target in zip(spans, targets, strict=True):
        mention = fill(Mention(document=document, start=start, end=end, **target), filled, start)
        mention.text = document.text[start:end]
        mention.full_clean()
        mention.save()
        filled.objects.setdefault("mention", mention)
    saved(Citation(project=project, document=document, claim="general"), filled, "citation")
    proposal = saved(
        Proposal(document=document, confidence=0.9, start=0, page=1, project=project),
        filled,
        "proposal",
    )
    proposal.companies.set([parent, child])
    proposal.countries.set([country, kenya])
    proposal.project_types.set([kind])
    saved(
        DatasetImport(format="csv", entity="projects", file="datasets/xss.csv", created_by=user),
        filled,
        "dataset_import",
        state="done",
        progress=100,
    )
    return filled


def unfilled_fields(filled: Filled) -> list[str]:
    """Content models with text fields that no hostile object covers ("model.field")."""
    missing = []
    for model in content_models():
        model_name = model._meta.model_name
        for model_field in model._meta.concrete_fields:
            text_like = isinstance(
                model_field, models.CharField | models.TextField | models.JSONField | ArrayField
            )
            if not text_like or model_field.choices or isinstance(model_field, models.SlugField):
                continue
            name = model_field.name
            if name in KEPT_VALID.get(model_name, set()) or (model_name, name) in STRUCTURAL_JSON:
                continue
            if name.endswith("_precision"):
                continue
            if name not in filled.fields.get(model_name, []):
                missing.append(f"{model_name}.{name}")
    return missing


# Importing ---------------------------------------------------------------------------------

IMPORT_FILENAME = "xss-report.html"


def hostile_html() -> bytes:
    """An HTML page whose text is the payloads (as entities, so they are text once read),
    with real scripts and handlers around it that extraction must drop, naming a country,
    an organisation and a kind of project so that mentions and a proposal are found."""
    paragraphs = "\n".join(
        f"<p>Huawei signed a contract to build a fiber-optic cable in Kenya. {escape(p)}</p>"
        for p in IMPORTABLE
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>{escape(IMPORTABLE[0] + " " + IMPORTABLE[1])}</title>
<script>alert('xss-import-script');window.__xss='import'</script>
</head>
<body onload="alert('xss-import-body')">
<article>
<h1>{escape(IMPORTABLE[0])}</h1>
{paragraphs}
<img src=x onerror="alert('xss-import-img')">
</article>
</body></html>""".encode()


def import_hostile_document(*, user=None):
    """Import `hostile_html()` through the import service and process it at once, as a
    worker would; the publisher and authors come with the upload as metadata."""
    from projects.services.imports import document_import, document_process

    result = document_import(
        data=hostile_html(),
        filename=IMPORT_FILENAME,
        metadata={
            "publisher": payload_text(3, 300, IMPORTABLE),
            "authors": [payload_text(5, 200, IMPORTABLE), payload_text(8, 200, IMPORTABLE)],
            "url": HOSTILE_URL,
            "kind": "report",
        },
        user=user,
        enqueue=False,
    )
    status = document_process(result.document.pk)
    result.document.refresh_from_db()
    return result.document, status


def public_pages(filled: Filled, imported) -> dict[str, list[str]]:
    """The public pages, by the name of their URL pattern, at addresses that show the
    payloads (`imported`: a document from `import_hostile_document`)."""
    document, project = filled.objects["document"], filled.objects["project"]
    iso2 = HOSTILE_ISO2.lower()
    return {
        "home": ["/"],
        "project-list": [
            "/projects/",
            "/projects/?q=xss",
            f"/projects/?company={HOSTILE_SLUG}",
            f"/projects/?country={iso2}&type={HOSTILE_SLUG}",
            f"/projects/?initiative={HOSTILE_SLUG}",
        ],
        "project-detail": [project.get_absolute_url()],
        "country-list": ["/countries/", "/countries/?has_projects=true"],
        "country-detail": [f"/countries/{iso2}/", "/countries/ke/"],
        "company-list": ["/companies/", "/companies/?q=xss"],
        "company-detail": [
            filled.objects["company"].get_absolute_url(),
            filled.objects["child"].get_absolute_url(),
        ],
        "document-list": ["/documents/", "/documents/?q=xss"],
        "document-detail": [document.get_absolute_url(), imported.get_absolute_url()],
        "search": ["/search/?q=xss", "/search/?q=alert", "/search/?q=script"],
        "about": ["/about/"],
    }


# Checking ----------------------------------------------------------------------------------

SCRIPT_SCHEMES = re.compile(r"^\s*(javascript|vbscript|data\s*:\s*text/html)", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "poster"}
# Elements a page of this site never has in its own markup (the admin's and DRF's included).
FOREIGN_TAGS = {"iframe", "object", "embed", "math", "mglyph", "frame", "frameset", "base"}


class _MarkupReader(HTMLParser):
    """Elements and attributes a browser would build from a page, noting those a payload
    would have created."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.script: dict | None = None
        self.body_count = 0

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def _element(self, tag, attrs):
        attributes = {name.lower(): value or "" for name, value in attrs}
        described = (self.get_starttag_text() or tag)[:300]
        if tag == "body":
            self.body_count += 1
            if self.body_count > 1:
                self.problems.append(f"a second <body>: {described}")
        if tag in FOREIGN_TAGS:
            self.problems.append(f"<{tag}> element: {described}")
        if tag == "img" and attributes.get("src") == "x":
            self.problems.append(f"injected image: {described}")
        for name, value in attributes.items():
            # The Content-Security-Policy refuses inline handlers: the site has none.
            if name.startswith("on"):
                self.problems.append(f"event handler {name}: {described}")
            if name.startswith(("hx-", "data-hx-")) and MARKER in described:
                self.problems.append(f"htmx attribute {name}: {described}")
            if name in URL_ATTRIBUTES and SCRIPT_SCHEMES.match(value):
                self.problems.append(f"script address in {name}: {described}")
            if MARKER in name:
                self.problems.append(f"attribute named by a payload: {described}")
        if tag in ("script", "style"):
            self.script = {"tag": tag, "type": attributes.get("type", ""), "text": ""}

    def handle_data(self, data):
        if self.script is not None:
            self.script["text"] += data

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.script is not None:
            kind, text = self.script["type"].lower(), self.script["text"]
            self.script = None
            if kind == "application/json":
                if "<" in text:
                    self.problems.append(f"'<' inside a JSON island: {text[:200]}")
                try:
                    json.loads(text)
                except ValueError:
                    self.problems.append(f"a JSON island that is not JSON: {text[:200]}")
            elif MARKER in text or "alert(" in text:
                self.problems.append(f"a <{tag}> with a payload: {text[:200]}")


JSON_ISLAND = re.compile(
    r"(<script[^>]*\btype=[\"']?application/json[^>]*>)(.*?)(</script)", re.DOTALL | re.I
)


def markup_problems(html: str) -> list[str]:
    """Why `html` would run a payload: payloads found verbatim (an escaped page never holds
    one), elements and attributes they would create, broken JSON islands. Empty when safe."""
    # JSON islands hold their text JSON-quoted, with < > & as \u escapes (checked below).
    markup = JSON_ISLAND.sub(r"\1\3", html)
    problems = [
        f"verbatim payload: {p!r}" for p in PAYLOADS if HTML_SPECIAL & set(p) and p in markup
    ]
    if HOSTILE_URL in markup:
        problems.append(f"verbatim address: {HOSTILE_URL!r}")
    reader = _MarkupReader()
    reader.feed(html)
    reader.close()
    return problems + reader.problems


def escaped_forms(text: str) -> set[str]:
    """How `text` may appear in a correctly escaped page."""
    return {escape(text), escape(text).replace("&#x27;", "&#39;")}
