"""Payment events in Threadly's own words: what a gateway's webhook (or its replay) tells us.

Each gateway adapter turns its vendor's payload into one of these frozen dataclasses, so
orders/services/webhooks.py never reads a vendor's shapes. Every event carries the vendor's
`event_id` and `event_type`, which are stored (orders.models.PaymentEvent) so a redelivery is
applied once. The base class is `GatewayEvent`, not to be confused with that model.
"""

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

# The columns that store an event (orders.models.PaymentEvent): a longer id or type is refused
# as malformed instead of failing on insert.
EVENT_ID_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 100


@dataclass(frozen=True)
class SellerAccountStatus:
    account_id: str
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool


@dataclass(frozen=True, kw_only=True)
class CheckoutRef:
    """How to find the checkout a payment event is about, tried in this order.

    `public_id` is ours (the payment carries it when Threadly created it). When `session_ref`
    is set the event is about a payment page, found by Checkout.gateway_ref alone; otherwise the
    payment's `payment_intent_ref`, then `charge_ref`, are tried.
    """

    public_id: UUID | None = None
    session_ref: str = ""
    payment_intent_ref: str = ""
    charge_ref: str = ""


@dataclass(frozen=True, kw_only=True)
class GatewayEvent:
    """A verified event from the payment gateway."""

    event_id: str
    event_type: str


@dataclass(frozen=True, kw_only=True)
class Ignored(GatewayEvent):
    """An event Threadly does not act on (an unknown type, or one that changes nothing, such
    as a session completed without payment). It is still stored, so it is answered once."""


@dataclass(frozen=True, kw_only=True)
class PaymentSucceeded(GatewayEvent):
    """The buyer paid: the checkout's orders become paid."""

    checkout: CheckoutRef
    payment_intent_ref: str = ""
    charge_ref: str = ""


@dataclass(frozen=True, kw_only=True)
class PaymentFailed(GatewayEvent):
    """The payment was declined: the checkout is cancelled and its stock released."""

    checkout: CheckoutRef


@dataclass(frozen=True, kw_only=True)
class SessionExpired(GatewayEvent):
    """The payment page closed without a payment (it expired, or a delayed payment method
    failed): the checkout ends expired and its stock is released."""

    checkout: CheckoutRef


@dataclass(frozen=True, kw_only=True)
class RefundLine:
    """One refund of a payment as the gateway reports it."""

    gateway_ref: str
    succeeded: bool
    # Our Refund.pk, when Threadly asked for this refund (None: made elsewhere).
    refund_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class RefundUpdated(GatewayEvent):
    """Refunds of a payment changed: ours are confirmed; a full refund made outside Threadly
    (e.g. the vendor's dashboard) refunds every order."""

    checkout: CheckoutRef
    refunded_in_full: bool
    refunds: tuple[RefundLine, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DisputeOpened(GatewayEvent):
    """The buyer's bank disputed the payment: paid orders are held as disputed."""

    checkout: CheckoutRef
    dispute_ref: str


@dataclass(frozen=True, kw_only=True)
class DisputeClosed(GatewayEvent):
    """A dispute ended, won or lost (an inquiry closed without a chargeback counts as won)."""

    checkout: CheckoutRef
    dispute_ref: str
    outcome: Literal["won", "lost"]


@dataclass(frozen=True, kw_only=True)
class SellerAccountUpdated(GatewayEvent):
    """A seller's payment account changed (onboarding finished, payouts enabled...)."""

    status: SellerAccountStatus
