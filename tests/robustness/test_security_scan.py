"""What an automated web vulnerability scanner checks: open redirects, security headers, CSP
compliance of the rendered HTML (no inline styles, nonce on inline scripts, no on*= handlers),
basic accessibility (alt, labels, one h1, lang), and CSRF / method checks on every
state-changing view."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.checks import ERROR
from django.http import HttpResponse
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.models import Profile, User
from marketplace.models import Favourite, Listing, SavedSearch
from marketplace.tests.factories import ListingFactory, ListingImageFactory
from messaging.models import Message
from ops import health
from ops.models import Incident
from orders.checks import payment_settings_check
from orders.models import Address, CartItem, Order, Review
from orders.services.transitions import order_mark_shipped
from tests.robustness.world import (
    LOGIN_REQUIRED,
    World,
    project_url_names,
    resolve_url,
)

pytestmark = pytest.mark.django_db


# --- Open redirects -------------------------------------------------------------------------
EVIL_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:evil.example",
    "http://testserver@evil.example/",
    "https://evil.example\\@testserver/",
    " //evil.example",
    "\t//evil.example",
    "/%2F/evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
]


def _is_external(location: str) -> bool:
    """True when a browser following `location` would leave testserver or run a script."""
    normalised = location.strip().replace("\\", "/").lower()
    if normalised.startswith(("javascript:", "data:")):
        return True
    parts = urlsplit(normalised)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return True
    return bool(parts.netloc) and parts.netloc.split("@")[-1] not in ("testserver", "")


def _assert_stays_home(response, what: str) -> None:
    location = response.get("Location", "")
    assert not _is_external(location), f"{what} redirects to {location!r}"
    if "evil.example" in location.lower():  # only as an escaped path on our own host
        assert location.startswith("/"), location
        assert not location.startswith("//"), location
        assert "%2f" in location.lower(), location


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_login_next_refuses_external_urls(world, target):
    """Logging in with ?next=<external> lands on our site, not the attacker's."""
    client = Client()
    response = client.post(
        f"{reverse('account_login')}?next={target}",
        {"login": world.buyer.email, "password": "pass12345!", "next": target},
    )
    assert response.status_code == 302, response.status_code
    _assert_stays_home(response, f"login next={target!r}")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_signup_and_logout_next_refuse_external_urls(world, target):
    """Sign-up and log-out with next=<external> stay on our site."""
    client = Client()
    signup = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "username": "newbie",
            "password1": "Str0ng!pass-word",
            "password2": "Str0ng!pass-word",
            "next": target,
        },
    )
    _assert_stays_home(signup, f"signup next={target!r}")
    logout = client.post(reverse("account_logout"), {"next": target})
    _assert_stays_home(logout, f"logout next={target!r}")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_in_app_next_parameters_refuse_external_urls(world, target):
    """Every view of ours that honours next= (listing actions, favourites, cart) stays home."""
    owner = world.client("owner")
    stranger = world.client("stranger")
    responses = {
        "listing_action": owner.post(
            reverse(
                "marketplace:listing_action", kwargs={"pk": world.draft.pk, "action": "publish"}
            ),
            {"next": target},
        ),
        "favourite": stranger.post(
            reverse("marketplace:favourite", kwargs={"pk": world.listing.pk}), {"next": target}
        ),
        "cart_add (error path)": owner.post(
            reverse("orders:cart_add", kwargs={"pk": world.listing.pk}), {"next": target}
        ),
        "cart_add": stranger.post(
            reverse("orders:cart_add", kwargs={"pk": world.listing.pk}), {"next": target}
        ),
    }
    for name, response in responses.items():
        assert response.status_code == 302, (name, response.status_code)
        _assert_stays_home(response, f"{name} next={target!r}")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_next_in_get_query_is_never_echoed_into_a_link_offsite(world, target):
    """Pages given ?next=<external> don't render it into a link or form action."""
    for name in ("account_login", "account_signup"):
        body = Client().get(reverse(name), {"next": target}).content.decode()
        assert 'href="https://evil.example' not in body
        assert 'action="https://evil.example' not in body
        assert 'action="//evil.example' not in body


