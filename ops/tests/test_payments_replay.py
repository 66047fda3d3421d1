"""payments_replay against a local server that answers like Stripe's Events API."""

import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.models import AuditLog

pytestmark = pytest.mark.django_db


def _event(event_id: str, created: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "customer.created",  # a type the payments webhook ignores (2xx, recorded)
        "created": created,
        "livemode": False,
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }


class _FakeStripe(BaseHTTPRequestHandler):
    queries: list[dict] = []
    extra: list[dict] = []

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        type(self).queries.append(parse_qs(parts.query))
        body = {
            "object": "list",
            "url": "/v1/events",
            "has_more": False,
            "data": [
                _event("evt_2", 1_900_000_100),
                _event("evt_1", 1_900_000_000),
                *type(self).extra,
            ],
        }
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_stripe(settings):
    _FakeStripe.queries = []
    _FakeStripe.extra = []
    server = HTTPServer(("127.0.0.1", 0), _FakeStripe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_SECRET_KEY = "sk_test_replay"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def run(*args) -> str:
    out = io.StringIO()
    call_command("payments_replay", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_payments_replay_applies_undelivered_events_once(fake_stripe):
    """Undelivered events are fetched (delivery_success=false) and applied idempotently."""
    from orders.models import PaymentEvent

    out = run("--no-progress")
    assert "2 applied" in out
    query = _FakeStripe.queries[0]
    assert query["delivery_success"] == ["false"]
    assert "created[gte]" in query
    assert set(PaymentEvent.objects.values_list("event_id", flat=True)) == {"evt_1", "evt_2"}
    assert "2 already applied" in run("--no-progress")
    assert AuditLog.objects.filter(action="payments.replayed").count() == 2


def test_payments_replay_dry_run_applies_nothing(fake_stripe):
    """--dry-run lists the events without touching the database."""
    from orders.models import PaymentEvent

    assert "would apply evt_1" in run("--dry-run")
    assert not PaymentEvent.objects.exists()


def test_payments_replay_needs_stripe_key(settings):
    """Without STRIPE_SECRET_KEY the command explains there is nothing to replay from."""
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        run()


def test_payments_replay_leaves_out_events_it_cannot_read(fake_stripe, caplog):
    """An undelivered event without data (the webhook would refuse it) is left out and logged;
    the others are applied."""
    from orders.models import PaymentEvent

    _FakeStripe.extra = [{"id": "evt_bad", "object": "event", "type": "charge.refunded"}]
    assert "2 applied" in run("--no-progress")
    assert set(PaymentEvent.objects.values_list("event_id", flat=True)) == {"evt_1", "evt_2"}
    assert any("evt_bad" in record.getMessage() for record in caplog.records)


def test_payments_replay_applies_our_events_in_created_order(fake_stripe):
    """The gateway hands the command our own events, oldest first."""
    from orders.payments.events import Ignored

    assert "would apply evt_1 customer.created\nwould apply evt_2" in run("--dry-run")
    from orders.payments import get_gateway

    events = get_gateway().undelivered_events(since=timezone.now() - timedelta(days=30))
    assert events == [
        Ignored(event_id="evt_1", event_type="customer.created"),
        Ignored(event_id="evt_2", event_type="customer.created"),
    ]
