"""Server-rendered pages: thin views over the FilterSets, selectors and page reads."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render

from . import filtersets, pages, selectors
from .caching import visitors_cached
from .health import liveness_report, readiness_report
from .models import (
    Company,
    CompanyKind,
    Country,
    DocumentKind,
    Ownership,
    ProjectCountry,
    ProjectType,
    SourceDocument,
    Status,
)

PROJECT_ORDERINGS = [
    ("", "Relevance or name"),
    ("name", "Name"),
    ("-updated", "Recently updated"),
    ("-announced", "Newest announcement"),
    ("announced", "Oldest announcement"),
    ("-completed", "Latest completion"),
    ("-value_usd", "Largest value"),
    ("-length_km", "Longest"),
]

PER_PAGE = 25


def filtered(request, filterset_class, queryset):
    """Apply a FilterSet to the request's query; errors are shown next to the filters."""
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    if filterset.is_valid():
        return filterset.qs, {}
    errors = {
        name: [str(message) for message in messages] for name, messages in filterset.errors.items()
    }
    return queryset.none(), errors


def paginate(request, queryset):
    paginator = Paginator(queryset, PER_PAGE)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise Http404("No such page.") from None


def query_without(request, *names: str) -> str:
    """The current query string without some parameters (for pagination and export links)."""
    pairs = [(k, v) for k, values in request.GET.lists() if k not in names for v in values]
    return urlencode(pairs)


def render_filtered(request, template: str, context: dict, errors: dict):
    context["errors"] = errors
    return render(request, template, context, status=400 if errors else 200)


@visitors_cached
def home(request):
    context = {"totals": selectors.knowledge_base_totals(request.user)}
    context.update(pages.dashboard(request.user))
    return render(request, "projects/home.html", context)


@visitors_cached
def project_list(request):
    projects, errors = filtered(
        request, filtersets.ProjectFilterSet, selectors.project_list(request.user)
    )
    page = paginate(request, projects)

    def selection_without(name: str):
        query = request.GET.copy()
        query.pop(name, None)
        query.pop("page", None)
        facet_filters = filtersets.ProjectFilterSet(
            query, queryset=selectors.visible_projects(request.user), request=request
        )
        return facet_filters.qs if facet_filters.is_valid() else projects

    chosen = [slug.strip().lower() for v in request.GET.getlist("company") for slug in v.split(",")]
    facets = selectors.cached_for_visitors(
        request.user,
        f"facets:{query_without(request, 'page', 'ordering')}",
        lambda: pages.project_facets(selection_without, request.user, chosen),
    )
    context = {
        "page": page,
        "facets": facets,
        "selected": {key: request.GET.getlist(key) for key in request.GET},
        "query": query_without(request, "page"),
        "export_query": query_without(request, "page", "format"),
        "ordering_choices": PROJECT_ORDERINGS,
    }
    return render_filtered(request, "projects/project_list.html", context, errors)


@visitors_cached
def project_detail(request, slug: str):
    project = get_object_or_404(selectors.project_list(request.user), slug=slug)
    citations = project.citations.select_related("document").order_by("claim", "document__title")
    countries = [role.country for role in project.country_roles.all()]
    context = {
        "project": project,
        "citations": citations,
        "map_counts": {c.numeric: {"iso2": c.iso2, "name": c.name, "count": 1} for c in countries},
        "can_edit": request.user.has_perm("projects.change_project"),
        "cite_url": request.build_absolute_uri(project.get_absolute_url()),
    }
    return render(request, "projects/project_detail.html", context)


@visitors_cached
def country_list(request):
    countries, errors = filtered(
        request, filtersets.CountryFilterSet, selectors.country_list(request.user)
    )
    context = {
        "countries": countries,
        "regions": sorted(set(Country.objects.values_list("region", flat=True)) - {""}),
        "selected": request.GET,
        "query": query_without(request, "ordering"),
    }
    return render_filtered(request, "projects/country_list.html", context, errors)


@visitors_cached
def country_detail(request, iso2: str):
    country = get_object_or_404(Country, iso2=iso2.upper())
    hosted = ProjectCountry.objects.filter(country=country).values("project")
    queryset = selectors.project_list(request.user).filter(pk__in=hosted)
    projects, errors = filtered(request, filtersets.ProjectFilterSet, queryset)
    context = {
        "country": country,
        "page": paginate(request, projects),
        "query": query_without(request, "page"),
        "map_counts": {country.numeric: {"iso2": country.iso2, "name": country.name, "count": 1}},
        "project_types": ProjectType.objects.order_by("position"),
        "statuses": Status.choices,
    }
    context.update(pages.country_profile(country, request.user))
    return render_filtered(request, "projects/country_detail.html", context, errors)


@visitors_cached
def company_list(request):
    companies, errors = filtered(
        request, filtersets.CompanyFilterSet, selectors.company_list(request.user)
    )
    context = {
        "page": paginate(request, companies),
        "query": query_without(request, "page"),
        "selected": request.GET,
        "kinds": CompanyKind.choices,
        "ownerships": Ownership.choices,
    }
    return render_filtered(request, "projects/company_list.html", context, errors)


@visitors_cached
def company_detail(request, slug: str):
    company = get_object_or_404(Company.objects.select_related("headquarters", "parent"), slug=slug)
    context = {"company": company}
    context.update(pages.company_profile(company, request.user))
    return render(request, "projects/company_detail.html", context)


@visitors_cached
def document_list(request):
    queryset = SourceDocument.objects.defer("text", "search_vector").order_by(
        "-published_on", "title", "pk"
    )
    documents, errors = filtered(request, filtersets.DocumentFilterSet, queryset)
    context = {
        "page": paginate(request, documents),
        "query": query_without(request, "page"),
        "selected": request.GET,
        "kinds": DocumentKind.choices,
    }
    return render_filtered(request, "projects/document_list.html", context, errors)


@visitors_cached
def document_detail(request, pk: int):
    document = get_object_or_404(SourceDocument, pk=pk)
    citations = (
        document.citations.filter(project__in=selectors.visible_projects(request.user))
        .select_related("project")
        .order_by("project__name", "claim")
    )
    context = {
        "document": document,
        "citations": citations,
        "text": pages.document_text_with_mentions(document),
    }
    return render(request, "projects/document_detail.html", context)


@visitors_cached
def search(request):
    query = request.GET.get("q", "")
    if "\x00" in query:
        return render(
            request,
            "projects/search.html",
            {"query": "", "error": "NUL characters are not allowed."},
            status=400,
        )
    results = pages.search_everything(query, request.user)
    return render(request, "projects/search.html", {"query": query, **results})


@visitors_cached
def about(request):
    return render(request, "projects/about.html")


def healthz(request):
    """Liveness: the process answers. It does not look at the database or the broker, so an
    outage of theirs never gets healthy web processes restarted."""
    return JsonResponse(liveness_report())


def readyz(request):
    """Readiness: database reachable, migrations applied, broker reachable; 503 otherwise."""
    report = readiness_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
