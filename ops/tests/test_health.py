"""Health endpoints, the status page and request metrics."""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from core import metrics
from ops import health
from ops.models import Incident

pytestmark = pytest.mark.django_db


def test_api_health_reports_ok_version_and_is_never_cached(client, settings):
    """GET /api/health answers ok with the version and a no-cache header."""
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == settings.VERSION
    assert body["timestamp"]
    assert "no-cache" in response["Cache-Control"]


def test_health_lists_every_service_and_integration(client):
    """GET /health reports core services and each integration as configured or not."""
    response = client.get("/health")
    assert response.status_code == 200
    services = response.json()["services"]
    for name in ("database", "cache", "storage", "task_queue", "stripe", "posthog", "resend"):
        assert name in services
    assert services["database"]["ok"] is True
    assert services["stripe"]["configured"] is False
    assert "no-cache" in response["Cache-Control"]


def test_health_names_the_failing_dependency_with_503(client, monkeypatch):
    """A broken cache makes /health answer 503 with "cache" in failed."""

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(health.cache, "set", broken)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


def test_health_reports_configured_integration_unreachable(client, settings):
    """A configured integration whose host refuses connections is reported as failed."""
    settings.POSTHOG_KEY = "phc_test"
    settings.POSTHOG_HOST = "http://127.0.0.1:9"  # discard port: nothing listens
    response = client.get("/health")
    assert response.status_code == 503
    assert "posthog" in response.json()["failed"]


def test_health_db_reports_latency_and_connections(client):
    """GET /api/health/db gives latency in ms and (on PostgreSQL) a connection count."""
    response = client.get("/api/health/db")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["latency"] >= 0
    if connection.vendor == "postgresql":
        assert body["connections"] >= 1
    else:
        assert body["connections"] is None


def test_health_db_503_when_database_fails(client, monkeypatch):
    """A failing database gives 503 naming it."""

    def broken(self, *args, **kwargs):
        raise RuntimeError("db down")

    from ops import views

    monkeypatch.setattr(type(views.connection), "cursor", broken, raising=False)
    response = client.get("/api/health/db")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


