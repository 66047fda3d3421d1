"""The installable app in headless Chromium: the service worker registers and controls pages,
offline navigations get the offline page (never a stale cart), the manifest and icons load,
and Chromium finds nothing standing in the way of installing."""

import io

import pytest
from PIL import Image

from marketplace.tests.factories import CategoryFactory, ListingFactory
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def _controlled(page, url: str) -> None:
    """Open `url` and wait until the service worker is active and controls the page."""
    page.goto(url)
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _cached_urls(page) -> list[str]:
    return page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) urls.push(request.url);
            }
            return urls;
        }"""
    )


def _offline_goto(page, url: str) -> None:
    page.context.set_offline(True)
    try:
        page.goto(url)
    finally:
        page.context.set_offline(False)


def test_service_worker_registers_controls_the_page_and_precaches_the_shell(live_server, phone):
    """After the first visit the worker controls the page, its scope is the whole site and the
    versioned cache holds the offline page, the stylesheets, scripts and icons."""
    base = live_server.url
    _controlled(phone, f"{base}/")
    scope = phone.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{base}/"
    cache_names = phone.evaluate("caches.keys()")
    assert any(name.startswith("threadly-") for name in cache_names)
    cached = _cached_urls(phone)
    for path in ("/offline/", "/static/css/threadly.css", "/static/js/shortcuts.js"):
        assert f"{base}{path}" in cached, path
    assert f"{base}/static/img/icon-512.png" in cached
    assert phone.js_errors == []


def test_offline_navigation_to_an_unvisited_page_shows_the_offline_page(live_server, phone):
    """Offline, a page never visited gets the offline page (with a retry link), not the
    browser's error."""
    category = CategoryFactory(name="Jackets", slug="jackets")
    ListingFactory(category=category, title="Waxed field jacket")
    base = live_server.url
    _controlled(phone, f"{base}/")
    _offline_goto(phone, f"{base}/c/jackets/")
    assert phone.get_by_role("heading", name="You're offline").is_visible()
    assert phone.get_by_role("link", name="Try again").is_visible()
    assert phone.url == f"{base}/c/jackets/"


def test_offline_a_visited_listing_is_read_from_the_cache(live_server, phone):
    """A public catalogue page seen online is shown from the cache when offline."""
    listing = ListingFactory(title="Linen summer dress")
    base = live_server.url
    _controlled(phone, f"{base}/")
    phone.goto(f"{base}{listing.get_absolute_url()}")
    phone.wait_for_function(
        "async (url) => Boolean(await caches.match(url))", arg=phone.url, polling=100
    )
    _offline_goto(phone, f"{base}{listing.get_absolute_url()}")
    assert phone.get_by_role("heading", name="Linen summer dress").is_visible()


def test_offline_the_cart_is_never_served_from_cache(live_server, phone):
    """A cart seen online is not stored: offline it shows the offline page, never the stale
    cart, and no cache holds the cart page."""
    listing = ListingFactory(title="Corduroy trousers")
    base = live_server.url
    _controlled(phone, f"{base}{listing.get_absolute_url()}")
    phone.get_by_role("button", name="Add to cart").click()
    phone.wait_for_load_state()
    # Anonymous: the listing's button opens the cart page's confirmation (issue 11).
    phone.get_by_role("button", name="Add to cart").click()
    phone.wait_for_load_state()
    phone.goto(f"{base}/cart/")
    assert phone.get_by_text("Corduroy trousers").first.is_visible()
    _offline_goto(phone, f"{base}/cart/")
    assert phone.get_by_role("heading", name="You're offline").is_visible()
    assert phone.get_by_text("Corduroy trousers").count() == 0
    assert [url for url in _cached_urls(phone) if "/cart/" in url] == []


def test_manifest_and_icons_load_with_the_right_sizes(live_server, phone):
    """The manifest linked from the page answers with its content type and fields; each icon
    (and the apple-touch icon) is a PNG of its declared size."""
    base = live_server.url
    phone.goto(f"{base}/")
    href = phone.get_attribute("link[rel=manifest]", "href")
    response = phone.request.get(f"{base}{href}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["short_name"], manifest["display"], manifest["scope"]) == (
        "Threadly",
        "standalone",
        "/",
    )
    icons = [(icon["src"], icon["sizes"]) for icon in manifest["icons"]]
    icons.append((phone.get_attribute("link[rel=apple-touch-icon]", "href"), "180x180"))
    for src, sizes in icons:
        icon = phone.request.get(f"{base}{src}")
        assert icon.status == 200, src
        with Image.open(io.BytesIO(icon.body())) as image:
            assert (image.format, f"{image.width}x{image.height}") == ("PNG", sizes), src


def test_chromium_reports_no_installability_errors(live_server, browser, tmp_path):
    """Chromium's own check (CDP Page.getInstallabilityErrors) finds the app installable:
    manifest with names, start URL, standalone display, 192/512 icons and a fetch-handling
    worker. (A profile on disk: Chromium never offers installs in incognito contexts.)"""
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        viewport=PHONE,
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        _controlled(page, f"{live_server.url}/")
        session = context.new_cdp_session(page)
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        assert session.send("Page.getAppManifest")["errors"] == []
    finally:
        context.close()
