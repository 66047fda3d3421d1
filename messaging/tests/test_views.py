"""The pages: access, sending with and without htmx, conditional polls, escaping, the
listing page's control, and constant query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import ListingFactory, ListingImageFactory
from messaging.models import Block, Conversation, ConversationReport, Message
from messaging.services import conversation_start, message_send

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _urls(pk: int) -> dict[str, str]:
    return {
        name: reverse(f"messaging:{name}", kwargs={"pk": pk})
        for name in ("conversation", "poll", "send", "block", "unblock", "report")
    }


# --- Access --------------------------------------------------------------------------------------
def test_a_third_member_gets_404_on_the_thread_its_poll_and_its_actions(
    client, stranger, buyer, conversation
):
    """Someone else's conversation doesn't exist for a stranger, whatever they try."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="private")
    client.force_login(stranger)
    for name, url in _urls(conversation.pk).items():
        get = client.get(url, {"after": 0}, **HTMX)
        post = client.post(url, {"body": "hi", "reason": "spam"})
        assert get.status_code in (404, 405), (name, get.status_code)
        assert post.status_code in (404, 405), (name, post.status_code)
        assert b"private" not in get.content + post.content
    assert Message.objects.count() == 1
    assert not Block.objects.exists()
    assert not ConversationReport.objects.exists()


def test_anonymous_visitors_go_to_login_and_htmx_polls_stop(client, conversation):
    """Pages redirect to the login page; an htmx poll gets 286 (htmx stops polling)."""
    for url in (reverse("messaging:inbox"), _urls(conversation.pk)["conversation"]):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert client.get(_urls(conversation.pk)["poll"], **HTMX).status_code == 286
    assert client.get(reverse("messaging:badge"), **HTMX).status_code == 286


# --- Starting from the listing page --------------------------------------------------------------
def test_listing_page_offers_message_seller_to_others_only(client, buyer, seller, listing):
    """A member sees "Message seller"; the seller sees nothing; a visitor a login link."""
    url = listing.get_absolute_url()
    start = reverse("messaging:start", kwargs={"pk": listing.pk})
    assert "Log in to message the seller" in client.get(url).content.decode()
    client.force_login(buyer)
    assert start in client.get(url).content.decode()
    client.force_login(seller)
    body = client.get(url).content.decode()
    assert start not in body
    assert "Message seller" not in body


def test_message_seller_opens_the_conversation_page(client, buyer, listing):
    """POST from the listing page starts the conversation and lands on it; again, the same."""
    client.force_login(buyer)
    start = reverse("messaging:start", kwargs={"pk": listing.pk})
    response = client.post(start, {"next": listing.get_absolute_url()})
    conversation = Conversation.objects.get(buyer=buyer, listing=listing)
    assert response["Location"] == conversation.get_absolute_url()
    assert client.post(start)["Location"] == conversation.get_absolute_url()
    page = client.get(conversation.get_absolute_url())
    assert page.status_code == 200
    assert listing.title in page.content.decode()


def test_message_seller_on_own_listing_explains_and_goes_back(client, seller, listing):
    client.force_login(seller)
    response = client.post(
        reverse("messaging:start", kwargs={"pk": listing.pk}),
        {"next": listing.get_absolute_url()},
        follow=True,
    )
    assert "This is your own item." in response.content.decode()
    assert not Conversation.objects.exists()


# --- Sending -------------------------------------------------------------------------------------
def test_send_without_javascript_redirects_back_to_the_thread(client, buyer, conversation):
    """A plain form POST stores the message and redirects (POST/redirect/GET)."""
    client.force_login(buyer)
    response = client.post(_urls(conversation.pk)["send"], {"body": "Is it wool?"})
    assert response.status_code == 302
    assert response["Location"].startswith(conversation.get_absolute_url())
    assert Message.objects.get().body == "Is it wool?"
    assert "Is it wool?" in client.get(response["Location"]).content.decode()


