"""What scaling out relies on: reads on a replica, aggregates in a shared cache."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connections, transaction
from django.test import RequestFactory

from dsr_kb.routers import ReplicaReadsMiddleware, ReplicaRouter
from projects.models import Project
from tests.support import ROOT, child_environment


def test_the_replica_url_adds_a_read_replica_and_its_router():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'aliases': sorted(settings.DATABASES), "
        "'replica': settings.DATABASES['replica']['HOST'], "
        "'routers': settings.DATABASE_ROUTERS}))"
    )
    env = child_environment(
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.base",
        DATABASE_URL="postgres://app@primary.internal:5432/dsr_kb",
        DATABASE_REPLICA_URL="postgres://app@replica.internal:5432/dsr_kb",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout.strip().splitlines()[-1])
    assert settings == {
        "aliases": ["default", "replica"],
        "replica": "replica.internal",
        "routers": ["dsr_kb.routers.ReplicaRouter"],
    }


def routed_read(request, *, in_transaction=False) -> str | None:
    """Which database the router picks for a read made while handling `request`."""
    seen = []

    def view(request):
        if in_transaction:
            with transaction.atomic(using="default"):
                seen.append(ReplicaRouter().db_for_read(Project))
        else:
            seen.append(ReplicaRouter().db_for_read(Project))
        return None

    ReplicaReadsMiddleware(view)(request)
    return seen[0]


def test_only_anonymous_reads_outside_transactions_go_to_the_replica(transactional_db):
    factory = RequestFactory()
    anonymous_get = factory.get("/projects/")
    anonymous_get.user = AnonymousUser()
    assert routed_read(anonymous_get) == "replica"
    assert routed_read(anonymous_get, in_transaction=True) is None, (
        "a transaction reads the primary"
    )

    editor_get = factory.get("/projects/")
    editor_get.user = SimpleNamespace(is_authenticated=True)
    assert routed_read(editor_get) is None, "an editor sees their own edits at once"

    anonymous_post = factory.post("/api/v1/documents/")
    anonymous_post.user = AnonymousUser()
    assert routed_read(anonymous_post) is None
    assert ReplicaRouter().db_for_read(Project) is None, "outside a request: the primary"
    assert ReplicaRouter().db_for_write(Project) == "default"
    assert not ReplicaRouter().allow_migrate("replica", "projects")
    assert "replica" not in connections.settings, "tests run with one database"


@pytest.fixture
def aggregate_cache(settings):
    settings.AGGREGATE_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_visitors_share_cached_aggregates_and_editors_see_fresh_ones(
    aggregate_cache, client, make_project, django_assert_max_num_queries, admin_client
):
    url = "/api/v1/stats/?group_by=type"
    first = client.get(url).json()
    with django_assert_max_num_queries(2):  # the content's version, and no aggregate query
        second = client.get(url).json()
    assert first == second

    # The cache key holds the content's version, which rises when a write commits (see
    # tests/test_caching.py); this test's transaction never commits.
    make_project(slug="fresh-one", name="Fresh one", publication="published")
    assert client.get(url).json() == first
    fresh = admin_client.get(url).json()
    assert fresh != first, "an editor always gets fresh figures"


def test_the_cache_is_redis_when_cache_url_is_set():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'])"
    )
    env = child_environment(
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.base",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://app@localhost/dsr_kb"),
        CACHE_URL="redis://127.0.0.1:6379/3",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith("RedisCache")
