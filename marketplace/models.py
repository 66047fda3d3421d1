import re
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from core.db import TimeStampedModel
from core.reverse_memo import remembered_reverse

MIN_PRICE = Decimal("0.50")
MAX_PRICE = Decimal("100000.00")


class Category(models.Model):
    """A node of the category tree (e.g. Women > Tops > T-shirts), managed in admin."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=80, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return category_url(self.slug)


class ListingCondition(models.TextChoices):
    NEW_WITH_TAGS = "new_with_tags", _("New with tags")
    LIKE_NEW = "like_new", _("Like new")
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")
    REMOVED = "removed", _("Removed")


# Statuses anyone may see (with the other conditions of ListingQuerySet.visible()).
VISIBLE_STATUSES = (ListingStatus.ACTIVE, ListingStatus.RESERVED, ListingStatus.SOLD)
# Visible listings search engines may index and the sitemap lists: on sale, or reserved (held in
# a checkout for minutes; it goes back on sale or sells). Sold ones are left out (docs/seo.md).
INDEXABLE_STATUSES = (ListingStatus.ACTIVE, ListingStatus.RESERVED)


def listing_slug(title: str) -> str:
    """The URL slug of a listing titled `title` (set on create and whenever the title changes)."""
    return slugify(title)[:90] or "item"


class ListingQuerySet(models.QuerySet):
    def not_deleted(self) -> "ListingQuerySet":
        return self.filter(deleted_at__isnull=True)

    def visible(self) -> "ListingQuerySet":
        """Listings anyone may see: active or sold/reserved, not deleted, hidden or banned.

        The query form of marketplace.rules.listing_is_visible (tests keep them equal)."""
        return self.filter(
            deleted_at__isnull=True,
            is_hidden=False,
            seller__is_banned=False,
            seller__is_active=True,
            status__in=VISIBLE_STATUSES,
        )

    def for_sale(self) -> "ListingQuerySet":
        """Listings that can be bought: the query form of marketplace.rules.listing_is_for_sale
        (tests keep them equal)."""
        return self.visible().filter(status=Listing.Status.ACTIVE, quantity__gt=0)

    def indexable(self) -> "ListingQuerySet":
        """Listings for search engines and the sitemap: the query form of
        marketplace.rules.listing_is_indexable (tests keep them equal)."""
        return self.visible().filter(status__in=INDEXABLE_STATUSES)


class Listing(TimeStampedModel):
    """An item a seller offers. Most second-hand items are unique (quantity 1)."""

    Condition = ListingCondition
    Status = ListingStatus
    # The price when a shopper saved the item, if higher now: annotated on their saved items
    # (selectors.favourites_of). None elsewhere, so a listing card reads it without a failed
    # template lookup (Django answers one with a costly dir() of the instance).
    price_dropped_from: Decimal | None = None

    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listings"
    )
    title = models.CharField(max_length=80)
    slug = models.SlugField(max_length=90, blank=True)
    description = models.TextField(max_length=5000, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="listings")
    brand = models.CharField(max_length=60, blank=True)
    size = models.CharField(max_length=20, blank=True)
    condition = models.CharField(max_length=20, choices=Condition.choices)
    colour = models.CharField(max_length=30, blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(MIN_PRICE), MaxValueValidator(MAX_PRICE)],
    )
    currency = models.CharField(max_length=3, default="EUR")
    shipping_price = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00")), MaxValueValidator(Decimal("1000.00"))],
    )
    # Units on sale now. Units in a checkout not yet paid are not in `quantity` but counted in
    # `held_quantity` (stock services only): the seller can't change `quantity` while any are.
    quantity = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(999)])
    held_quantity = models.PositiveIntegerField(default=0, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Moderation: hidden by staff; the seller still sees it, nobody else does.
    is_hidden = models.BooleanField(default=False)
    view_count = models.PositiveIntegerField(default=0)
    # The names of the category and its ancestors ("Women Tops T-shirts"), copied here so the
    # search vector (a generated column on PostgreSQL, see migration 0004) can weigh them.
    # Set by the listing services and refreshed by category_listing_names_refresh.
    category_names = models.TextField(blank=True, default="", editable=False)
    # PostgreSQL: moves whenever a photo of the listing is added, changed, reordered or
    # removed, by triggers on ListingImage (migration 0011), whatever wrote it (bulk writes and
    # the admin included). The listing page's cached parts are keyed by it instead of by the
    # photos (marketplace.listing_parts), so a render whose parts are cached doesn't read them.
    # Always 0 on SQLite, which has no such trigger.
    photos_revision = models.PositiveIntegerField(default=0, editable=False)

    objects = ListingQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(
                fields=["-published_at", "-id"],
                name="listing_active_newest",
                condition=Q(status="active", deleted_at__isnull=True),
            ),
            models.Index(fields=["status", "-published_at"], name="listing_status_published"),
            models.Index(fields=["category", "status", "-published_at"], name="listing_category"),
            # "My listings" pages (selectors.MY_LISTINGS_KEYS, keyset).
            models.Index(
                fields=["seller", "-updated_at", "-id"],
                name="listing_seller_updated",
                condition=Q(deleted_at__isnull=True),
            ),
            # A shop's pages (selectors.SELLER_SHOP_KEYS, keyset) and per-seller counts.
            models.Index(
                fields=["seller", "status", "-published_at", "-id"], name="listing_seller_shop"
            ),
            models.Index(fields=["price"], name="listing_price"),
            # The brand, size and condition filters (LOWER(brand) and LOWER(size) compared with
            # LOWER(value)): every combination of them is the leading columns of one of these,
            # so a combination is one index range, not a BitmapAnd of three large ones.
            models.Index(
                Lower("brand"), Lower("size"), "condition", name="listing_brand_size_condition"
            ),
            models.Index(Lower("size"), "condition", name="listing_size_condition"),
            models.Index("condition", Lower("brand"), name="listing_condition_brand"),
            models.Index(fields=["deleted_at"], name="listing_deleted_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=MIN_PRICE) & Q(price__lte=MAX_PRICE),
                name="listing_price_in_range",
            ),
            models.CheckConstraint(
                condition=Q(shipping_price__gte=0), name="listing_shipping_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(currency__in=["EUR", "GBP", "USD"]), name="listing_currency_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ListingStatus.values), name="listing_status_known"
            ),
            models.CheckConstraint(
                condition=Q(condition__in=ListingCondition.values),
                name="listing_condition_known",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = listing_slug(self.title)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "slug"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return listing_url(self.pk, self.slug)


def category_url(slug: str) -> str:
    """A category's page: a few hundred at most, on every page's navigation, so remembered."""
    return remembered_reverse("marketplace:category", (slug,))


def listing_url(pk: int, slug: str) -> str:
    """A listing's page (its canonical URL: the slug is only decoration)."""
    return reverse("marketplace:listing", kwargs={"pk": pk, "slug": slug or "item"})


