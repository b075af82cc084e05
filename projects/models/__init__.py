from .base import TimeStampedModel
from .company import Company, CompanyKind, Ownership
from .country import Country
from .project import (
    CompanyRole,
    CountryRole,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    Publication,
    Status,
)
from .source import Citation, ClaimKind, DocumentKind, ProcessingStatus, SourceDocument
from .taxonomy import Initiative, ProjectType

__all__ = [
    "Citation",
    "ClaimKind",
    "Company",
    "CompanyKind",
    "CompanyRole",
    "Country",
    "CountryRole",
    "DocumentKind",
    "Initiative",
    "Ownership",
    "ProcessingStatus",
    "Project",
    "ProjectCompany",
    "ProjectCountry",
    "ProjectInitiative",
    "ProjectType",
    "Publication",
    "SourceDocument",
    "Status",
    "TimeStampedModel",
]
