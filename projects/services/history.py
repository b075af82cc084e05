"""Reading and reverting the history that PostgreSQL triggers record (django-pghistory).

A version of an entry is its state after one transaction. A project's version includes its
countries, organisations and initiatives with their roles, which live in their own tables:
reverting a project to a version restores those rows as they were then, too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pghistory
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from pghistory.models import Events

from projects.models import Project, ProjectCompany, ProjectCountry, ProjectInitiative

DELETE = "delete"
HIDDEN_COLUMNS = {"id", "created", "updated", "search_vector", "text"}
# The rows that belong to a project's version, with the columns that identify each.
PROJECT_PARTS = [
    (ProjectCountry, ["country_id", "role"]),
    (ProjectCompany, ["company_id", "role"]),
    (ProjectInitiative, ["initiative_id"]),
]


@dataclass
class Change:
    """One recorded change, for people: when, who, what, and how the fields moved."""

    event_id: int
    event_model: str
    when: datetime
    label: str
    model: str
    object_id: str
    user: str
    context: dict
    diff: dict
    data: dict  # for an insert or a delete: the row's values
    revertible: bool


def history(obj: models.Model, *, limit: int = 200) -> list[Change]:
    """The changes to `obj` and to the rows that point at it, newest first."""
    tracked = f"{obj._meta.app_label}.{obj._meta.object_name}"
    events = list(Events.objects.references(obj).order_by("-pgh_created_at", "-pgh_id")[:limit])
    user_ids = {
        (event.pgh_context or {}).get("user")
        for event in events
        if isinstance((event.pgh_context or {}).get("user"), int)
    }
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    # A history that leaves out some fields (a document's extracted text) cannot restore them.
    can_revert = obj.pgh_event_model().can_revert
    changes = []
    for event in events:
        context = event.pgh_context or {}
        user = context.get("user")
        changes.append(
            Change(
                event_id=event.pgh_id,
                event_model=event.pgh_model,
                when=event.pgh_created_at,
                label=event.pgh_label,
                model=event.pgh_obj_model,
                object_id=str(event.pgh_obj_id),
                user=names.get(user, "") if user else "",
                context={k: v for k, v in context.items() if k not in ("user", "url")},
                diff=event.pgh_diff or {},
                data=(
                    {}
                    if event.pgh_diff
                    else {
                        k: v
                        for k, v in (event.pgh_data or {}).items()
                        if k not in HIDDEN_COLUMNS
                        and not k.startswith("pgh_")
                        and v not in ("", None, [], {})
                    }
                ),
                revertible=(
                    can_revert
                    and event.pgh_obj_model == tracked
                    and str(event.pgh_obj_id) == str(obj.pk)
                    and event.pgh_label != DELETE
                ),
            )
        )
    _name_related_rows(changes)
    return changes


def _name_related_rows(changes: list[Change]) -> None:
    """Show foreign keys as the rows they point at ("country_id: 44" → "country: Kenya"),
    with one query per related model."""
    wanted: dict[type[models.Model], set] = defaultdict(set)
    fields: dict[tuple[str, str], models.ForeignKey] = {}
    for change in changes:
        model = apps.get_model(change.model)
        for key, value in [*change.data.items(), *change.diff.items()]:
            field = next(
                (
                    f
                    for f in model._meta.concrete_fields
                    if f.is_relation and f.attname == key and f.related_model is not None
                ),
                None,
            )
            if field is None:
                continue
            fields[(change.model, key)] = field
            values = value if key in change.diff else [value]
            wanted[field.related_model].update(v for v in values if v is not None)
    names = {
        model: {obj.pk: str(obj) for obj in model._default_manager.filter(pk__in=ids)}
        for model, ids in wanted.items()
    }

    def name(field, value):
        if value is None:
            return None
        return names[field.related_model].get(value, f"#{value} (deleted)")

    for change in changes:
        for source in (change.data, change.diff):
            for key in list(source):
                field = fields.get((change.model, key))
                if field is None:
                    continue
                value = source.pop(key)
                source[field.name] = (
                    [name(field, v) for v in value] if source is change.diff else name(field, value)
                )


def _event(obj: models.Model, event_id: int):
    event = obj.pgh_event_model.objects.filter(pgh_id=event_id, pgh_obj_id=obj.pk).first()
    if event is None or event.pgh_label == DELETE:
        raise ValidationError("That version does not belong to this entry.")
    if not event.can_revert:
        raise ValidationError("The history of this kind of entry leaves out some of its fields.")
    return event


def _gone(model: type[models.Model], rows: list[dict]) -> list[str]:
    """What `rows` (attname → value) of `model` point at that no longer exists (deleted, or
    merged into another entry since), as "company #12"."""
    gone = []
    for field in model._meta.concrete_fields:
        if not field.is_relation or field.related_model is None:
            continue
        ids = {row[field.attname] for row in rows if row.get(field.attname) is not None}
        found = field.related_model._default_manager.filter(pk__in=ids).values_list("pk", flat=True)
        name = field.related_model._meta.verbose_name
        gone += [f"{name} #{pk}" for pk in sorted(ids - set(found))]
    return gone


def _parts_at(project_id: int, moment: datetime) -> dict:
    """Each part table's rows of the project as they stood at `moment`."""
    parts = {}
    for model, columns in PROJECT_PARTS:
        last = {}
        events = model.pgh_event_model.objects.filter(
            project_id=project_id, pgh_created_at__lte=moment
        ).order_by("pgh_created_at", "pgh_id")
        for event in events:
            last[event.pgh_obj_id] = event
        parts[model] = {
            tuple(getattr(event, column) for column in columns)
            for event in last.values()
            if event.pgh_label != DELETE
        }
    return parts


