"""The landing points of a cable: a list kept on the project, validated as a whole."""

from __future__ import annotations

from django.core.exceptions import ValidationError

LANDING_POINT_KEYS = {"id", "name", "country", "country_name", "latitude", "longitude", "tbd"}


def _number_in(value, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def landing_point_problem(point) -> str:
    """What is wrong with one landing point, or "" when nothing is."""
    if not isinstance(point, dict):
        return "each landing point is an object"
    unknown = set(point) - LANDING_POINT_KEYS
    if unknown:
        return f"unknown keys {', '.join(sorted(unknown))}"
    if not isinstance(point.get("name"), str) or not point["name"].strip():
        return "a landing point needs a name"
    for key in ("id", "country", "country_name"):
        if point.get(key) is not None and not isinstance(point[key], str):
            return f"{key} is text"
    country = point.get("country")
    if country is not None and (len(country) != 2 or not country.isupper()):
        return f"country is an ISO alpha-2 code, not {country!r}"
    latitude, longitude = point.get("latitude"), point.get("longitude")
    if (latitude is None) != (longitude is None):
        return "latitude and longitude go together"
    if latitude is not None and not (
        _number_in(latitude, -90, 90) and _number_in(longitude, -180, 180)
    ):
        return "latitude is -90..90 and longitude -180..180"
    if not isinstance(point.get("tbd", False), bool):
        return "tbd is true or false"
    return ""


def validate_landing_points(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("Landing points are a list.")
    for number, point in enumerate(value, start=1):
        problem = landing_point_problem(point)
        if problem:
            raise ValidationError(f"Landing point {number}: {problem}.")
