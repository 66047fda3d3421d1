"""Stripe webhooks: the Stripe-Signature check on the raw body, and Stripe's event payloads
turned into our own events (orders.payments.events). Nothing outside orders/payments/stripe/
reads a Stripe object.

A correctly signed delivery we cannot read (not an object, no id or data, an id too long to
store, a field of the wrong type, a checkout reference that is not a UUID) raises
MalformedWebhook, so the view answers 400 and stores nothing instead of failing with a 500.
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import stripe

from orders.exceptions import MalformedWebhook, WebhookSignatureError
from orders.payments.events import (
    EVENT_ID_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
    CheckoutRef,
    DisputeClosed,
    DisputeOpened,
    GatewayEvent,
    Ignored,
    PaymentFailed,
    PaymentSucceeded,
    RefundLine,
    RefundUpdated,
    SellerAccountStatus,
    SellerAccountUpdated,
    SessionExpired,
)

SIGNATURE_HEADER = "Stripe-Signature"
# Stripe's closed dispute statuses: an inquiry closed without a chargeback counts as won.
DISPUTE_OUTCOMES = {"won": "won", "warning_closed": "won", "prevented": "won", "lost": "lost"}
# Refund.pk as Stripe gives it back from the refund's metadata (ASCII digits, a bigint).
_REFUND_ID = re.compile(r"[0-9]{1,18}")

Payload = dict[str, Any]


def verify(body: bytes, signature_header: str | None, secrets: Sequence[str]) -> Any:
    """Check the Stripe-Signature header (HMAC of the timestamp and raw body, at most five
    minutes old) against each endpoint secret (the platform's endpoint and the Connect
    endpoint each have their own) and return the decoded JSON, whatever its shape."""
    secrets = [secret for secret in secrets if secret]
    if not secrets or not signature_header:
        raise WebhookSignatureError("missing signature or secret")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookSignatureError(str(exc)) from exc
    failure: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                text, signature_header, secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError as exc:
            failure = exc
        else:
            break
    else:
        raise WebhookSignatureError(str(failure)) from failure
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedWebhook("the body is not JSON") from exc


def parse_webhook(
    body: bytes, headers: Mapping[str, str], *, secrets: Sequence[str]
) -> GatewayEvent:
    """A verified delivery as our event; raises WebhookSignatureError or MalformedWebhook."""
    return event_from_payload(verify(body, headers.get(SIGNATURE_HEADER), secrets))


def event_from_payload(payload: Any) -> GatewayEvent:
    """A Stripe event (already verified, or fetched from the Events API) as our event."""
    if not isinstance(payload, dict):
        raise MalformedWebhook("the event is not an object")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id:
        raise MalformedWebhook("the event has no id")
    if len(event_id) > EVENT_ID_MAX_LENGTH:
        raise MalformedWebhook("the event id is too long")
    if not isinstance(event_type, str) or len(event_type) > EVENT_TYPE_MAX_LENGTH:
        raise MalformedWebhook("the event type is missing or too long")
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedWebhook("the event has no data object")
    mapper = MAPPERS.get(event_type)
    if mapper is None:
        return Ignored(event_id=event_id, event_type=event_type)
    return mapper(data["object"], event_id=event_id, event_type=event_type)


def _text(obj: Payload, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedWebhook(f"{key} is not a string")
    return value


def _ref(obj: Payload, key: str) -> str:
    """The id of an expandable field: the id itself, or the expanded object's id."""
    value = obj.get(key)
    if isinstance(value, dict):
        return _text(value, "id")
    return _text(obj, key)


def _dict(obj: Payload, key: str) -> Payload:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedWebhook(f"{key} is not an object")
    return value


def _checkout_public_id(obj: Payload) -> UUID | None:
    """Our Checkout.public_id, which Threadly puts in the metadata and client_reference_id."""
    value = _dict(obj, "metadata").get("checkout") or obj.get("client_reference_id")
    if not value:
        return None
    if not isinstance(value, str):
        raise MalformedWebhook("the checkout reference is not a string")
    try:
        return UUID(value)
    except ValueError as exc:
        raise MalformedWebhook("the checkout reference is not a UUID") from exc


