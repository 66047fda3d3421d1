"""Two people message each other in real browsers on 390 px phones, on both realtime backends:

- the default, no service: the open conversation pages poll every 2 s, so each message shows
  up on the other phone within 3 s;
- Pusher Channels, through the local Pusher-protocol server (messaging/tests/pusher_server.py)
  with the real `pusher` SDK and the vendored pusher-js: the pages then poll only every 30 s,
  so a message that shows up within 3 s was pushed.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from marketplace.tests.factories import ListingFactory, ListingImageFactory
from messaging import push
from messaging.models import Conversation
from messaging.realtime import conversation_channel
from tests.browser.conftest import (
    _page,
    assert_fits_width,
    log_in,
    serious_axe_violations,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def buyer_phone(browser) -> Iterator:
    yield from _page(browser, PHONE_390)


@pytest.fixture
def seller_phone(browser) -> Iterator:
    yield from _page(browser, PHONE_390)


def test_buyer_and_seller_message_each_other_live_by_polling(
    live_server, buyer_phone, seller_phone
):
    """The buyer asks from the listing page; the seller's open conversation shows it without a
    reload within 3 s; the reply reaches the buyer the same way, who then sees "Seen"."""
    _chat(live_server.url, buyer_phone, seller_phone)


def test_buyer_and_seller_message_each_other_live_through_pusher(
    live_server, buyer_phone, seller_phone, pusher_server
):
    """The same conversation with Pusher configured: both pages subscribe to the thread's
    private channel through /pusher/auth, poll only every 30 s, and still see each message
    within 3 s because the server pushed it (the triggers went through the signed HTTP API)."""
    assert push.poll_seconds({"key": "configured"}) >= 30  # polling alone can't make 3 s

    def subscribed(conversation: Conversation) -> None:
        channel = conversation_channel(conversation.pk)
        pusher_server.wait_until(lambda: len(pusher_server.subscribers(channel)) == 2)
        for page in (buyer_phone, seller_phone):
            page.wait_for_function("() => document.body.dataset.realtime === 'connected'")

    conversation = _chat(live_server.url, buyer_phone, seller_phone, on_both_open=subscribed)
    pushed = [e for e in pusher_server.events if e.channel == conversation_channel(conversation.pk)]
    assert len(pushed) >= 2  # one per message
    assert pusher_server.rejected_requests == []
    assert pusher_server.subscription_errors == []


def _chat(base, buyer_phone, seller_phone, on_both_open=None) -> Conversation:
    seller = UserFactory(is_seller=True, username="mira.closet")
    buyer = UserFactory(username="jonas")
    listing = ListingFactory(seller=seller, title="Linen summer dress")
    ListingImageFactory(listing=listing)
    log_in(buyer_phone, base, buyer.email, TEST_PASSWORD)
    log_in(seller_phone, base, seller.email, TEST_PASSWORD)

    buyer_phone.goto(f"{base}{listing.get_absolute_url()}")
    buyer_phone.get_by_role("button", name="Message seller").click()
    buyer_phone.wait_for_load_state()
    conversation = Conversation.objects.get(buyer=buyer, listing=listing)
    assert buyer_phone.url.endswith(conversation.get_absolute_url())

    seller_phone.goto(f"{base}{conversation.get_absolute_url()}")
    expect(seller_phone.get_by_role("heading", level=1)).to_contain_text("jonas")
    if on_both_open is not None:
        on_both_open(conversation)

    buyer_phone.get_by_role("textbox", name="Message").fill("Hi! Is the dress still available?")
    buyer_phone.get_by_role("button", name="Send").click()
    expect(buyer_phone.locator("#thread")).to_contain_text("still available", timeout=3_000)
    expect(buyer_phone.get_by_role("textbox", name="Message")).to_have_value("")
    expect(seller_phone.locator("#thread")).to_contain_text(
        "Is the dress still available?", timeout=3_000
    )

    seller_phone.get_by_role("textbox", name="Message").fill(
        "Yes, it is <b>yours</b> if you want it."
    )
    seller_phone.get_by_role("button", name="Send").click()
    expect(buyer_phone.locator("#thread")).to_contain_text(
        "Yes, it is <b>yours</b> if you want it.", timeout=3_000
    )
    expect(seller_phone.locator("#seen-marker")).to_have_text("Seen", timeout=3_000)
    assert buyer_phone.locator("#thread li").count() == 2  # nothing appended twice

    for page in (buyer_phone, seller_phone):
        assert_fits_width(page)
        assert serious_axe_violations(page) == [], page.url
        page.goto(f"{base}/messages/")
        expect(page.locator(".inbox-row")).to_have_count(1)
        assert_fits_width(page)
        assert serious_axe_violations(page) == [], page.url
        assert page.js_errors == []
    return conversation
