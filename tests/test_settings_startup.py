"""Production start-up refuses unsafe settings: no secret key, the dev key, no allowed hosts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "x3J9-very-long-random-production-secret-key-0123456789abcdef"
DEV_KEY = "django-insecure-threadly-local-development-key-do-not-use-in-production"


def start_django(
    *, then: str = "print('started')", **env_values: str
) -> subprocess.CompletedProcess:
    """Run `django.setup()`, then the code `then`, in a fresh interpreter with only the given
    settings variables."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "threadly.settings",
        **env_values,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {then}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env_values", "expected"),
    [
        pytest.param({"ALLOWED_HOSTS": "threadly.example"}, "SECRET_KEY", id="no-secret-key"),
        pytest.param(
            {"SECRET_KEY": DEV_KEY, "ALLOWED_HOSTS": "threadly.example"},
            "SECRET_KEY",
            id="development-key",
        ),
        pytest.param(
            {"SECRET_KEY": "short", "ALLOWED_HOSTS": "threadly.example"},
            "SECRET_KEY",
            id="short-key",
        ),
        pytest.param({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS", id="no-allowed-hosts"),
        pytest.param(
            {"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS", id="blank-hosts"
        ),
    ],
)
def test_startup_with_debug_off_refuses_unsafe_settings_with_a_clear_message(env_values, expected):
    """With DEBUG=0, a missing/default/short SECRET_KEY or empty ALLOWED_HOSTS stops start-up."""
    result = start_django(DEBUG="0", **env_values)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert f"{expected} " in result.stderr  # the message names the variable to set


def test_startup_with_debug_off_and_proper_values_starts():
    """With DEBUG=0, a long random SECRET_KEY and ALLOWED_HOSTS, Django starts."""
    result = start_django(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="threadly.example")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_startup_with_debug_on_needs_no_secret_key():
    """Local development (DEBUG=1) starts with the development key and default hosts."""
    result = start_django(DEBUG="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("level", ["warning", "WARNING", "Info"])
def test_log_level_in_any_case_starts(level):
    """LOG_LEVEL=warning (gunicorn's spelling) is as good as WARNING for Django's logging."""
    result = start_django(
        DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.example", LOG_LEVEL=level
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "[60, 300, 1800]"), ("5, 10", "[5, 10]"), ("none", "[]"), ("0", "[0]")],
)
def test_task_retry_delays_are_whole_seconds_or_none(value, expected):
    """TASK_RETRY_DELAYS: empty is the default (1, 5 and 30 minutes), "none" turns retries off."""
    result = start_django(
        DEBUG="1",
        TASK_RETRY_DELAYS=value,
        then="from django.conf import settings; print(settings.TASK_RETRY_DELAYS)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["soon", "60,-1", "1.5"])
def test_task_retry_delays_that_are_not_seconds_stop_start_up(value):
    result = start_django(DEBUG="1", TASK_RETRY_DELAYS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "TASK_RETRY_DELAYS must be whole seconds" in result.stderr
