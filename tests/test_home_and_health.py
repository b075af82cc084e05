import json

import pytest
from celery import current_app
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_the_totals(client):
    response = client.get(reverse("projects:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd data-total="countries">249</dd>' in html
    assert '<dd data-total="projects">17</dd>' in html
    assert "Digital Silk Road" in html


def test_drafts_are_not_counted_for_anonymous_visitors(client, make_project):
    make_project(publication="draft")
    response = client.get(reverse("projects:home"))
    assert '<dd data-total="projects">17</dd>' in response.content.decode()


def test_healthz_says_the_process_is_alive_without_asking_the_database(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["status"] == "ok"


def test_readyz_reports_the_database_migrations_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    report = json.loads(response.content)
    assert report["status"] == "ok"
    assert report["database"]["ok"] is True
    assert report["migrations"] == {"ok": True, "pending": []}
    assert report["broker"]["ok"] is True


def test_readyz_answers_503_naming_pending_migrations(client, monkeypatch):
    from django.db.migrations import Migration
    from django.db.migrations.executor import MigrationExecutor

    # As a web replica sees the database while `migrate` of a new release has not run yet.
    pending = [(Migration("0099_next_release", "projects"), False)]
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: pending)
    response = client.get("/readyz")
    assert response.status_code == 503
    report = json.loads(response.content)
    assert report["status"] == "error"
    assert report["migrations"] == {"ok": False, "pending": ["projects.0099_next_release"]}


def test_readyz_answers_503_naming_an_unreachable_broker(client, monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(current_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(current_app.conf, "broker_transport_options", {})
    response = client.get("/readyz")
    assert response.status_code == 503
    report = json.loads(response.content)
    assert report["status"] == "error"
    assert report["database"]["ok"] is True
    assert report["broker"]["ok"] is False
    assert report["broker"]["error"]
