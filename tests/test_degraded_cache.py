"""With Redis unreachable (the cache pointed at a dead port) every page still serves."""

import logging

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from core.models import Switch
from marketplace.tests.factories import CategoryFactory, ListingFactory
from ops import health

pytestmark = pytest.mark.django_db
PAGES = ["/", "/browse/", "/accounts/login/", "/cart/", "/status", "/robots.txt", "/sitemap.xml"]


def test_every_page_serves_with_redis_unreachable(client, dead_redis):
    """Home, browse, category, listing, login, cart, status, robots.txt and sitemap answer 200."""
    category = CategoryFactory()
    listing = ListingFactory(category=category)
    pages = [*PAGES, category.get_absolute_url(), listing.get_absolute_url()]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
    assert category.name in client.get("/").content.decode()  # the menu, read from the DB


def test_signed_in_member_keeps_session_with_redis_unreachable(client, dead_redis):
    """Sessions fall back to the database: a member who logs in stays logged in."""
    user = UserFactory()
    client.force_login(user)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 200
    assert response.context["user"] == user


def test_health_names_the_cache_with_503_when_redis_unreachable(client, dead_redis):
    """/health answers 503 with "cache" failed (and why), the database still fine."""
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["services"]["database"]["ok"] is True
    assert "Connection refused" in health.check_cache().error


def test_status_page_shows_cache_down_when_redis_unreachable(client, dead_redis):
    """The status page serves and shows a service down."""
    response = client.get("/status")
    assert response.status_code == 200
    assert "Some services are having problems" in response.content.decode()


def test_login_rate_limit_counts_in_process_when_redis_unreachable(client, dead_redis, settings):
    """Rate limits don't fail open: the auth limit still answers 429 past its count."""
    settings.RATELIMIT_AUTH = "3/m"
    statuses = [
        client.post("/accounts/login/", {"login": "a@example.com", "password": "x"}).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def test_maintenance_env_setting_obeyed_when_redis_unreachable(client, dead_redis, settings):
    """MAINTENANCE_MODE=1 still serves the maintenance page."""
    settings.MAINTENANCE_MODE = True
    response = client.get("/")
    assert response.status_code == 503
    assert "tidy-up" in response.content.decode()


def test_maintenance_switch_read_from_database_when_redis_unreachable(client, dead_redis):
    """The maintenance switch still works: it is read from the database instead."""
    Switch.objects.create(name="maintenance", enabled=True)
    assert client.get("/").status_code == 503


def test_redis_outage_logged_once_not_once_per_request(client, dead_redis, caplog):
    """Twenty page views log one cache warning, not one per request or per cache call."""
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            assert client.get("/browse/").status_code == 200
    cache_lines = [r for r in caplog.records if r.name == "core.cache"]
    assert len(cache_lines) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
