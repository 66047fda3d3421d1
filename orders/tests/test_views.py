from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.models import Listing
from orders.models import Address, Order, Payout
from orders.services.cart import cart_add_item
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import paid_order, start_checkout
from orders.tests.stripe_support import ADDRESS

pytestmark = pytest.mark.django_db


def test_done_means_two_sellers_full_flow_local_gateway(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """Cart from two sellers -> checkout -> approve test payment -> two orders -> ship ->
    confirm -> each seller paid their share minus 5%, only after confirmation."""
    buyer = UserFactory()
    a = ListingFactory(price=Decimal("40.00"), shipping_price=Decimal("5.00"))
    b = ListingFactory(price=Decimal("12.50"), shipping_price=Decimal("2.00"))
    client.force_login(buyer)
    for listing in (a, b):
        client.post(reverse("orders:cart_add", args=[listing.pk]))
    response = client.post(reverse("orders:checkout"), ADDRESS)
    assert response.status_code == 302
    assert "test-payment" in response["Location"]
    page = client.get(response["Location"])
    assert "Test payment" in page.text
    assert "no real money" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(response["Location"], {"decision": "approve"}, follow=True)
    assert done.status_code == 200
    orders = list(Order.objects.filter(buyer=buyer).order_by("pk"))
    assert [o.status for o in orders] == ["paid", "paid"]
    assert not Payout.objects.exists()
    for order in orders:
        client.force_login(order.seller)
        sales = client.get(reverse("orders:sales_list"))
        assert f"Order #{order.pk}" in sales.text
        client.post(
            reverse("orders:order_ship", args=[order.pk]),
            {"carrier": "Royal Mail", "tracking_number": f"RM{order.pk}"},
        )
        assert not Payout.objects.filter(order=order).exists()
        client.force_login(buyer)
        client.post(reverse("orders:order_confirm_delivery", args=[order.pk]))
        order.refresh_from_db()
        assert order.status == "completed"
        assert order.payout.amount == order.items_total + order.shipping_total - order.platform_fee
    amounts = sorted(e["amount"] for e in gateway_log if e["op"] == "transfer")
    assert amounts == [Decimal("13.87"), Decimal("43.00")]  # 12.50+2-0.63 (0.625 half-up), 40+5-2


def test_checkout_form_shows_validation_messages(client, buyer):
    """Missing and malformed address fields get clear messages; nothing is reserved."""
    listing = ListingFactory()
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    response = client.post(reverse("orders:checkout"), {**ADDRESS, "city": "", "phone": "abc"})
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert "Enter a phone number" in response.text
    assert not Address.objects.exists()


def test_checkout_saves_no_new_address_when_the_reservation_fails(client, buyer):
    """The item sold meanwhile: the buyer is sent back to the cart and the typed address is
    not saved (it is saved in the reservation's transaction)."""
    listing = ListingFactory()
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    Listing.objects.filter(pk=listing.pk).update(status=Listing.Status.SOLD)
    response = client.post(reverse("orders:checkout"), ADDRESS)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:cart")
    assert not Address.objects.exists()
    assert not buyer.checkouts.exists()


def test_checkout_with_saved_address(client, buyer, address):
    """A saved address can be chosen instead of typing a new one."""
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[ListingFactory().pk]))
    page = client.get(reverse("orders:checkout"))
    assert "Analytical Row" in page.text
    response = client.post(
        reverse("orders:checkout"), {"address_mode": "saved", "address": address.pk}
    )
    assert response.status_code == 302
    assert "Analytical Row" in buyer.checkouts.get().shipping_address


def test_checkout_cannot_use_another_users_address(client, buyer, address, stranger):
    """Posting someone else's address id is rejected."""
    client.force_login(stranger)
    client.post(reverse("orders:cart_add", args=[ListingFactory().pk]))
    client.post(reverse("orders:checkout"), {"address_mode": "saved", "address": address.pk})
    assert not stranger.checkouts.exists()


