import pytest
from django.urls import reverse

from marketplace.models import Listing
from orders.exceptions import CartError
from orders.models import CartItem
from orders.selectors import cart_count, cart_groups
from orders.services.cart import (
    cart_add_item,
    cart_merge_session,
    cart_remove_item,
    cart_set_quantity,
)
from orders.tests.factories import PASSWORD, ListingFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_add_to_db_cart_bounded_by_quantity(buyer):
    """A signed-in shopper's cart is in the database and can't exceed the stock."""
    listing = ListingFactory(quantity=2)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    with pytest.raises(CartError, match="Only 2 left"):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    assert CartItem.objects.get(cart__user=buyer).quantity == 2


def test_seller_cannot_add_own_listing():
    """Sellers can't put their own listings in their cart."""
    listing = ListingFactory()
    with pytest.raises(CartError, match="your own"):
        cart_add_item(user=listing.seller, session={}, listing_id=listing.pk)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "sold"},
        {"status": "removed"},
        {"status": "reserved", "quantity": 0},
        {"is_hidden": True},
        {"status": "draft"},
    ],
)
def test_unavailable_listing_cannot_be_added(buyer, change):
    """Sold, reserved, removed, hidden or draft listings can't be added."""
    listing = ListingFactory()
    Listing.objects.filter(pk=listing.pk).update(**change)
    with pytest.raises(CartError):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)


def test_cart_flags_items_that_became_unavailable(buyer):
    """An item sold or deleted after carting shows as unavailable with a reason."""
    from django.utils import timezone

    ok, sold, deleted = ListingFactory(), ListingFactory(), ListingFactory()
    for listing in (ok, sold, deleted):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    Listing.objects.filter(pk=sold.pk).update(status="sold", quantity=0)
    Listing.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    lines = {line.listing.pk: line for g in cart_groups(user=buyer, session={}) for line in g.lines}
    assert lines[ok.pk].available
    assert "just sold" in lines[sold.pk].problem
    assert "no longer available" in lines[deleted.pk].problem


def test_cart_groups_per_seller_with_subtotals(buyer, two_seller_cart):
    """Lines are grouped per seller with items, shipping and subtotal."""
    a1, a2, b1 = two_seller_cart
    groups = {g.seller.pk: g for g in cart_groups(user=buyer, session={})}
    assert str(groups[a1.seller_id].subtotal) == "40.05"
    assert str(groups[b1.seller_id].subtotal) == "36.33"
    assert cart_count(user=buyer, session={}) == 3


def test_session_cart_for_anonymous_then_quantity_and_remove():
    """Anonymous carts live in the session; quantity changes and removal work there."""
    from django.contrib.auth.models import AnonymousUser

    session: dict = {}
    listing = ListingFactory(quantity=3)
    cart_add_item(user=AnonymousUser(), session=session, listing_id=listing.pk)
    cart_set_quantity(user=AnonymousUser(), session=session, listing_id=listing.pk, quantity=3)
    assert session["cart"] == {str(listing.pk): 3}
    with pytest.raises(CartError):
        cart_set_quantity(user=AnonymousUser(), session=session, listing_id=listing.pk, quantity=4)
    cart_remove_item(user=AnonymousUser(), session=session, listing_id=listing.pk)
    assert session["cart"] == {}


def test_session_cart_merged_on_login(client):
    """Logging in through allauth moves the anonymous cart into the user's cart."""
    user = UserFactory()
    listing = ListingFactory(quantity=5)
    own = ListingFactory(seller=user)
    client.post(reverse("orders:cart_add", args=[listing.pk]), {"quantity": 2})
    session = client.session
    session["cart"] = {**session["cart"], str(own.pk): 1}
    session.save()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    items = list(CartItem.objects.filter(cart__user=user).values_list("listing_id", "quantity"))
    assert items == [(listing.pk, 2)]  # own listing dropped
    assert "cart" not in client.session


def test_session_cart_merge_drops_what_the_cart_would_refuse():
    """Merging asks the one buy rule: hidden items and holiday sellers' items are dropped."""
    user = UserFactory()
    kept = ListingFactory(quantity=2)
    hidden = ListingFactory(is_hidden=True)
    on_holiday = ListingFactory()
    on_holiday.seller.profile.holiday_mode = True
    on_holiday.seller.profile.save(update_fields=["holiday_mode"])
    session = {"cart": {str(kept.pk): 5, str(hidden.pk): 1, str(on_holiday.pk): 1}}
    assert cart_merge_session(user=user, session=session) == 1
    items = list(CartItem.objects.filter(cart__user=user).values_list("listing_id", "quantity"))
    assert items == [(kept.pk, 2)]  # capped at the stock


def test_cart_page_anonymous_shows_lines_and_header_count(client):
    """The cart page renders groups; the header shows the count."""
    listing = ListingFactory(title="Blue denim jacket")
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    response = client.get(reverse("orders:cart"))
    assert response.status_code == 200
    assert "Blue denim jacket" in response.text
    assert response.context["cart_count"] == 1


def test_cart_add_view_reports_error(client, buyer):
    """Adding an unavailable item shows a message instead of failing."""
    listing = ListingFactory(status="sold")
    client.force_login(buyer)
    response = client.post(reverse("orders:cart_add", args=[listing.pk]), follow=True)
    assert "no longer available" in response.text or "just sold" in response.text
    assert not CartItem.objects.exists()


def test_cart_views_only_touch_own_cart(client, buyer, stranger):
    """Removing/updating a listing only changes the requester's own cart."""
    listing = ListingFactory(quantity=3)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    client.force_login(stranger)
    client.post(reverse("orders:cart_remove", args=[listing.pk]))
    client.post(reverse("orders:cart_update", args=[listing.pk]), {"quantity": 3})
    assert CartItem.objects.get(cart__user=buyer).quantity == 1
    response = client.get(reverse("orders:cart"))
    assert listing.title not in response.text
