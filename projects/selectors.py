"""Reads: querysets shaped once (related rows fetched in a fixed number of queries, whatever
the page size), used by the pages and the API."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import (
    Citation,
    Company,
    Country,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    Publication,
    SourceDocument,
)


def can_see_drafts(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("projects.view_project"))


def visible_projects(user):
    projects = Project.objects.all()
    return projects if can_see_drafts(user) else projects.published()


def _count(queryset, field: str, counted=None):
    """A correlated COUNT subquery: cheaper than joining and grouping the outer query."""
    counts = queryset.values(field).annotate(n=counted or Count("*")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _role_project_filter(user) -> Q:
    """Rows linked to a project the user may see."""
    return Q() if can_see_drafts(user) else Q(project__publication=Publication.PUBLISHED)


def project_list(user):
    return shaped_projects(visible_projects(user))


def shaped_projects(projects):
    return (
        projects.select_related("project_type")
        .prefetch_related(
            Prefetch(
                "country_roles",
                ProjectCountry.objects.select_related("country").order_by("role", "country__name"),
            ),
            Prefetch(
                "company_roles",
                ProjectCompany.objects.select_related("company").order_by("role", "company__name"),
            ),
            Prefetch(
                "initiative_links",
                ProjectInitiative.objects.select_related("initiative").order_by("initiative__name"),
            ),
            Prefetch(
                "citations",
                Citation.objects.select_related("document")
                .only(
                    "project_id", "claim", "quote", "location", "document__url", "document__title"
                )
                .order_by("document__title", "claim", "pk"),
            ),
        )
        .annotate(citation_count=_count(Citation.objects.filter(project=OuterRef("pk")), "project"))
        .order_by("name", "pk")
    )


def country_list(user):
    roles = ProjectCountry.objects.filter(_role_project_filter(user), country=OuterRef("pk"))
    return Country.objects.annotate(
        project_count=_count(roles, "country", Count("project", distinct=True))
    ).order_by("name", "pk")


def company_list(user):
    roles = ProjectCompany.objects.filter(_role_project_filter(user), company=OuterRef("pk"))
    return (
        Company.objects.select_related("headquarters", "parent")
        .annotate(project_count=_count(roles, "company", Count("project", distinct=True)))
        .order_by("name", "pk")
    )


def citation_list(user):
    citations = Citation.objects.select_related("project", "document")
    return citations.filter(_role_project_filter(user)).order_by("project__name", "claim", "pk")


def data_version() -> int:
    """The content's version: raised at the commit of every write (migration 0013)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(version), 0) FROM projects_dataversion")
        return cursor.fetchone()[0]


def cached_for_visitors(user, key: str, compute):
    """`compute()`, shared between visitors who see only published projects (editors always
    get fresh figures) until the content changes — the key holds the content's version — or
    for AGGREGATE_CACHE_SECONDS at most. With CACHE_URL set the cache is Redis, shared by
    every web process."""
    seconds = settings.AGGREGATE_CACHE_SECONDS
    if seconds <= 0 or can_see_drafts(user):
        return compute()
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache.get_or_set(f"aggregate:{data_version()}:{digest}", compute, seconds)


def knowledge_base_totals(user) -> dict[str, int]:
    return cached_for_visitors(
        user,
        "totals",
        lambda: {
            "countries": Country.objects.count(),
            "companies": Company.objects.count(),
            "projects": visible_projects(user).count(),
            "documents": SourceDocument.objects.count(),
        },
    )
