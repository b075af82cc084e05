"""Reads: querysets shaped once, used by pages and the API."""

from .models import Company, Country, Project, SourceDocument


def knowledge_base_totals(user) -> dict[str, int]:
    return {
        "countries": Country.objects.count(),
        "companies": Company.objects.count(),
        "projects": Project.objects.visible_to(user).count(),
        "documents": SourceDocument.objects.count(),
    }
