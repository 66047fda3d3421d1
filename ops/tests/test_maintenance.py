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
