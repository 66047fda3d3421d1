"""No N+1: the order list, order detail, sales list and cart pages run the same number of
queries for 1 and for 10 orders or items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from orders.services.cart import cart_add_item
from orders.services.payment import checkout_mark_paid
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def pay(listings, buyer=None) -> list[Order]:
    checkout = start_checkout(buyer or UserFactory(), listings)
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    return list(checkout.orders.all())


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def assert_same_count(client, django_assert_num_queries, url_for_1, url_for_10, login_1, login_10):
    client.force_login(login_1)
    client.get(url_for_1)  # warm up session and caches
    expected = count_queries(client, url_for_1)
    client.force_login(login_10)
    client.get(url_for_10)
    with django_assert_num_queries(expected):
        response = client.get(url_for_10)
    assert response.status_code == 200
    return response


def test_order_list_queries_constant(client, django_assert_num_queries):
    """The buyer's order list: 1 order or 10 orders (10 sellers), same query count."""
    one, ten = UserFactory(), UserFactory()
    pay([ListingFactory()], one)
    pay([ListingFactory() for _ in range(10)], ten)
    url = reverse("orders:order_list")
    response = assert_same_count(client, django_assert_num_queries, url, url, one, ten)
    assert response.text.count("Order #") == 10


def test_sales_list_queries_constant(client, django_assert_num_queries):
    """The seller's sales list: 1 sale or 10 sales to 10 buyers, same query count."""
    one, ten = UserFactory(is_seller=True), UserFactory(is_seller=True)
    pay([ListingFactory(seller=one)])
    for _ in range(10):
        pay([ListingFactory(seller=ten)])
    url = reverse("orders:sales_list")
    response = assert_same_count(client, django_assert_num_queries, url, url, one, ten)
    assert response.text.count("Order #") == 10


def test_order_detail_queries_constant(client, django_assert_num_queries):
    """An order with 1 item or with 10 items (and their timeline) costs the same queries."""
    small = pay([ListingFactory()])[0]
    seller = UserFactory(is_seller=True)
    big = pay([ListingFactory(seller=seller) for _ in range(10)])[0]
    assert big.items.count() == 10
    response = assert_same_count(
        client,
        django_assert_num_queries,
        small.get_absolute_url(),
        big.get_absolute_url(),
        small.buyer,
        big.buyer,
    )
    assert response.text.count("Vintage denim jacket") >= 10


def test_cart_queries_constant(client, django_assert_num_queries):
    """A cart with 1 line or with 10 lines from 10 sellers costs the same queries."""
    one, ten = UserFactory(), UserFactory()
    cart_add_item(user=one, session={}, listing_id=ListingFactory().pk)
    for _ in range(10):
        cart_add_item(user=ten, session={}, listing_id=ListingFactory().pk)
    url = reverse("orders:cart")
    response = assert_same_count(client, django_assert_num_queries, url, url, one, ten)
    assert response.text.count("Vintage denim jacket") >= 10


def test_order_and_sales_lists_page_by_cursor(client, monkeypatch):
    """Both lists show ORDERS_PER_PAGE orders, newest first, and a Next link that carries on
    to the rest: every order once, however many a member has."""
    from orders import selectors as order_selectors

    monkeypatch.setattr(order_selectors, "ORDERS_PER_PAGE", 3)
    buyer, seller = UserFactory(), UserFactory(is_seller=True)
    for _ in range(4):
        pay([ListingFactory(seller=seller)], buyer)
    for member, name in ((buyer, "orders:order_list"), (seller, "orders:sales_list")):
        client.force_login(member)
        first = client.get(reverse(name))
        assert first.text.count("Order #") == 3
        assert 'rel="next"' in first.text
        second = client.get(reverse(name) + first.context["pages"]["next"])
        assert second.text.count("Order #") == 1
        assert 'rel="prev"' in second.text
        shown = [o.pk for o in first.context["orders"]] + [o.pk for o in second.context["orders"]]
        assert shown == sorted(shown, reverse=True)
        assert len(set(shown)) == 4
