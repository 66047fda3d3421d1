import re
from pathlib import Path

import pytest
from django.db import transaction

from core import analytics

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "marketplace", "orders", "ops")


def test_no_caller_wraps_capture_on_commit_in_on_commit_again():
    """Every service calls analytics.capture_on_commit directly: the deferral is its own job."""
    wrapped = re.compile(r"on_commit\(\s*(lambda[^:]*:\s*)?analytics\.capture", re.S)
    offenders = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if wrapped.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.django_db(transaction=True)
def test_capture_on_commit_drops_the_event_of_rolled_back_work(settings):
    """An event captured inside a transaction that rolls back is never recorded."""
    settings.POSTHOG_KEY = ""
    backend = analytics.get_backend()
    backend.clear()

    def rolled_back() -> None:
        with transaction.atomic():
            analytics.capture_on_commit(None, "search_performed", q="denim")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rolled_back()
    with transaction.atomic():
        analytics.capture_on_commit(None, "search_performed", q="linen")
    assert [e.properties["q"] for e in backend.events] == ["linen"]


@pytest.mark.django_db
def test_capture_on_commit_sends_properties_as_json(settings, django_capture_on_commit_callbacks):
    """Properties travel as task arguments: a Decimal arrives as its string, a date as ISO 8601."""
    from datetime import date
    from decimal import Decimal

    settings.POSTHOG_KEY = ""
    backend = analytics.get_backend()
    backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        analytics.capture_on_commit(None, "order_paid", total=Decimal("24.50"), on=date(2026, 3, 2))
    assert [e.properties for e in backend.events] == [{"total": "24.50", "on": "2026-03-02"}]