# --- Headers and HTML on every page --------------------------------------------------------
# A <script> whose type is one of these is a data block (JSON-LD, json_script): browsers never
# run it and CSP's script-src doesn't apply, so it needs no nonce (tests/browser/test_seo.py).
DATA_BLOCK_TYPES = {"application/ld+json", "application/json"}


def _is_data_block(attrs: dict) -> bool:
    return (attrs.get("type") or "").strip().lower() in DATA_BLOCK_TYPES


class PageAudit(HTMLParser):
    """Collects what the scan checks from one HTML page."""

    VOID_LABELLED = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.h1 = 0
        self.html_lang: str | None = None
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict]] = []
        self.script_nonces: list[str | None] = []
        self.label_depth = 0

    def handle_starttag(self, tag: str, attrs_list) -> None:
        attrs = dict(attrs_list)
        if "style" in attrs:
            self.problems.append(f'inline style="" on <{tag}>')
        handlers = [name for name in attrs if name.startswith("on")]
        if handlers:
            self.problems.append(f"inline handler {handlers} on <{tag}>")
        for name in ("href", "src", "action", "formaction"):
            if (attrs.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")
        if tag == "html":
            self.html_lang = attrs.get("lang")
        elif tag == "style":
            self.problems.append("<style> block")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "img" and "alt" not in attrs:
            self.problems.append(f"<img src={attrs.get('src')!r}> without alt")
        elif tag == "script" and not attrs.get("src") and not _is_data_block(attrs):
            self.script_nonces.append(attrs.get("nonce"))
        elif tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            kind = (attrs.get("type") or "text").lower()
            if tag != "input" or kind not in self.VOID_LABELLED:
                wrapped = self.label_depth > 0
                self.controls.append((tag, {**attrs, "_wrapped": wrapped}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.label_depth:
            self.label_depth -= 1

    def unlabelled(self) -> list[str]:
        missing = []
        for tag, attrs in self.controls:
            named = attrs.get("aria-label") or attrs.get("aria-labelledby") or attrs.get("title")
            if not (attrs["_wrapped"] or named or attrs.get("id") in self.label_for):
                missing.append(f"<{tag} name={attrs.get('name')!r} id={attrs.get('id')!r}>")
        return missing


def _csp_nonce(csp: str) -> str | None:
    if "'nonce-" not in csp:
        return None
    return csp.split("'nonce-", 1)[1].split("'", 1)[0]


def audit_page(response, what: str) -> list[str]:
    """Every scanner finding for one HTML response (empty when it passes)."""
    problems = []
    csp = response.get("Content-Security-Policy", "")
    script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    if not csp:
        problems.append("no Content-Security-Policy")
    if "unsafe-inline" in script_src or "unsafe-eval" in script_src:
        problems.append(f"weak script-src: {script_src.strip()}")
    if (
        response.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN")
        and "frame-ancestors" not in csp
    ):
        problems.append("no clickjacking protection")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if not response.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    parser = PageAudit()
    parser.feed(response.content.decode(errors="replace"))
    problems += parser.problems
    nonce = _csp_nonce(csp)
    problems += [
        f"inline <script> with nonce {got!r} (CSP nonce {nonce!r})"
        for got in parser.script_nonces
        if not got or got != nonce
    ]
    if parser.h1 != 1:
        problems.append(f"{parser.h1} <h1> elements")
    if not parser.html_lang:
        problems.append("<html> without lang")
    problems += [f"unlabelled {control}" for control in parser.unlabelled()]
    return [f"{what}: {problem}" for problem in problems]


def _html_pages(world: World, role: str):
    client = world.client(role)
    for name in project_url_names():
        url = resolve_url(name, world)
        response = client.get(url)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            yield name, url, response


@pytest.mark.parametrize("role", ["anonymous", "buyer", "owner"])
def test_every_html_page_passes_the_scan_for(world, role):
    """Security headers, no inline style/handlers, nonced scripts, alt, labels, one h1, lang."""
    problems, seen = [], 0
    for _name, url, response in _html_pages(world, role):
        seen += 1
        problems += audit_page(response, f"{role} GET {url}")
    assert seen >= 10, f"only {seen} pages rendered for {role}"
    assert problems == []


def test_pages_with_content_pass_the_scan(world):
    """Browse, listing and shop pages full of listings with photos pass the scan too."""

    for _ in range(3):
        ListingImageFactory(listing=ListingFactory(seller=world.owner, category=world.category))
    client = world.client("buyer")
    client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))
    client.post(reverse("marketplace:favourite", kwargs={"pk": world.listing.pk}))
    urls = [
        reverse("marketplace:home"),
        reverse("marketplace:browse") + "?q=denim&min_price=1&max_price=100&sort=price_asc",
        reverse("marketplace:category", kwargs={"slug": world.category.slug}),
        world.listing.get_absolute_url(),
        reverse("marketplace:seller", kwargs={"username": world.owner.username}),
        reverse("marketplace:favourites"),
        reverse("orders:cart"),
        reverse("orders:checkout"),
        reverse("orders:order_detail", kwargs={"pk": world.order.pk}),
    ]
    problems = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        problems += audit_page(response, f"buyer GET {url}")
    owner = world.client("owner")
    for url in (
        reverse("marketplace:listing_edit", kwargs={"pk": world.listing.pk}),
        reverse("marketplace:my_listings"),
        reverse("orders:sales_list"),
        reverse("orders:order_detail", kwargs={"pk": world.order.pk}),
    ):
        response = owner.get(url)
        assert response.status_code == 200, (url, response.status_code)
        problems += audit_page(response, f"owner GET {url}")
    assert problems == []


def test_form_error_pages_pass_the_scan(world):
    """Forms re-rendered with errors keep labels, one h1 and no inline styles."""
    client = world.client("owner")
    responses = {
        "listing_create": client.post(reverse("marketplace:listing_create"), {"price": "NaN"}),
        "profile_edit": client.post(reverse("accounts:profile_edit"), {"display_name": "x" * 500}),
        "signup": Client().post(reverse("account_signup"), {"email": "bad"}),
        "login": Client().post(reverse("account_login"), {"login": "x", "password": "y"}),
    }
    problems = []
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.status_code)
        problems += audit_page(response, f"{name} with errors")
    assert problems == []


