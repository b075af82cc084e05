"""Serializer fields shared by the API's representations."""

from __future__ import annotations

from django.urls import reverse as django_reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.partial_dates import PartialDate


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
        "example": "2018-05",
        "description": "A partial date: YYYY, YYYY-MM or YYYY-MM-DD, as precise as the source.",
    }
)
class PartialDateField(serializers.Field):
    default_error_messages = {"invalid": "{error}"}

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value: PartialDate | None):
        return value.isoformat() if value else None

    def to_internal_value(self, data) -> PartialDate:
        if not isinstance(data, str):
            self.fail("invalid", error="Expected a string: YYYY, YYYY-MM or YYYY-MM-DD.")
        try:
            return PartialDate.parse(data)
        except ValueError as error:
            self.fail("invalid", error=str(error))


def api_url(view_name: str, kwargs: dict, request) -> str:
    """An absolute API address without the request's ?format= (unlike DRF's reverse)."""
    path = django_reverse(view_name, kwargs=kwargs)
    return request.build_absolute_uri(path) if request is not None else path


class PlainHyperlinkedIdentityField(serializers.HyperlinkedIdentityField):
    def get_url(self, obj, view_name, request, format):
        value = getattr(obj, self.lookup_field)
        if self.lookup_field == "iso2":
            value = value.lower()
        return api_url(view_name, {self.lookup_url_kwarg: value}, request)


def brief(obj, key: str, view_name: str, request, lookup: str | None = None) -> dict:
    """The short form of a related object: its key, its name and its API address."""
    value = getattr(obj, key)
    lookup_value = value.lower() if key == "iso2" else value
    return {
        key: value,
        "name": obj.name if hasattr(obj, "name") else str(obj),
        "url": api_url(view_name, {lookup or key: lookup_value}, request),
    }


def brief_schema(key: str, key_type: str = "string") -> dict:
    return {
        "type": "object",
        "properties": {
            key: {"type": key_type},
            "name": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
        },
        "required": [key, "name", "url"],
    }


class BriefRelatedField(serializers.SlugRelatedField):
    """Reads as {key, name, url}; written as the key alone (an ISO code or a slug)."""

    def __init__(self, *, view_name: str, normalize=None, **kwargs):
        self.view_name = view_name
        self.normalize = normalize
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get(self.slug_field)
        if isinstance(data, str) and self.normalize:
            data = self.normalize(data)
        return super().to_internal_value(data)

    def to_representation(self, obj):
        return brief(obj, self.slug_field, self.view_name, self.context.get("request"))


BRIEF_FIELD_CLASSES = {
    key: extend_schema_field(brief_schema(key))(
        type(f"Brief{key.capitalize()}Field", (BriefRelatedField,), {})
    )
    for key in ("iso2", "slug")
}


def brief_field(key: str, view_name: str, **kwargs) -> BriefRelatedField:
    """A related object read as {key, name, url} and written as its key."""
    return BRIEF_FIELD_CLASSES[key](slug_field=key, view_name=view_name, **kwargs)
