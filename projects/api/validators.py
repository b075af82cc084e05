"""Validators for free-form JSON input, which DRF's text fields do not check."""

from rest_framework import serializers

GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
}


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def storable_text(value):
    """PostgreSQL stores neither NUL characters nor unpaired surrogates, in text or JSON."""
    for text in _texts(value):
        if "\x00" in text:
            raise serializers.ValidationError("NUL characters are not allowed.")
        if any(0xD800 <= ord(character) <= 0xDFFF for character in text):
            raise serializers.ValidationError("Unpaired surrogate characters are not allowed.")
    return value


def _positions(value) -> bool:
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    ):
        return 2 <= len(value) <= 3
    return isinstance(value, list | tuple) and bool(value) and all(_positions(x) for x in value)


def geojson_geometry(value):
    """A GeoJSON geometry object (RFC 7946), or null."""
    if value is None:
        return value
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES | {
        "GeometryCollection"
    }:
        raise serializers.ValidationError(
            f"A GeoJSON geometry: an object whose type is one of "
            f"{', '.join(sorted(GEOMETRY_TYPES))} or GeometryCollection."
        )
    if value["type"] == "GeometryCollection":
        members = value.get("geometries")
        if not isinstance(members, list):
            raise serializers.ValidationError("A GeometryCollection needs a list of geometries.")
        for member in members:
            geojson_geometry(member)
    elif not _positions(value.get("coordinates")):
        raise serializers.ValidationError("coordinates must be (nested lists of) positions.")
    return storable_text(value)


class StorableJSONField(serializers.JSONField):
    """A JSON field whose texts, keys included, PostgreSQL can store."""

    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", []), storable_text]
        super().__init__(**kwargs)