@pytest.mark.parametrize(
    ("path", "status"),
    [("/no-such-page/", 404), ("/items/999999-nope/", 404), ("/orders/999999/", 404)],
)
def test_error_pages_pass_the_scan(world, path, status):
    """The 404 page carries the same headers and markup rules as any page."""
    response = world.client("buyer").get(path)
    assert response.status_code == status
    assert audit_page(response, f"GET {path}") == []


def test_429_and_maintenance_pages_pass_the_scan(world, settings):
    """The rate-limit and maintenance pages pass the same scan as any page."""
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_DEFAULT = "1/m"
    client = world.client("buyer")
    client.post(reverse("orders:cart_remove", kwargs={"pk": world.listing.pk}))
    limited = client.post(reverse("orders:cart_remove", kwargs={"pk": world.listing.pk}))
    settings.RATELIMIT_ENABLED = False
    settings.MAINTENANCE_MODE = True
    maintenance = world.client("anonymous").get(reverse("marketplace:browse"))
    assert (limited.status_code, maintenance.status_code) == (429, 503)
    problems = audit_page(limited, "429") + audit_page(maintenance, "503")
    assert problems == []


def test_csrf_failure_page_passes_the_scan(world):
    """A POST without a CSRF token gets our own 403 page, which passes the scan."""
    strict = world.client("buyer", enforce_csrf_checks=True)
    response = strict.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))
    assert response.status_code == 403
    assert audit_page(response, "403 csrf") == []


def test_csrf_failure_page_is_safe(world):
    """A POST without a CSRF token gets our 403 page with the security headers."""
    client = world.client("buyer", enforce_csrf_checks=True)
    response = client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))
    assert response.status_code == 403
    assert response["X-Frame-Options"] == "DENY"
    assert "Traceback" not in response.content.decode()


