"""The world the scanner-style tests walk: one of everything, made with the real factories
and services, and the helpers that expand every URL pattern of the project with it."""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Profile, User
from accounts.tests.factories import UserFactory
from marketplace.models import Category, Favourite, Listing, ListingImage
from marketplace.tests.factories import (
    CategoryFactory,
    ListingFactory,
    ListingImageFactory,
    image_bytes,
)
from orders.models import Address, Cart, CartItem, Checkout, Offer, Order, Refund
from orders.services.offers import offer_make
from orders.services.payment import checkout_mark_paid
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
    offer: Offer  # the buyer's pending offer on `listing`

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
        offer=offer,
    )


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
    pk = world.order.pk if name.startswith("orders:order_") else world.listing.pk
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
    "account_email",
    "account_change_password",
    "account_set_password",
    "ops:seller_stats",
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
    "orders:test_payment",
    "orders:checkout_return",
    "orders:checkout_cancel",
    "orders:checkout_done",
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
    }


def form_status(data: dict) -> int:
    """What a form post with `data` answers: 400 when a value holds a NUL byte (refused at
    the door by core.request_guard), else 200 (the form again, with its errors)."""
    values = [v for v in data.values() if isinstance(v, str)]
    return 400 if any("\x00" in value for value in values) else 200
