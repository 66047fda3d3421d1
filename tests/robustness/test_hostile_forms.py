"""Hostile form posts: bad fields show errors and write nothing, other members' objects are
refused."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Profile, User
from marketplace.models import Favourite, Listing, ListingImage
from marketplace.tests.factories import (
    ListingFactory,
    ListingImageFactory,
    image_bytes,
)
from orders.models import Address, CartItem, Order, Refund
from orders.tests.factories import AddressFactory
from tests.robustness.world import (
    assert_escaped,
    assert_no_crash,
    form_status,
    jpeg_upload,
    listing_payload,
    row_counts,
)

pytestmark = pytest.mark.django_db


# --- Hostile form posts ---------------------------------------------------------------------


BAD_LISTING_FIELDS = [
    {"title": None},
    {"title": ""},
    {"title": "x" * 10_000},
    {"title": "\x00"},
    {"category": None},
    {"category": "abc"},
    {"category": "999999"},
    {"category": "99999999999999999999999"},
    {"category": "-1"},
    {"condition": "mint<script>"},
    {"price": None},
    {"price": "NaN"},
    {"price": "Infinity"},
    {"price": "-Infinity"},
    {"price": "1e309"},
    {"price": "-5"},
    {"price": "0"},
    {"price": "99999999999"},
    {"price": "1.999"},
    {"price": "abc"},
    {"price": "1,50"},
    {"shipping_price": "NaN"},
    {"shipping_price": "-1"},
    {"shipping_price": "1e309"},
    {"quantity": "0"},
    {"quantity": "-1"},
    {"quantity": "1.5"},
    {"quantity": "99999999999999999999"},
    {"quantity": "NaN"},
    {"description": "d" * 6000},
    {"brand": "b" * 200},
]


def test_listing_create_with_bad_fields_shows_errors_and_writes_nothing(world):
    """Each bad or missing field re-renders the form (200) with errors, or is refused (400)
    for a NUL byte; no listing, no photo is stored."""
    client = world.client("owner")
    before = row_counts()
    for bad in BAD_LISTING_FIELDS:
        data = listing_payload(world, **bad)
        data["images"] = [jpeg_upload()]
        response = client.post(reverse("marketplace:listing_create"), data)
        assert response.status_code == form_status(bad), (bad, response.status_code)
        if response.status_code == 200:
            assert 'class="errorlist' in response.content.decode(), bad
        assert row_counts() == before, bad


def test_listing_edit_with_bad_fields_changes_nothing(world):
    """Each bad field on the edit form shows errors and leaves the listing as it was."""
    client = world.client("owner")
    url = reverse("marketplace:listing_edit", kwargs={"pk": world.listing.pk})
    before = Listing.objects.filter(pk=world.listing.pk).values().get()
    for bad in BAD_LISTING_FIELDS:
        response = client.post(url, listing_payload(world, **bad))
        assert response.status_code == form_status(bad), (bad, response.status_code)
        if response.status_code == 200:
            assert 'class="errorlist' in response.content.decode(), bad
        assert Listing.objects.filter(pk=world.listing.pk).values().get() == before, bad


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("evil.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"),
        (
            "evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image/svg+xml",
        ),
        ("empty.jpg", b"", "image/jpeg"),
        ("truncated.jpg", image_bytes()[:40], "image/jpeg"),
        ("../../../etc/passwd.jpg", b"GIF89a" + b"\x00" * 20, "image/gif"),
        ("<script>alert(1)</script>.jpg", b"not an image", "image/jpeg"),
        ("x" * 300 + ".jpg", b"not an image", "image/jpeg"),
    ],
)
def test_bad_uploads_are_refused_with_a_named_error(world, name, content, content_type):
    """Non-images, empty, truncated and hostile file names: a form error, no rows, no files."""
    before = row_counts()
    upload = SimpleUploadedFile(name, content, content_type)
    client = world.client("owner")
    create = client.post(
        reverse("marketplace:listing_create"), {**listing_payload(world), "images": [upload]}
    )
    upload.seek(0)
    add = client.post(
        reverse("marketplace:listing_images_add", kwargs={"pk": world.listing.pk}),
        {"images": [upload]},
    )
    for response in (create, add):
        assert response.status_code == 200
        body = response.content.decode()
        assert 'class="errorlist' in body
        assert "<script>alert(1)</script>" not in body
    assert row_counts() == before


def test_too_many_photos_are_refused(world, settings):
    """More photos than LISTING_IMAGES_MAX: a form error and nothing stored."""
    before = row_counts()
    files = [jpeg_upload(f"p{n}.jpg") for n in range(settings.LISTING_IMAGES_MAX + 1)]
    response = world.client("owner").post(
        reverse("marketplace:listing_create"), {**listing_payload(world), "images": files}
    )
    assert response.status_code == 200
    assert row_counts() == before


def test_photo_reorder_with_foreign_and_bogus_positions_changes_nothing(world):
    """Positions for someone else's image, out-of-range and non-numeric positions are refused."""
    foreign = ListingImageFactory(listing=ListingFactory(seller=world.stranger))
    before = list(ListingImage.objects.order_by("pk").values_list("pk", "listing_id", "position"))
    url = reverse("marketplace:listing_images_reorder", kwargs={"pk": world.listing.pk})
    client = world.client("owner")
    for data in (
        {f"position_{world.image.pk}": "99"},
        {f"position_{world.image.pk}": "abc"},
        {f"position_{world.image.pk}": "-1"},
        {f"position_{foreign.pk}": "1"},
        {},
    ):
        response = client.post(url, data)
        assert_no_crash(response, f"reorder {data}")
    after = list(ListingImage.objects.order_by("pk").values_list("pk", "listing_id", "position"))
    assert after == before


