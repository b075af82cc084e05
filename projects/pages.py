"""Reads for the server-rendered pages: dashboards, facets, profiles, search.

Everything here returns plain data shaped in a fixed number of queries; views only pick the
template. Visibility rules are those of `selectors` (drafts for editors only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractYear
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .filtersets import search_query
from .models import (
    Citation,
    Company,
    Country,
    Initiative,
    Mention,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    SourceDocument,
    Status,
)
from .selectors import shaped_projects, visible_projects

# Markers that cannot occur in stored text, swapped for <mark> after escaping.
START, STOP = "\x02", "\x03"


def highlighted(text: str) -> SafeString:
    """Escape text whose matches PostgreSQL framed with START/STOP, then mark them."""
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))


def highlight_words(text: str, query: str) -> SafeString:
    """Mark the query's words in a short text (names), case-insensitively."""
    words = [re.escape(w) for w in re.findall(r"\w+", query) if len(w) > 1]
    safe = escape(text)
    if not words:
        return mark_safe(safe)
    pattern = re.compile(r"(" + "|".join(words) + r")", re.IGNORECASE)
    return mark_safe(pattern.sub(r"<mark>\1</mark>", safe))


def dashboard(user) -> dict:
    projects = visible_projects(user)
    by_country = (
        ProjectCountry.objects.filter(project__in=projects.values("pk"))
        .values(iso2=F("country__iso2"), numeric=F("country__numeric"), name=F("country__name"))
        .annotate(count=Count("project", distinct=True))
    )
    by_type = (
        projects.values(type_slug=F("project_type__slug"), type_name=F("project_type__name"))
        .annotate(count=Count("pk"))
        .order_by("-count", "type_name")
    )
    by_year = (
        projects.filter(announced_on__isnull=False)
        .annotate(year=ExtractYear("announced_on"))
        .values("year")
        .annotate(count=Count("pk"))
        .order_by("year")
    )
    return {
        "map_counts": {row["numeric"]: row for row in by_country},
        "by_type": bars(
            [{"slug": r["type_slug"], "name": r["type_name"], "count": r["count"]} for r in by_type]
        ),
        "by_year": bars(list(by_year)),
        "recent": shaped_projects(projects).order_by("-updated")[:8],
    }


def bars(rows: list[dict]) -> list[dict]:
    """Rows with their share of the largest count, for bar charts drawn as SVG."""
    largest = max((row["count"] for row in rows), default=0) or 1
    for position, row in enumerate(rows):
        row["percent"] = round(100 * row["count"] / largest, 1)
        row["y"] = position * 28
    return rows


@dataclass
class Facets:
    types: list
    statuses: list
    countries: list
    companies: list
    initiatives: list
    regions: list


def project_facets(selection_without, user) -> Facets:
    """Counts per facet value. Facets are disjunctive: a facet's counts come from the selection
    filtered by every other facet (`selection_without(name)`), so ticking one type still shows
    how many projects each other type would add."""

    def ids(name: str):
        return selection_without(name).order_by().values("pk")

    type_counts = dict(
        selection_without("type")
        .order_by()
        .values_list("project_type__slug")
        .annotate(n=Count("pk"))
    )
    status_counts = dict(
        selection_without("status").order_by().values_list("status").annotate(n=Count("pk"))
    )
    country_counts = dict(
        ProjectCountry.objects.filter(project__in=ids("country"))
        .values_list("country__iso2")
        .annotate(n=Count("project", distinct=True))
    )
    company_counts = dict(
        ProjectCompany.objects.filter(project__in=ids("company"))
        .values_list("company__slug")
        .annotate(n=Count("project", distinct=True))
    )
    initiative_counts = dict(
        ProjectInitiative.objects.filter(project__in=ids("initiative"))
        .values_list("initiative__slug")
        .annotate(n=Count("project", distinct=True))
    )
    visible = visible_projects(user).values("pk")
    countries = Country.objects.filter(project_roles__project__in=visible).distinct()
    companies = Company.objects.filter(project_roles__project__in=visible).distinct()
    regions = sorted(
        {name for pair in countries.values_list("region", "subregion") for name in pair} - {""}
    )
    return Facets(
        types=[
            (t.slug, t.name, type_counts.get(t.slug, 0))
            for t in ProjectType.objects.order_by("position", "name")
        ],
        statuses=[(value, label, status_counts.get(value, 0)) for value, label in Status.choices],
        countries=[
            (c.iso2.lower(), c.name, country_counts.get(c.iso2, 0))
            for c in countries.order_by("name")
        ],
        companies=[
            (c.slug, c.name, company_counts.get(c.slug, 0)) for c in companies.order_by("name")
        ],
        initiatives=[
            (i.slug, i.name, initiative_counts.get(i.slug, 0))
            for i in Initiative.objects.order_by("name")
        ],
        regions=regions,
    )


