"""Cart services: the session for anonymous shoppers, the database for signed-in ones."""

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from core import analytics
from marketplace.models import Listing
from orders.exceptions import CartError
from orders.models import Cart, CartItem, Offer
from orders.payments import get_gateway
from orders.rules import unavailable_reason

SESSION_KEY = "cart"


def _session_items(session: SessionBase) -> dict[str, int]:
    return dict(session.get(SESSION_KEY) or {})


def _held(user, listing_id: int) -> int:
    """Units of the listing an accepted offer holds for `user` (one, or none)."""
    if not user.is_authenticated:
        return 0
    holding = Offer.objects.holding(buyer_id=user.pk, now=timezone.now())
    return int(holding.filter(listing_id=listing_id).exists())


def _check(listing: Listing, *, user, quantity: int) -> None:
    if quantity < 1:
        raise CartError("Choose a quantity of at least 1.")
    reason = unavailable_reason(
        listing,
        buyer_id=user.pk if user.is_authenticated else None,
        quantity=quantity,
        requires_onboarding=get_gateway().requires_onboarding,
        held=_held(user, listing.pk),
    )
    if reason:
        raise CartError(reason)


def _load_listing(listing_id: int) -> Listing:
    listing = (
        Listing.objects.visible()
        .select_related("seller", "seller__profile", "seller__payment_account")
        .filter(pk=listing_id)
        .first()
    )
    if listing is None:
        raise CartError("This item is no longer available.")
    return listing


@transaction.atomic
def cart_add_item(*, user, session: SessionBase, listing_id: int, quantity: int = 1) -> int:
    """Add `quantity` units (on top of what is there), bounded by the listing's quantity.

    Returns the new quantity in the cart. Raises CartError with a message for the shopper.
    """
    listing = _load_listing(listing_id)
    if user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=user)
        item = CartItem.objects.select_for_update().filter(cart=cart, listing=listing).first()
        new_quantity = (item.quantity if item else 0) + quantity
        _check(listing, user=user, quantity=new_quantity)
        if item:
            item.quantity = new_quantity
            item.save(update_fields=["quantity", "updated_at"])
        else:
            CartItem.objects.create(cart=cart, listing=listing, quantity=new_quantity)
    else:
        items = _session_items(session)
        new_quantity = items.get(str(listing.pk), 0) + quantity
        _check(listing, user=user, quantity=new_quantity)
        items[str(listing.pk)] = new_quantity
        session[SESSION_KEY] = items
    analytics.capture_on_commit(user, "added_to_cart", listing_id=listing.pk, quantity=quantity)
    return new_quantity


@transaction.atomic
def cart_set_quantity(*, user, session: SessionBase, listing_id: int, quantity: int) -> None:
    """Set the quantity of a cart line (0 removes it), bounded by the listing's quantity."""
    if quantity <= 0:
        cart_remove_item(user=user, session=session, listing_id=listing_id)
        return
    listing = _load_listing(listing_id)
    _check(listing, user=user, quantity=quantity)
    if user.is_authenticated:
        updated = CartItem.objects.filter(cart__user=user, listing=listing).update(
            quantity=quantity
        )
        if not updated:
            raise CartError("This item is not in your cart.")
    else:
        items = _session_items(session)
        if str(listing.pk) not in items:
            raise CartError("This item is not in your cart.")
        items[str(listing.pk)] = quantity
        session[SESSION_KEY] = items


def cart_remove_item(*, user, session: SessionBase, listing_id: int) -> None:
    """Remove a line from the cart (no error if it isn't there)."""
    if user.is_authenticated:
        CartItem.objects.filter(cart__user=user, listing_id=listing_id).delete()
    else:
        items = _session_items(session)
        if items.pop(str(listing_id), None) is not None:
            session[SESSION_KEY] = items


@transaction.atomic
def cart_merge_session(*, user, session: SessionBase) -> int:
    """On login: move the anonymous session cart into the user's database cart.

    Quantities are added and capped at the listing's stock; own, missing or unavailable
    listings (orders.rules.unavailable_reason) are dropped. Returns how many lines were merged.
    """
    items = _session_items(session)
    if not items:
        return 0
    cart, _ = Cart.objects.get_or_create(user=user)
    merged = 0
    listings = Listing.objects.filter(pk__in=[int(pk) for pk in items]).select_related(
        "seller", "seller__profile", "seller__payment_account"
    )
    existing = {item.listing_id: item for item in cart.items.select_for_update()}
    requires_onboarding = get_gateway().requires_onboarding
    held = set(
        Offer.objects.holding(buyer_id=user.pk, now=timezone.now()).values_list(
            "listing_id", flat=True
        )
    )
    for listing in listings:
        if listing.pk in held:  # already in the cart, as the one unit agreed by the offer
            continue
        reason = unavailable_reason(
            listing, buyer_id=user.pk, quantity=1, requires_onboarding=requires_onboarding
        )
        if reason is not None:
            continue
        item = existing.get(listing.pk)
        quantity = min((item.quantity if item else 0) + items[str(listing.pk)], listing.quantity)
        if item:
            item.quantity = quantity
            item.save(update_fields=["quantity", "updated_at"])
        else:
            CartItem.objects.create(cart=cart, listing=listing, quantity=quantity)
        merged += 1
    session.pop(SESSION_KEY, None)
    return merged


def cart_remove_listings(*, user, listing_ids: list[int]) -> None:
    CartItem.objects.filter(cart__user=user, listing_id__in=listing_ids).delete()
