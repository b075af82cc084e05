"""A database that cannot be reached is a 503 with Retry-After, not a 500."""

import json

from django.db import OperationalError
from django.test import RequestFactory

from dsr_kb.unavailable import DatabaseUnavailableMiddleware

middleware = DatabaseUnavailableMiddleware(lambda request: None)
OUTAGE = OperationalError("the database system is shutting down")


def test_an_api_request_gets_a_json_503_with_retry_after():
    response = middleware.process_exception(RequestFactory().get("/api/v1/projects/"), OUTAGE)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "unavailable" in json.loads(response.content)["detail"]


def test_a_page_gets_an_html_503():
    response = middleware.process_exception(RequestFactory().get("/projects/"), OUTAGE)
    assert response.status_code == 503
    assert b"Back in a moment" in response.content


def test_other_errors_are_left_to_the_usual_handling():
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None
