"""Helpers for Stripe-path tests: signing webhooks with Stripe's scheme, a fake Stripe API."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

WEBHOOK_SECRET = "whsec_test_threadly"
# Nothing listens there (port 9, "discard"): a Stripe API call that should not happen fails.
CLOSED_PORT_URL = "http://127.0.0.1:9"
# A valid checkout address form submission.
ADDRESS = {
    "address_mode": "new",
    "full_name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postcode": "N1 9GU",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(event_id: str, event_type: str, obj: dict) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
        }
    )


def post_event(client, payload: str, **headers):
    """Deliver a Stripe event to the payments webhook, which the Stripe gateway parses.

    The Stripe gateway is the one chosen by STRIPE_SECRET_KEY (the local gateway refuses every
    webhook). Tests that did not switch Stripe on get a key for the delivery only, with the API
    pointed at a closed local port: checkouts made with the local gateway keep using it for
    refunds and payouts, and a call that wrongly went to Stripe fails instead of leaving the
    machine.
    """
    from django.conf import settings
    from django.test import override_settings
    from django.urls import reverse

    stripe_on = override_settings(
        STRIPE_SECRET_KEY=settings.STRIPE_SECRET_KEY or "sk_test_webhook_only",
        STRIPE_API_BASE=settings.STRIPE_API_BASE or CLOSED_PORT_URL,
    )
    with stripe_on:
        return client.post(
            reverse("orders:payments_webhook"), payload, content_type="application/json", **headers
        )


def deliver_dispute(client, event_id: str, event_type: str, order, **fields):
    """Deliver a signed charge.dispute.* event about `order`'s payment (the webhook must
    answer 200), then refresh `order`. `fields` go into the dispute object (e.g. status)."""
    from orders.models import Checkout

    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_1",
        "payment_intent": Checkout.objects.get(pk=order.checkout_id).payment_intent_ref,
        **fields,
    }
    payload = event(event_id, event_type, dispute)
    response = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return response


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Turn Stripe's form encoding (a[b][0][c]=v) into nested dicts/lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part, nxt in zip(parts, parts[1:] + [None], strict=True):
            if nxt is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})

    def fix(node):
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [fix(node[k]) for k in sorted(node, key=int)]
            return {k: fix(v) for k, v in node.items()}
        return node

    return fix(root)


class FakeStripe:
    """A tiny local server answering like Stripe's API for the calls Threadly makes.

    Records every request (method, path, params, Idempotency-Key) in `requests`, and honours
    idempotency keys like Stripe: the same key returns the same object.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.objects: dict[str, dict] = {}
        self.by_key: dict[str, dict] = {}
        self.counter = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                fake.requests.append(
                    {"method": "GET", "path": self.path, "params": {}, "idempotency_key": None}
                )
                obj = fake.objects.get(self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
                if obj is None:
                    self._reply(
                        404,
                        {"error": {"type": "invalid_request_error", "message": "No such object"}},
                    )
                else:
                    self._reply(200, obj)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                params = _nest(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                fake.requests.append(
                    {"method": "POST", "path": self.path, "params": params, "idempotency_key": key}
                )
                with fake.lock:
                    if key and key in fake.by_key:
                        self._reply(200, fake.by_key[key])
                        return
                    status, body = fake.handle(self.path, params)
                    if key and status == 200:
                        fake.by_key[key] = body
                self._reply(status, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeStripe":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}"

    def _store(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def handle(self, path: str, p: dict) -> tuple[int, dict]:
        if path == "/v1/checkout/sessions":
            sid = self._id("cs_test")
            return 200, self._store(
                {
                    "id": sid,
                    "object": "checkout.session",
                    "url": f"{self.url}/pay/{sid}",
                    "payment_status": "unpaid",
                    "status": "open",
                    "payment_intent": None,
                    "metadata": p.get("metadata", {}),
                    "client_reference_id": p.get("client_reference_id"),
                    "amount_total": sum(
                        int(li["price_data"]["unit_amount"]) * int(li["quantity"])
                        for li in p.get("line_items", [])
                    ),
                    "payment_intent_data": p.get("payment_intent_data"),
                    "expires_at": int(p["expires_at"]) if p.get("expires_at") else None,
                }
            )
        if path == "/v1/refunds":
            return 200, self._store(
                {
                    "id": self._id("re"),
                    "object": "refund",
                    "status": "succeeded",
                    "amount": int(p["amount"]),
                    "payment_intent": p["payment_intent"],
                    "metadata": p.get("metadata", {}),
                }
            )
        if path == "/v1/transfers":
            return 200, self._store(
                {
                    "id": self._id("tr"),
                    "object": "transfer",
                    "amount": int(p["amount"]),
                    "currency": p["currency"],
                    "destination": p["destination"],
                    "transfer_group": p.get("transfer_group"),
                }
            )
        if path.startswith("/v1/transfers/") and path.endswith("/reversals"):
            return 200, self._store(
                {
                    "id": self._id("trr"),
                    "object": "transfer_reversal",
                    "amount": int(p["amount"]),
                    "transfer": path.split("/")[3],
                }
            )
        if path == "/v1/accounts":
            return 200, self._store(
                {
                    "id": self._id("acct"),
                    "object": "account",
                    "details_submitted": False,
                    "charges_enabled": False,
                    "payouts_enabled": False,
                    "email": p.get("email"),
                }
            )
        if path == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "url": f"{self.url}/onboard/{p['account']}",
                "expires_at": 0,
                "created": 0,
            }
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unknown {path}"}}

    def pay_session(self, session_id: str) -> dict:
        """Simulate the buyer paying on Stripe: the session is paid with a PaymentIntent."""
        session = self.objects[session_id]
        session["payment_status"] = "paid"
        session["status"] = "complete"
        session["payment_intent"] = self._id("pi")
        return session

    def posts(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]