def test_send_with_htmx_answers_a_fresh_composer_and_a_poll_event(client, buyer, conversation):
    """htmx: the composer comes back empty and HX-Trigger makes the page poll at once."""
    client.force_login(buyer)
    response = client.post(_urls(conversation.pk)["send"], {"body": "Hello"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "threadly:message"
    body = response.content.decode()
    assert 'id="composer"' in body
    assert "Hello</textarea>" not in body
    assert Message.objects.count() == 1


def test_send_errors_keep_the_text_and_say_why(client, buyer, conversation):
    """Too long: htmx shows the reason in the composer, keeping what was typed; without JS
    the page is shown again with the error (nothing stored either way)."""
    client.force_login(buyer)
    long = "x" * 2001
    htmx = client.post(_urls(conversation.pk)["send"], {"body": long}, **HTMX)
    assert "at most 2000 characters" in htmx.content.decode()
    assert long in htmx.content.decode()
    assert "HX-Trigger" not in htmx
    plain = client.post(_urls(conversation.pk)["send"], {"body": "   "})
    assert plain.status_code == 400
    assert "Write a message first." in plain.content.decode()
    assert not Message.objects.exists()


def test_send_in_a_blocked_conversation_is_refused_with_the_reason(
    client, buyer, seller, conversation
):
    client.force_login(seller)
    client.post(_urls(conversation.pk)["block"])
    client.force_login(buyer)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "one of you blocked the other" in page
    response = client.post(_urls(conversation.pk)["send"], {"body": "hi"})
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_block_then_unblock_from_the_conversation_page(client, buyer, seller, conversation):
    client.force_login(buyer)
    client.post(_urls(conversation.pk)["block"])
    assert Block.objects.filter(blocker=buyer, blocked=seller).exists()
    assert "Unblock" in client.get(conversation.get_absolute_url()).content.decode()
    client.post(_urls(conversation.pk)["unblock"])
    assert not Block.objects.exists()
    conversation.refresh_from_db()
    assert not conversation.is_closed


def test_report_form_files_a_report_about_the_other_member(client, buyer, seller, conversation):
    client.force_login(buyer)
    url = _urls(conversation.pk)["report"]
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "nope"}).status_code == 400
    response = client.post(url, {"reason": "scam", "details": "asked for a bank transfer"})
    assert response.status_code == 302
    report = ConversationReport.objects.get()
    assert (report.reporter, report.reported_user, report.reason) == (buyer, seller, "scam")


# --- Plain text only -----------------------------------------------------------------------------
def test_message_text_is_escaped_and_only_our_own_links_are_links(
    client, settings, buyer, seller, conversation
):
    """<script> shows as text, javascript: and other sites' URLs stay text, links to
    SITE_URL become links."""
    settings.SITE_URL = "https://threadly.example"
    for body in (
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "see https://evil.example/phish and http://threadly.example.evil.example/x",
        "my other item: https://threadly.example/items/5-coat/.",
        'https://threadly.example/x"onmouseover="alert(1)',
    ):
        message_send(sender=buyer, conversation_id=conversation.pk, body=body)
    client.force_login(seller)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    assert 'href="https://evil.example' not in page
    assert 'href="http://threadly.example.evil' not in page
    assert '<a href="https://threadly.example/items/5-coat/">' in page
    assert 'onmouseover="alert' not in page


# --- Polling -------------------------------------------------------------------------------------
def _state(page: str) -> tuple[str, str]:
    after = page.split('name="after" value="')[1].split('"')[0]
    version = page.split('name="v" value="')[1].split('"')[0]
    return after, version