def _checkout_ref(obj: Payload) -> CheckoutRef:
    public_id = _checkout_public_id(obj)
    kind = obj.get("object")
    if kind == "checkout.session":
        return CheckoutRef(public_id=public_id, session_ref=_text(obj, "id"))
    return CheckoutRef(
        public_id=public_id,
        payment_intent_ref=_text(obj, "id")
        if kind == "payment_intent"
        else _ref(obj, "payment_intent"),
        charge_ref=_text(obj, "id") if kind == "charge" else _ref(obj, "charge"),
    )


def _session_paid(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    if obj.get("payment_status") != "paid":
        return Ignored(event_id=event_id, event_type=event_type)
    return PaymentSucceeded(
        event_id=event_id,
        event_type=event_type,
        checkout=_checkout_ref(obj),
        payment_intent_ref=_ref(obj, "payment_intent"),
    )


def _session_expired(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    return SessionExpired(event_id=event_id, event_type=event_type, checkout=_checkout_ref(obj))


def _intent_succeeded(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    return PaymentSucceeded(
        event_id=event_id,
        event_type=event_type,
        checkout=_checkout_ref(obj),
        payment_intent_ref=_text(obj, "id"),
        charge_ref=_ref(obj, "latest_charge"),
    )


def _intent_failed(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    return PaymentFailed(event_id=event_id, event_type=event_type, checkout=_checkout_ref(obj))


def _refund_line(data: Any) -> RefundLine:
    if not isinstance(data, dict):
        raise MalformedWebhook("a refund is not an object")
    refund_id = str(_dict(data, "metadata").get("refund") or "")
    return RefundLine(
        gateway_ref=_text(data, "id"),
        succeeded=data.get("status") == "succeeded",
        refund_id=int(refund_id) if _REFUND_ID.fullmatch(refund_id) else None,
    )


def _charge_refunded(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    refunds = _dict(obj, "refunds").get("data")
    if refunds is None:
        refunds = []
    elif not isinstance(refunds, list):
        raise MalformedWebhook("refunds.data is not a list")
    return RefundUpdated(
        event_id=event_id,
        event_type=event_type,
        checkout=_checkout_ref(obj),
        refunded_in_full=bool(obj.get("refunded")),
        refunds=tuple(_refund_line(data) for data in refunds),
    )


def _dispute_created(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    return DisputeOpened(
        event_id=event_id,
        event_type=event_type,
        checkout=_checkout_ref(obj),
        dispute_ref=_text(obj, "id"),
    )


def _dispute_closed(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    outcome = DISPUTE_OUTCOMES.get(_text(obj, "status"))
    if outcome is None:
        return Ignored(event_id=event_id, event_type=event_type)
    return DisputeClosed(
        event_id=event_id,
        event_type=event_type,
        checkout=_checkout_ref(obj),
        dispute_ref=_text(obj, "id"),
        outcome=outcome,
    )


def seller_account_status(account: Payload) -> SellerAccountStatus:
    """A Connect account object (webhook or API answer) as our SellerAccountStatus."""
    account_id = _text(account, "id")
    if not account_id:
        raise MalformedWebhook("the account has no id")
    return SellerAccountStatus(
        account_id=account_id,
        details_submitted=bool(account.get("details_submitted")),
        charges_enabled=bool(account.get("charges_enabled")),
        payouts_enabled=bool(account.get("payouts_enabled")),
    )


def _account_updated(obj: Payload, *, event_id: str, event_type: str) -> GatewayEvent:
    return SellerAccountUpdated(
        event_id=event_id, event_type=event_type, status=seller_account_status(obj)
    )


MAPPERS: dict[str, Callable[..., GatewayEvent]] = {
    "checkout.session.completed": _session_paid,
    "checkout.session.async_payment_succeeded": _session_paid,
    "checkout.session.expired": _session_expired,
    "checkout.session.async_payment_failed": _session_expired,
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
    "account.updated": _account_updated,
}
