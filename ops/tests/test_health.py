"""Health endpoints, the status page and request metrics."""

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