def test_session_and_csrf_cookies_are_httponly_and_samesite(world):
    """The session cookie can't be read by scripts and is SameSite."""
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": world.buyer.email, "password": "pass12345!"}
    )
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"].lower() in ("lax", "strict")


# --- CSRF and methods on state-changing views ---------------------------------------------
STATE_CHANGING_POST_ONLY = [
    "orders:cart_add",
    "orders:cart_update",
    "orders:cart_remove",
    "orders:order_confirm_delivery",
    "orders:order_cancel",
    "orders:order_ship",
    "orders:order_refund",
    "marketplace:listing_images_add",
    "marketplace:listing_images_reorder",
    "marketplace:listing_image_remove",
    "marketplace:listing_action",
    "marketplace:favourite",
    "marketplace:saved_search_delete",
    "marketplace:follow",
    "orders:review_reply",
    "orders:review_report",
    "orders:offer_respond",
    "orders:offer_likers",
    "accounts:auth_webhook",
    "orders:payments_webhook",
    "realtime:pusher_auth",
    "messaging:start",
    "messaging:send",
    "messaging:block",
    "messaging:unblock",
]
# Pages that show a form on GET and change state on POST only.
FORM_VIEWS = [
    "marketplace:listing_create",
    "marketplace:listing_edit",
    "marketplace:saved_searches",
    "accounts:profile_edit",
    "orders:checkout",
    "orders:test_payment",
    "orders:checkout_cancel",
    "orders:seller_payments",
    "orders:order_review",
    "orders:offer_make",
    "account_login",
    "account_signup",
    "account_logout",
    "account_reset_password",
    "account_change_password",
    "messaging:report",
]


def test_every_state_changing_view_is_listed(world):
    """The lists above cover every POST-only view of our apps (a new one must be added)."""

    ours = ("accounts:", "orders:", "marketplace:", "messaging:", "ops:", "realtime:")
    post_only = []
    for name in project_url_names():
        if not name.startswith(ours):
            continue
        response = world.client("owner").get(resolve_url(name, world))
        if response.status_code == 405:
            post_only.append(name)
        assert resolve(resolve_url(name, world))
    assert sorted(post_only) == sorted(STATE_CHANGING_POST_ONLY)


@pytest.mark.parametrize("name", STATE_CHANGING_POST_ONLY)
@pytest.mark.parametrize("role", ["owner", "buyer"])
def test_state_changing_views_refuse_get(world, name, role):
    """GET on a state-changing URL is 405 (a link or <img> can't trigger it)."""
    response = world.client(role).get(resolve_url(name, world))
    assert response.status_code == 405
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("name", STATE_CHANGING_POST_ONLY + FORM_VIEWS)
@pytest.mark.parametrize("role", ["anonymous", "owner", "buyer"])
def test_state_changing_posts_without_csrf_token_are_403(world, name, role):
    """With CSRF enforced, a POST without the token is refused (webhooks are exempt)."""

    def state():
        return (
            list(Listing.objects.order_by("pk").values_list("pk", "status", "deleted_at")),
            list(Order.objects.order_by("pk").values_list("pk", "status")),
            CartItem.objects.count(),
            Favourite.objects.count(),
            SavedSearch.objects.count(),
            list(Profile.objects.order_by("pk").values_list("display_name", flat=True)),
        )

    before = state()
    client = world.client(role, enforce_csrf_checks=True)
    response = client.post(
        resolve_url(name, world),
        {"quantity": "1", "display_name": "csrf", "decision": "approve", "login": "x"},
    )
    if name.endswith("_webhook"):
        assert response.status_code != 403  # exempt; the signature check answers instead
    else:
        assert response.status_code == 403, response.status_code
    assert state() == before


def test_login_required_list_matches_the_walk(world):
    """Every page in LOGIN_REQUIRED really redirects anonymous visitors (no stale entries)."""
    client = world.client("anonymous")
    for name in LOGIN_REQUIRED:
        response = client.get(resolve_url(name, world))
        assert response.status_code == 302, name


