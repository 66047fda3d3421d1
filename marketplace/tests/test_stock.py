"""Listing stock services: locking, reserving, selling and releasing units."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.exceptions import ListingOutOfStock, MarketplaceError
from marketplace.models import Listing
from marketplace.services import (
    listing_release_stock,
    listing_reserve_stock,
    listing_sell_reserved_stock,
    listings_lock,
)
from marketplace.tests.factories import ListingFactory

JUST_SOLD = "Sorry, this item was just sold."


def locked(listing: Listing) -> Listing:
    return listings_lock(listing_ids=[listing.pk])[listing.pk]


def stored(listing: Listing) -> tuple[int, str]:
    listing.refresh_from_db()
    return listing.quantity, listing.status


# --- listings_lock ------------------------------------------------------------------------


@pytest.mark.django_db
def test_listings_lock_returns_rows_by_id_and_skips_missing_ids():
    """Every existing id comes back once, keyed by id; unknown ids are left out."""
    a, b = ListingFactory(), ListingFactory()
    with transaction.atomic():
        rows = listings_lock(listing_ids=[b.pk, a.pk, b.pk, 987654])
    assert set(rows) == {a.pk, b.pk}
    assert rows[a.pk].title == a.title


@pytest.mark.django_db
def test_listings_lock_locks_in_primary_key_order():
    """One query, ordered by pk (fixed lock order), FOR UPDATE where the database has it."""
    listings = [ListingFactory() for _ in range(3)]
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        listings_lock(listing_ids=[listing.pk for listing in reversed(listings)])
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"].upper()
    assert 'ORDER BY "MARKETPLACE_LISTING"."ID" ASC' in sql
    if connection.features.has_select_for_update:
        assert sql.rstrip().endswith("FOR UPDATE")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_listings_lock_holds_row_lock_until_callers_transaction_ends():
    """Another connection cannot lock the row while the caller's transaction is open."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    listing = ListingFactory()
    outcome: dict[str, object] = {}

    def try_lock() -> None:
        try:
            with transaction.atomic():
                Listing.objects.select_for_update(nowait=True).get(pk=listing.pk)
            outcome["result"] = "locked"
        except DatabaseError as exc:
            outcome["result"] = exc
        finally:
            connections.close_all()

    def in_other_thread() -> object:
        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()
        return outcome.pop("result")

    with transaction.atomic():
        listings_lock(listing_ids=[listing.pk])
        assert isinstance(in_other_thread(), DatabaseError)
    assert in_other_thread() == "locked"


@pytest.mark.django_db(transaction=True)
def test_stock_services_refuse_to_run_outside_a_transaction():
    """Without transaction.atomic there is no lock to rely on: every service refuses."""
    listing = ListingFactory(quantity=2)
    with pytest.raises(TransactionManagementError, match="transaction.atomic"):
        listings_lock(listing_ids=[listing.pk])
    with pytest.raises(TransactionManagementError):
        listing_reserve_stock(listing=listing, quantity=1)
    with pytest.raises(TransactionManagementError):
        listing_sell_reserved_stock(listing=listing, quantity=1)
    with pytest.raises(TransactionManagementError):
        listing_release_stock(listing=listing, quantity=1)
    assert stored(listing) == (2, Listing.Status.ACTIVE)


# --- listing_reserve_stock ----------------------------------------------------------------


@pytest.mark.django_db
def test_reserve_stock_with_units_left_stays_on_sale():
    """Taking some of the units lowers the quantity; the listing stays active."""
    listing = ListingFactory(quantity=3)
    with transaction.atomic():
        listing_reserve_stock(listing=locked(listing), quantity=2)
    assert stored(listing) == (1, Listing.Status.ACTIVE)


@pytest.mark.django_db
def test_reserve_stock_last_unit_makes_listing_reserved():
    """Taking the last unit takes the listing off sale as reserved."""
    listing = ListingFactory(quantity=1)
    with transaction.atomic():
        listing_reserve_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (0, Listing.Status.RESERVED)


@pytest.mark.django_db
def test_reserve_stock_more_than_left_is_refused_with_buyer_message():
    """Asking for more units than remain raises ListingOutOfStock and writes nothing."""
    listing = ListingFactory(quantity=2)
    with transaction.atomic(), pytest.raises(ListingOutOfStock, match=JUST_SOLD) as info:
        listing_reserve_stock(listing=locked(listing), quantity=3)
    assert isinstance(info.value, MarketplaceError)
    assert stored(listing) == (2, Listing.Status.ACTIVE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "quantity", "deleted"),
    [
        (Listing.Status.RESERVED, 0, False),
        (Listing.Status.SOLD, 0, False),
        (Listing.Status.SOLD, 1, False),
        (Listing.Status.DRAFT, 1, False),
        (Listing.Status.REMOVED, 1, False),
        (Listing.Status.ACTIVE, 0, False),
        (Listing.Status.ACTIVE, 1, True),
    ],
)
def test_reserve_stock_of_listing_not_on_sale_is_refused(status, quantity, deleted):
    """Reserved, sold, draft, removed, empty or deleted listings give no units."""
    listing = ListingFactory(
        status=status, quantity=quantity, deleted_at=timezone.now() if deleted else None
    )
    with transaction.atomic(), pytest.raises(ListingOutOfStock, match=JUST_SOLD):
        listing_reserve_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (quantity, status)


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1])
def test_reserve_stock_needs_a_positive_quantity(quantity):
    """A zero or negative take is a programming error and changes nothing."""
    listing = ListingFactory(quantity=2)
    with transaction.atomic(), pytest.raises(ValueError, match="positive"):
        listing_reserve_stock(listing=locked(listing), quantity=quantity)
    assert stored(listing) == (2, Listing.Status.ACTIVE)