def test_removing_another_sellers_photo_is_refused(world):
    """Owner A can't remove owner B's photo by pairing A's listing id with B's image id."""
    foreign = ListingImageFactory(listing=ListingFactory(seller=world.stranger))
    response = world.client("owner").post(
        reverse(
            "marketplace:listing_image_remove",
            kwargs={"pk": world.listing.pk, "image_pk": foreign.pk},
        )
    )
    assert response.status_code in (302, 404)
    assert ListingImage.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"display_name": "x" * 10_000},
        {"display_name": "<script>alert(1)</script>", "bio": "b" * 100_000},
        {"display_name": "ok", "location": "l" * 5000},
        {"display_name": "ok", "holiday_mode": "maybe"},
        {"display_name": "\x00"},
    ],
    ids=lambda d: repr(d)[:40],
)
def test_profile_edit_with_bad_values_writes_nothing_bad(world, data):
    """Oversized / missing values are form errors; the profile keeps its saved values."""
    before = Profile.objects.filter(user=world.owner).values().get()
    response = world.client("owner").post(reverse("accounts:profile_edit"), data)
    assert_no_crash(response, f"profile {data}")
    assert_escaped(response, "", "profile")
    after = Profile.objects.filter(user=world.owner).values().get()
    if response.status_code != 302:
        assert after == before
    else:  # accepted: the stored value is exactly within limits and escaped on display
        page = world.client("owner").get(reverse("accounts:profile_edit"))
        assert_escaped(page, "", "profile page")


def test_profile_edit_with_non_image_avatar_is_refused(world):
    """A text file posing as an avatar is a form error and the avatar stays unchanged."""
    before = Profile.objects.filter(user=world.owner).values().get()
    avatar = SimpleUploadedFile("me.png", b"<html>hi</html>", "image/png")
    response = world.client("owner").post(
        reverse("accounts:profile_edit"), {"display_name": "Me", "avatar": avatar}
    )
    assert response.status_code == 200
    assert Profile.objects.filter(user=world.owner).values().get() == before


@pytest.mark.parametrize(
    "quantity", ["", "0", "-1", "abc", "1e3", "NaN", "99999999999999999999", "1000", "1.5"]
)
def test_cart_add_and_update_with_bad_quantities(world, quantity):
    """Bad quantities never crash and never put more in the cart than is for sale."""
    client = world.client("stranger")
    add = client.post(
        reverse("orders:cart_add", kwargs={"pk": world.listing.pk}), {"quantity": quantity}
    )
    update = client.post(
        reverse("orders:cart_update", kwargs={"pk": world.listing.pk}), {"quantity": quantity}
    )
    for response in (add, update):
        assert_no_crash(response, f"cart quantity={quantity!r}")
        assert response.status_code == 302
    for item in CartItem.objects.filter(cart__user=world.stranger):
        assert 1 <= item.quantity <= world.listing.quantity


@pytest.mark.parametrize("who", ["draft", "own", "missing", "sold"])
def test_cart_add_of_unbuyable_items_adds_nothing(world, who):
    """Drafts, your own items, missing ids and sold items never land in the cart."""
    pk = {
        "draft": world.draft.pk,
        "own": world.listing.pk,
        "missing": 999999,
        "sold": ListingFactory(seller=world.stranger, sold=True).pk,
    }[who]
    user = "owner" if who == "own" else "buyer"
    before = CartItem.objects.count()
    response = world.client(user).post(reverse("orders:cart_add", kwargs={"pk": pk}))
    assert response.status_code in (302, 404)
    assert CartItem.objects.count() == before


