"""Start-up configuration: production settings pass Django's deploy checks; bad settings stop
start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "portal.example.org",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The test process's own switches (conftest sets DJANGO_ALLOW_ASYNC_UNSAFE) stay out.
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL must look like postgres://"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must look like postgres://"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must look like redis://"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "x.example.org"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "0", "SECRET_KEY": "short", "ALLOWED_HOSTS": "x"}, "SECRET_KEY must be at least 50 characters"),
        ({"DEBUG": "0", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "ALLOWED_HOSTS must be set"),
        ({"LOGIN_FAILURE_LIMIT": "five"}, "LOGIN_FAILURE_LIMIT must be a whole number"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env: dict[str, str], message: str) -> None:
    result = manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_settings_harden_cookies_and_transport(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0,"
        " s.STORAGES['staticfiles']['BACKEND'].startswith('whitenoise'))"
    )
    result = manage("shell", "--no-imports", "-c", code, **PRODUCTION, VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 5