def country_profile(country, user) -> dict:
    projects = visible_projects(user).filter(
        pk__in=ProjectCountry.objects.filter(country=country).values("project")
    )
    ids = projects.values("pk")
    companies = (
        ProjectCompany.objects.filter(project__in=ids)
        .values(slug=F("company__slug"), name=F("company__name"), role_name=F("role"))
        .annotate(count=Count("project", distinct=True))
        .order_by("name", "role_name")
    )
    cited = Citation.objects.filter(project__in=ids).values("document")
    mentioned = Mention.objects.filter(country=country).values("document")
    sources = (
        SourceDocument.objects.filter(Q(pk__in=cited) | Q(pk__in=mentioned))
        .defer("text")
        .order_by("-published_on", "title")
    )
    return {
        "companies": list(companies),
        "timeline": timeline(projects),
        "sources": sources[:50],
        "source_count": sources.count(),
        "value_usd": projects.aggregate(total=Sum("value_usd"))["total"],
    }


def timeline(projects) -> list[dict]:
    """Dated events of projects, oldest first: announced, started, completed."""
    events = []
    for project in projects.only(
        "slug",
        "name",
        "announced_on",
        "announced_precision",
        "started_on",
        "started_precision",
        "completed_on",
        "completed_precision",
    ):
        for label, date in (
            ("announced", project.announced),
            ("started", project.started),
            ("completed", project.completed),
        ):
            if date:
                events.append({"date": date, "label": label, "project": project})
    return sorted(events, key=lambda e: (e["date"].date, e["project"].name))


def company_profile(company, user) -> dict:
    projects = visible_projects(user).filter(
        pk__in=ProjectCompany.objects.filter(company=company).values("project")
    )
    roles = (
        ProjectCompany.objects.filter(company=company, project__in=projects.values("pk"))
        .select_related("project")
        .prefetch_related("project__country_roles__country")
        .order_by("role", "project__name")
    )
    by_country = (
        ProjectCountry.objects.filter(project__in=projects.values("pk"))
        .values(iso2=F("country__iso2"), name=F("country__name"))
        .annotate(count=Count("project", distinct=True))
        .order_by("-count", "name")
    )
    return {
        "roles": roles,
        "by_country": list(by_country),
        "timeline": timeline(projects),
        "subsidiaries": company.subsidiaries.order_by("name"),
    }


def document_text_with_mentions(document) -> SafeString:
    """The extracted text, escaped, with every mention linked to its entity."""
    text = document.text or ""
    pieces, position = [], 0
    for mention in document.mentions.select_related("country", "company", "project_type"):
        if mention.start < position or mention.end > len(text):
            continue
        pieces.append(escape(text[position : mention.start]))
        if mention.country_id:
            href, kind = f"/countries/{mention.country.iso2.lower()}/", "country"
        elif mention.company_id:
            href, kind = f"/companies/{mention.company.slug}/", "company"
        else:
            href, kind = f"/projects/?type={mention.project_type.slug}", "type"
        pieces.append(
            f'<a class="mention mention-{kind}" href="{escape(href)}">'
            f"<mark>{escape(text[mention.start : mention.end])}</mark></a>"
        )
        position = mention.end
    pieces.append(escape(text[position:]))
    return mark_safe("".join(pieces))


def headline(column: str, query: SearchQuery) -> SearchHeadline:
    """A short passage of `column` around the matches, framed by START/STOP markers."""
    return SearchHeadline(
        column,
        query,
        config="english",
        start_sel=START,
        stop_sel=STOP,
        max_words=35,
        min_words=15,
    )


def search_everything(query: str, user, limit: int = 10) -> dict:
    """Ranked results across projects, companies, countries and documents, with snippets."""
    query = query.strip()
    if not query:
        return {}
    words = SearchQuery(query, config="english", search_type="websearch")
    projects = (
        visible_projects(user)
        .filter(search__document=search_query(query))
        .annotate(
            rank=SearchRank(F("search__document"), search_query(query)),
            snippet=headline("description", words),
        )
        .select_related("project_type")
        .order_by("-rank", "name")
    )
    name_match = Q(name__icontains=query) | Q(aliases__icontains=query)
    companies = Company.objects.filter(name_match | Q(chinese_name__icontains=query)).order_by(
        "name"
    )
    countries = Country.objects.filter(name_match | Q(iso2__iexact=query)).order_by("name")
    documents = (
        SourceDocument.objects.filter(Q(search_vector=words) | Q(title__icontains=query))
        .annotate(
            rank=SearchRank(F("search_vector"), words),
            snippet=headline("text", words),
        )
        .defer("text")
        .order_by("-rank", "title")
    )
    groups = {
        "projects": [
            {
                "object": p,
                "title": highlight_words(p.name, query),
                "snippet": highlighted(p.snippet or ""),
            }
            for p in projects[:limit]
        ],
        "companies": [
            {
                "object": c,
                "title": highlight_words(c.name, query),
                "snippet": highlight_words(", ".join(c.aliases[:6]), query),
            }
            for c in companies[:limit]
        ],
        "countries": [
            {
                "object": c,
                "title": highlight_words(c.name, query),
                "snippet": highlight_words(c.official_name, query),
            }
            for c in countries[:limit]
        ],
        "documents": [
            {
                "object": d,
                "title": highlight_words(d.title, query),
                "snippet": highlighted(d.snippet or ""),
            }
            for d in documents[:limit]
        ],
    }
    counts = {
        "projects": projects.count(),
        "companies": companies.count(),
        "countries": countries.count(),
        "documents": documents.count(),
    }
    return {"groups": groups, "counts": counts}
