"""What the local payment gateway was asked to do, recorded by the test that wants to know.

The gateway itself keeps no state. `record_local_gateway(monkeypatch)` (the `gateway_log`
fixture) wraps its money-moving calls for one test and returns the list they append to, one
dict per call: {"op": "payment" | "refund" | "transfer" | "reversal", ...the call's details}.
A test that replaces one of those methods afterwards (a failing refund, say) is not recorded
for that method, exactly as a real gateway would not have been called.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from orders.payments.local import LocalGateway


def _payment(result, request) -> dict:
    return {
        "op": "payment",
        "ref": result.ref,
        "total": request.total,
        "currency": request.currency,
    }


def _refund(result, **kw) -> dict:
    return {
        "op": "refund",
        "amount": kw["amount"],
        "currency": kw["currency"],
        "key": kw["idempotency_key"],
    }


def _transfer(result, **kw) -> dict:
    return {
        "op": "transfer",
        "destination": kw["destination"],
        "amount": kw["amount"],
        "currency": kw["currency"],
        "transfer_group": kw["transfer_group"],
        "key": kw["idempotency_key"],
    }


def _reversal(result, **kw) -> dict:
    return {
        "op": "reversal",
        "transfer": kw["transfer_ref"],
        "amount": kw["amount"],
        "key": kw["idempotency_key"],
    }


DESCRIBE: dict[str, Callable[..., dict]] = {
    "start_payment": _payment,
    "refund": _refund,
    "transfer": _transfer,
    "reverse_transfer": _reversal,
}


def _recorded(method: Callable, describe: Callable[..., dict], calls: list[dict]) -> Callable:
    def recorded(self: LocalGateway, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        calls.append(describe(result, *args, **kwargs))
        return result

    return recorded


def record_local_gateway(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Record LocalGateway's calls until `monkeypatch` is undone; returns the growing list."""
    calls: list[dict] = []
    for name, describe in DESCRIBE.items():
        monkeypatch.setattr(
            LocalGateway, name, _recorded(getattr(LocalGateway, name), describe, calls)
        )
    return calls


@contextmanager
def local_gateway_calls() -> Iterator[list[dict]]:
    """record_local_gateway for code outside a fixture (e.g. a hypothesis example)."""
    with pytest.MonkeyPatch.context() as patch:
        yield record_local_gateway(patch)


@pytest.fixture
def gateway_log(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The local gateway's calls during this test (see the module docstring)."""
    return record_local_gateway(monkeypatch)


def assert_refund_retried_once_after_outage(
    *, monkeypatch: pytest.MonkeyPatch, capture, gateway_log: list[dict], pay: Callable, refund_of
) -> None:
    """With the gateway down after commit, `pay()` leaves its refund owed (pending, unsent);
    once the gateway is back `retry_refunds`, run twice, sends it exactly once, with the key
    `order-<order>-refund-<refund>`. `refund_of()` finds the refund; `capture` is pytest-django's
    django_capture_on_commit_callbacks."""
    from django.core.management import call_command

    from orders.exceptions import IntegrationError
    from orders.models import Refund

    real_refund = LocalGateway.refund

    def down(self, **kwargs):
        raise IntegrationError("down")

    monkeypatch.setattr(LocalGateway, "refund", down)
    with capture(execute=True):
        pay()
    refund = refund_of()
    assert (refund.status, refund.gateway_ref) == (Refund.Status.PENDING, "")
    monkeypatch.setattr(LocalGateway, "refund", real_refund)
    with capture(execute=True):
        call_command("retry_refunds")
        call_command("retry_refunds")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    sent = [call["key"] for call in gateway_log if call["op"] == "refund"]
    assert sent == [f"order-{refund.order_id}-refund-{refund.pk}"]
