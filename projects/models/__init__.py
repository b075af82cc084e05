from .base import TimeStampedModel
from .company import Company, CompanyKind, Ownership
from .country import Country
from .dataset import DatasetEntity, DatasetFormat, DatasetImport, ImportState
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
from .proposal import Proposal, ProposalStatus
from .search import ProjectSearch
from .source import Citation, ClaimKind, DocumentKind, Mention, ProcessingStatus, SourceDocument
from .taxonomy import Initiative, ProjectType

__all__ = [
    "Citation",
    "ClaimKind",
    "Company",
    "CompanyKind",
    "CompanyRole",
    "Country",
    "CountryRole",
    "DatasetEntity",
    "DatasetFormat",
    "DatasetImport",
    "DocumentKind",
    "ImportState",
    "Initiative",
    "Mention",
    "Ownership",
    "ProcessingStatus",
    "Project",
    "ProjectCompany",
    "ProjectCountry",
    "ProjectInitiative",
    "ProjectSearch",
    "ProjectType",
    "Proposal",
    "ProposalStatus",
    "Publication",
    "SourceDocument",
    "Status",
    "TimeStampedModel",
]
