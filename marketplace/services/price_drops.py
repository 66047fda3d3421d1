"""Price-drop alerts: the members who saved an item hear when its seller lowers the price."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import EmailKind, EmailOptOut
from accounts.services import member_email_send
from marketplace.models import Favourite, Listing, PriceDropNotice
from marketplace.rules import listing_is_for_sale
from marketplace.templatetags.catalog import money


def price_drop_notify(
    *, listing_id: int, old_price: Decimal, new_price: Decimal, today: date | None = None
) -> int:
    """Email every member who saved the listing "Now €40, was €50" (kind PRICE_DROPS), at
    most once per listing, member and day, and only while the item is on sale at a price
    below `old_price`.

    Safe to run twice: who is emailed is chosen under the listing's row lock, and a
    PriceDropNotice(listing, member, day), unique, is stored for each before any email is
    sent (after the transaction, with no lock held). Four queries whatever the number of
    members, plus the emails. Returns how many members were emailed.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        listing = (
            Listing.objects.select_for_update(of=("self",))
            .select_related("seller")
            .filter(pk=listing_id)
            .first()
        )
        if listing is None or not listing_is_for_sale(listing) or listing.price >= old_price:
            return 0
        opted_out = EmailOptOut.objects.filter(kind=EmailKind.PRICE_DROPS).values("user_id")
        already = PriceDropNotice.objects.filter(listing=listing, sent_on=today).values("user_id")
        favourites = (
            Favourite.objects.filter(listing=listing, user__is_active=True, user__is_banned=False)
            .exclude(user_id=listing.seller_id)
            .exclude(user_id__in=opted_out)
            .exclude(user_id__in=already)
            .select_related("user")
        )
        recipients = [favourite.user for favourite in favourites]
        PriceDropNotice.objects.bulk_create(
            [
                PriceDropNotice(
                    listing=listing,
                    user=user,
                    sent_on=today,
                    old_price=old_price,
                    new_price=listing.price,
                )
                for user in recipients
            ],
            ignore_conflicts=True,
        )
    context = {
        "listing": listing,
        "old_price": money(old_price, listing.currency),
        "new_price": money(listing.price, listing.currency),
    }
    sent = 0
    for user in recipients:
        sent += member_email_send(
            user=user,
            kind=EmailKind.PRICE_DROPS,
            subject=f"Now {context['new_price']}, was {context['old_price']}: {listing.title}",
            template="price_drop",
            context=context,
        )
    return sent