@pytest.mark.django_db
def test_reserve_stock_rolls_back_with_the_callers_transaction():
    """The stock change is part of the caller's transaction, not committed on its own."""
    listing = ListingFactory(quantity=1)

    @transaction.atomic
    def checkout_that_fails_after_taking_the_unit() -> None:
        listing_reserve_stock(listing=locked(listing), quantity=1)
        raise RuntimeError("the caller failed after taking the unit")

    with pytest.raises(RuntimeError):
        checkout_that_fails_after_taking_the_unit()
    assert stored(listing) == (1, Listing.Status.ACTIVE)


# --- listing_sell_reserved_stock ----------------------------------------------------------


@pytest.mark.django_db
def test_sell_reserved_stock_sold_out_listing_becomes_sold():
    """A paid reservation of the last unit turns the reserved listing into sold."""
    listing = ListingFactory(quantity=1)
    with transaction.atomic():
        row = locked(listing)
        listing_reserve_stock(listing=row, quantity=1)
        listing_sell_reserved_stock(listing=row, quantity=1)
    assert stored(listing) == (0, Listing.Status.SOLD)


@pytest.mark.django_db
def test_sell_reserved_stock_with_units_left_stays_on_sale():
    """A paid reservation of some units leaves the rest on sale."""
    listing = ListingFactory(quantity=3)
    with transaction.atomic():
        row = locked(listing)
        listing_reserve_stock(listing=row, quantity=1)
        listing_sell_reserved_stock(listing=row, quantity=1)
    assert stored(listing) == (2, Listing.Status.ACTIVE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "quantity"),
    [
        (Listing.Status.SOLD, 0),
        (Listing.Status.RESERVED, 2),
        (Listing.Status.ACTIVE, 0),
        (Listing.Status.REMOVED, 0),
    ],
)
def test_sell_reserved_stock_changes_only_sold_out_reserved_listings(status, quantity):
    """Only status reserved with zero units becomes sold; anything else is left alone."""
    listing = ListingFactory(status=status, quantity=quantity)
    with transaction.atomic():
        listing_sell_reserved_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (quantity, status)


# --- listing_release_stock ----------------------------------------------------------------


@pytest.mark.django_db
def test_release_stock_reserved_listing_is_back_on_sale():
    """Units of an expired reservation come back and the listing is active again."""
    listing = ListingFactory(quantity=1)
    with transaction.atomic():
        listing_reserve_stock(listing=locked(listing), quantity=1)
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (1, Listing.Status.ACTIVE)


@pytest.mark.django_db
def test_release_stock_sold_listing_is_back_on_sale():
    """Units of a cancelled, paid order come back and the sold listing is active again."""
    listing = ListingFactory(quantity=1)
    with transaction.atomic():
        row = locked(listing)
        listing_reserve_stock(listing=row, quantity=1)
        listing_sell_reserved_stock(listing=row, quantity=1)
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (1, Listing.Status.ACTIVE)


@pytest.mark.django_db
@pytest.mark.parametrize(("take", "stock"), [(1, 1), (2, 3), (3, 3), (1, 5)])
def test_release_stock_never_pushes_quantity_above_what_was_taken(take, stock):
    """Releasing what was taken restores exactly the quantity there was, never more."""
    listing = ListingFactory(quantity=stock)
    with transaction.atomic():
        listing_reserve_stock(listing=locked(listing), quantity=take)
    assert stored(listing)[0] == stock - take
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=take)
    assert stored(listing) == (stock, Listing.Status.ACTIVE)


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, -5])
def test_release_stock_needs_a_positive_quantity(quantity):
    """A zero or negative release (which would take units instead) is refused; no write."""
    listing = ListingFactory(quantity=0, status=Listing.Status.RESERVED)
    with transaction.atomic(), pytest.raises(ValueError, match="positive"):
        listing_release_stock(listing=locked(listing), quantity=quantity)
    assert stored(listing) == (0, Listing.Status.RESERVED)


@pytest.mark.django_db
def test_release_stock_of_deleted_listing_keeps_it_off_sale():
    """A listing deleted meanwhile gets its units back but keeps its status."""
    listing = ListingFactory(quantity=0, status=Listing.Status.SOLD, deleted_at=timezone.now())
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (1, Listing.Status.SOLD)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Listing.Status.DRAFT, Listing.Status.REMOVED])
def test_release_stock_keeps_draft_and_removed_status(status):
    """Only reserved or sold listings go back to active; a draft or removed one stays so."""
    listing = ListingFactory(quantity=0, status=status)
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=1)
    assert stored(listing) == (1, status)


# --- held_quantity ------------------------------------------------------------------------


@pytest.mark.django_db
def test_held_quantity_counts_units_taken_until_sold_or_released():
    """Reserving holds units; selling or releasing them ends the hold; giving back units that
    were already sold (a cancelled order) leaves other holds alone."""
    listing = ListingFactory(quantity=5)
    with transaction.atomic():
        row = locked(listing)
        listing_reserve_stock(listing=row, quantity=2)
        listing_reserve_stock(listing=row, quantity=1)
    listing.refresh_from_db()
    assert (listing.quantity, listing.held_quantity) == (2, 3)
    with transaction.atomic():
        row = locked(listing)
        listing_sell_reserved_stock(listing=row, quantity=2)
        listing_release_stock(listing=row, quantity=2, sold=True)
    listing.refresh_from_db()
    assert (listing.quantity, listing.held_quantity) == (4, 1)
    with transaction.atomic():
        listing_release_stock(listing=locked(listing), quantity=1)
    listing.refresh_from_db()
    assert (listing.quantity, listing.held_quantity) == (5, 0)