def test_checkout_requires_login(client):
    """Anonymous shoppers are sent to log in before checkout."""
    response = client.get(reverse("orders:checkout"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_test_payment_decline_releases(client, buyer):
    """Declining the test payment cancels the order and frees the item."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    client.force_login(buyer)
    client.post(reverse("orders:test_payment", args=[checkout.public_id]), {"decision": "decline"})
    listing.refresh_from_db()
    assert listing.status == "active"
    assert checkout.orders.get().status == "cancelled"


def test_order_pages_for_buyer_and_seller(client, django_assert_max_num_queries):
    """Buyer sees the order in their list with timeline; seller sees fee and share."""
    order = paid_order()
    client.force_login(order.buyer)
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("orders:order_list"))
    assert f"Order #{order.pk}" in listing.text
    detail = client.get(reverse("orders:order_detail", args=[order.pk]))
    assert "Timeline" in detail.text
    assert "Payment received" in detail.text
    assert "You receive" not in detail.text
    client.force_login(order.seller)
    detail = client.get(reverse("orders:order_detail", args=[order.pk]))
    assert "You receive" in detail.text
    assert str(order.seller_amount) in detail.text


def test_sales_filter_by_state(client):
    """The sales list filters by state."""
    order = paid_order()
    client.force_login(order.seller)
    assert f"Order #{order.pk}" in client.get(reverse("orders:sales_list") + "?status=paid").text
    assert (
        f"Order #{order.pk}"
        not in client.get(reverse("orders:sales_list") + "?status=shipped").text
    )


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("orders:order_detail", "get", None),
        ("orders:order_ship", "post", {"carrier": "DHL", "tracking_number": "1"}),
        ("orders:order_refund", "post", {"reason": "x"}),
        ("orders:order_cancel", "post", {}),
        ("orders:order_confirm_delivery", "post", {}),
    ],
)
def test_order_views_404_for_other_users(client, name, method, data):
    """Another user gets 404 on every order view and the order doesn't change."""
    order = paid_order()
    client.force_login(UserFactory())
    response = getattr(client, method)(reverse(name, args=[order.pk]), data)
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.events.count() == 2


@pytest.mark.parametrize(
    "name",
    [
        "orders:test_payment",
        "orders:checkout_done",
        "orders:checkout_return",
        "orders:checkout_cancel",
    ],
)
def test_checkout_views_404_for_other_users(client, buyer, name):
    """Another user can't see or drive someone else's checkout."""
    checkout = start_checkout(buyer, [ListingFactory()])
    client.force_login(UserFactory())
    assert client.get(reverse(name, args=[checkout.public_id])).status_code == 404
    assert (
        client.post(reverse(name, args=[checkout.public_id]), {"decision": "approve"}).status_code
        == 404
    )
    checkout.refresh_from_db()
    assert checkout.status == "pending"


def test_lists_show_only_own_orders(client):
    """Order and sales lists never show other people's orders."""
    order = paid_order()
    client.force_login(UserFactory())
    assert f"Order #{order.pk}" not in client.get(reverse("orders:order_list")).text
    assert f"Order #{order.pk}" not in client.get(reverse("orders:sales_list")).text


def test_seller_payments_page_local_mode(client):
    """Without Stripe the payouts page says no account is needed."""
    client.force_login(UserFactory())
    assert "test mode" in client.get(reverse("orders:seller_payments")).text


# --- The "Add to cart" control orders contributes to the listing page --------------------------


def test_add_to_cart_form_posts_to_orders_for_shoppers_only(client):
    """Shoppers get an add-to-cart form (orders' buy_controls tag); the seller doesn't."""
    listing = ListingFactory(quantity=3)
    cart_add_url = reverse("orders:cart_add", args=[listing.pk])
    client.force_login(UserFactory())
    body = client.get(listing.get_absolute_url()).content.decode()
    assert f'action="{cart_add_url}"' in body
    assert 'name="quantity"' in body
    client.force_login(listing.seller)
    assert cart_add_url not in client.get(listing.get_absolute_url()).content.decode()


def test_listing_page_says_why_an_item_on_sale_cant_be_bought(client):
    """Seller on holiday: no add-to-cart form, the cart's own reason instead."""
    listing = ListingFactory()
    listing.seller.profile.holiday_mode = True
    listing.seller.profile.save(update_fields=["holiday_mode"])
    client.force_login(UserFactory())
    body = client.get(listing.get_absolute_url()).content.decode()
    assert reverse("orders:cart_add", args=[listing.pk]) not in body
    assert "The seller is on holiday" in body


def test_sold_listing_page_has_no_cart_form_and_no_reason(client):
    """A sold item shows its Sold pill only: neither the form nor a second message."""
    listing = ListingFactory(status="sold")
    body = client.get(listing.get_absolute_url()).content.decode()
    assert reverse("orders:cart_add", args=[listing.pk]) not in body
    assert "just sold" not in body


def csrf_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF, logged in, with the token the checkout page set."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(reverse("orders:checkout")).status_code == 200
    return client, client.cookies["csrftoken"].value


def test_checkout_empty_post_with_saved_address_asks_for_an_address(buyer, address):
    """An empty POST (token in the header) from a member with a saved address and a cart gets
    the form back with "choose an address", not an AttributeError; nothing is reserved."""
    cart_add_item(user=buyer, session={}, listing_id=ListingFactory().pk)
    client, token = csrf_client(buyer)
    response = client.post(reverse("orders:checkout"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert "Choose an address or enter a new one." in response.text
    assert not buyer.checkouts.exists()


def test_checkout_empty_post_without_saved_address_shows_the_address_errors(buyer):
    """With no saved address an empty POST shows the new address form's required fields."""
    cart_add_item(user=buyer, session={}, listing_id=ListingFactory().pk)
    client, token = csrf_client(buyer)
    response = client.post(reverse("orders:checkout"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert not buyer.checkouts.exists()
