"""Security headers, CORS, Sentry scrubbing and `check --deploy` with production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.sentry import before_send

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    ["/api/health", "/health", "/status", "/robots.txt", "/no-such-page/", "/accounts/login/"],
)
def test_every_response_has_csp_and_security_headers(client, path):
    """CSP (no unsafe-inline), frame-ancestors, Referrer-Policy, Permissions-Policy, nosniff."""
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_inline_scripts_carry_the_csp_nonce(client):
    """The nonce in the CSP header is the one on the page's script tags."""
    response = client.get("/status")
    csp = response["Content-Security-Policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'nonce="{nonce}"' in response.content.decode()


def test_cors_allows_configured_origin_on_api_only(client, settings):
    """/api/ answers CORS for configured origins; other origins and pages get no CORS header."""
    settings.CORS_ALLOWED_ORIGINS = ["https://app.threadly.example"]
    ok = client.get("/api/health", headers={"Origin": "https://app.threadly.example"})
    assert ok["Access-Control-Allow-Origin"] == "https://app.threadly.example"
    evil = client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil
    page = client.get("/status", headers={"Origin": "https://app.threadly.example"})
    assert "Access-Control-Allow-Origin" not in page


def test_sentry_before_send_scrubs_pii():
    """Cookies, secrets, emails and user details never reach Sentry; the user id does."""
    event = {
        "request": {
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Bearer x", "User-Agent": "ua"},
            "data": {"password": "hunter2", "title": "mail me at a@b.example"},
            "query_string": "email=a@b.example",
        },
        "user": {"id": "7", "email": "a@b.example", "ip_address": "1.2.3.4"},
        "extra": {"stripe_secret": "sk_live", "note": "fine"},
    }
    scrubbed = before_send(event, {})
    assert "cookies" not in scrubbed["request"]
    assert scrubbed["request"]["headers"]["Authorization"] == "[Filtered]"
    assert scrubbed["request"]["headers"]["User-Agent"] == "ua"
    assert scrubbed["request"]["data"]["password"] == "[Filtered]"
    assert "a@b.example" not in str(scrubbed)
    assert scrubbed["user"] == {"id": "7"}
    assert scrubbed["extra"] == {"stripe_secret": "[Filtered]", "note": "fine"}


def production_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(BASE_DIR)),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "threadly.example",
        "CSRF_TRUSTED_ORIGINS": "https://threadly.example",
        "SITE_URL": "https://threadly.example",
        "RESEND_API_KEY": "re_test_key",
        "SENTRY_DSN": "https://public@127.0.0.1:9/1",
        "LOG_FORMAT": "json",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        # Production shares one cache (core.W010 warns without it); never contacted by `check`.
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "STRIPE_SECRET_KEY": "sk_test_threadly_deploy_check",
        "STRIPE_WEBHOOK_SECRET": "whsec_threadly_deploy_check",
    }
    env.update(extra)
    return env


def test_check_deploy_with_production_env_has_no_warnings():
    """`manage.py check --deploy --fail-level WARNING` passes with production values."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_logs_are_json():
    """With LOG_FORMAT=json (production default) log lines are JSON objects."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('ops.test').warning('hello %s', 'world')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**production_env(), "DJANGO_SETTINGS_MODULE": "threadly.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"message": "hello world"' in result.stderr
