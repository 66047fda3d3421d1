"""listing_actions offers exactly what the listing services accept, for every state and role."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace import services
from marketplace.exceptions import MarketplaceError
from marketplace.models import Listing
from marketplace.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db
S = Listing.Status
ACTIONS = ("edit", "publish", "unpublish", "mark_sold", "delete")


class _Rollback(Exception):
    pass


def _edit(*, user, listing_id):
    details = services.ListingDetails.of(Listing.objects.get(pk=listing_id))
    return services.listing_update(user=user, listing_id=listing_id, details=details)


SERVICES = {
    "edit": _edit,
    "publish": services.listing_publish,
    "unpublish": services.listing_unpublish,
    "mark_sold": services.listing_mark_sold,
    "delete": services.listing_delete,
}


def accepted(action: str, user, listing: Listing) -> bool:
    """The service does the action (and rolls it back): no error, and a status action changes
    the listing (publishing what is on sale already is a no-op, not an action)."""
    before = Listing.objects.values_list("status", "deleted_at").get(pk=listing.pk)
    try:
        with transaction.atomic():
            SERVICES[action](user=user, listing_id=listing.pk)
            after = Listing.objects.values_list("status", "deleted_at").get(pk=listing.pk)
            raise _Rollback(action == "edit" or after != before)
    except _Rollback as done:
        return done.args[0]
    except (MarketplaceError, Http404):
        return False


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("who", ["seller", "staff", "stranger", "anonymous"])
def test_listing_actions_are_exactly_what_the_services_accept(status, who):
    """Every action offered is accepted by its service, and every accepted one is offered."""
    listing = ListingFactory(status=status, with_image=True)
    user = {
        "seller": listing.seller,
        "staff": UserFactory(is_staff=True),
        "stranger": UserFactory(),
        "anonymous": AnonymousUser(),
    }[who]
    offered = services.listing_actions(listing, user)
    assert offered == {a for a in ACTIONS if accepted(a, user, listing)}


def test_deleted_listing_offers_nothing():
    """A deleted listing has no actions, not even for its seller (the services 404)."""
    listing = ListingFactory(deleted_at=timezone.now(), with_image=True)
    assert services.listing_actions(listing, listing.seller) == frozenset()
    assert not any(accepted(a, listing.seller, listing) for a in ACTIONS)


def test_reserved_listing_offers_mark_sold_on_both_seller_pages(client):
    """My listings and the edit page draw the same buttons: a reserved item can be marked sold
    (the service accepts it) but not edited or deleted."""
    listing = ListingFactory(status=S.RESERVED, quantity=0, with_image=True)
    client.force_login(listing.seller)
    mark_sold = reverse("marketplace:listing_action", args=[listing.pk, "mark_sold"])
    delete = reverse("marketplace:listing_action", args=[listing.pk, "delete"])
    for page in ("marketplace:my_listings", "marketplace:listing_edit"):
        args = [] if page.endswith("my_listings") else [listing.pk]
        body = client.get(reverse(page, args=args)).content.decode()
        assert mark_sold in body, page
        assert delete not in body, page
    edit_page = client.get(reverse("marketplace:listing_edit", args=[listing.pk])).content.decode()
    assert "Save changes" not in edit_page
