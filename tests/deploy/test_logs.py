"""Logs as JSON lines for collectors (LOG_FORMAT=json, the production default)."""

import json
import logging
import subprocess
import sys

from dsr_kb.logs import JSONFormatter
from tests.support import ROOT, child_environment


def test_a_record_is_one_json_object_with_its_extra_fields():
    record = logging.LogRecord(
        "projects.tasks", logging.WARNING, __file__, 1, "Stuck %s", (3,), None
    )
    record.document = 42
    line = JSONFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "projects.tasks"
    assert entry["message"] == "Stuck 3" and entry["document"] == 42
    assert entry["time"].endswith("+00:00")


def test_an_exception_is_kept_inside_the_object():
    try:
        raise ValueError("bad file")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JSONFormatter().format(record))
    assert "ValueError: bad file" in entry["exception"]


def test_production_settings_log_json_by_default():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    env = child_environment(
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.production",
        SECRET_KEY="x" * 64,
        DATABASE_URL="postgres://app@localhost/dsr_kb",
    )
    env.pop("LOG_FORMAT", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "json"
