"""The background worker runs each periodic job on its schedule and survives a failing one."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketplace.models import Listing
from ops.management.commands import run_worker
from orders.models import Checkout
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def test_worker_once_releases_an_expired_checkout_hold():
    """`run_worker --once` runs release_reservations: an expired hold gives its stock back."""
    listing = ListingFactory()
    checkout = start_checkout(UserFactory(), [listing])
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert Listing.objects.get(pk=listing.pk).quantity == 0

    call_command("run_worker", "--once")

    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.EXPIRED
    assert Listing.objects.get(pk=listing.pk).quantity == 1


def test_worker_schedule_runs_jobs_at_their_intervals(monkeypatch):
    """Minute 0 runs every job, minute 1 only the holds, minute 5 the holds, offer expiry,
    refunds, alerts and unread-message emails."""
    ran: list[str] = []
    monkeypatch.setattr(run_worker, "call_command", lambda name, *a, **k: ran.append(name))
    assert run_worker.run_tick(0) == [
        "release_reservations",
        "offers_expire",
        "retry_refunds",
        "ops_status",
        "complete_orders",
        "db_backup",
        "search_reindex",
        "saved_searches_digest",
        "followers_digest",
        "messages_notify_unread",
        "search_words_refresh",
        "listing_views_flush",
    ]
    assert run_worker.run_tick(1) == ["release_reservations", "listing_views_flush"]
    assert run_worker.run_tick(5) == [
        "release_reservations",
        "offers_expire",
        "retry_refunds",
        "ops_status",
        "messages_notify_unread",
        "listing_views_flush",
    ]
    assert ran.count("release_reservations") == 3
    assert ran.count("retry_refunds") == 2
    assert ran.count("complete_orders") == 1


def test_a_failing_job_does_not_stop_the_others(monkeypatch):
    """One job raising is logged; the jobs after it still run."""
    ran: list[str] = []

    def fake(name, *args, **kwargs):
        if name == "retry_refunds":
            raise RuntimeError("gateway down")
        ran.append(name)

    monkeypatch.setattr(run_worker, "call_command", fake)
    run_worker.run_tick(0)
    assert ran == [
        "release_reservations",
        "offers_expire",
        "ops_status",
        "complete_orders",
        "db_backup",
        "search_reindex",
        "saved_searches_digest",
        "followers_digest",
        "messages_notify_unread",
        "search_words_refresh",
        "listing_views_flush",
    ]
