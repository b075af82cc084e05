"""Schema post-processing: the GeoJSON shapes, and the error responses every operation can
give."""

import re

from rest_framework import permissions

ERROR_SCHEMA = {
    "type": "object",
    "description": "Parameter or field names mapped to lists of messages, or a `detail` message.",
    "additionalProperties": True,
}


FEATURE_SCHEMA = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "integer"},
        "geometry": {"type": "object", "nullable": True, "additionalProperties": True},
        "properties": {"type": "object", "additionalProperties": True},
    },
}
FEATURE_COLLECTION_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "count": {"type": "integer"},
        "next": {"type": "string", "format": "uri", "nullable": True},
        "previous": {"type": "string", "format": "uri", "nullable": True},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


BLANK_STRING = {"type": "string", "maxLength": 0}


def _blank_alternatives_overlap(node) -> None:
    """drf-spectacular writes a blank-allowed string with a pattern as oneOf(pattern, blank);
    where the pattern admits "" too, "" matches both and breaks oneOf. anyOf says it right."""
    if isinstance(node, dict):
        if BLANK_STRING in node.get("oneOf", []):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_alternatives_overlap(value)
    elif isinstance(node, list):
        for value in node:
            _blank_alternatives_overlap(value)


ANONYMOUS_READS = (
    permissions.AllowAny,
    permissions.IsAuthenticatedOrReadOnly,
    permissions.DjangoModelPermissionsOrAnonReadOnly,
)


def _shape(path: str) -> str:
    """A path with its parameters blanked: the generator's `{pk}` is the schema's `{id}`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _reads_refused_to_visitors(generator) -> set[str]:
    """The paths (shaped) whose GET needs a signed-in client with a permission."""
    refused = set()
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        classes = (callback.initkwargs or {}).get("permission_classes")
        classes = classes or callback.cls.permission_classes
        anonymous = all(isinstance(c, type) and issubclass(c, ANONYMOUS_READS) for c in classes)
        if method == "GET" and not anonymous:
            refused.add(_shape(path))
    return refused


def document_error_responses(result, generator, request, public):
    _blank_alternatives_overlap(result.get("components", {}))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(
        Error=ERROR_SCHEMA, Feature=FEATURE_SCHEMA, FeatureCollection=FEATURE_COLLECTION_SCHEMA
    )
    refused = _reads_refused_to_visitors(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            geojson = responses.get("200", {}).get("content", {}).get("application/geo+json")
            if geojson is not None:
                shape = "Feature" if "{" in path else "FeatureCollection"
                geojson["schema"] = {"$ref": f"#/components/schemas/{shape}"}
            responses.setdefault("400", _error("Invalid parameter or field; the body names it."))
            responses.setdefault("429", _error("Too many requests; retry later."))
            # Any operation answers a wrong token with 401.
            responses.setdefault("401", _error("Authentication required, or it failed."))
            if method != "get":
                responses.setdefault("403", _error("The permission for this write is missing."))
            elif _shape(path) in refused:
                responses.setdefault("403", _error("The permission to read this is missing."))
            if "{" in path or method == "get":
                responses.setdefault("404", _error("No such object, or a page past the end."))
            if method in {"post", "put", "patch", "delete"}:
                responses.setdefault("409", _error("The write conflicts with existing data."))
    return result
