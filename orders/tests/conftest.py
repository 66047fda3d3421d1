import pytest

from orders.tests.factories import AddressFactory, ListingFactory


@pytest.fixture
def address(buyer):
    return AddressFactory(user=buyer)


@pytest.fixture
def two_seller_cart(buyer):
    """A buyer's cart with 2 items from seller A and 1 from seller B."""
    from orders.services.cart import cart_add_item

    a1 = ListingFactory(price="20.00", shipping_price="4.50")
    a2 = ListingFactory(seller=a1.seller, price="15.55", shipping_price="0.00")
    b1 = ListingFactory(price="33.33", shipping_price="3.00")
    for listing in (a1, a2, b1):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    return a1, a2, b1
