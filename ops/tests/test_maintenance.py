"""Maintenance mode: env switch, command, exemptions."""

import pytest
from django.core.management import call_command

from accounts.tests.factories import UserFactory
from core import maintenance
from core.models import AuditLog

pytestmark = pytest.mark.django_db


def test_maintenance_command_turns_site_off_and_on(client):
    """`maintenance on` serves a 503 page with Retry-After; `off` restores the site."""
    call_command("maintenance", "on")
    response = client.get("/robots.txt")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "tidy-up" in response.content.decode()
    assert AuditLog.objects.filter(action="ops.maintenance_on").exists()
    call_command("maintenance", "off")
    assert client.get("/robots.txt").status_code == 200


def test_maintenance_env_setting_forces_503(client, settings):
    """MAINTENANCE_MODE=1 puts the site in maintenance without any switch."""
    settings.MAINTENANCE_MODE = True
    assert client.get("/robots.txt").status_code == 503
    assert client.get("/api/anything").json()["status"] == "maintenance"


@pytest.mark.parametrize(
    "path", ["/api/health", "/health", "/api/health/db", "/admin/login/", "/status"]
)
def test_maintenance_keeps_health_admin_login_and_status_up(client, settings, path):
    """Health endpoints, the admin login and the status page stay up during maintenance."""
    settings.MAINTENANCE_MODE = True
    assert client.get(path).status_code == 200


def test_maintenance_lets_webhooks_through(client, settings):
    """Payment webhooks are never answered with the maintenance page."""
    settings.MAINTENANCE_MODE = True
    assert client.post("/api/webhooks/stripe/").status_code != 503


def test_staff_users_browse_during_maintenance(client, settings):
    """Staff see the site during maintenance; members get the 503."""
    settings.MAINTENANCE_MODE = True
    member = UserFactory()
    client.force_login(member)
    assert client.get("/robots.txt").status_code == 503
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/robots.txt").status_code == 200


def test_maintenance_switch_survives_cache_flush():
    """The switch lives in the database; the cache only speeds it up."""
    maintenance.maintenance_set(enabled=True)
    from django.core.cache import cache

    cache.clear()
    assert maintenance.is_enabled() is True


def _refused_database_env(tmp_path) -> dict:
    """Environment for a manage.py run whose PostgreSQL refuses connections and that has no
    shared cache (the worst day: nothing but this host)."""
    import os
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = sock.getsockname()[1]
    sock.close()
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://threadly@127.0.0.1:{port}/threadly",
        "REDIS_URL": "",
        "MAINTENANCE_FLAG_FILE": str(tmp_path / "maintenance.flag"),
    }


def _manage(env: dict, *args: str):
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_maintenance_on_works_with_the_database_down(tmp_path):
    """The P0 runbook's `maintenance on` succeeds while PostgreSQL refuses connections: the
    host's flag file carries the mode, later runs see it, and `off` lifts it."""
    env = _refused_database_env(tmp_path)
    on = _manage(env, "maintenance", "on")
    assert on.returncode == 0, on.stderr
    assert "Maintenance mode is ON." in on.stdout
    assert "database is unreachable" in on.stderr
    assert (tmp_path / "maintenance.flag").exists()
    assert "Maintenance mode is ON." in _manage(env, "maintenance", "status").stdout
    off = _manage(env, "maintenance", "off")
    assert off.returncode == 0, off.stderr
    assert not (tmp_path / "maintenance.flag").exists()
    assert "Maintenance mode is off." in off.stdout


def test_flag_file_serves_the_maintenance_page_while_the_database_is_down(
    client, settings, tmp_path, monkeypatch
):
    """With the flag file set and the database refusing, visitors get the maintenance page
    (503 with Retry-After), not an error page."""
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    flag = tmp_path / "maintenance.flag"
    settings.MAINTENANCE_FLAG_FILE = flag
    flag.touch()

    def refused(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "_cursor", refused)
    response = client.get("/robots.txt")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "tidy-up" in response.content.decode()


def test_maintenance_state_survives_a_cache_flush_through_the_database_switch(settings):
    """A flushed cache (Redis restarted) falls back to the database switch."""
    from django.core.cache import cache

    maintenance.maintenance_set(enabled=True)
    settings.MAINTENANCE_FLAG_FILE.unlink()  # only the database remembers now
    cache.clear()
    assert maintenance.is_enabled() is True
    maintenance.maintenance_set(enabled=False)
    assert maintenance.is_enabled() is False


@pytest.mark.django_db
def test_another_hosts_switch_is_seen_within_the_recheck_interval(monkeypatch):
    """Each process remembers the shared state for RECHECK_SECONDS (no cache round trip per
    request); a change made on another host (only in the shared cache) shows after that."""
    from django.core.cache import cache

    now = [1000.0]
    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 1.0)
    monkeypatch.setattr(maintenance.time, "monotonic", lambda: now[0])
    assert maintenance.is_enabled() is False
    cache.set(maintenance.CACHE_KEY, True, None)  # what `maintenance on` elsewhere writes
    assert maintenance.is_enabled() is False
    now[0] += maintenance.RECHECK_SECONDS
    assert maintenance.is_enabled() is True
