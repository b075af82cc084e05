"""Loading the demo data: real, sourced Digital Silk Road projects."""

from __future__ import annotations

from collections import Counter

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction

from projects.models import Project, Publication

from .documents import citation_upsert, document_register
from .projects import project_upsert
from .reference import merged_names, organisations_load, read_reference


def demo_load(data: dict | None = None, *, update: bool = False) -> dict[str, Counter]:
    """Load the demo organisations, projects, sources and citations, published.

    A demo project that exists is left as editors keep it (unpublished, corrected, merged into
    another: its name is then the other's alias) unless `update` asks to reset it."""
    data = data if data is not None else read_reference("demo.json")
    outcomes = {"projects": Counter(), "documents": Counter(), "citations": Counter()}
    with transaction.atomic(), pghistory.context(service="demo_load"):
        outcomes["organisations"] = Counter(
            organisations_load(data["organisations"], update=update).as_dict()
        )
        existing = set(Project.objects.values_list("slug", flat=True))
        merged = merged_names(Project)
        for record in data["projects"]:
            merged_away = record["slug"] not in existing and record["name"].casefold() in merged
            if merged_away or (record["slug"] in existing and not update):
                outcomes["projects"]["kept"] += 1
                continue
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
