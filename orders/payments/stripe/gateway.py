"""Stripe Connect gateway (used when STRIPE_SECRET_KEY is set).

Money flow ("separate charges and transfers", docs/payments.md): the buyer pays the platform
once per checkout through Stripe Checkout with a transfer_group; each seller's share is
transferred to their connected account when their order completes. Every POST carries an
Idempotency-Key derived from the checkout/order and the operation. SDK errors become one
IntegrationError. STRIPE_API_BASE points the SDK at a local emulator (tests). Webhooks are
verified and turned into our events in orders/payments/stripe/webhooks.py.
"""

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import stripe

from orders.exceptions import IntegrationError, MalformedWebhook
from orders.money import to_minor_units
from orders.payments.base import (
    PaymentRequest,
    PaymentSession,
    PaymentStatus,
    RefundResult,
    SellerAccountStatus,
    TransferResult,
)
from orders.payments.events import GatewayEvent
from orders.payments.stripe.webhooks import event_from_payload, parse_webhook, seller_account_status

logger = logging.getLogger(__name__)


class StripeGateway:
    name = "stripe"
    requires_onboarding = True

    def __init__(
        self, *, api_key: str, webhook_secrets: Sequence[str], api_base: str | None = None
    ) -> None:
        addresses = {"api": api_base, "connect": api_base} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)
        self.webhook_secrets = tuple(webhook_secrets)

    def _call(self, operation: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            raise IntegrationError(
                context={
                    "operation": operation,
                    "stripe_error": str(exc),
                    "code": getattr(exc, "code", None),
                }
            ) from exc

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the Stripe-Signature header on the raw body and map the event to ours."""
        return parse_webhook(body, headers, secrets=self.webhook_secrets)

    def undelivered_events(self, *, since: datetime) -> list[GatewayEvent]:
        """Events created since `since` whose webhook delivery failed (Events API,
        delivery_success=false), oldest first. An event we cannot read is logged and left
        out (the webhook would have refused it too)."""
        page = self._call(
            "events.list",
            self.client.v1.events.list,
            params={
                "delivery_success": False,
                "created": {"gte": int(since.timestamp())},
                "limit": 100,
            },
        )
        payloads = self._call("events.list", lambda: [e.to_dict() for e in page.auto_paging_iter()])
        events = []
        for payload in sorted(payloads, key=lambda payload: payload.get("created", 0)):
            try:
                events.append(event_from_payload(payload))
            except MalformedWebhook as exc:
                logger.warning("undelivered Stripe event %s left out: %s", payload.get("id"), exc)
        return events

    def start_payment(self, request: PaymentRequest) -> PaymentSession:
        params = {
            "mode": "payment",
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.checkout_id,
            "customer_email": request.buyer_email,
            "metadata": {"checkout": request.checkout_id},
            "payment_intent_data": {
                "transfer_group": request.transfer_group,
                "metadata": {"checkout": request.checkout_id},
            },
            "line_items": [
                {
                    "quantity": line.quantity,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": to_minor_units(line.amount),
                        "product_data": {"name": line.title},
                    },
                }
                for line in request.lines
            ],
        }
        if request.expires_at is not None:
            params["expires_at"] = int(request.expires_at.timestamp())
        session = self._call(
            "checkout.session.create",
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": f"checkout-{request.checkout_id}-session"},
        )
        return PaymentSession(
            ref=session.id, redirect_url=session.url, expires_at=request.expires_at
        )

    def fetch_payment(self, *, ref: str) -> PaymentStatus:
        session = self._call(
            "checkout.session.retrieve", self.client.v1.checkout.sessions.retrieve, ref
        ).to_dict()
        intent = session.get("payment_intent") or ""
        if isinstance(intent, dict):
            intent = intent["id"]
        return PaymentStatus(
            ref=ref, paid=session.get("payment_status") == "paid", payment_intent_ref=intent
        )

    def refund(self, *, payment_intent_ref, amount, currency, idempotency_key, metadata):
        refund = self._call(
            "refund.create",
            self.client.v1.refunds.create,
            params={
                "payment_intent": payment_intent_ref,
                "amount": to_minor_units(amount),
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return RefundResult(ref=refund.id, succeeded=refund.to_dict().get("status") == "succeeded")

    def transfer(self, *, destination, amount, currency, transfer_group, idempotency_key, metadata):
        transfer = self._call(
            "transfer.create",
            self.client.v1.transfers.create,
            params={
                "amount": to_minor_units(amount),
                "currency": currency.lower(),
                "destination": destination,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return TransferResult(ref=transfer.id)

    def reverse_transfer(self, *, transfer_ref: str, amount: Decimal, idempotency_key: str):
        reversal = self._call(
            "transfer.reversal.create",
            self.client.v1.transfers.reversals.create,
            transfer_ref,
            params={"amount": to_minor_units(amount)},
            options={"idempotency_key": idempotency_key},
        )
        return TransferResult(ref=reversal.id)

    def create_seller_account(self, *, user_id: int, email: str, idempotency_key: str) -> str:
        account = self._call(
            "account.create",
            self.client.v1.accounts.create,
            params={
                "type": "express",
                "email": email,
                "metadata": {"user": str(user_id)},
                "capabilities": {"transfers": {"requested": True}},
            },
            options={"idempotency_key": idempotency_key},
        )
        return account.id

    def create_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self._call(
            "account_link.create",
            self.client.v1.account_links.create,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            # Links are single-use; one key per account per minute still dedupes retries.
            options={"idempotency_key": f"account-{account_id}-link-{int(time.time() // 60)}"},
        )
        return link.url

    def fetch_seller_account(self, *, account_id: str) -> SellerAccountStatus:
        account = self._call("account.retrieve", self.client.v1.accounts.retrieve, account_id)
        return seller_account_status(account.to_dict())
