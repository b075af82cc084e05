"""CSV and GeoJSON renderings parse with standard tools and say what the JSON says."""

import csv
import io
import json

import pytest

from projects.api.renderers import flat_value

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/projects/",
    "/api/v1/countries/",
    "/api/v1/companies/",
    "/api/v1/documents/",
    "/api/v1/citations/",
    "/api/v1/project-types/",
    "/api/v1/initiatives/",
]


def get_json(api, url: str, **params) -> dict:
    response = api.get(url, {"page_size": 500, **params})
    assert response.status_code == 200
    return response.json()


def get_csv(api, url: str, **params) -> list[dict]:
    response = api.get(url, {"page_size": 500, "format": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def get_geojson(api, url: str, **params) -> dict:
    response = api.get(url, {"page_size": 500, "format": "geojson", **params})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    return json.loads(response.content)


def assert_valid_geojson_point(geometry: dict | None) -> None:
    if geometry is None:
        return
    assert geometry["type"] == "Point"
    longitude, latitude = geometry["coordinates"]
    assert -180 <= longitude <= 180 and -90 <= latitude <= 90


@pytest.mark.parametrize("url", LISTS)
def test_csv_has_one_flat_row_per_json_object(api, url):
    objects = get_json(api, url)["results"]
    rows = get_csv(api, url)
    assert len(rows) == len(objects)
    for row, obj in zip(rows, objects, strict=True):
        assert list(row) == list(obj)
        assert row == {key: flat_value(value) for key, value in obj.items()}


def test_project_csv_writes_relations_as_keys_with_roles(api):
    rows = {row["slug"]: row for row in get_csv(api, "/api/v1/projects/")}
    link = rows["pakistan-china-fiber-optic-project"]
    assert link["countries"] == "PK:host; CN:transit"
    assert "huawei:contractor" in link["companies"].split("; ")
    assert link["type"] == "fiber-link"
    assert link["completed"] == "2018-07-13"
    assert link["initiatives"] == "china-pakistan-economic-corridor; digital-silk-road"


def test_csv_follows_the_filters_and_pagination(api):
    rows = get_csv(api, "/api/v1/projects/", country="pk", page_size=2)
    assert len(rows) == 2
    response = api.get("/api/v1/projects/", {"country": "pk", "page_size": 2, "format": "csv"})
    assert 'rel="next"' in response["Link"]
    assert response["X-Total-Count"] == "4"


def test_csv_is_chosen_by_the_accept_header_too(api):
    response = api.get("/api/v1/countries/", HTTP_ACCEPT="text/csv")
    assert response["Content-Type"].startswith("text/csv")


def test_csv_errors_are_still_errors(api):
    response = api.get("/api/v1/projects/", {"country": "zz", "format": "csv"})
    assert response.status_code == 400
    assert "Unknown country code" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/projects/", "/api/v1/countries/"])
def test_geojson_is_a_feature_collection_matching_the_json(api, url):
    objects = get_json(api, url)["results"]
    collection = get_geojson(api, url)
    assert collection["type"] == "FeatureCollection"
    assert collection["count"] == len(objects)
    assert len(collection["features"]) == len(objects)
    for feature, obj in zip(collection["features"], objects, strict=True):
        assert feature["type"] == "Feature"
        assert feature["id"] == obj["id"]
        assert_valid_geojson_point(feature["geometry"])
        without = {k: v for k, v in obj.items() if k != "geometry"}
        if obj.get("geometry", ...) is None:
            without["geometry"] = None  # "no geometry: the Point is only the coordinates"
        assert feature["properties"] == without


def test_project_points_are_longitude_then_latitude(api):
    collection = get_geojson(api, "/api/v1/projects/", q="Islamabad Safe City")
    feature = next(
        f for f in collection["features"] if f["properties"]["slug"] == "islamabad-safe-city"
    )
    props = feature["properties"]
    assert feature["geometry"]["coordinates"] == [props["longitude"], props["latitude"]]


def test_a_single_object_renders_as_one_feature(api):
    response = api.get("/api/v1/countries/ke/", {"format": "geojson"})
    feature = json.loads(response.content)
    assert feature["type"] == "Feature"
    assert feature["properties"]["iso2"] == "KE"


def test_geojson_is_only_offered_where_there_is_geography(api):
    response = api.get("/api/v1/companies/", {"format": "geojson"})
    assert response.status_code == 400
    assert "format" in response.json()
