"""Merging duplicate companies or projects into one survivor, losing nothing.

Every row that pointed at a duplicate points at the survivor afterwards. Where the survivor
already has the same row (the same unique key, e.g. project, company and role), the survivor's
row stands for both and the duplicate's is deleted; the role tables hold nothing but their key,
and citations keep both quotes. The duplicates' names become the survivor's aliases, the
survivor's empty fields are filled from them (never overwritten), their external ids are kept,
and then they are deleted. A merge is one transaction, recorded in the history under the
context `service="merge"` with `merged_into`, `merged` and `user`.

External ids: on a conflict (the same key, different values) the survivor's value stays under
the key and the other goes under `<key>_merged`, or `<key>_merged_2`, `_3`… when that is taken,
so that every value stays a plain string as the API expects. A value already stored under the
key or one of its `_merged` keys is not stored twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import pghistory
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from projects.models import (
    Citation,
    Company,
    Mention,
    Ownership,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    Proposal,
    Status,
    TimeStampedModel,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

Merged = TypeVar("Merged", Company, Project)

# Fields copied from a duplicate when empty on the survivor; the fields of a group (a date and
# its precision, an amount and its currency) are copied together or not at all.
COMPANY_FILLED = {
    "chinese_name": ["chinese_name"],
    "website": ["website"],
    "description": ["description"],
    "headquarters": ["headquarters_id"],
    "ownership": ["ownership"],
}
PROJECT_FILLED = {
    "description": ["description"],
    "status": ["status"],
    "announced": ["announced_on", "announced_precision"],
    "started": ["started_on", "started_precision"],
    "completed": ["completed_on", "completed_precision"],
    "value": ["value_amount", "value_currency", "value_usd"],
    "length_km": ["length_km"],
    "capacity": ["capacity"],
    "location": ["latitude", "longitude"],
    "geometry": ["geometry"],
    "landing_points": ["landing_points"],
}
# Defaults that say "nobody knows yet", as empty as a blank.
UNKNOWN_VALUES = {"ownership": Ownership.UNKNOWN, "status": Status.UNKNOWN}
# A project's rows that move with it, and the columns that identify one beside the project.
PROJECT_ROWS = [
    ("countries", ProjectCountry, ["country_id", "role"]),
    ("companies", ProjectCompany, ["company_id", "role"]),
    ("initiatives", ProjectInitiative, ["initiative_id"]),
]
MERGED_KEY = re.compile(r"^(?P<base>.+)_merged(_\d+)?$")


@dataclass
class MergeReport:
    """What a merge did, for the message to the editor: per relation, the rows moved to the
    survivor and the rows merged into one the survivor already had."""

    survivor: str
    duplicates: int
    moved: dict[str, int] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)
    aliases_added: int = 0
    fields_filled: list[str] = field(default_factory=list)
    external_id_conflicts: int = 0

    def add(self, relation: str, moved: int, merged: int = 0) -> None:
        self.moved[relation] = self.moved.get(relation, 0) + moved
        self.merged[relation] = self.merged.get(relation, 0) + merged

    def message(self) -> str:
        parts = [f"Merged {self.duplicates} duplicate(s) into “{self.survivor}”"]
        for verb, counts in (("moved", self.moved), ("merged with existing", self.merged)):
            listed = ", ".join(f"{count} {relation}" for relation, count in counts.items() if count)
            if listed:
                parts.append(f"{verb}: {listed}")
        if self.aliases_added:
            parts.append(f"{self.aliases_added} alias(es) added")
        if self.fields_filled:
            parts.append(f"filled: {', '.join(self.fields_filled)}")
        if self.external_id_conflicts:
            parts.append(f"{self.external_id_conflicts} conflicting external id(s) kept")
        return "; ".join(parts) + "."


def companies_merge(
    *, survivor: Company, duplicates: Sequence[Company], user: AbstractBaseUser | None = None
) -> MergeReport:
    """Merge `duplicates` into `survivor` and delete them (rules in the module docstring).

    Besides their project roles, mentions and proposals, the duplicates' subsidiaries become
    the survivor's. A survivor whose parent was a duplicate gets that duplicate's parent; a
    parent that would make the survivor its own ancestor is dropped. Kind is the survivor's.
    """
    duplicates = _checked(survivor, duplicates)
    with _history_context(survivor, duplicates, user), transaction.atomic():
        duplicates = _locked(Company, survivor, duplicates)
        report = MergeReport(survivor=str(survivor), duplicates=len(duplicates))
        parent_id = _survivor_parent(survivor, duplicates)
        merged_pks = [survivor.pk, *(d.pk for d in duplicates)]
        roles = ProjectCompany.objects.filter(company__in=duplicates)
        changed_projects = set(roles.values_list("project_id", flat=True))
        proposal_links = Proposal.companies.through.objects
        for duplicate in duplicates:
            rows = ProjectCompany.objects.filter(company=duplicate)
            moved = _move_rows(rows, "company", survivor, ["project_id", "role"])
            report.add("project roles", *moved)
            mentions = Mention.objects.filter(company=duplicate)
            report.add("mentions", _repoint(mentions, "company", survivor))
            links = proposal_links.filter(company=duplicate)
            report.add("proposals", *_move_rows(links, "company", survivor, ["proposal_id"]))
            subsidiaries = Company.objects.filter(parent=duplicate).exclude(pk__in=merged_pks)
            report.add("subsidiaries", _repoint(subsidiaries, "parent", survivor))
            _absorb(survivor, duplicate, report, COMPANY_FILLED, ["name", "chinese_name"])
        survivor.parent_id = parent_id
        _save_and_delete(survivor, duplicates)
        # A project's company list changed as much as when an editor edits it.
        Project.objects.filter(pk__in=changed_projects).update(updated=timezone.now())
    return report


def projects_merge(
    *, survivor: Project, duplicates: Sequence[Project], user: AbstractBaseUser | None = None
) -> MergeReport:
    """Merge `duplicates` into `survivor` and delete them (rules in the module docstring).

    A citation of the same document and claim as one of the survivor's is merged into it: the
    other quote (and location) is appended after a blank line unless the survivor's already
    contains it. Type and publication are the survivor's.
    """
    duplicates = _checked(survivor, duplicates)
    with _history_context(survivor, duplicates, user), transaction.atomic():
        duplicates = _locked(Project, survivor, duplicates)
        report = MergeReport(survivor=str(survivor), duplicates=len(duplicates))
        for duplicate in duplicates:
            for relation, model, identity in PROJECT_ROWS:
                rows = model.objects.filter(project=duplicate)
                report.add(relation, *_move_rows(rows, "project", survivor, identity))
            report.add("citations", *_move_citations(duplicate, survivor))
            proposals = Proposal.objects.filter(project=duplicate)
            report.add("proposals", _repoint(proposals, "project", survivor))
            _absorb(survivor, duplicate, report, PROJECT_FILLED, ["name"])
        _save_and_delete(survivor, duplicates)
    return report


def _checked(survivor: Merged, duplicates: Sequence[Merged]) -> list[Merged]:
    """The distinct duplicates, or a ValidationError saying why they cannot be merged."""
    if survivor.pk is None or any(d.pk is None for d in duplicates):
        raise ValidationError("Only saved entries can be merged.")
    distinct = list({d.pk: d for d in duplicates}.values())
    if not distinct:
        raise ValidationError(f"Choose at least one duplicate to merge into “{survivor}”.")
    if any(d.pk == survivor.pk for d in distinct):
        raise ValidationError(f"“{survivor}” cannot be merged into itself.")
    return distinct


def _history_context(survivor: Merged, duplicates: list[Merged], user: AbstractBaseUser | None):
    return pghistory.context(
        service="merge",
        merged_into=survivor.pk,
        merged=[d.pk for d in duplicates],
        user=user.pk if user else None,
    )


def _locked(model: type[Merged], survivor: Merged, duplicates: list[Merged]) -> list[Merged]:
    """Lock the rows and read them again, so that the merge works on what is stored."""
    pks = [survivor.pk, *(d.pk for d in duplicates)]
    stored = {o.pk: o for o in model.objects.select_for_update().filter(pk__in=pks).order_by("pk")}
    gone = [str(obj) for obj in (survivor, *duplicates) if obj.pk not in stored]
    if gone:
        raise ValidationError(f"No longer stored: {', '.join(gone)}.")
    survivor.refresh_from_db()
    return [stored[d.pk] for d in duplicates]


def _touch(model: type[models.Model]) -> dict:
    """A queryset update skips auto_now, but a moved row is an updated one."""
    return {"updated": timezone.now()} if issubclass(model, TimeStampedModel) else {}


def _repoint(rows: models.QuerySet, field_name: str, target: models.Model) -> int:
    """Point `field_name` of every row at `target`; returns how many rows moved."""
    return rows.update(**{field_name: target}, **_touch(rows.model))


def _move_rows(
    rows: models.QuerySet, field_name: str, target: models.Model, identity: list[str]
) -> tuple[int, int]:
    """Point `field_name` of `rows` at `target`, except rows whose `identity` columns the
    target already has (a unique key): those are deleted, the target's row standing for both.
    Returns the numbers of rows moved and merged."""
    model = rows.model
    taken = set(model.objects.filter(**{field_name: target}).values_list(*identity))
    move, drop = [], []
    for pk, *key in rows.values_list("pk", *identity):
        (drop if tuple(key) in taken else move).append(pk)
    _repoint(model.objects.filter(pk__in=move), field_name, target)
    model.objects.filter(pk__in=drop).delete()
    return len(move), len(drop)


def _move_citations(duplicate: Project, survivor: Project) -> tuple[int, int]:
    own = {(c.document_id, c.claim): c for c in survivor.citations.all()}
    move, merged = [], 0
    for citation in duplicate.citations.all():
        kept = own.get((citation.document_id, citation.claim))
        if kept is None:
            move.append(citation.pk)
            continue
        kept.quote = _joined(kept.quote, citation.quote, "\n\n")
        kept.location = _joined(kept.location, citation.location, "; ")
        citation.delete()
        kept.full_clean()
        kept.save()
        merged += 1
    _repoint(Citation.objects.filter(pk__in=move), "project", survivor)
    return len(move), merged


def _joined(kept: str, other: str, separator: str) -> str:
    """`kept` followed by `other`, unless `other` is empty or already part of `kept`."""
    other = other.strip()
    if not other or other in kept:
        return kept
    return f"{kept}{separator}{other}" if kept.strip() else other


def _absorb(
    survivor: Merged, duplicate: Merged, report: MergeReport, filled: dict, name_fields: list[str]
) -> None:
    """Fill the survivor's empty fields from the duplicate and take in its names as aliases
    and its external ids."""
    for label, group in filled.items():
        if _empty(survivor, group) and not _empty(duplicate, group):
            for name in group:
                setattr(survivor, name, getattr(duplicate, name))
            report.fields_filled.append(label)
    names = [getattr(duplicate, name) for name in name_fields] + duplicate.aliases
    taken = [getattr(survivor, name) for name in name_fields]
    aliases = _aliases_with(survivor.aliases, names, taken)
    report.aliases_added += len(aliases) - len(survivor.aliases)
    survivor.aliases = aliases
    survivor.external_ids, conflicts = _merged_external_ids(
        survivor.external_ids, duplicate.external_ids
    )
    report.external_id_conflicts += conflicts


def _empty(obj: models.Model, group: list[str]) -> bool:
    return all(getattr(obj, name) in (None, "", [], {}, UNKNOWN_VALUES.get(name)) for name in group)


def _aliases_with(aliases: list[str], names: list[str], taken: list[str]) -> list[str]:
    """`aliases` followed by the `names` not among them or `taken`, ignoring case."""
    seen = {name.casefold() for name in [*taken, *aliases]}
    result = list(aliases)
    for name in names:
        name = name.strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return result


def _merged_external_ids(kept: dict, other: dict) -> tuple[dict, int]:
    """Both dicts of external ids in one; returns it and the number of conflicts."""
    result = dict(kept)
    conflicts = 0
    for key, value in other.items():
        match = MERGED_KEY.match(key)
        base = match["base"] if match else key
        if any(result[k] == value for k in result if k == base or _merged_from(k, base)):
            continue
        if key not in result:
            result[key] = value
            continue
        conflicts += 1
        number, free = 1, f"{base}_merged"
        while free in result:
            number += 1
            free = f"{base}_merged_{number}"
        result[free] = value
    return result, conflicts


def _merged_from(key: str, base: str) -> bool:
    match = MERGED_KEY.match(key)
    return bool(match) and match["base"] == base


def _survivor_parent(survivor: Company, duplicates: list[Company]) -> int | None:
    """The survivor's parent once merged: its own, or else the first duplicate's. A parent
    that is being merged stands for its own parent; a parent below the merged companies
    (which would make the survivor its own ancestor) is passed over."""
    merged = {survivor.pk, *(d.pk for d in duplicates)}
    parents = {d.pk: d.parent_id for d in duplicates}
    for candidate in (survivor.parent_id, *parents.values()):
        seen = set()
        while candidate in parents and candidate not in seen:
            seen.add(candidate)
            candidate = parents[candidate]
        if candidate is not None and not _descends_from(candidate, merged):
            return candidate
    return None


def _descends_from(pk: int, companies: set[int]) -> bool:
    """Whether the company `pk` is one of `companies` or below one of them."""
    seen = set()
    while pk is not None and pk not in seen:
        if pk in companies:
            return True
        seen.add(pk)
        pk = Company.objects.filter(pk=pk).values_list("parent_id", flat=True).first()
    return False


def _save_and_delete(survivor: Merged, duplicates: list[Merged]) -> None:
    survivor.full_clean()
    survivor.save()
    type(survivor).objects.filter(pk__in=[d.pk for d in duplicates]).delete()
