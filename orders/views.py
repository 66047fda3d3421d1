"""Thin views for cart, checkout, orders and sales: parse input, call a service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.http import safe_next_url
from marketplace.selectors import listing_for_detail
from marketplace.services import access_listing_for_seller
from orders import selectors
from orders.exceptions import OfferNotFound, OrdersError
from orders.forms import (
    AddressForm,
    AddToCartForm,
    CheckoutForm,
    OfferForm,
    OfferRespondForm,
    QuantityForm,
    RefundForm,
    SalesFilterForm,
    ShipForm,
)
from orders.models import Checkout, Order
from orders.payments import get_gateway
from orders.rules import offer_actions, offer_floor, offer_is_lapsed
from orders.services import cart as cart_services
from orders.services import checkout as checkout_services
from orders.services import offers as offer_services
from orders.services import payment, refunds, transitions
from orders.services import sellers as seller_services


# --- Cart -------------------------------------------------------------------------------------
def cart(request: HttpRequest) -> HttpResponse:
    groups = selectors.cart_groups(user=request.user, session=request.session)
    total = selectors.cart_total(groups)
    can_checkout = bool(groups) and all(line.available for g in groups for line in g.lines)
    # "?add=<listing id>": an anonymous visitor's "Add to cart" on a listing page, which is a
    # GET so that page needs no CSRF cookie (it stays cacheable); confirmed here with a POST.
    confirm = AddToCartForm(request.GET) if "add" in request.GET else None
    adding = None
    if confirm is not None and confirm.is_valid() and confirm.cleaned_data["add"]:
        adding = selectors.cart_listing_to_add(listing_id=confirm.cleaned_data["add"])
    return render(
        request,
        "orders/cart.html",
        {
            "groups": groups,
            "total": total,
            "can_checkout": can_checkout,
            "adding": adding,
            "adding_quantity": (confirm.cleaned_data.get("quantity") or 1) if adding else 1,
        },
    )


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = AddToCartForm(request.POST)
    quantity = (form.cleaned_data.get("quantity") or 1) if form.is_valid() else 1
    try:
        cart_services.cart_add_item(
            user=request.user, session=request.session, listing_id=pk, quantity=quantity
        )
        messages.success(request, "Added to your cart.")
    except OrdersError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next_url(request, reverse("orders:cart")))
    return redirect("orders:cart")


@require_POST
def cart_update(request: HttpRequest, pk: int) -> HttpResponse:
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 0 and 999.")
        return redirect("orders:cart")
    try:
        cart_services.cart_set_quantity(
            user=request.user,
            session=request.session,
            listing_id=pk,
            quantity=form.cleaned_data["quantity"],
        )
    except OrdersError as exc:
        messages.error(request, exc.message)
    return redirect("orders:cart")


@require_POST
def cart_remove(request: HttpRequest, pk: int) -> HttpResponse:
    cart_services.cart_remove_item(user=request.user, session=request.session, listing_id=pk)
    messages.success(request, "Removed from your cart.")
    return redirect("orders:cart")


# --- Checkout ---------------------------------------------------------------------------------
@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    groups = selectors.cart_groups(user=request.user, session=request.session)
    if not groups:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    # Bound on every POST, even an empty one (`request.POST or None` left an empty POST's
    # forms unbound, and add_error on an unbound form raises AttributeError).
    posted = request.POST if request.method == "POST" else None
    choose = CheckoutForm(posted, user=request.user)
    has_saved = choose.fields["address"].queryset.exists()
    new_mode = request.POST.get("address_mode") == "new" or not has_saved
    new_address = AddressForm(posted if new_mode else None)
    if posted is not None:
        address = new_fields = None
        if new_mode:
            if new_address.is_valid():
                new_fields = new_address.cleaned_data
        elif choose.is_valid() and choose.cleaned_data["address"]:
            address = choose.cleaned_data["address"]
        else:
            choose.add_error("address", "Choose an address or enter a new one.")
        if address is not None or new_fields is not None:

            def payment_urls(chk: Checkout) -> tuple[str, str]:
                kwargs = {"public_id": chk.public_id}
                return_url = reverse("orders:checkout_return", kwargs=kwargs)
                cancel_url = reverse("orders:checkout_cancel", kwargs=kwargs)
                return (
                    request.build_absolute_uri(return_url) + "?session_id={CHECKOUT_SESSION_ID}",
                    request.build_absolute_uri(cancel_url),
                )

            try:
                url = checkout_services.checkout_place(
                    buyer=request.user,
                    address=address,
                    new_address=new_fields,
                    payment_urls=payment_urls,
                )
            except OrdersError as exc:
                messages.error(request, exc.message)
                return redirect("orders:cart")
            return redirect(url)
    total = selectors.cart_total(groups)
    return render(
        request,
        "orders/checkout.html",
        {
            "groups": groups,
            "total": total,
            "choose": choose,
            "new_address": new_address,
            "has_saved": has_saved,
            "new_mode": new_mode,
        },
    )


@login_required
def test_payment(request: HttpRequest, public_id) -> HttpResponse:
    chk = selectors.access_checkout(user=request.user, public_id=public_id)
    if chk.gateway != "local":
        raise Http404("Not a test payment.")
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        chk = payment.checkout_test_payment_decide(
            checkout=chk, actor=request.user, approve=approve
        )
        if chk.status == Checkout.Status.PAID:
            return redirect("orders:checkout_done", public_id=chk.public_id)
        messages.error(request, "The test payment was declined; nothing was charged.")
        return redirect("orders:cart")
    return render(request, "orders/test_payment.html", {"checkout": chk})


@login_required
def checkout_return(request: HttpRequest, public_id) -> HttpResponse:
    chk = selectors.access_checkout(user=request.user, public_id=public_id)
    try:
        payment.checkout_confirm_return(checkout=chk)
    except OrdersError as exc:
        messages.warning(request, exc.message)
    return redirect("orders:checkout_done", public_id=public_id)


@login_required
def checkout_cancel(request: HttpRequest, public_id) -> HttpResponse:
    chk = selectors.access_checkout(user=request.user, public_id=public_id)
    if request.method == "POST":
        chk, cancelled = payment.checkout_cancel(checkout_id=chk.pk, actor=request.user)
        if cancelled:
            messages.info(request, "Payment cancelled; your items were released.")
            return redirect("orders:cart")
        message, where = CANCEL_REFUSED[chk.status]
        messages.warning(request, message)
        return redirect(where)
    return render(request, "orders/checkout_cancel.html", {"checkout": chk})


# What cancelling a checkout that is no longer pending did (nothing), and where to look next.
CANCEL_REFUSED = {
    Checkout.Status.PAID: (
        "This checkout is already paid, so nothing was cancelled. To cancel an order, open it "
        "from your orders.",
        "orders:order_list",
    ),
    Checkout.Status.REFUNDED: (
        "This checkout was already refunded; nothing was cancelled.",
        "orders:order_list",
    ),
    Checkout.Status.FAILED: (
        "This checkout had already ended without payment; nothing was charged and its items "
        "were already released.",
        "orders:cart",
    ),
    Checkout.Status.EXPIRED: (
        "This checkout had already ended without payment; nothing was charged and its items "
        "were already released.",
        "orders:cart",
    ),
}


@login_required
def checkout_done(request: HttpRequest, public_id) -> HttpResponse:
    chk = selectors.access_checkout(user=request.user, public_id=public_id)
    # A paid checkout may hold orders that were not fulfilled (an item taken down or sold
    # before the payment arrived): the page then doesn't thank the buyer for them.
    fulfilled = any(order.status != Order.Status.CANCELLED for order in chk.orders.all())
    return render(request, "orders/checkout_done.html", {"checkout": chk, "fulfilled": fulfilled})


# --- Orders (buyer) ---------------------------------------------------------------------------
@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    page = selectors.orders_page(
        selectors.orders_for_buyer(user=request.user), cursor=request.GET.get("cursor", "")
    )
    return render(
        request,
        "orders/order_list.html",
        {"orders": page.object_list, "pages": page.links(request)},
    )


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(user=request.user, order_id=pk, with_details=True)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "is_buyer": order.buyer_id == request.user.pk,
            "is_seller": order.seller_id == request.user.pk,
            "actions": transitions.order_actions(order, request.user),
            "ship_form": ShipForm(),
            "refund_form": RefundForm(),
            "S": Order.Status,
        },
    )


def _order_action(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    selectors.access_order(user=request.user, order_id=pk)  # 404 for strangers
    try:
        action()
        messages.success(request, success)
    except OrdersError as exc:
        messages.error(request, exc.message)
    return redirect("orders:order_detail", pk=pk)


@login_required
@require_POST
def order_confirm_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_action(
        request,
        pk,
        lambda: transitions.order_confirm_delivery(order_id=pk, actor=request.user),
        "Thanks! Delivery confirmed and the seller is being paid.",
    )


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_action(
        request,
        pk,
        lambda: payment.order_cancel(order_id=pk, actor=request.user),
        "The order was cancelled.",
    )


# --- Sales (seller) ---------------------------------------------------------------------------
@login_required
def sales_list(request: HttpRequest) -> HttpResponse:
    form = SalesFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else None
    page = selectors.orders_page(
        selectors.sales_for_seller(user=request.user, status=status or None),
        cursor=request.GET.get("cursor", ""),
    )
    return render(
        request,
        "orders/sales_list.html",
        {"orders": page.object_list, "pages": page.links(request), "filter_form": form},
    )


@login_required
@require_POST
def order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    form = ShipForm(request.POST)
    if not form.is_valid():
        selectors.access_order(user=request.user, order_id=pk)
        messages.error(request, "Enter the carrier and the tracking number.")
        return redirect("orders:order_detail", pk=pk)
    return _order_action(
        request,
        pk,
        lambda: transitions.order_mark_shipped(
            order_id=pk, actor=request.user, **form.cleaned_data
        ),
        "Marked as shipped; the buyer has been told.",
    )


@login_required
@require_POST
def order_refund(request: HttpRequest, pk: int) -> HttpResponse:
    form = RefundForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _order_action(
        request,
        pk,
        lambda: refunds.order_refund(order_id=pk, actor=request.user, reason=reason),
        "Refund requested; the order changes once the payment provider confirms.",
    )


# --- Seller payouts (Stripe Connect onboarding) -------------------------------------------
@login_required
def seller_payments(request: HttpRequest) -> HttpResponse:
    gateway = get_gateway()
    account = (
        getattr(request.user, "payment_account", None) if gateway.requires_onboarding else None
    )
    if request.method == "POST" and gateway.requires_onboarding:
        try:
            url = seller_services.seller_onboarding_start(
                user=request.user,
                refresh_url=request.build_absolute_uri(reverse("orders:seller_payments")),
                return_url=request.build_absolute_uri(reverse("orders:seller_payments_return")),
            )
            return redirect(url)
        except OrdersError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "orders/seller_payments.html",
        {
            "stripe_on": gateway.requires_onboarding,
            "account": account,
            "fee_percentage": settings.PLATFORM_FEE_PERCENTAGE,
        },
    )


@login_required
def seller_payments_return(request: HttpRequest) -> HttpResponse:
    try:
        seller_services.seller_onboarding_refresh(user=request.user)
    except OrdersError as exc:
        messages.error(request, exc.message)
    return redirect("orders:seller_payments")


# --- Offers -----------------------------------------------------------------------------------
@login_required
def offer_make(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Make an offer" form (also drawn on the listing page by {% buy_controls %})."""
    listing = listing_for_detail(listing_id=pk, viewer=request.user)
    form = OfferForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            offer_services.offer_make(
                buyer=request.user, listing_id=listing.pk, amount=form.cleaned_data["amount"]
            )
        except OrdersError as exc:
            form.add_error("amount", exc.message)
        else:
            messages.success(request, "Offer sent. The seller has 48 hours to answer.")
            return redirect("orders:offer_list")
    return render(
        request,
        "orders/offer_make.html",
        {"listing": listing, "form": form, "floor": offer_floor(listing.price)},
    )


