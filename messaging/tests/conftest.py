import pytest

from marketplace.tests.factories import ListingFactory
from messaging.services import conversation_start


@pytest.fixture(autouse=True)
def _no_message_rate_limit(settings):
    """The per-member message limit has its own tests; the others send freely."""
    settings.MESSAGING_RATE = "1000/m"


@pytest.fixture
def listing(seller):
    return ListingFactory(seller=seller)


@pytest.fixture
def conversation(buyer, listing):
    return conversation_start(buyer=buyer, listing_id=listing.pk)


class FakeRealtime:
    """Records what messaging publishes; `fail` makes publish raise like a down service."""

    def __init__(self, *, fail: bool = False, config: dict | None = None) -> None:
        self.published: list[dict] = []
        self.fail = fail
        self.config = config

    def publish(self, *, channels: list[str], event: str, data: dict) -> None:
        if self.fail:
            raise ConnectionError("realtime service down")
        self.published.append({"channels": channels, "event": event, "data": data})

    def client_config(self, *, channels: list[str]) -> dict | None:
        return {**self.config, "channels": channels} if self.config else None


@pytest.fixture
def fake_realtime(monkeypatch):
    fake = FakeRealtime()
    monkeypatch.setattr("messaging.push.realtime_backend", lambda: fake)
    return fake