# --- Stored XSS: hostile content in every user-controlled field ---------------------------
PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
SHORT = '"><svg onload=x>'  # for 20-30 character fields


def _poison(world: World) -> None:
    """Write hostile markup into every field a member (or webhook, or import) controls."""

    Listing.objects.filter(seller=world.owner).update(
        title=PAYLOAD[:80],
        description=PAYLOAD + "\n</textarea></title>" + PAYLOAD,
        brand=PAYLOAD[:60],
        size=SHORT[:20],
        colour=SHORT[:30],
    )
    world.category.name = PAYLOAD[:60] if len(PAYLOAD) > 60 else PAYLOAD
    world.category.save()
    for user in (world.owner, world.buyer):
        Profile.objects.filter(user=user).update(
            display_name=PAYLOAD[:60], bio=PAYLOAD, location=PAYLOAD[:80]
        )
    Address.objects.filter(user=world.buyer).update(
        full_name=PAYLOAD[:100], line1=PAYLOAD, city=SHORT
    )
    Order.objects.filter(pk=world.order.pk).update(carrier=PAYLOAD[:60], tracking_number=PAYLOAD)
    Review.objects.filter(pk=world.review.pk).update(
        text=PAYLOAD, reply=PAYLOAD, replied_at=timezone.now()
    )
    Incident.objects.create(message=PAYLOAD)
    Message.objects.filter(conversation=world.conversation).update(body=PAYLOAD)

    cache.clear()  # the category menu is cached


def _assert_no_live_payload(response, what: str) -> list[str]:
    body = response.content.decode(errors="replace")
    found = []
    for raw in ("<script>alert(1)", "<img src=x onerror", "<svg onload=x>", "</textarea></title>"):
        if raw in body:
            found.append(f"{what}: stored payload rendered raw ({raw})")
    return found