BAD_ADDRESSES = [
    {},
    {"full_name": "x" * 500},
    {"postcode": "<script>"},
    {"country": "XX"},
    {"phone": "call me"},
    {"line1": "\x00"},
    {"city": ""},
]


@pytest.mark.parametrize("bad", BAD_ADDRESSES, ids=lambda d: repr(d)[:40])
def test_checkout_with_bad_address_writes_nothing(world, bad):
    """A bad new address re-renders checkout with errors: no address, checkout or order."""
    client = world.client("stranger")
    client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))
    address = {
        "address_mode": "new",
        "full_name": "Eve",
        "line1": "1 Road",
        "city": "Paris",
        "postcode": "75001",
        "country": "FR",
        "phone": "+33 1 23 45 67 89",
    }
    address.update(bad)
    if not bad:
        address = {"address_mode": "new"}
    before = row_counts()
    response = client.post(reverse("orders:checkout"), address)
    assert response.status_code == form_status(address)
    if response.status_code == 200:
        assert 'class="errorlist' in response.content.decode()
    assert row_counts() == before


def test_checkout_with_another_members_saved_address_is_refused(world):
    """Choosing the buyer's saved address id while checking out as a stranger is refused."""
    client = world.client("stranger")
    client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))
    AddressFactory(user=world.stranger)
    victim = Address.objects.filter(user=world.buyer).first()
    before = row_counts()
    response = client.post(reverse("orders:checkout"), {"address": victim.pk})
    assert response.status_code == 200
    assert row_counts() == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"carrier": "DHL"},
        {"tracking_number": "1Z"},
        {"carrier": "x" * 500, "tracking_number": "1Z"},
        {"carrier": "DHL", "tracking_number": "t" * 5000},
    ],
    ids=lambda d: repr(d)[:40],
)
def test_ship_with_missing_or_oversized_tracking_changes_nothing(world, data):
    """Missing / oversized carrier or tracking: an error message, the order stays paid."""
    response = world.client("owner").post(
        reverse("orders:order_ship", kwargs={"pk": world.order.pk}), data
    )
    assert response.status_code == 302
    order = Order.objects.get(pk=world.order.pk)
    assert order.status == world.order.status
    assert order.tracking_number == ""


@pytest.mark.parametrize("role", ["buyer", "stranger"])
def test_only_the_seller_can_ship(world, role):
    """The buyer and strangers can't mark an order shipped."""
    world.client(role).post(
        reverse("orders:order_ship", kwargs={"pk": world.order.pk}),
        {"carrier": "DHL", "tracking_number": "1Z"},
    )
    assert Order.objects.get(pk=world.order.pk).tracking_number == ""


@pytest.mark.parametrize("role", ["buyer", "stranger"])
def test_only_the_seller_can_refund(world, role):
    """The buyer and strangers can't refund an order, whatever the reason text."""
    before = Refund.objects.count()
    world.client(role).post(
        reverse("orders:order_refund", kwargs={"pk": world.order.pk}), {"reason": "r" * 10_000}
    )
    assert Refund.objects.count() == before


def test_refund_with_oversized_reason_is_safe(world):
    """A 10 kB reason from the seller never crashes and never stores more than fits."""
    response = world.client("owner").post(
        reverse("orders:order_refund", kwargs={"pk": world.order.pk}), {"reason": "r" * 10_000}
    )
    assert_no_crash(response, "refund oversized reason")
    for refund in Refund.objects.filter(order=world.order):
        assert len(refund.reason) <= 255


