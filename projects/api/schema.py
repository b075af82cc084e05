"""Schema post-processing: document the error responses every operation can give."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Parameter or field names mapped to lists of messages, or a `detail` message.",
    "additionalProperties": True,
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", _error("Invalid parameter or field; the body names it."))
            responses.setdefault("429", _error("Too many requests; retry later."))
            if method != "get":
                responses.setdefault("401", _error("Authentication required."))
                responses.setdefault("403", _error("The permission for this write is missing."))
            if "{" in path or method == "get":
                responses.setdefault("404", _error("No such object, or a page past the end."))
            if method in {"post", "put", "patch", "delete"}:
                responses.setdefault("409", _error("The write conflicts with existing data."))
    return result