def _offer_rows(offers, user, now) -> list[tuple]:
    """(offer, what `user` may do to it, whether it lapsed) for the offers page."""
    return [(o, offer_actions(o, user, now=now), offer_is_lapsed(o, now=now)) for o in offers]


@login_required
def offer_list(request: HttpRequest) -> HttpResponse:
    """My offers: the offers on my items and the offers I made, with what I may do to each."""
    now = timezone.now()
    context = {
        "received": _offer_rows(selectors.offers_received(user=request.user), request.user, now),
        "sent": _offer_rows(selectors.offers_sent(user=request.user), request.user, now),
    }
    return render(request, "orders/offer_list.html", context)


@login_required
@require_POST
def offer_respond(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept, decline, counter or withdraw (orders.services.offers.offer_transition); htmx
    gets the offer's row back, other browsers the offers page."""
    selectors.access_offer(user=request.user, offer_id=pk)  # 404 for strangers
    form = OfferRespondForm(request.POST)
    error = None
    if not form.is_valid():
        error = next(iter(form.errors.values()))[0]
    else:
        try:
            offer_services.offer_transition(
                offer_id=pk,
                actor=request.user,
                action=form.cleaned_data["action"],
                amount=form.cleaned_data["amount"],
            )
        except OrdersError as exc:
            error = exc.message
    if request.htmx:
        offer = selectors.access_offer(user=request.user, offer_id=pk)
        ((offer, actions, lapsed),) = _offer_rows([offer], request.user, timezone.now())
        return render(
            request,
            "orders/offer_list.html#offer_row",
            {
                "offer": offer,
                "actions": actions,
                "lapsed": lapsed,
                "error": error,
                "done": None if error else OFFER_DONE.get(form.cleaned_data.get("action")),
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, OFFER_DONE[form.cleaned_data["action"]])
    return redirect("orders:offer_list")


OFFER_DONE = {
    "accept": "Offer accepted. The item is reserved in the buyer's cart for 24 hours.",
    "decline": "Offer declined.",
    "counter": "Counter-offer sent. The buyer has 48 hours to answer.",
    "withdraw": "Offer withdrawn.",
}


@login_required
@require_POST
def offer_likers(request: HttpRequest, pk: int) -> HttpResponse:
    """The seller sends one offer to every member who saved the item."""
    access_listing_for_seller(user=request.user, listing_id=pk)  # 404 for everyone else
    form = OfferForm(request.POST)
    back = safe_next_url(request, reverse("orders:offer_list"))
    if not form.is_valid():
        messages.error(request, "Enter an amount, e.g. 40.00.")
        return redirect(back)
    try:
        sent = offer_services.offer_to_likers(
            seller=request.user, listing_id=pk, amount=form.cleaned_data["amount"]
        )
    except OrdersError as exc:
        if isinstance(exc, OfferNotFound):
            raise Http404("No such listing.") from exc
        messages.error(request, exc.message)
    else:
        n = len(sent)
        messages.success(
            request, f"Offer sent to {n} member{'s' if n != 1 else ''} who saved this item."
        )
    return redirect(back)
