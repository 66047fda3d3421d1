"""Live updates end to end: the vendored pusher-js and static/js/realtime.js in Chromium, signed by
the real /pusher/auth view, fed by PusherBackend.publish through the local Pusher server."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.factories import UserFactory
from messaging.realtime import EVENT_MESSAGE, EVENT_UNREAD, conversation_channel, get_backend
from messaging.realtime import user_channel as user_channel_name

# Functions, not expressions: Playwright evaluates a polled expression with eval(), which the
# page's CSP (no 'unsafe-eval') refuses.
LISTEN = """() => {
  window.received = [];
  for (const name of ["threadly:message", "threadly:unread"]) {
    document.body.addEventListener(name, (e) => window.received.push([name, e.detail]));
  }
}"""


def log_in_as(page, base: str, user) -> None:
    """Give the browser a session for `user` (no login form: this test is about realtime)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


@pytest.mark.urls("messaging.tests.realtime_support")
def test_page_receives_pushed_message_and_unread_events(
    live_server, desktop, pusher_server, participant_check
):
    """A logged-in page subscribes to its private channels through /pusher/auth, then a
    published "message" and "unread" arrive as threadly:* DOM events, under the CSP."""
    member = UserFactory()
    participant_check.allow(7)
    conversation, own = conversation_channel(7), user_channel_name(member.pk)
    base, page = live_server.url, desktop
    log_in_as(page, base, member)

    page.goto(f"{base}/realtime-test/?channel={conversation}&channel={own}")
    page.evaluate(LISTEN)
    pusher_server.wait_for_subscriber(conversation)
    pusher_server.wait_for_subscriber(own)
    page.wait_for_function("() => document.body.dataset.realtime === 'connected'")

    get_backend().publish(
        channels=[conversation], event=EVENT_MESSAGE, data={"conversation_id": 7, "message_id": 9}
    )
    get_backend().publish(channels=[own], event=EVENT_UNREAD, data={"count": 2})
    page.wait_for_function("() => window.received.length === 2")

    assert page.evaluate("window.received") == [
        ["threadly:message", {"conversation_id": 7, "message_id": 9}],
        ["threadly:unread", {"count": 2}],
    ]
    assert set(participant_check.calls) == {(member.pk, 7)}  # asked again if it reconnected
    assert page.js_errors == []


@pytest.mark.urls("messaging.tests.realtime_support")
def test_page_cannot_subscribe_to_a_conversation_it_is_not_part_of(
    live_server, desktop, pusher_server, participant_check
):
    """/pusher/auth refuses: pusher-js never subscribes, so nothing pushed there reaches it."""
    member = UserFactory()
    base, page = live_server.url, desktop
    log_in_as(page, base, member)
    own = user_channel_name(member.pk)

    with page.expect_response(lambda r: "/pusher/auth" in r.url and r.status == 403):
        page.goto(f"{base}/realtime-test/?channel={conversation_channel(8)}&channel={own}")
    pusher_server.wait_for_subscriber(own)  # the allowed one went through

    assert pusher_server.subscribers(conversation_channel(8)) == []
    assert participant_check.calls == [(member.pk, 8)]
