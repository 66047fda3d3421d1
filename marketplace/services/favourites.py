"""Saved items ("favourites") of shoppers."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core import analytics
from marketplace.exceptions import FavouriteError
from marketplace.models import Favourite, Listing


def favourite_add(*, user: User, listing_id: int) -> Favourite:
    """Save a visible listing for `user` at its price now (the saved-items page marks it when
    the price drops); saving twice is harmless (returns the same row).

    Raises FavouriteError if the listing is not visible (draft, deleted, hidden...).
    """
    listing = Listing.objects.visible().filter(pk=listing_id).first()
    if listing is None:
        raise FavouriteError(_("This item is no longer available."))
    try:
        with transaction.atomic():
            favourite, created = Favourite.objects.get_or_create(
                user=user, listing=listing, defaults={"saved_price": listing.price}
            )
    except IntegrityError:  # a double click raced us
        return Favourite.objects.get(user=user, listing=listing)
    if created:
        analytics.capture_on_commit(user, "listing_favourited", listing_id=listing.pk)
    return favourite


def favourite_remove(*, user: User, listing_id: int) -> None:
    """Forget a saved listing; removing one that isn't saved is harmless."""
    Favourite.objects.filter(user=user, listing_id=listing_id).delete()