@pytest.mark.parametrize("role", ["anonymous", "buyer", "owner", "staff"])
def test_stored_markup_is_escaped_on_every_page(world, role):
    """Hostile titles, descriptions, names, bios, addresses, tracking numbers and incidents are
    shown escaped on every page, and the pages still pass the scan."""
    _poison(world)
    client = world.client(role)
    urls = [resolve_url(name, world) for name in project_url_names()]
    urls += [
        reverse("marketplace:browse") + "?q=img",
        world.listing.get_absolute_url(),
        "/sitemap-listings.xml",
    ]
    problems, seen = [], 0
    for url in urls:
        response = client.get(url, follow=url == world.listing.get_absolute_url())
        if response.status_code != 200:
            continue
        seen += 1
        problems += _assert_no_live_payload(response, f"{role} {url}")
        if response.get("Content-Type", "").startswith("text/html") and not url.startswith(
            "/admin/"
        ):
            parser = PageAudit()
            parser.feed(response.content.decode(errors="replace"))
            problems += [f"{role} {url}: {p}" for p in parser.problems]
    assert seen >= 10
    listing_page = client.get(world.listing.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing_page  # shown, as text
    assert problems == []


def test_stored_markup_is_escaped_in_emails(world, mailoutbox, django_capture_on_commit_callbacks):
    """An order email quoting a hostile title or tracking number escapes it in the HTML part."""

    _poison(world)
    with django_capture_on_commit_callbacks(execute=True):
        order_mark_shipped(
            order_id=world.order.pk, actor=world.owner, carrier="DHL", tracking_number=PAYLOAD
        )
    problems = []
    for message in mailoutbox:
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html" and "<script>alert(1)" in content:
                problems.append(message.subject)
    assert mailoutbox, "shipping sends the buyer an email"
    assert any(
        "&lt;script&gt;alert(1)" in content
        for message in mailoutbox
        for content, _mimetype in getattr(message, "alternatives", [])
    ) or any("<script>alert(1)" in message.body for message in mailoutbox)
    assert problems == []


def test_the_scan_itself_catches_what_it_looks_for():
    """The auditor flags inline style, handlers, un-nonced scripts, missing alt/labels/h1/lang."""

    bad = HttpResponse(
        '<html><body><div style="color:red" onclick="x()">'
        '<img src="a.png"><script>alert(1)</script><input name="q">'
        '<a href="javascript:alert(1)">x</a></div></body></html>'
    )
    problems = " | ".join(audit_page(bad, "fixture"))
    for expected in (
        "no Content-Security-Policy",
        "inline style",
        "inline handler",
        "without alt",
        "inline <script>",
        "0 <h1>",
        "without lang",
        "unlabelled <input name='q'",
        "javascript: URL",
        "nosniff",
    ):
        assert expected in problems, expected
    good = HttpResponse(
        '<html lang="en"><body><h1>T</h1><label for="q">Q</label><input id="q" name="q">'
        '<label>W <input name="w"></label><img src="a" alt=""></body></html>'
    )
    good["Content-Security-Policy"] = "script-src 'self'; frame-ancestors 'none'"
    good["X-Content-Type-Options"] = "nosniff"
    good["Referrer-Policy"] = "same-origin"
    assert audit_page(good, "fixture") == []


# --- Information disclosure and amplification on the public ops endpoints ------------------
def test_public_health_does_not_leak_exception_details(settings, tmp_path):
    """A failing probe is named on /health without its exception text or server paths."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the media directory should be")
    settings.MEDIA_ROOT = blocker / "media"
    response = Client().get(reverse("ops:health"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]
    body = response.content.decode()
    assert str(tmp_path) not in body
    assert "Errno" not in body


def test_status_page_probes_are_not_run_per_anonymous_request(settings, monkeypatch):
    """Hammering /status doesn't make the server write to storage once per request."""

    settings.RATELIMIT_ENABLED = True
    writes = []
    real = health.check_storage
    monkeypatch.setattr(health, "check_storage", lambda: writes.append(1) or real())
    statuses = [Client().get(reverse("ops:status")).status_code for _ in range(30)]
    assert 429 in statuses or len(writes) < 30


# --- Configuration traps a scanner finds in production -------------------------------------
def test_production_without_stripe_keys_fails_the_system_checks(settings):
    """A production start-up with no payment keys is an Error naming STRIPE_SECRET_KEY."""

    settings.DEBUG = False
    settings.RUNNING_TESTS = False
    settings.ENCRYPTION_KEY = "set"
    settings.STRIPE_SECRET_KEY = ""
    settings.ALLOW_TEST_PAYMENTS = False  # its production default
    problems = payment_settings_check(None)
    assert any(p.level >= ERROR and "STRIPE_SECRET_KEY" in p.msg for p in problems)


def test_a_banned_members_open_session_ends(world):
    """Banning a member who logged in through the login form logs them out on the next request."""

    client = Client()
    client.post(reverse("account_login"), {"login": world.buyer.email, "password": "pass12345!"})
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    User.objects.filter(pk=world.buyer.pk).update(is_banned=True)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk})).status_code

    assert not CartItem.objects.filter(cart__user=world.buyer).exists()


def test_a_banned_members_session_ends_whatever_backend_logged_them_in(world):
    """A session stored with the first configured backend also ends when the member is banned."""

    client = Client()
    client.force_login(world.buyer)  # Django picks AUTHENTICATION_BACKENDS[0]
    User.objects.filter(pk=world.buyer.pk).update(is_banned=True)
    assert client.get(reverse("accounts:dashboard")).status_code == 302


def test_login_rotates_the_session_key_and_logout_ends_it(world):
    """A session id planted before login is useless after it, and logout ends the session."""
    client = Client()
    client.post(reverse("orders:cart_add", kwargs={"pk": world.listing.pk}))  # makes a session
    planted = client.cookies["sessionid"].value
    client.post(reverse("account_login"), {"login": world.buyer.email, "password": "pass12345!"})
    assert client.cookies["sessionid"].value != planted
    attacker = Client()
    attacker.cookies["sessionid"] = planted
    assert attacker.get(reverse("accounts:dashboard")).status_code == 302
    logged_in = client.cookies["sessionid"].value
    client.post(reverse("account_logout"))
    replay = Client()
    replay.cookies["sessionid"] = logged_in
    assert replay.get(reverse("accounts:dashboard")).status_code == 302
