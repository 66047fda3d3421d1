"""The pages `make bench` measures, found on the bench database (run by bench/run.py).

Sets Django up with the bench environment, picks real objects of the seeded catalogue (a
top-level category, a common brand and size, a rare and a common search term, the busiest
seller, a listing for sale), signs in a bench buyer (cart with an item, an order, follows,
a conversation where those features exist), and counts each page's SQL queries with the test
client after one warm-up request. Prints one JSON line: {"pages": [...], "cookies": [...]}.
A page whose feature isn't built yet is listed with a note and no path.
"""

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlencode, urljoin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadly.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from marketplace.models import Category, Listing  # noqa: E402

# A page rendered every time, as on a first visit or a new filter combination: the request
# says `Cache-Control: no-cache` (a browser's hard reload), so the page cache renders it
# (and stores the render, as on any miss) instead of answering from its copy.
UNCACHED = "uncached"
NO_CACHE = {"Cache-Control": "no-cache"}
SPREAD_LISTINGS = 500
SPREAD_SHOPS = 50
# What shoppers type, common and rare, brands and garments (the seed's vocabulary).
SEARCHES = [
    "jacket", "jeans", "dress", "levis", "nike", "vintage", "t-shirt", "boots", "patagonia",
    "wool coat", "denim", "leather", "black", "skirt", "zara", "hoodie", "linen", "trainers",
]  # fmt: skip
NEXT_LINK = re.compile(r'<a[^>]*rel="next"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*rel="next"')


def url(name: str, *args, query: dict | None = None) -> str | None:
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return f"{path}?{urlencode(query)}" if query else path


def bench_member(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username=username,
            email=f"{username}@bench.threadly.test",
            password=os.environ.get("BENCH_PASSWORD", "threadly-bench"),
        )
    return user


def bench_client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")  # an allowed host of the bench site


def signed_in(user: User) -> tuple[Client, str]:
    client = bench_client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return client, cookie


def query_count(client: Client, path: str) -> tuple[int, int]:
    client.get(path)  # warm caches, as a running site has them
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return len(queries), response.status_code


def follow_next(client: Client, path: str, pages: int) -> str | None:
    """The URL `pages` pages after `path`, by following the page's rel="next" links."""
    for _ in range(pages):
        match = NEXT_LINK.search(client.get(path).content.decode())
        if not match:
            return None
        path = urljoin(path, (match.group(1) or match.group(2)).replace("&amp;", "&"))
    return path


def last_page(browse: str) -> str:
    """The last page of the whole catalogue, newest first: the cursor of the row just before
    its final page, the link a shopper reaches by clicking Next to the end."""
    from marketplace.search import cursors

    before = (
        Listing.objects.for_sale()
        .order_by("published_at", "id")
        .values_list("published_at", "id")[settings.LISTINGS_PER_PAGE]
    )
    return f"{browse}?{urlencode({'cursor': cursors.encode_key('newest', *before)})}"


def conversation_url(buyer: User, listing: Listing) -> str | None:
    """The bench buyer's conversation about `listing`, with a few messages each way."""
    try:
        from messaging.models import Message
        from messaging.services import conversation_start, message_send
    except ImportError:
        return None
    conversation = conversation_start(buyer=buyer, listing_id=listing.pk)
    if not Message.objects.filter(conversation=conversation).exists():
        for n in range(5):
            message_send(sender=buyer, conversation_id=conversation.pk, body=f"Question {n}?")
            message_send(
                sender=listing.seller, conversation_id=conversation.pk, body=f"Answer {n}."
            )
    return conversation.get_absolute_url()


def spread(browse: str, sellers: list[str]) -> dict[str, list[str]]:
    """Paths the mixed scenario's shoppers pick from at random, so it walks many listings,
    categories, searches and shops as real visitors do (not one URL a cache keeps warm)."""
    listings = list(
        Listing.objects.for_sale().order_by("?").values_list("id", "slug")[:SPREAD_LISTINGS]
    )
    return {
        "listing": [url("marketplace:listing", pk, slug) for pk, slug in listings],
        "category": [
            url("marketplace:category", slug)
            for slug in Category.objects.values_list("slug", flat=True)
        ],
        "search": [f"{browse}?{urlencode({'q': word})}" for word in SEARCHES],
        "seller": [url("marketplace:seller", username) for username in sellers],
    }


def follow_busiest(buyer: User, username: str) -> None:
    try:
        from marketplace.services import follow_add
    except ImportError:
        return
    follow_add(follower=buyer, seller_id=User.objects.get(username=username).pk)


