"""Price-drop alerts: members who saved an item get one email per item and day when its price
goes down (sent by a task after commit), and the saved-items page marks the drop."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailKind
from accounts.services import email_opt_out
from accounts.tests.factories import UserFactory
from marketplace.models import Favourite, PriceDropNotice
from marketplace.services import ListingDetails, favourite_add, listing_update
from marketplace.services.price_drops import price_drop_notify
from marketplace.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing():
    return ListingFactory(price=Decimal("50.00"))


def reprice(listing, price: str, captured) -> None:
    """The seller saves the edit form with a new price, committing (tasks run on commit)."""
    details = ListingDetails.of(listing)
    fields = {**details.__dict__, "price": Decimal(price)}
    with captured(execute=True):
        listing_update(user=listing.seller, listing_id=listing.pk, details=ListingDetails(**fields))


def test_lower_price_emails_each_member_who_saved_it(listing, django_capture_on_commit_callbacks):
    """ "Now €40.00, was €50.00" goes to every member who saved the item, with unsubscribe."""
    savers = UserFactory.create_batch(3)
    for member in savers:
        favourite_add(user=member, listing_id=listing.pk)
    reprice(listing, "40.00", django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in savers)
    message = mail.outbox[0]
    assert message.subject.startswith("Now €40.00, was €50.00")
    assert "List-Unsubscribe" in message.extra_headers
    assert PriceDropNotice.objects.filter(listing=listing).count() == 3


def test_no_email_before_commit(listing, django_capture_on_commit_callbacks):
    """The task is enqueued on commit: a rolled-back edit emails nobody."""
    favourite_add(user=UserFactory(), listing_id=listing.pk)
    details = ListingDetails(**{**ListingDetails.of(listing).__dict__, "price": Decimal("40")})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        listing_update(user=listing.seller, listing_id=listing.pk, details=details)
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_one_email_per_item_and_member_a_day(listing, django_capture_on_commit_callbacks):
    """A second drop the same day sends nothing; the next day it does."""
    member = UserFactory()
    favourite_add(user=member, listing_id=listing.pk)
    reprice(listing, "45.00", django_capture_on_commit_callbacks)
    reprice(listing, "40.00", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    tomorrow = timezone.localdate() + timedelta(days=1)
    sent = price_drop_notify(
        listing_id=listing.pk, old_price=Decimal("45"), new_price=Decimal("40"), today=tomorrow
    )
    assert sent == 1
    assert len(mail.outbox) == 2


def test_notify_twice_sends_once(listing):
    """The task is safe to run twice: the notice is stored before the email."""
    favourite_add(user=UserFactory(), listing_id=listing.pk)
    listing.price = Decimal("40.00")
    listing.save(update_fields=["price"])
    for _ in range(2):
        price_drop_notify(listing_id=listing.pk, old_price=Decimal("50"), new_price=Decimal("40"))
    assert len(mail.outbox) == 1


def test_a_higher_or_same_price_emails_nobody(listing, django_capture_on_commit_callbacks):
    """Only a lower price is a drop."""
    favourite_add(user=UserFactory(), listing_id=listing.pk)
    reprice(listing, "55.00", django_capture_on_commit_callbacks)
    reprice(listing, "55.00", django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_members_who_turned_price_drops_off_get_none(listing, django_capture_on_commit_callbacks):
    """Opted-out, banned members and the seller are not emailed."""
    opted_out, banned = UserFactory(), UserFactory()
    for member in (opted_out, banned):
        favourite_add(user=member, listing_id=listing.pk)
    email_opt_out(user=opted_out, kind=EmailKind.PRICE_DROPS)
    banned.is_banned = True
    banned.save(update_fields=["is_banned"])
    reprice(listing, "40.00", django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_saved_items_page_marks_a_price_drop(client, listing):
    """/saved/ shows "Price dropped" with the old and new price on items cheaper since saved."""
    member = UserFactory()
    steady = ListingFactory(price=Decimal("30.00"))
    favourite_add(user=member, listing_id=listing.pk)
    favourite_add(user=member, listing_id=steady.pk)
    assert Favourite.objects.get(user=member, listing=listing).saved_price == Decimal("50.00")
    listing.price = Decimal("40.00")
    listing.save(update_fields=["price"])
    client.force_login(member)
    body = client.get(reverse("marketplace:favourites")).content.decode()
    assert body.count("Price dropped") == 1
    assert "<s>€50.00</s>" in body
    assert "→ €40.00" in body


def test_saved_items_page_has_no_badge_for_someone_elses_cheaper_save(client, listing):
    """The badge is about the viewer's own save price, not another member's."""
    early, late = UserFactory(), UserFactory()
    favourite_add(user=early, listing_id=listing.pk)
    listing.price = Decimal("40.00")
    listing.save(update_fields=["price"])
    favourite_add(user=late, listing_id=listing.pk)
    client.force_login(late)
    assert "Price dropped" not in client.get(reverse("marketplace:favourites")).content.decode()
    client.force_login(early)
    assert "Price dropped" in client.get(reverse("marketplace:favourites")).content.decode()
