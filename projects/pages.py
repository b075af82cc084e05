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
from .selectors import cached_for_visitors, shaped_projects, visible_projects

# Markers that cannot occur in stored text, swapped for <mark> after escaping.
START, STOP = "\x02", "\x03"


def highlighted(text: str) -> SafeString:
    """Escape text whose matches PostgreSQL framed with START/STOP, then mark them."""
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))  # nosec B308 B703


def highlight_words(text: str, query: str) -> SafeString:
    """Mark the query's words in a short text (names), case-insensitively."""
    words = [re.escape(w) for w in re.findall(r"\w+", query) if len(w) > 1]
    if not words:
        return escape(text)
    # Matched in the text, not in its escaped form (where "lt" would match inside "&lt;"); the
    # split's odd pieces are the matches. Every piece is escaped before it is marked.
    pieces = re.split(r"(" + "|".join(words) + r")", text, flags=re.IGNORECASE)
    marked = (f"<mark>{escape(p)}</mark>" if i % 2 else escape(p) for i, p in enumerate(pieces))
    return mark_safe("".join(marked))  # nosec B308 B703


def dashboard(user) -> dict:
    """The home page's figures, cached for visitors until the content changes."""
    figures = cached_for_visitors(user, "dashboard", lambda: _dashboard_figures(user))
    recent = shaped_projects(visible_projects(user)).order_by("-updated")[:8]
    return {**figures, "recent": recent}


def _dashboard_figures(user) -> dict:
    projects = visible_projects(user)
    # Counted per country id, in the order of the (country, project) index: no sort.
    counts = list(
        ProjectCountry.objects.filter(project__in=projects.values("pk"))
        .values("country_id")
        .annotate(count=Count("project", distinct=True))
        .order_by()
    )
    countries = Country.objects.in_bulk([row["country_id"] for row in counts])
    by_country = [
        {
            "iso2": countries[row["country_id"]].iso2,
            "numeric": countries[row["country_id"]].numeric,
            "name": countries[row["country_id"]].name,
            "count": row["count"],
        }
        for row in counts
    ]
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


# The organisations facet offers the most frequent ones in the selection (and those chosen):
# a knowledge base holds thousands.
FACET_COMPANIES = 50


def project_facets(selection_without, user, chosen_companies=()) -> Facets:
    """Counts per facet value. Facets are disjunctive: a facet's counts come from the selection
    filtered by every other facet (`selection_without(name)`), so ticking one type still shows
    how many projects each other type would add. Countries are those with a visible project;
    organisations, the FACET_COMPANIES most frequent in the selection and `chosen_companies`
    (slugs)."""

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
        .order_by("-n", "company__slug")[:FACET_COMPANIES]
    )
    initiative_counts = dict(
        ProjectInitiative.objects.filter(project__in=ids("initiative"))
        .values_list("initiative__slug")
        .annotate(n=Count("project", distinct=True))
    )
    countries = cached_for_visitors(user, "countries-with-projects", lambda: _countries(user))
    companies = Company.objects.filter(slug__in=[*company_counts, *chosen_companies])
    if chosen_companies:
        company_counts.update(
            ProjectCompany.objects.filter(
                project__in=ids("company"), company__slug__in=chosen_companies
            )
            .values_list("company__slug")
            .annotate(n=Count("project", distinct=True))
        )
    regions = sorted({name for c in countries for name in (c.region, c.subregion)} - {""})
    return Facets(
        types=[
            (t.slug, t.name, type_counts.get(t.slug, 0))
            for t in ProjectType.objects.order_by("position", "name")
        ],
        statuses=[(value, label, status_counts.get(value, 0)) for value, label in Status.choices],
        countries=[(c.iso2.lower(), c.name, country_counts.get(c.iso2, 0)) for c in countries],
        companies=[
            (c.slug, c.name, company_counts.get(c.slug, 0)) for c in companies.order_by("name")
        ],
        initiatives=[
            (i.slug, i.name, initiative_counts.get(i.slug, 0))
            for i in Initiative.objects.order_by("name")
        ],
        regions=regions,
    )


def _countries(user) -> list[Country]:
    """The countries where some project the user may see takes place."""
    roles = ProjectCountry.objects.filter(project__in=visible_projects(user).values("pk"))
    return list(
        Country.objects.filter(pk__in=roles.values("country_id"))
        .only("iso2", "name", "region", "subregion")
        .order_by("name")
    )


# A profile shows the most active organisations and the latest events, not all of them: a
# country can count thousands of projects, and the project list below pages through them.
PROFILE_COMPANIES = 30
TIMELINE_EVENTS = 40
DATE_FIELDS = ("announced", "started", "completed")


def country_profile(country, user) -> dict:
    """The aggregates of a country's page, cached for visitors until the content changes."""
    return cached_for_visitors(
        user, f"country-profile:{country.pk}", lambda: _country_profile(country, user)
    )


def _country_profile(country, user) -> dict:
    projects = visible_projects(user).filter(
        pk__in=ProjectCountry.objects.filter(country=country).values("project")
    )
    ids = projects.values("pk")
    companies = (
        ProjectCompany.objects.filter(project__in=ids)
        .values(slug=F("company__slug"), name=F("company__name"), role_name=F("role"))
        .annotate(count=Count("project", distinct=True))
        .order_by("-count", "name", "role_name")
    )
    # One set of ids from two index-only reads, rather than an OR of two subqueries.
    cited = Citation.objects.filter(project__in=ids).order_by().values("document_id")
    mentioned = Mention.objects.filter(country=country).order_by().values("document_id")
    sources = (
        SourceDocument.objects.filter(pk__in=cited.union(mentioned))
        .defer("text", "search_vector")
        .order_by("-published_on", "title")
    )
    totals = projects.aggregate(value_usd=Sum("value_usd"), **_event_counts())
    return {
        "companies": list(companies[: PROFILE_COMPANIES + 1]),
        "company_limit": PROFILE_COMPANIES,
        "timeline": timeline(projects),
        "timeline_events": sum(totals[f"{name}_events"] for name in DATE_FIELDS),
        "sources": list(sources[:50]),
        "source_count": sources.count(),
        "value_usd": totals["value_usd"],
    }


def _event_counts() -> dict:
    return {
        f"{name}_events": Count("pk", filter=Q(**{f"{name}_on__isnull": False}))
        for name in DATE_FIELDS
    }


def dated_events(projects) -> int:
    """How many dated events (announced, started, completed) the projects have."""
    return sum(projects.aggregate(**_event_counts()).values())


def timeline(projects, limit: int = TIMELINE_EVENTS) -> list[dict]:
    """The latest `limit` dated events of projects (announced, started, completed), oldest
    first: three queries of at most `limit` rows, whatever the number of projects."""
    events = []
    for name in DATE_FIELDS:
        latest = (
            projects.filter(**{f"{name}_on__isnull": False})
            .order_by(f"-{name}_on", "-pk")
            .only("slug", "name", f"{name}_on", f"{name}_precision")[:limit]
        )
        events += [
            {"date": getattr(project, name), "label": name, "project": project}
            for project in latest
        ]
    events.sort(key=lambda e: (e["date"].date, e["project"].name), reverse=True)
    return sorted(events[:limit], key=lambda e: (e["date"].date, e["project"].name))


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
        "timeline_events": dated_events(projects),
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
    return mark_safe("".join(pieces))  # nosec B308 B703


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
        .defer("text", "search_vector")
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
