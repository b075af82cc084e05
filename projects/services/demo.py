"""Loading the demo data: real, sourced Digital Silk Road projects."""

from __future__ import annotations

from collections import Counter

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction

from projects.models import Publication

from .documents import citation_upsert, document_register
from .projects import project_upsert
from .reference import organisations_load, read_reference


def demo_load(data: dict | None = None) -> dict[str, Counter]:
    """Upsert the demo organisations, projects, sources and citations, all published."""
    data = data if data is not None else read_reference("demo.json")
    outcomes = {"projects": Counter(), "documents": Counter(), "citations": Counter()}
    with transaction.atomic(), pghistory.context(service="demo_load"):
        outcomes["organisations"] = Counter(organisations_load(data["organisations"]).as_dict())
        for record in data["projects"]:
            try:
                _load_project(record, outcomes)
            except (ValidationError, KeyError) as error:
                raise ValidationError(f"demo project {record.get('slug')!r}: {error}") from error
    return outcomes


def _load_project(record: dict, outcomes: dict[str, Counter]) -> None:
    project, outcome = project_upsert(record={**record, "publication": Publication.PUBLISHED})
    outcomes["projects"][outcome] += 1
    documents = {}
    for source in record["sources"]:
        documents[source["key"]], outcome = document_register(record=source)
        outcomes["documents"][outcome] += 1
    for citation in record["citations"]:
        _, outcome = citation_upsert(
            project=project,
            document=documents[citation["source"]],
            claim=citation["claim"],
            quote=citation["quote"],
            location=citation.get("location") or "",
        )
        outcomes["citations"][outcome] += 1
