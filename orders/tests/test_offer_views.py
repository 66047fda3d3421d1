"""The offer pages: "Make an offer" on the listing page and its own page, My offers (with
htmx answers), "Offer to likers"; access and query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.models import Favourite
from orders.models import Offer
from orders.services import offers
from orders.tests.factories import ListingFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Offer.Status


@pytest.fixture
def listing(seller):
    return ListingFactory(seller=seller, price=Decimal("50.00"))


def test_listing_page_offers_a_make_an_offer_form_to_shoppers(client, buyer, listing):
    """A signed-in shopper sees the offer form with the floor; the seller doesn't."""
    client.force_login(buyer)
    body = client.get(listing.get_absolute_url()).content.decode()
    assert "Make an offer" in body
    assert "Offers start at €30.00" in body
    assert reverse("orders:offer_make", args=[listing.pk]) in body
    client.force_login(listing.seller)
    assert "Make an offer" not in client.get(listing.get_absolute_url()).content.decode()


def test_make_an_offer_sends_it_and_shows_my_offers(client, buyer, listing):
    """Posting an amount creates the offer and lands on My offers."""
    client.force_login(buyer)
    response = client.post(reverse("orders:offer_make", args=[listing.pk]), {"amount": "41.50"})
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:offer_list")
    offer = Offer.objects.get()
    assert (offer.buyer, offer.amount, offer.status) == (buyer, Decimal("41.50"), S.PENDING)
    page = client.get(reverse("orders:offer_list")).content.decode()
    assert "€41.50" in page
    assert "Withdraw" in page


def test_lowball_offer_is_shown_the_floor_on_the_form(client, buyer, listing):
    """A refused amount re-renders the form with the service's message, nothing saved."""
    client.force_login(buyer)
    response = client.post(reverse("orders:offer_make", args=[listing.pk]), {"amount": "10"})
    assert response.status_code == 200
    assert "Offers start at €30.00 for this item." in response.content.decode()
    assert not Offer.objects.exists()


def test_make_an_offer_needs_login(client, listing):
    """Anonymous shoppers are sent to log in."""
    response = client.get(reverse("orders:offer_make", args=[listing.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_listing_page_shows_an_open_offer_instead_of_a_new_form(client, buyer, listing):
    """With an offer waiting, the page says so; after the seller accepts, it points to the cart."""
    offer = offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal("40"))
    client.force_login(buyer)
    body = client.get(listing.get_absolute_url()).content.decode()
    assert "You offered €40.00" in body
    assert "Send offer" not in body
    offers.offer_transition(offer_id=offer.pk, actor=listing.seller, action="accept")
    body = client.get(listing.get_absolute_url()).content.decode()
    assert "was accepted" in body
    assert "Go to cart" in body
    assert "Add to cart" not in body


def test_seller_counters_from_my_offers(client, buyer, listing):
    """The seller's counter form on My offers (no JavaScript) counters and redirects back."""
    offer = offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal("40"))
    client.force_login(listing.seller)
    page = client.get(reverse("orders:offer_list")).content.decode()
    assert "Accept €40.00" in page
    assert "Counter" in page
    response = client.post(
        reverse("orders:offer_respond", args=[offer.pk]), {"action": "counter", "amount": "46"}
    )
    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.status, offer.amount) == (S.COUNTERED, Decimal("46.00"))


def test_htmx_answer_returns_the_offers_row(client, buyer, listing):
    """With htmx the answer swaps in the updated row (accepted, with no more buttons)."""
    offer = offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal("40"))
    client.force_login(listing.seller)
    response = client.post(
        reverse("orders:offer_respond", args=[offer.pk]),
        {"action": "accept"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="offer-{offer.pk}"' in body
    assert "<html" not in body
    assert "Accepted" in body
    assert 'name="action"' not in body


def test_htmx_refusal_is_shown_in_the_row(client, buyer, listing):
    """A refused counter comes back in the row as an alert, the offer unchanged."""
    offer = offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal("40"))
    client.force_login(listing.seller)
    response = client.post(
        reverse("orders:offer_respond", args=[offer.pk]),
        {"action": "counter", "amount": "60"},
        headers={"HX-Request": "true"},
    )
    assert 'role="alert"' in response.content.decode()
    assert Offer.objects.get(pk=offer.pk).status == S.PENDING


def test_strangers_cannot_answer_an_offer(client, buyer, stranger, listing):
    """Another member's offer is a 404 and stays as it was."""
    offer = offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal("40"))
    client.force_login(stranger)
    response = client.post(reverse("orders:offer_respond", args=[offer.pk]), {"action": "accept"})
    assert response.status_code == 404
    assert Offer.objects.get(pk=offer.pk).status == S.PENDING


def test_seller_sends_an_offer_to_likers_from_the_listing_page(client, seller, listing):
    """The seller sees "Offer to likers" with the count and sends one offer to each."""
    for member in UserFactory.create_batch(2):
        Favourite.objects.create(user=member, listing=listing, saved_price=listing.price)
    client.force_login(seller)
    assert "Offer to likers (2)" in client.get(listing.get_absolute_url()).content.decode()
    response = client.post(
        reverse("orders:offer_likers", args=[listing.pk]),
        {"amount": "39", "next": listing.get_absolute_url()},
        follow=True,
    )
    assert "Offer sent to 2 members" in response.content.decode()
    assert Offer.objects.filter(origin=Offer.Origin.LIKERS, amount=Decimal("39")).count() == 2


def test_offer_to_likers_of_someone_elses_item_is_not_found(client, buyer, listing):
    """Only the seller can send offers about their item."""
    client.force_login(buyer)
    response = client.post(reverse("orders:offer_likers", args=[listing.pk]), {"amount": "40"})
    assert response.status_code == 404


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_my_offers_query_count_does_not_grow(client, django_assert_num_queries):
    """My offers runs the same queries for 1 or 10 offers made and received."""

    def grow(member, count: int) -> None:
        for _ in range(count):
            listing = ListingFactory(price=Decimal("50.00"), with_image=True)
            offers.offer_make(buyer=member, listing_id=listing.pk, amount=Decimal("40"))
            mine = ListingFactory(seller=member, price=Decimal("50.00"), with_image=True)
            offers.offer_make(buyer=UserFactory(), listing_id=mine.pk, amount=Decimal("40"))

    one, ten = UserFactory(), UserFactory()
    grow(one, 1)
    grow(ten, 10)
    url = reverse("orders:offer_list")
    client.force_login(one)
    client.get(url)
    expected = _count(client, url)
    client.force_login(ten)
    client.get(url)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.content.decode().count('class="card offer-row"') == 20
