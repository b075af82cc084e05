import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dsr_kb.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "dsr_kb.settings.production",
    "SECRET_KEY": "k" * 30 + "-production-secret-for-tests-only-0123456789",
    "ALLOWED_HOSTS": "dsr.example.org",
    "DEBUG": "false",
}


def run_manage(*args, env):
    # The browser tests allow Django's ORM under Playwright's event loop; a deployment never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_readers_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT"):
        env_int("COUNT", 1)


def test_env_readers_parse_good_values(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    monkeypatch.setenv("HOSTS", "a.org, b.org,,")
    assert env_bool("FLAG", False) is True
    assert env_list("HOSTS", []) == ["a.org", "b.org"]
    assert env_int("UNSET_NUMBER_FOR_TEST", 7) == 7


@pytest.mark.parametrize(
    "secret", [None, "", "short", "django-insecure-development-only-key-do-not-use-in-production"]
)
def test_production_refuses_to_start_without_a_real_secret(secret):
    env = {**PRODUCTION_ENV}
    if secret is None:
        env.pop("SECRET_KEY")
        base = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
    else:
        result = run_manage("check", env={**env, "SECRET_KEY": secret})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