@pytest.mark.parametrize("value", ["1", "0", "", "abc", "-1", "2"])
def test_favourite_toggle_with_any_value_and_missing_ids(world, value):
    """Any favourite= value and a missing listing id: no crash, at most one row per user."""
    client = world.client("stranger")
    for pk in (world.listing.pk, world.draft.pk, 999999):
        response = client.post(
            reverse("marketplace:favourite", kwargs={"pk": pk}), {"favourite": value}
        )
        assert_no_crash(response, f"favourite {pk} {value!r}")
    assert Favourite.objects.filter(user=world.stranger, listing=world.draft).count() == 0
    assert Favourite.objects.filter(user=world.stranger).count() <= 1


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "not-an-email", "username": "u", "password1": "x", "password2": "y"},
        {
            "email": "a@b.example",
            "username": "x" * 500,
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        {
            "email": "a@b.example",
            "username": "<script>",
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        {
            "email": "owner@example.test",
            "username": "new1",
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        {
            "email": "b@b.example",
            "username": "owner",
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        {
            "email": "c@b.example",
            "username": "OWNER",
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        {"email": "d@b.example", "username": "new2", "password1": "short", "password2": "short"},
        {
            "email": "e\x00@b.example",
            "username": "new3",
            "password1": "Str0ng!pass",
            "password2": "Str0ng!pass",
        },
        # Look-alike handles of an existing seller: Cyrillic "о", zero-width space, full-width.
        *(
            {
                "email": f"f{n}@b.example",
                "username": handle,
                "password1": "Str0ng!pass",
                "password2": "Str0ng!pass",
            }
            for n, handle in enumerate(["\u043ewner", "owner\u200b", "ＯＷＮＥＲ", " owner"])
        ),
    ],
    ids=lambda d: repr(d)[:40],
)
def test_signup_with_bad_or_taken_values_creates_no_user(world, data):
    """Missing, oversized, malformed or taken values: form errors, no new user."""
    before = User.objects.count()
    response = world.client("anonymous").post(reverse("account_signup"), data)
    assert_no_crash(response, f"signup {data}")
    if data.get("email") == "owner@example.test" and data.get("username") == "new1":
        # Only the email is taken: enumeration prevention answers like a new sign-up ("enter
        # the code we emailed"), and mails the owner instead of creating anyone.
        assert response.status_code == 302
        assert response["Location"] == reverse("account_email_verification_sent")
    else:
        assert response.status_code == form_status(data)
    assert_escaped(response, "", "signup")
    assert User.objects.count() == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"login": "owner@example.test"},
        {"login": "owner@example.test", "password": "wrong"},
        {"login": "' OR 1=1 --", "password": "' OR 1=1 --"},
        {"login": "x" * 10_000, "password": "y" * 10_000},
        {"login": "\x00", "password": "\x00"},
    ],
    ids=lambda d: repr(d)[:40],
)
def test_login_with_bad_credentials_never_logs_in(world, data):
    """Wrong, missing, oversized and injected credentials: the form again, no session."""
    client = world.client("anonymous")
    response = client.post(reverse("account_login"), data)
    assert_no_crash(response, f"login {data}")
    assert response.status_code == form_status(data)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("email", ["", "nobody@example.test", "x" * 5000, "<script>@x", "\x00"])
def test_password_reset_never_crashes_or_reveals(world, email):
    """Any email: no crash, no reset key for an unknown address, same answer as a known one."""
    from django.core import mail

    response = world.client("anonymous").post(reverse("account_reset_password"), {"email": email})
    assert_no_crash(response, f"reset {email[:20]!r}")
    if form_status({"email": email}) == 400:
        assert response.status_code == 400
    else:
        assert response.status_code in (200, 302)
    # allauth may tell an unknown address that it has no account, but never sends a reset key.
    assert not any("/password/reset/key/" in message.body for message in mail.outbox)
    known = world.client("anonymous").post(
        reverse("account_reset_password"), {"email": world.owner.email}
    )
    if response.status_code == 302:  # a valid address: same answer whether or not it exists
        assert response["Location"] == known["Location"]


@pytest.mark.parametrize("url_name", ["accounts:auth_webhook", "orders:payments_webhook"])
@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"", {}),
        (b"not json", {}),
        (b'{"type": "user.deleted", "data": {"id": "x"}}', {}),
        (
            b'{"type": "user.deleted"}',
            {"svix-id": "msg_1", "svix-timestamp": "1", "svix-signature": "v1,AAAA"},
        ),
        (
            b'{"id": "evt_1", "type": "checkout.session.completed"}',
            {"Stripe-Signature": "t=1,v1=00"},
        ),
        (b"\x00\xff" * 1000, {"Stripe-Signature": "garbage", "svix-signature": "garbage"}),
    ],
)
def test_unsigned_webhooks_are_400_and_write_nothing(world, settings, url_name, body, headers):
    """Forged, unsigned and garbage webhook bodies: 400 (or 503 when unconfigured), no rows."""
    settings.CLERK_WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    before = row_counts()
    response = Client(raise_request_exception=False, enforce_csrf_checks=True).post(
        reverse(url_name), body, content_type="application/json", headers=headers
    )
    assert response.status_code in (400, 503), response.status_code
    assert row_counts() == before


def test_webhooks_refuse_get(world):
    """Webhooks answer 405 to GET."""
    for name in ("accounts:auth_webhook", "orders:payments_webhook"):
        assert world.client("anonymous").get(reverse(name)).status_code == 405


PRICE_RE = re.compile(r"\d")


def test_world_sanity(world):
    """The world has one paid order from buyer to owner (the walk relies on it)."""
    assert world.order.buyer_id == world.buyer.pk
    assert world.order.seller_id == world.owner.pk
    assert world.listing.price == Decimal("25.00")
