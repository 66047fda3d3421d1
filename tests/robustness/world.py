"""The world the scanner-style tests walk: one of everything, made with the real factories
and services, and the helpers that expand every URL pattern of the project with it."""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Profile, User
from accounts.tests.factories import UserFactory
from marketplace.models import Category, Favourite, Listing, ListingImage, SavedSearch
from marketplace.services.saved_searches import saved_search_create
from marketplace.tests.factories import (
    CategoryFactory,
    ListingFactory,
    ListingImageFactory,
    image_bytes,
)
from messaging.models import Conversation, Message
from messaging.services import conversation_start, message_send
from orders.models import Address, Cart, CartItem, Checkout, Offer, Order, Refund, Review
from orders.services.offers import offer_make
from orders.services.payment import checkout_mark_paid
from orders.services.reviews import review_create
from orders.services.transitions import order_confirm_delivery, order_mark_shipped
from orders.tests.factories import AddressFactory
from orders.tests.helpers import start_checkout

# The Svix secret the configured auth webhook uses in these tests.
CLERK_WEBHOOK_SECRET = "whsec_" + "dGhyZWFkbHktdGVzdC13ZWJob29rLXNlY3JldC0zMmI="

ROLES = ("anonymous", "stranger", "buyer", "owner", "staff")
TRACE_MARKERS = (
    "Traceback (most recent call last)",
    'File "/',
    "django.core.exceptions",
    "psycopg",
)


# --- The world ------------------------------------------------------------------------------
@dataclass
class World:
    owner: User  # sells `listing` and `order`
    buyer: User  # bought `order`
    stranger: User  # an ordinary member with no relation to anything
    staff: User  # is_staff + is_superuser
    category: Category
    listing: Listing  # the owner's active listing with one photo
    image: ListingImage
    draft: Listing  # the owner's draft
    order: Order  # paid, buyer -> owner
    checkout: Checkout
    review: Review  # the buyer's review of another, completed order from the owner
    conversation: Conversation  # buyer <-> owner about `listing`, one message each
    offer: Offer  # the buyer's pending offer on `listing`
    saved_search: SavedSearch | None = None  # the owner's

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)

    def client(self, role: str, **kwargs) -> Client:
        client = Client(raise_request_exception=False, **kwargs)
        if (user := self.user(role)) is not None:
            client.force_login(user)
        return client


def build_world() -> World:
    owner = UserFactory(is_seller=True, username="owner")
    buyer = UserFactory(username="buyer")
    stranger = UserFactory(username="stranger")
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    category = CategoryFactory(name="Jackets", slug="jackets")
    listing = ListingFactory(seller=owner, category=category, quantity=3)
    image = ListingImageFactory(listing=listing)
    draft = ListingFactory(seller=owner, category=category, draft=True)
    sold_to_buyer = ListingFactory(seller=owner, category=category)
    checkout = start_checkout(buyer, [sold_to_buyer], AddressFactory(user=buyer))
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    saved_search, _created = saved_search_create(user=owner, params={"q": "jacket", "size": "M"})
    review = _completed_and_reviewed(owner, buyer, category)
    conversation = conversation_start(buyer=buyer, listing_id=listing.pk)
    message_send(sender=buyer, conversation_id=conversation.pk, body="Is it still available?")
    message_send(sender=owner, conversation_id=conversation.pk, body="Yes, it is.")
    offer = offer_make(buyer=buyer, listing_id=listing.pk, amount=listing.price - 5)
    return World(
        owner=owner,
        buyer=buyer,
        stranger=stranger,
        staff=staff,
        category=category,
        listing=listing,
        image=image,
        draft=draft,
        order=checkout.orders.get(),
        checkout=checkout,
        saved_search=saved_search,
        review=review,
        conversation=conversation,
        offer=offer,
    )


def _completed_and_reviewed(owner: User, buyer: User, category: Category) -> Review:
    """Another sale from the owner to the buyer, delivered, completed and reviewed."""
    listing = ListingFactory(seller=owner, category=category)
    checkout = start_checkout(buyer, [listing], AddressFactory(user=buyer))
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    order = checkout.orders.get()
    order_mark_shipped(order_id=order.pk, actor=owner, carrier="DHL", tracking_number="R1")
    order_confirm_delivery(order_id=order.pk, actor=buyer)
    return review_create(order_id=order.pk, author=buyer, rating=4, text="Lovely, as described.")


# --- Walking the URL conf -------------------------------------------------------------------
def _walk(patterns, namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace
            inner = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern


def _kwarg_names(pattern: URLPattern) -> list[str]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.pattern.regex.groupindex)


def project_url_names(*, skip_known_crashes: bool = False) -> list[str]:
    """Every named URL of our apps + allauth (the admin is walked separately); optionally
    without the URLs whose crash is already pinned by an xfail in the main walk."""
    names = []
    for name, _pattern in _walk(get_resolver().url_patterns):
        if not name.startswith("admin:") and name not in names:
            names.append(name)
    if skip_known_crashes:
        names = [name for name in names if name not in KNOWN_CRASHES]
    return names