# A stored name that FileSystemStorage.url() would only append to its base URL: plain ASCII
# path segments, none of them empty, "." or "..".
_PLAIN_NAME = re.compile(r"(?!.*(?:^|/)\.{0,2}(?:/|$))[A-Za-z0-9_][A-Za-z0-9_./-]*")


def media_url(storage: Storage, name: str) -> str:
    """`storage.url(name)`; for the local file storage and a plain name, the same string
    without its urljoin and quoting (a page of cards asks for about a hundred photo URLs)."""
    # `__class__`, not type(): default_storage is a lazy proxy of the configured storage.
    if storage.__class__ is FileSystemStorage and _PLAIN_NAME.fullmatch(name):
        return f"{storage.base_url}{name}"
    return storage.url(name)


def photo_srcset(storage: Storage, name: str, width: int, variants: list[dict]) -> str:
    """`srcset` for <img>: every stored rendition plus the main image, by width."""
    parts = [f"{media_url(storage, v['name'])} {v['width']}w" for v in variants or []]
    if name:
        parts.append(f"{media_url(storage, name)} {width}w")
    return ", ".join(parts)


def listing_image_upload_to(instance: "ListingImage", filename: str) -> str:
    # The name is random and chosen by core.images; keep only its basename.
    return f"listings/{filename.rsplit('/', 1)[-1]}"