def words() -> tuple[str, str]:
    """A term in most titles and a term in very few (from the seeded titles)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w, count(*) FROM (SELECT lower(unnest(string_to_array(title, ' '))) AS w "
            "FROM marketplace_listing WHERE status = 'active' LIMIT 200000) t "
            "WHERE length(w) > 3 GROUP BY w ORDER BY count(*) DESC"
        )
        rows = cursor.fetchall()
    common = rows[0][0]
    rare = next((w for w, n in reversed(rows) if n >= 1 and w.isalpha()), rows[-1][0])
    return rare, common


def main() -> None:
    anonymous = bench_client()
    for_sale = Listing.objects.for_sale()
    listing = for_sale.order_by("-published_at").first()
    category = Category.objects.filter(parent__isnull=True).order_by("position", "id").first()
    busiest = for_sale.values("seller__username").annotate(n=Count("id")).order_by("-n").first()
    brand = (for_sale.exclude(brand="").values("brand").annotate(n=Count("id")).order_by("-n")[0])[
        "brand"
    ]
    size = (for_sale.exclude(size="").values("size").annotate(n=Count("id")).order_by("-n")[0])[
        "size"
    ]
    rare, common = words()

    buyer = bench_member("bench-buyer")
    buyer_client, buyer_cookie = signed_in(buyer)
    other_listing = for_sale.exclude(seller=buyer).order_by("published_at").first()
    follow_busiest(buyer, busiest["seller__username"])
    cart_add = url("orders:cart_add", other_listing.pk)
    if cart_add:
        buyer_client.post(cart_add, {"quantity": 1})

    browse = url("marketplace:browse")
    pages = [
        ("floor", url("ops:api_health"), None),
        ("no_sql", "/robots.txt", None),
        # Anonymous pages as most visitors get them: from the page cache after the first visit.
        ("home", url("marketplace:home"), None),
        ("category", url("marketplace:category", category.slug), None),
        ("listing", listing.get_absolute_url(), None),
        ("seller", url("marketplace:seller", busiest["seller__username"]), None),
        # The same, rendered every time (the first visit, or any filter combination).
        ("home_uncached", url("marketplace:home"), UNCACHED),
        ("category_uncached", url("marketplace:category", category.slug), UNCACHED),
        ("listing_uncached", listing.get_absolute_url(), UNCACHED),
        ("seller_uncached", url("marketplace:seller", busiest["seller__username"]), UNCACHED),
        (
            "browse_filters",
            f"{browse}?"
            + urlencode(
                {"size": size, "brand": brand, "condition": "good", "min_price": 5, "max_price": 80}
            ),
            UNCACHED,
        ),
        ("browse_sort_price", f"{browse}?sort=price_asc", UNCACHED),
        ("search_rare", f"{browse}?{urlencode({'q': rare})}", UNCACHED),
        ("search_common", f"{browse}?{urlencode({'q': common})}", UNCACHED),
        ("suggest", url("marketplace:search_suggest", query={"q": common[:3]}), None),
        ("cart", url("orders:cart"), buyer_cookie),
        ("checkout", url("orders:checkout"), buyer_cookie),
        ("orders", url("orders:order_list"), buyer_cookie),
        ("following_feed", url("marketplace:feed"), buyer_cookie),
        ("inbox", url("messaging:inbox"), buyer_cookie),
        ("conversation", conversation_url(buyer, other_listing), buyer_cookie),
    ]
    deep = follow_next(anonymous, browse, 199)
    position = next(n for n, page in enumerate(pages) if page[0] == "browse_sort_price") + 1
    pages.insert(position, ("browse_page_200", deep, UNCACHED))
    pages.insert(position + 1, ("browse_last_page", last_page(browse), UNCACHED))

    uncached = Client(HTTP_HOST="127.0.0.1", HTTP_CACHE_CONTROL="no-cache")
    found = []
    for name, path, cookie in pages:
        entry = {
            "name": name,
            "path": path,
            "cookie": cookie if cookie and cookie != UNCACHED else "",
            "headers": NO_CACHE if cookie == UNCACHED else {},
        }
        if path is None:
            entry["note"] = "not measured: the page doesn't exist yet"
        else:
            client = {buyer_cookie: buyer_client, UNCACHED: uncached}.get(cookie, anonymous)
            entry["queries"], status = query_count(client, path)
            if status != 200:
                entry["note"] = f"answered {status} in-process"
        found.append(entry)
    sellers = list(
        for_sale.values_list("seller__username", flat=True).distinct().order_by()[:SPREAD_SHOPS]
    )
    print(
        json.dumps({"pages": found, "cookies": [buyer_cookie], "spread": spread(browse, sellers)})
    )


if __name__ == "__main__":
    main()
