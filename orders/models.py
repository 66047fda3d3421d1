"""Commerce models: carts, addresses, checkouts (one payment), orders (one per seller),
reservations (stock holds), seller payment accounts, payment events, payouts, refunds and
offers (a negotiated price for one unit).

Money is Decimal with 2 places in the listing's currency; never float.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.db import TimeStampedModel
from core.webhooks import StoredWebhookEvent
from marketplace.models import Listing
from orders.crypto import EncryptedTextField

ZERO = Decimal("0.00")
HALF_CENT = Decimal("0.005")


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, **kwargs)


class Cart(TimeStampedModel):
    """A signed-in shopper's cart (anonymous shoppers keep theirs in the session)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart"
    )

    def __str__(self) -> str:
        return f"Cart of {self.user_id}"


class CartItem(TimeStampedModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "listing"], name="cartitem_once_per_cart"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cartitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.listing_id}"


class Address(TimeStampedModel):
    """A saved shipping address. Personal fields are encrypted at rest (orders.crypto)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    full_name = EncryptedTextField()
    line1 = EncryptedTextField()
    line2 = EncryptedTextField(blank=True, default="")
    city = EncryptedTextField()
    postcode = EncryptedTextField()
    country = models.CharField(max_length=2)
    phone = EncryptedTextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso2"
            ),
        ]

    def __str__(self) -> str:
        return f"Address {self.pk}"

    def as_lines(self) -> list[str]:
        lines = [
            self.full_name,
            self.line1,
            self.line2,
            f"{self.postcode} {self.city}",
            self.country,
        ]
        return [line for line in lines if line.strip()]

    def snapshot(self) -> str:
        return "\n".join([*self.as_lines(), self.phone]).strip()


class Checkout(TimeStampedModel):
    """One payment for a whole cart: one Checkout, one Order per seller, one transfer_group."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    total = money_field()
    gateway = models.CharField(max_length=20)
    # The provider's id of the payment (Checkout Session / PaymentIntent / local id).
    gateway_ref = models.CharField(max_length=255, blank=True, default="", db_index=True)
    payment_intent_ref = models.CharField(max_length=255, blank=True, default="", db_index=True)
    charge_ref = models.CharField(max_length=255, blank=True, default="")
    shipping_address = EncryptedTextField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="checkout_total_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "failed", "expired", "refunded"]),
                name="checkout_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Checkout {self.public_id}"

    @property
    def transfer_group(self) -> str:
        return f"checkout_{self.public_id}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")
    DISPUTED = "disputed", _("Disputed")


class Order(TimeStampedModel):
    """What one buyer bought from one seller within a checkout."""

    Status = OrderStatus

    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    items_total = money_field()
    shipping_total = money_field()
    total = money_field()
    platform_fee = money_field()
    seller_amount = money_field()
    carrier = models.CharField(max_length=60, blank=True, default="")
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_newest"),
            models.Index(fields=["seller", "status", "-created_at"], name="order_seller_status"),
            models.Index(fields=["status", "shipped_at"], name="order_status_shipped"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="order_not_own_item"),
            models.CheckConstraint(
                condition=Q(items_total__gt=0) & Q(shipping_total__gte=0) & Q(platform_fee__gte=0),
                name="order_amounts_sane",
            ),
            # Within half a cent rather than "=": SQLite keeps decimals as floating point.
            # PostgreSQL's numeric is exact, so there it is an equality to the cent.
            models.CheckConstraint(
                condition=Q(
                    total__range=(
                        F("items_total") + F("shipping_total") - HALF_CENT,
                        F("items_total") + F("shipping_total") + HALF_CENT,
                    )
                ),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(
                    seller_amount__range=(
                        F("total") - F("platform_fee") - HALF_CENT,
                        F("total") - F("platform_fee") + HALF_CENT,
                    )
                ),
                name="order_seller_amount_adds_up",
            ),
            models.UniqueConstraint(
                fields=["checkout", "seller"], name="order_one_per_seller_per_checkout"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", kwargs={"pk": self.pk})


class OrderItem(models.Model):
    """A line of an order with the price as it was when bought."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    listing = models.ForeignKey(Listing, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=80)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    shipping_price = models.DecimalField(max_digits=8, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orderitem_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gt=0) & Q(shipping_price__gte=0),
                name="orderitem_prices_sane",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderEvent(models.Model):
    """The order's timeline: who did what, when."""

    class Role(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        SELLER = "seller", _("Seller")
        ADMIN = "admin", _("Admin")
        SYSTEM = "system", _("Threadly")
        GATEWAY = "gateway", _("Payment provider")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, choices=Order.Status.choices)
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class Reservation(TimeStampedModel):
    """Units of a listing held for a checkout until it is paid or expires."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        CONVERTED = "converted", _("Sold")
        RELEASED = "released", _("Released")

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="reservations")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="reservation_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="reservation_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["checkout", "listing"], name="reservation_once_per_checkout"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.listing_id} for {self.checkout_id}"


class SellerPaymentAccount(TimeStampedModel):
    """A seller's connected account at the payment provider and whether it can be paid."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def is_ready(self) -> bool:
        return self.details_submitted and self.payouts_enabled


class PaymentEvent(StoredWebhookEvent):
    """A payment webhook event we applied, kept so a replay is a no-op (core.webhooks)."""


class Payout(TimeStampedModel):
    """The seller's share of a completed order sent to them (a Stripe transfer)."""

    class Status(models.TextChoices):
        PAID = "paid", _("Paid out")
        REVERSED = "reversed", _("Reversed")

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="payout")
    amount = money_field()
    currency = models.CharField(max_length=3)
    gateway_ref = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    reversal_ref = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payout_amount_not_negative")
        ]

    def __str__(self) -> str:
        return f"Payout {self.amount} {self.currency} for order {self.order_id}"


