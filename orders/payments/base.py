"""The payment gateway interface: only the operations Threadly uses, with our own dataclasses."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from orders.payments.events import GatewayEvent, SellerAccountStatus


@dataclass(frozen=True)
class PaymentRequestLine:
    title: str
    amount: Decimal  # per unit
    quantity: int


@dataclass(frozen=True)
class PaymentRequest:
    """Everything a gateway needs to take one payment for a checkout."""

    checkout_id: str  # Checkout.public_id as text
    buyer_email: str
    currency: str
    total: Decimal
    transfer_group: str
    lines: tuple[PaymentRequestLine, ...]
    success_url: str  # may contain {CHECKOUT_SESSION_ID}
    cancel_url: str
    # When the payment page should stop accepting payment (the reservation's end).
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PaymentSession:
    ref: str
    redirect_url: str
    # Set when the provider enforces an expiry: the reservation is aligned with it.
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PaymentStatus:
    ref: str
    paid: bool
    payment_intent_ref: str = ""


@dataclass(frozen=True)
class RefundResult:
    ref: str
    succeeded: bool


@dataclass(frozen=True)
class TransferResult:
    ref: str


class PaymentGateway(Protocol):
    name: str
    # True when sellers must finish onboarding before their listings can be bought.
    requires_onboarding: bool

    def start_payment(self, request: PaymentRequest) -> PaymentSession: ...

    def fetch_payment(self, *, ref: str) -> PaymentStatus: ...

    def refund(
        self,
        *,
        payment_intent_ref: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundResult: ...

    def transfer(
        self,
        *,
        destination: str,
        amount: Decimal,
        currency: str,
        transfer_group: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> TransferResult: ...

    def reverse_transfer(
        self, *, transfer_ref: str, amount: Decimal, idempotency_key: str
    ) -> TransferResult: ...

    def create_seller_account(self, *, user_id: int, email: str, idempotency_key: str) -> str: ...

    def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> str: ...

    def fetch_seller_account(self, *, account_id: str) -> SellerAccountStatus: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a webhook delivery on its raw body and turn it into our event.

        Raises WebhookSignatureError (unsigned, forged, stale, or a gateway that receives no
        webhooks) or MalformedWebhook (signed but unreadable), both from orders.exceptions.
        """
        ...

    def undelivered_events(self, *, since: datetime) -> "list[GatewayEvent]":
        """Events since `since` whose webhook delivery failed, oldest first, to apply again.

        Raises IntegrationError when the gateway cannot be asked.
        """
        ...
