import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_anonymous_clients_are_throttled_with_a_429(api, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    cache.clear()
    statuses = [api.get("/api/v1/project-types/").status_code for _ in range(4)]
    cache.clear()
    assert statuses == [200, 200, 200, 429]


def test_the_rates_come_from_the_environment():
    script = (
        "import django; django.setup(); from django.conf import settings;"
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dsr_kb.settings.base",
        "API_ANON_THROTTLE_RATE": "7/hour",
        "API_USER_THROTTLE_RATE": "70/hour",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "{'anon': '7/hour', 'user': '70/hour'}", result.stderr