class Refund(TimeStampedModel):
    """Money given back to the buyer for one order, confirmed by the gateway."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # Never to be sent or confirmed: the buyer got the money back another way (lost dispute).
        SUPERSEDED = "superseded", _("Superseded")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    gateway_ref = models.CharField(max_length=255, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True, default="")
    # A cancellation before shipping ends "cancelled" (stock returned); otherwise "refunded".
    cancels_order = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="refund_one_pending_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} for order {self.order_id}"


REVIEW_TEXT_MAX = 2000


class ReviewQuerySet(models.QuerySet):
    def visible(self) -> "ReviewQuerySet":
        """Reviews anyone may read and that count in the seller's rating (not hidden by staff)."""
        return self.filter(is_hidden=False)


class Review(TimeStampedModel):
    """The buyer's stars and words about one completed order, and the seller's one reply.

    Written only through orders.services.reviews (which keeps the seller's rating on their
    profile in step); who may do what is reviews.review_actions.
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="review")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=REVIEW_TEXT_MAX)
    edited_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(max_length=REVIEW_TEXT_MAX, blank=True, default="")
    replied_at = models.DateTimeField(null=True, blank=True)
    # Moderation: a hidden review is not shown and not counted in the seller's rating.
    is_hidden = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["seller", "-created_at", "-id"],
                name="review_seller_newest",
                condition=Q(is_hidden=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="review_not_own_sale"),
            models.CheckConstraint(
                condition=Q(reply="", replied_at__isnull=True)
                | (~Q(reply="") & Q(replied_at__isnull=False)),
                name="review_reply_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ for order {self.order_id}"


class ReviewReport(models.Model):
    """A member flagged a review for staff (the admin's "Reviews" queue, filter "reported").

    Open until staff hide the review (resolved) or keep it (dismissed)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Review hidden")
        DISMISSED = "dismissed", _("Dismissed")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_reports"
    )
    reason = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "review"], name="reviewreport_open")]
        constraints = [
            models.UniqueConstraint(fields=["review", "reporter"], name="reviewreport_once"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved", "dismissed"]),
                name="reviewreport_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Report of review {self.review_id} by {self.reporter_id}"


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the seller")
    COUNTERED = "countered", _("Waiting for the buyer")
    ACCEPTED = "accepted", _("Accepted")
    PAYING = "paying", _("In checkout")
    PAID = "paid", _("Bought")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


# An offer is open while it can still end in a sale; a buyer has at most one open offer per item.
OPEN_OFFER_STATUSES = (
    OfferStatus.PENDING,
    OfferStatus.COUNTERED,
    OfferStatus.ACCEPTED,
    OfferStatus.PAYING,
)


class OfferQuerySet(models.QuerySet):
    def open(self) -> "OfferQuerySet":
        return self.filter(status__in=OPEN_OFFER_STATUSES)

    def holding(self, *, buyer_id: int, now) -> "OfferQuerySet":
        """Accepted offers of `buyer_id` still holding their unit at the agreed price at `now`
        (the release job may not have run yet for the lapsed ones: they hold nothing for the
        buyer any more)."""
        return self.filter(buyer_id=buyer_id, status=OfferStatus.ACCEPTED, expires_at__gt=now)


class Offer(TimeStampedModel):
    """A price a buyer and the seller negotiate for one unit of a listing.

    `amount` is the price on the table now (the buyer's offer, the seller's counter, or the
    agreed price once accepted); `expires_at` is when the current step lapses (an answer is
    due within 48 hours; an accepted offer holds the unit for 24 hours). Moved through
    orders.services.offers only.
    """

    Status = OfferStatus

    class Origin(models.TextChoices):
        BUYER = "buyer", _("Buyer's offer")
        LIKERS = "likers", _("Seller's offer to likers")

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers_made"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers_received"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.BUYER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    # What the buyer first offered (none for a seller's offer to likers).
    buyer_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField()
    # When the member who must answer was reminded that the current step is about to lapse
    # (None: not yet; a counter-offer starts a new step and clears it).
    reminded_at = models.DateTimeField(null=True, blank=True)
    # The checkout the agreed price went into (its reservation took over the offer's hold).
    checkout = models.ForeignKey(
        Checkout, null=True, blank=True, on_delete=models.SET_NULL, related_name="offers"
    )

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="offer_expiry"),
            models.Index(fields=["buyer", "-created_at"], name="offer_buyer_newest"),
            models.Index(fields=["seller", "-created_at"], name="offer_seller_newest"),
            models.Index(fields=["listing", "origin", "created_at"], name="offer_listing_origin"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="offer_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=OfferStatus.values), name="offer_status_known"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="offer_not_own_item"),
            models.UniqueConstraint(
                fields=["buyer", "listing"],
                condition=Q(status__in=OPEN_OFFER_STATUSES),
                name="offer_one_open_per_buyer_and_listing",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk}: {self.amount} {self.currency} for {self.listing_id}"
