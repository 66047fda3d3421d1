from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.exceptions import IllegalTransition
from orders.money import platform_fee, to_minor_units
from orders.selectors import cart_groups, cart_total
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve
from orders.services.payment import checkout_mark_paid
from orders.services.transitions import order_complete, order_confirm_delivery, order_mark_shipped
from orders.tests.factories import AddressFactory, ListingFactory, UserFactory
from orders.tests.gateway_support import local_gateway_calls

cents = st.integers(min_value=50, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
shipping = st.integers(min_value=0, max_value=100_000).map(lambda c: Decimal(c) / 100)


@pytest.mark.parametrize(
    ("items", "fee"),
    [
        ("0.50", "0.03"),
        ("10.00", "0.50"),
        ("0.10", "0.01"),
        ("0.09", "0.00"),
        ("35.55", "1.78"),
        ("12.50", "0.63"),
        ("12.30", "0.62"),
        ("99999.99", "5000.00"),
    ],
)
def test_platform_fee_half_up_to_cent(items, fee):
    """5% of the item total, rounded half-up to the cent."""
    assert platform_fee(Decimal(items), percentage=Decimal(5)) == Decimal(fee)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    carts=st.lists(
        st.lists(st.tuples(cents, shipping, st.integers(1, 3)), min_size=1, max_size=3),
        min_size=1,
        max_size=4,
    )
)
def test_fees_plus_seller_shares_equal_buyer_paid(carts):
    """For any cart, platform fees + what sellers receive == what the buyer paid, to the cent."""
    with local_gateway_calls() as gateway_log:
        buyer = UserFactory()
        for seller_lines in carts:
            seller = UserFactory(is_seller=True)
            for price, ship, qty in seller_lines:
                listing = ListingFactory(
                    seller=seller, price=price, shipping_price=ship, quantity=qty
                )
                cart_add_item(user=buyer, session={}, listing_id=listing.pk, quantity=qty)
        checkout = checkout_reserve(buyer=buyer, address=AddressFactory(user=buyer))
        checkout_mark_paid(checkout_id=checkout.pk)
        orders = list(checkout.orders.all())
        assert len(orders) == len(carts)
        expected_total = sum(
            (price * qty + ship for lines in carts for price, ship, qty in lines), Decimal(0)
        )
        assert checkout.total == expected_total
        for order in orders:
            order_mark_shipped(
                order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="1"
            )
            order_confirm_delivery(order_id=order.pk, actor=buyer)
        with pytest.raises(IllegalTransition):
            order_complete(order_id=orders[0].pk)
    transfers = [e["amount"] for e in gateway_log if e["op"] == "transfer"]
    fees = sum((o.platform_fee for o in orders), Decimal(0))
    assert len(transfers) == len(orders)
    assert to_minor_units(fees) + sum(to_minor_units(t) for t in transfers) == to_minor_units(
        checkout.total
    )
    for order in orders:
        assert order.platform_fee == platform_fee(order.items_total)


@pytest.mark.django_db
def test_cart_total_shown_is_the_total_checkout_charges():
    """Two sellers, several units and shipping: the cart page's total is what checkout charges,
    and each seller's subtotal is their order's total."""
    buyer = UserFactory()
    a = ListingFactory(price=Decimal("12.50"), shipping_price=Decimal("3.90"), quantity=5)
    b = ListingFactory(price=Decimal("40.00"), shipping_price=Decimal("0.00"))
    c = ListingFactory(seller=a.seller, price=Decimal("0.99"), shipping_price=Decimal("1.10"))
    cart_add_item(user=buyer, session={}, listing_id=a.pk, quantity=3)
    cart_add_item(user=buyer, session={}, listing_id=b.pk)
    cart_add_item(user=buyer, session={}, listing_id=c.pk)
    groups = cart_groups(user=buyer, session={})
    shown = cart_total(groups)
    subtotals = {group.seller.pk: group.subtotal for group in groups}
    checkout = checkout_reserve(buyer=buyer, address=AddressFactory(user=buyer))
    assert shown == checkout.total == Decimal("83.49")  # 37.50+3.90+0.99+1.10 + 40.00
    assert {o.seller_id: o.total for o in checkout.orders.all()} == subtotals
