"""core/webhooks.py: a webhook event is stored once by id, in the caller's transaction."""

import pytest
from django.db import transaction

from accounts.models import AuthWebhookEvent
from core.webhooks import record_once
from orders.models import PaymentEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [PaymentEvent, AuthWebhookEvent])
def test_record_once_stores_an_id_the_first_time_only(model):
    """The first call stores the id and says True; a redelivery says False, no second row."""
    assert record_once(model, event_id="evt_1", event_type="some.type") is True
    assert record_once(model, event_id="evt_1", event_type="some.type") is False
    assert list(model.objects.values_list("event_id", "event_type")) == [("evt_1", "some.type")]


def test_record_once_is_rolled_back_with_the_callers_transaction():
    """When the work after recording fails, the id goes too, so the retry applies the event."""

    @transaction.atomic
    def apply_then_fail() -> None:
        assert record_once(PaymentEvent, event_id="evt_1", event_type="x")
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        apply_then_fail()
    assert not PaymentEvent.objects.exists()
    assert record_once(PaymentEvent, event_id="evt_1", event_type="x") is True