def test_status_page_shows_services_and_open_incident(client):
    """The public status page lists services and an open incident."""
    Incident.objects.create(message="P1 checkout errors, investigating", severity="P1")
    response = client.get(reverse("ops:status"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "P1 checkout errors, investigating" in content
    assert "investigating an incident" in content
    assert "Database" in content


def test_metrics_middleware_counts_requests_and_errors(client):
    """Each request adds to the minute's count; 5xx responses add to errors."""
    client.get("/robots.txt")
    client.get("/robots.txt")
    snap = metrics.snapshot(minutes=1)
    assert snap.requests == 2
    assert snap.errors == 0
    assert snap.p95_ms is not None


def test_metrics_p95_and_error_rate_from_histogram():
    """p95 is the bucket bound holding the 95th percentile; error rate is a percentage."""
    now = 1_800_000_000.0
    for _ in range(90):
        metrics.record(duration_ms=20, status_code=200, now=now)
    for _ in range(10):
        metrics.record(duration_ms=1500, status_code=500, now=now)
    snap = metrics.snapshot(minutes=5, now=now)
    assert snap.requests == 100
    assert snap.error_rate == 10.0
    assert snap.p95_ms == 2000


def test_health_endpoints_skip_metrics(client):
    """Health polling does not count as traffic."""
    client.get("/api/health")
    assert metrics.snapshot(minutes=1).requests == 0


# --- health probes answer whatever the Host (as the container is probed) ----------------------
DOCUMENTED_HOSTS = ["threadly.example", "www.threadly.example"]  # .env.example's ALLOWED_HOSTS


@pytest.mark.parametrize("path", ["/api/health", "/health", "/api/health/db"])
def test_health_endpoints_answer_a_probe_by_ip(client, settings, path):
    """With the documented ALLOWED_HOSTS, a probe sent to the container's IP gets its answer."""
    settings.ALLOWED_HOSTS = DOCUMENTED_HOSTS
    response = client.get(path, HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/", "/status", "/api/health/", "/healthz", "/accounts/login/"])
def test_other_paths_still_refuse_an_unknown_host(client, settings, path):
    """Only the exact health paths skip the Host check: the rest of the site answers 400."""
    settings.ALLOWED_HOSTS = DOCUMENTED_HOSTS
    assert client.get(path, HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.post("/api/health", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_a_health_probe_never_sees_the_host_it_sent(rf, settings):
    """For a probe, request.get_host() is SITE_URL's host, never the (attacker's) header."""
    from core.health_probe import HealthProbeHostMiddleware

    settings.ALLOWED_HOSTS = DOCUMENTED_HOSTS
    settings.SITE_URL = "https://threadly.example"
    seen = []
    middleware = HealthProbeHostMiddleware(lambda request: seen.append(request.get_host()))
    middleware(rf.get("/api/health", HTTP_HOST="evil.example"))
    assert seen == ["threadly.example"]


def _served_database_url() -> str:
    """A URL for the database this test runs on (SQLite file or PostgreSQL test database)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="gunicorn needs a database another process can open"
)
def test_dockerfile_healthcheck_passes_against_gunicorn_as_deployed(tmp_path):
    """The Dockerfile's HEALTHCHECK command succeeds against gunicorn run with DEBUG=0 and
    .env.example's ALLOWED_HOSTS; a page requested by IP is still refused for its Host."""
    root = Path(__file__).resolve().parents[2]
    example = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", (root / ".env.example").read_text(), re.M))
    healthcheck = re.search(r"^\s*CMD (curl .*)$", (root / "Dockerfile").read_text(), re.M).group(1)
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "threadly.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": example["ALLOWED_HOSTS"],
        "SECRET_KEY": "x3J9-very-long-random-production-secret-key-0123456789abcdef",
        "ALLOW_TEST_PAYMENTS": "1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "LOG_DIR": str(tmp_path / "logs"),
        # The migrated test database (a real deployment has its own), so pages can render.
        "DATABASE_URL": _served_database_url(),
        "REDIS_URL": "",
        # Its own static root: collectstatic rewriting the project's would pull files from
        # under the tests of other workers, whose WhiteNoise lists that folder.
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    # As the image does at build time: the error pages need the static files manifest.
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=root,
        env=env,
        check=True,
        timeout=120,
    )
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn on 127.0.0.1
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "threadly.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        check = subprocess.run(  # noqa: S603 - the Dockerfile's own command
            ["/bin/sh", "-c", healthcheck], env=env, capture_output=True, timeout=10, check=False
        )
        assert check.returncode == 0, check
        assert b'"status": "ok"' in check.stdout
        connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        statuses = {}
        for path in ("/api/health", "/"):
            connection_.request("GET", path, headers={"Host": "10.0.0.7:8000"})
            response = connection_.getresponse()
            response.read()
            statuses[path] = response.status
        connection_.close()
    finally:
        server.terminate()
        try:
            _, errors = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate(timeout=5)
    assert statuses["/api/health"] == 200
    assert statuses["/"] == 400  # any other page is refused for its Host
    assert b"Invalid HTTP_HOST header: '10.0.0.7:8000'" in errors  # logged as a security event


# --- every check can fail -----------------------------------------------------------------------
def test_health_503_when_the_database_query_fails(client, monkeypatch):
    """/health's database check fails (503, "database") when the query raises."""

    def broken(self, *args, **kwargs):
        raise RuntimeError("db down")

    monkeypatch.setattr(type(health.connection), "cursor", broken, raising=False)
    monkeypatch.setattr(health, "core_checks", lambda: [health.check_database()])
    response = client.get("/health")
    assert response.status_code == 503
    assert "database" in response.json()["failed"]


def test_health_503_when_storage_write_fails(client, monkeypatch):
    """The storage probe writes a real object: a storage that raises makes /health 503."""
    from django.core.files.storage import storages

    def broken(*args, **kwargs):
        raise OSError("bucket unreachable")

    monkeypatch.setattr(storages["default"], "save", broken)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_storage_probe_reads_back_what_it_wrote(monkeypatch):
    """A storage that accepts the write but returns other content fails the probe."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    storage = storages["default"]
    monkeypatch.setattr(storage, "open", lambda name, mode="rb": ContentFile(b"stale"))
    check = health.check_storage()
    assert check.ok is False
    assert "not read back" in check.error
    assert not list((Path(storage.location) / "health").glob("*"))  # deleted anyway


def test_s3_probe_uses_aws_s3_endpoint_url():
    """With a bucket, the S3 reachability probe goes to AWS_S3_ENDPOINT_URL, read by settings."""
    code = (
        "import django; django.setup(); from ops import health; print(health.integrations()['s3'])"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "threadly.settings",
            "DEBUG": "1",
            "AWS_STORAGE_BUCKET_NAME": "threadly-media",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:9000"


def test_task_queue_is_a_warning_without_a_recent_worker_heartbeat(client):
    """No heartbeat, or one older than 5 minutes: task_queue fails as a warning, /health 200."""
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["warnings"] == ["task_queue"]
    assert body["services"]["task_queue"]["ok"] is False
    assert body["services"]["task_queue"]["critical"] is False
    health.worker_heartbeat(now=time.time() - 6 * 60)
    assert health.check_task_queue().ok is False
    health.worker_heartbeat()
    assert health.check_task_queue().ok is True


def test_worker_tick_writes_the_heartbeat(monkeypatch):
    """Each run_worker tick records the heartbeat /health reads."""
    from ops import scheduler

    monkeypatch.setattr(scheduler, "SCHEDULE", [])
    assert health.check_task_queue().ok is False
    scheduler.run_tick(0)
    check = health.check_task_queue()
    assert check.ok is True
    assert "worker seen" in check.detail