def test_poll_with_nothing_new_is_204_in_one_query_of_its_own(client, buyer, conversation):
    """The page's version matches: 204 after one query on the conversation (the other query
    is Django loading the signed-in member, as on every request); If-None-Match: 304."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="hi")
    client.force_login(buyer)
    after, version = _state(client.get(conversation.get_absolute_url()).content.decode())
    poll = _urls(conversation.pk)["poll"]
    client.get(poll, {"after": after, "v": version}, **HTMX)  # warm session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(poll, {"after": after, "v": version}, **HTMX)
    assert response.status_code == 204
    assert response.content == b""
    ours = [q["sql"] for q in queries if "messaging_" in q["sql"]]
    assert len(ours) == 1, ours
    assert len(queries) == 2, [q["sql"] for q in queries]  # + accounts_user (auth)
    assert '"messaging_conversation"."id" = ' in ours[0]
    not_modified = client.get(poll, {"after": after}, HTTP_IF_NONE_MATCH=response["ETag"], **HTMX)
    assert not_modified.status_code == 304


def test_poll_returns_new_messages_and_marks_them_read(client, buyer, seller, conversation):
    """The other side's new message comes back as a fragment; it is then read."""
    client.force_login(seller)
    message_send(sender=buyer, conversation_id=conversation.pk, body="first")
    after, version = _state(client.get(conversation.get_absolute_url()).content.decode())
    new = message_send(sender=buyer, conversation_id=conversation.pk, body="second <b>")
    response = client.get(_urls(conversation.pk)["poll"], {"after": after, "v": version}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="message-{new.pk}"' in body
    assert "second &lt;b&gt;" in body
    assert "first" not in body
    assert f'name="after" value="{new.pk}"' in body  # out-of-band: the next poll's state
    conversation.refresh_from_db()
    assert conversation.seller_read_id == new.pk


def test_poll_shows_seen_when_the_other_member_reads(client, buyer, seller, conversation):
    """My page learns by polling that the seller read my last message."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="Offer 20?")
    client.force_login(buyer)
    after, version = _state(client.get(conversation.get_absolute_url()).content.decode())
    poll = _urls(conversation.pk)["poll"]
    assert client.get(poll, {"after": after, "v": version}, **HTMX).status_code == 204
    seller_client = type(client)()
    seller_client.force_login(seller)
    seller_client.get(conversation.get_absolute_url())
    response = client.get(poll, {"after": after, "v": version}, **HTMX)
    assert response.status_code == 200
    assert ">Seen</p>" in response.content.decode()


def test_poll_with_a_bad_after_is_400(client, buyer, conversation):
    """A poll URL opened in the browser leads to the page; nonsense parameters are a 400."""
    client.force_login(buyer)
    page = client.get(_urls(conversation.pk)["poll"])
    assert page["Location"] == conversation.get_absolute_url()
    poll = _urls(conversation.pk)["poll"]
    for bad in ("abc", "-1", "9" * 30):
        assert client.get(poll, {"after": bad}, **HTMX).status_code == 400


def test_badge_and_inbox_polls_answer_204_when_nothing_changed(client, buyer, seller, conversation):
    """The header badge shows the unread count; its poll is 204 while the count holds."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="hi")
    client.force_login(seller)
    page = client.get(reverse("marketplace:home")).content.decode()
    assert (
        '<span class="inbox-label">Messages</span> <span class="badge">1'
        '<span class="visually-hidden"> unread' in page
    )
    badge = reverse("messaging:badge")
    assert client.get(badge, {"n": "1"}, **HTMX).status_code == 204
    assert "badge" in client.get(badge, {"n": "0"}, **HTMX).content.decode()
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    version = inbox.split('name="v" value="')[1].split('"')[0]
    assert client.get(reverse("messaging:inbox_poll"), {"v": version}, **HTMX).status_code == 204
    message_send(sender=buyer, conversation_id=conversation.pk, body="news")
    changed = client.get(reverse("messaging:inbox_poll"), {"v": version}, **HTMX)
    assert changed.status_code == 200
    assert "news" in changed.content.decode()


# --- Query counts --------------------------------------------------------------------------------
def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _conversations_for(seller, count: int) -> None:
    for _ in range(count):
        listing = ListingFactory(seller=seller)
        ListingImageFactory(listing=listing)
        buyer = UserFactory()
        conversation = conversation_start(buyer=buyer, listing_id=listing.pk)
        message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
        message_send(sender=seller, conversation_id=conversation.pk, body="hi back")
        message_send(sender=buyer, conversation_id=conversation.pk, body="price?")


def test_inbox_runs_the_same_queries_for_3_and_10_conversations(client, seller):
    """Conversations, their first photos, and no query per row."""
    client.force_login(seller)
    _conversations_for(seller, 3)
    url = reverse("messaging:inbox")
    client.get(url)
    three = _count(client, url)
    _conversations_for(seller, 7)
    client.get(url)
    assert _count(client, url) == three
    assert client.get(url).content.decode().count("inbox-row") >= 10


def test_inbox_shows_each_listings_cover_photo_and_the_other_member(client, buyer, seller):
    """Each row: the other member's name and the listing's first photo by position (or the
    empty thumbnail), whichever side of the conversation the viewer is on."""
    with_photos = ListingFactory(seller=seller)
    ListingImageFactory(listing=with_photos, position=1)
    cover = ListingImageFactory(listing=with_photos, position=0)
    without = ListingFactory(seller=seller)
    for listing in (with_photos, without):
        conversation = conversation_start(buyer=buyer, listing_id=listing.pk)
        message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
    client.force_login(seller)
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert page.count(f'src="{cover.thumb_url}"') == 1
    assert page.count("conversation-thumb-empty") == 1
    assert page.count(_inbox_who(buyer)) == 2
    client.force_login(buyer)
    assert client.get(reverse("messaging:inbox")).content.decode().count(_inbox_who(seller)) == 2


def _inbox_who(member) -> str:
    return f'<span class="inbox-who">{member.profile.display_name or member.username}</span>'


def test_conversation_page_runs_the_same_queries_for_3_and_30_messages(
    client, buyer, seller, conversation
):
    ListingImageFactory(listing=conversation.listing)
    for index in range(3):
        message_send(sender=buyer, conversation_id=conversation.pk, body=f"m{index}")
    client.force_login(seller)
    url = conversation.get_absolute_url()
    client.get(url)
    message_send(sender=buyer, conversation_id=conversation.pk, body="unread again")
    few = _count(client, url)
    for index in range(27):
        message_send(sender=buyer, conversation_id=conversation.pk, body=f"n{index}")
    assert _count(client, url) == few


# --- The realtime hook (contract with messaging/realtime) ---------------------------------------
def test_pages_poll_every_2s_without_realtime_and_every_30s_with_it(
    client, monkeypatch, buyer, conversation
):
    """Local default: no realtime config, the thread polls every 2 s. With a realtime
    service: #realtime-config names this page's channels and polling is a 30 s safety net."""
    from messaging.tests.conftest import FakeRealtime

    client.force_login(buyer)
    local = client.get(conversation.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s, threadly:message from:body' in local
    assert "realtime-config" not in local
    fake = FakeRealtime(config={"key": "k", "cluster": "eu", "authEndpoint": "/pusher/auth"})
    monkeypatch.setattr("messaging.push.realtime_backend", lambda: fake)
    live = client.get(conversation.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 30s, threadly:message from:body' in live
    assert (
        f'"channels": ["private-conversation-{conversation.pk}", "private-user-{buyer.pk}"]' in live
    )
    home = client.get(reverse("marketplace:home")).content.decode()
    assert f'"channels": ["private-user-{buyer.pk}"]' in home
    assert "threadly:unread from:body" in home