class ListingImage(TimeStampedModel):
    """One photo of a listing: the re-encoded original plus WebP thumbnails in `variants`.

    `variants` is a list of {"width": int, "height": int, "name": storage name}, smallest first.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to=listing_image_upload_to, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    variants = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["listing", "position"], name="listingimage_order")]

    def __str__(self) -> str:
        return f"Image {self.position} of {self.listing_id}"

    @property
    def url(self) -> str:
        return media_url(self.image.storage, self.image.name) if self.image else ""

    @property
    def srcset(self) -> str:
        """`srcset` for <img>: every stored rendition plus the main image, by width."""
        return photo_srcset(self.image.storage, self.image.name, self.width, self.variants)

    @property
    def thumb_url(self) -> str:
        """The smallest rendition (or the main image when it is already small)."""
        if self.variants:
            return media_url(self.image.storage, self.variants[0]["name"])
        return self.url


class SearchWord(models.Model):
    """A word of the listings for sale (folded, as the search vector holds it): `listings`
    have it in their title or brand (the vocabulary "Did you mean …?" corrects misspelt words
    from, with a trigram index, PostgreSQL), `documents` anywhere in their search vector (how
    search tells a rare word from a common one). Rebuilt by `search_words_refresh`."""

    word = models.CharField(max_length=100, primary_key=True)
    listings = models.PositiveIntegerField(default=0)
    documents = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.word


class Favourite(models.Model):
    """A shopper saved a listing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)
    # The listing's price when it was saved: the saved-items page marks items cheaper since.
    saved_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "listing"], name="favourite_once"),
        ]
        indexes = [models.Index(fields=["listing"], name="favourite_listing")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.listing_id}"


class Follow(models.Model):
    """A member follows a seller: the seller's new items appear in the member's feed
    (/following/). Made and removed only by marketplace.services.follows."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows_made"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the seller's "new followers" digest named this follow (None: not yet).
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["follower", "created_at"], name="follow_follower_created"),
            models.Index(fields=["seller", "created_at"], name="follow_seller_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["follower", "seller"], name="follow_once"),
            models.CheckConstraint(
                condition=~Q(follower=models.F("seller")), name="follow_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.seller_id}"


class FollowerDigest(models.Model):
    """One "new followers" email sent to a seller on one day: at most one a day, and the
    record that makes the daily job safe to run twice."""

    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_digests"
    )
    sent_on = models.DateField()
    follower_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "sent_on"], name="followerdigest_daily"),
        ]

    def __str__(self) -> str:
        return f"Digest for {self.seller_id} on {self.sent_on}"


class PriceDropNotice(models.Model):
    """A member who saved a listing was emailed about its price drop on `sent_on` (at most one
    email per listing, member and day: the unique constraint holds it)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_on = models.DateField()
    old_price = models.DecimalField(max_digits=10, decimal_places=2)
    new_price = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "user", "sent_on"], name="price_drop_notice_once_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} → {self.user_id} on {self.sent_on}"


class Report(models.Model):
    """A member's report about a listing, a member or a message, worked by staff in the admin
    moderation queue (ops). Filed and closed through marketplace.services.reports."""

    class Reason(models.TextChoices):
        COUNTERFEIT = "counterfeit", "Counterfeit or replica"
        PROHIBITED = "prohibited", "Prohibited item"
        SCAM = "scam", "Scam or fraud"
        SPAM = "spam", "Spam"
        OFFENSIVE = "offensive", "Offensive content"
        MESSAGE = "message", "Abusive message"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_made",
    )
    listing = models.ForeignKey(
        Listing,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports",
    )
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports_received",
    )
    # A reported message, by id, while the messaging app owns the Message model.
    message_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(listing__isnull=False)
                | models.Q(reported_user__isnull=False)
                | ~models.Q(message_id=""),
                name="report_has_target",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "resolved", "dismissed"]),
                name="report_status_known",
            ),
        ]

    def __str__(self) -> str:
        target = self.listing or self.reported_user or f"message {self.message_id}"
        return f"{self.get_reason_display()}: {target}"


class SavedSearch(TimeStampedModel):
    """A shopper's saved browse search: its filters as one normalised query string (see
    marketplace.saved_query), emailed once a day with the listings new since the last digest.

    `last_notified_at`: listings published up to then were considered for this search's digest
    (set when a digest run claims the member, whether or not anything new was found).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=80)
    # e.g. "q=levis&size=M&max_price=50": only the known filters, in a fixed order.
    query = models.CharField(max_length=2500)
    is_active = models.BooleanField(default=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "saved searches"
        constraints = [
            models.UniqueConstraint(fields=["user", "query"], name="saved_search_once"),
            models.CheckConstraint(condition=~Q(query=""), name="saved_search_has_filters"),
            models.CheckConstraint(condition=~Q(name=""), name="saved_search_has_name"),
        ]
        indexes = [
            models.Index(
                fields=["last_notified_at"],
                name="saved_search_digest_due",
                condition=Q(is_active=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The browse page with this search's filters (what "run it" opens)."""
        return f"{reverse('marketplace:browse')}?{self.query}"