# URLs whose kwargs need an object of the world; everything else takes none or a constant.
def url_kwargs(name: str, world: World) -> dict:
    _pattern = dict(_walk(get_resolver().url_patterns))[name]
    wanted = _kwarg_names(_pattern)
    values = {
        "slug": world.listing.slug if name == "marketplace:listing" else world.category.slug,
        "username": world.owner.username,
        "public_id": world.checkout.public_id,
        "image_pk": world.image.pk,
        "action": "unpublish",
        "section": "listings",
        "key": "not-a-real-key",
        "uidb36": "1",
        "token": "not-a-signed-token",
    }
    if name == "help:page":
        values["slug"] = "buyer-protection"
    pk = world.order.pk if name.startswith("orders:order_") else world.listing.pk
    if name == "marketplace:saved_search_delete":
        pk = world.saved_search.pk
    if name.startswith("orders:review_"):
        pk = world.review.pk
    if name.startswith("messaging:") and name != "messaging:start":
        pk = world.conversation.pk
    if name == "orders:offer_respond":
        pk = world.offer.pk
    values["pk"] = pk
    return {k: values[k] for k in wanted}


def resolve_url(name: str, world: World) -> str:
    return reverse(name, kwargs=url_kwargs(name, world))


LOGIN_REQUIRED = {
    "accounts:dashboard",
    "accounts:profile_edit",
    "orders:checkout",
    "orders:test_payment",
    "orders:checkout_return",
    "orders:checkout_cancel",
    "orders:checkout_done",
    "orders:order_list",
    "orders:order_detail",
    "orders:sales_list",
    "orders:seller_payments",
    "orders:seller_payments_return",
    "marketplace:listing_create",
    "marketplace:listing_edit",
    "marketplace:my_listings",
    "marketplace:favourites",
    "marketplace:saved_searches",
    "marketplace:feed",
    "orders:order_review",
    "account_email",
    "account_change_password",
    "account_set_password",
    "ops:seller_stats",
    "messaging:inbox",
    "messaging:inbox_poll",
    "messaging:badge",
    "messaging:conversation",
    "messaging:poll",
    "messaging:report",
    "orders:offer_make",
    "orders:offer_list",
}
# Pages a member may only open on their own objects (stranger: 404/403, never the page).
PRIVATE_TO_PARTIES = {
    "marketplace:listing_edit",
    "marketplace:listing_images_add",
    "marketplace:listing_images_reorder",
    "orders:order_detail",
    "orders:order_confirm_delivery",
    "orders:order_cancel",
    "orders:order_ship",
    "orders:order_refund",
    "orders:order_review",
    "orders:test_payment",
    "orders:checkout_return",
    "orders:checkout_cancel",
    "orders:checkout_done",
    "marketplace:saved_search_delete",
    "messaging:conversation",
    "messaging:send",
    "messaging:block",
    "messaging:unblock",
    "messaging:report",
    "orders:offer_respond",
    "orders:offer_likers",
}


def assert_no_crash(response, what: str) -> None:
    assert response.status_code < 500 or response.status_code == 503, (
        f"{what} -> {response.status_code}: {getattr(response, 'exc_info', None)}"
    )
    body = response.content.decode(errors="replace")
    leaked = [marker for marker in TRACE_MARKERS if marker in body]
    assert not leaked, f"{what} leaks {leaked}"


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and (
        response["Location"].startswith(reverse("account_login"))
        or response["Location"].startswith("/admin/login/")
    )


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Profile, Listing, ListingImage, Favourite, Cart, CartItem, Address)
        + (Order, Checkout, Refund)
    }


def jpeg_upload(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size=(120, 90)), "image/jpeg")


def listing_payload(world: World, **overrides) -> dict:
    data = {
        "title": "Wool coat",
        "category": world.category.pk,
        "description": "Warm",
        "brand": "Acme",
        "size": "M",
        "condition": "good",
        "colour": "Grey",
        "price": "40.00",
        "shipping_price": "4.00",
        "quantity": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


def assert_escaped(response, value: str, what: str) -> None:
    body = response.content.decode(errors="replace")
    assert "<script>alert(1)" not in body, f"{what}: XSS payload reflected unescaped"
    assert "onerror=alert(1)>" not in body, f"{what}: attribute injection reflected"


KNOWN_CRASHES: dict[str, str] = {}


def snapshot(world: World) -> dict:
    listing = Listing.objects.get(pk=world.listing.pk)
    draft = Listing.objects.get(pk=world.draft.pk)
    order = Order.objects.get(pk=world.order.pk)
    checkout = Checkout.objects.get(pk=world.checkout.pk)
    offer = Offer.objects.get(pk=world.offer.pk)
    return {
        "offer": (offer.status, offer.amount, offer.expires_at),
        "listing": (listing.status, listing.title, listing.price, listing.deleted_at),
        "draft": (draft.status, draft.deleted_at),
        "images": list(
            ListingImage.objects.filter(listing=world.listing).values_list("pk", "position")
        ),
        "order": (order.status, order.carrier, order.tracking_number),
        "checkout": checkout.status,
        "refunds": Refund.objects.count(),
        "owner_profile": Profile.objects.filter(user=world.owner).values().get(),
        "buyer_addresses": Address.objects.filter(user=world.buyer).count(),
        "owner_saved_searches": list(
            SavedSearch.objects.filter(user=world.owner).values_list("pk", "name", "query")
        ),
        "conversation": Conversation.objects.filter(pk=world.conversation.pk)
        .values("is_closed", "closed_reason", "buyer_read_id", "seller_read_id")
        .get(),
        "messages": list(
            Message.objects.filter(conversation=world.conversation).values_list("pk", "body")
        ),
    }


def form_status(data: dict) -> int:
    """What a form post with `data` answers: 400 when a value holds a NUL byte (refused at
    the door by core.request_guard), else 200 (the form again, with its errors)."""
    values = [v for v in data.values() if isinstance(v, str)]
    return 400 if any("\x00" in value for value in values) else 200
