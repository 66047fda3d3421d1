"""The local gateway, the default with no keys: no money moves.

The buyer is sent to a clearly labelled "Test payment" page (orders:test_payment) where a
developer approves or declines; that page calls the same services the Stripe webhook calls,
so this gateway receives no webhooks and has none to replay. Refunds and transfers succeed at
once; each call is logged (logger "orders.payments.local") and otherwise leaves no trace here.
"""

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.urls import reverse

from orders.exceptions import WebhookSignatureError
from orders.payments.base import (
    PaymentRequest,
    PaymentSession,
    PaymentStatus,
    RefundResult,
    SellerAccountStatus,
    TransferResult,
)
from orders.payments.events import GatewayEvent

logger = logging.getLogger(__name__)


class LocalGateway:
    name = "local"
    requires_onboarding = False

    def _log(self, op: str, **details) -> None:
        logger.info("local gateway %s: %s", op, details)

    def start_payment(self, request: PaymentRequest) -> PaymentSession:
        ref = f"local_{request.checkout_id}"
        self._log(op="payment", ref=ref, total=request.total, currency=request.currency)
        url = reverse("orders:test_payment", kwargs={"public_id": request.checkout_id})
        return PaymentSession(ref=ref, redirect_url=url)

    def fetch_payment(self, *, ref: str) -> PaymentStatus:
        # The local payment is only ever confirmed by the test payment page.
        return PaymentStatus(ref=ref, paid=False)

    def refund(self, *, payment_intent_ref, amount, currency, idempotency_key, metadata):
        self._log(op="refund", amount=amount, currency=currency, key=idempotency_key)
        return RefundResult(ref=f"local_re_{idempotency_key}", succeeded=True)

    def transfer(self, *, destination, amount, currency, transfer_group, idempotency_key, metadata):
        self._log(
            op="transfer",
            destination=destination,
            amount=amount,
            currency=currency,
            transfer_group=transfer_group,
            key=idempotency_key,
        )
        return TransferResult(ref=f"local_tr_{idempotency_key}")

    def reverse_transfer(self, *, transfer_ref: str, amount: Decimal, idempotency_key: str):
        self._log(op="reversal", transfer=transfer_ref, amount=amount, key=idempotency_key)
        return TransferResult(ref=f"local_trr_{idempotency_key}")

    def create_seller_account(self, *, user_id: int, email: str, idempotency_key: str) -> str:
        return f"local_acct_{user_id}"

    def create_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        return return_url

    def fetch_seller_account(self, *, account_id: str) -> SellerAccountStatus:
        return SellerAccountStatus(account_id, True, True, True)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Refuse every delivery: the test payment page, not a webhook, confirms payments."""
        raise WebhookSignatureError("The local gateway receives no webhooks.")

    def undelivered_events(self, *, since: datetime) -> list[GatewayEvent]:
        """Nothing to replay: no webhook is ever sent."""
        return []
