"""Writes to source documents and citations."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from projects.models import Citation, Project, SourceDocument
from projects.partial_dates import PartialDate

DOCUMENT_FIELDS = ["title", "publisher", "language", "kind"]


def document_register(*, record: dict) -> tuple[SourceDocument, str]:
    """Create or update a metadata-only document (no file), identified by its URL."""
    fields = {name: record.get(name) or "" for name in DOCUMENT_FIELDS}
    fields["authors"] = record.get("authors") or []
    try:
        published = PartialDate.parse(record["date"]) if record.get("date") else None
    except ValueError as error:
        raise ValidationError({"date": str(error)}) from None
    fields["published_on"] = published.date if published else None
    fields["published_precision"] = published.precision if published else ""
    document = SourceDocument.objects.filter(url=record["url"], file="").first()
    if document is None:
        document = SourceDocument(url=record["url"], **fields)
        outcome = "created"
    else:
        changed = {k: v for k, v in fields.items() if getattr(document, k) != v}
        if not changed:
            return document, "unchanged"
        for name, value in changed.items():
            setattr(document, name, value)
        outcome = "updated"
    document.full_clean()
    document.save()
    return document, outcome


def citation_upsert(
    *,
    project: Project,
    document: SourceDocument,
    claim: str,
    quote: str,
    location: str = "",
    check_constraints: bool = True,
    project_is_new: bool = False,
) -> tuple[Citation, str]:
    """Cite `document` for one claim about `project`; a second call updates the quote."""
    citation = (
        Citation.objects.filter(project=project, document=document, claim=claim).first()
        if check_constraints or not project_is_new
        else None
    )
    if citation is None:
        citation = Citation(project=project, document=document, claim=claim)
        outcome = "created"
    elif (citation.quote, citation.location) == (quote, location):
        return citation, "unchanged"
    else:
        outcome = "updated"
    citation.quote, citation.location = quote, location
    citation.full_clean(
        # A bulk writer holds the project and the document it just read or wrote.
        exclude=None if check_constraints else ["project", "document"],
        validate_unique=check_constraints,
        validate_constraints=check_constraints,
    )
    citation.save()
    return citation, outcome