@transaction.atomic
def version_revert(*, obj: models.Model, event_id: int, user=None) -> models.Model:
    """Put `obj` back as it was in the version recorded by event `event_id`; the revert is
    itself a new version, so it can be undone the same way."""
    event = _event(obj, event_id)
    parts = _parts_at(obj.pk, event.pgh_created_at) if isinstance(obj, Project) else {}
    links = [f.attname for f in type(obj)._meta.concrete_fields if f.is_relation]
    gone = _gone(type(obj), [{name: getattr(event, name) for name in links}])
    for model, columns in PROJECT_PARTS:
        rows = parts.get(model, ())
        gone += _gone(model, [dict(zip(columns, row, strict=True)) for row in rows])
    if gone:
        raise ValidationError(
            f"That version names what no longer exists ({', '.join(gone)}); edit the entry instead."
        )
    with pghistory.context(service="revert", reverted_to=event_id, user=user.pk if user else None):
        event.revert()
        if parts:
            for model, columns in PROJECT_PARTS:
                rows = model.objects.filter(project_id=obj.pk)
                current = set(rows.values_list(*columns))
                wanted = parts[model]
                for stale in current - wanted:
                    rows.filter(**dict(zip(columns, stale, strict=True))).delete()
                model.objects.bulk_create(
                    model(project_id=obj.pk, **dict(zip(columns, row, strict=True)))
                    for row in sorted(wanted - current)
                )
    obj.refresh_from_db()
    return obj


def changed_by(obj: models.Model) -> tuple[dict, dict]:
    """Who created `obj` and who changed it last, with when: ({"user", "when"}, same)."""
    events = obj.pgh_event_model.objects.filter(pgh_obj_id=obj.pk)
    first = events.order_by("pgh_id").select_related("pgh_context").first()
    last = events.order_by("-pgh_id").select_related("pgh_context").first()
    found = defaultdict(str)
    for event in (first, last):
        if event is not None and event.pgh_context and "user" in event.pgh_context.metadata:
            found[event.pgh_id] = event.pgh_context.metadata["user"]
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[u for u in found.values() if u])
        .values_list("pk", "username")
    )

    def describe(event) -> dict:
        if event is None:
            return {"user": "", "when": None}
        return {"user": names.get(found.get(event.pgh_id), ""), "when": event.pgh_created_at}

    return describe(first), describe(last)
