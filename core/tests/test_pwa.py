"""The installable app's server side: manifest, service worker, offline page, CSP and images."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

from core import pwa

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


def _worker_config(body: str) -> dict:
    first_line = body.split("\n", 1)[0]
    assert first_line.startswith("self.THREADLY_SW = ")
    return json.loads(first_line.removeprefix("self.THREADLY_SW = ").rstrip(";"))


def test_manifest_has_what_chromium_needs_to_install(client):
    """/manifest.webmanifest is JSON of type application/manifest+json with name, start URL,
    root scope, standalone display, the site colours and 192/512/maskable PNG icons."""
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["short_name"] == "Threadly"
    assert data["name"].startswith("Threadly")
    assert data["start_url"] == "/?source=pwa"
    assert data["scope"] == "/"
    assert data["display"] == "standalone"
    assert data["theme_color"] == "#1f3d36"
    assert data["background_color"] == "#faf8f4"
    icons = {(icon["sizes"], icon["purpose"]): icon for icon in data["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}


def test_manifest_icons_are_pngs_of_the_declared_size(client):
    """Each icon the manifest names is a PNG of exactly its declared size (apple-touch 180)."""
    data = json.loads(client.get("/manifest.webmanifest").content)
    declared = [(icon["src"], icon["sizes"]) for icon in data["icons"]]
    declared.append(("/static/img/apple-touch-icon.png", "180x180"))
    for src, sizes in declared:
        path = finders.find(src.removeprefix("/static/"))
        assert path, src
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == sizes, src


def test_maskable_icon_fills_the_square_and_keeps_the_mark_in_the_safe_zone():
    """The maskable icon has no transparent corners and only brand colour outside the centre
    circle of 80 % diameter, so no launcher mask cuts the mark."""
    with Image.open(finders.find("img/icon-maskable-512.png")) as image:
        rgba = image.convert("RGBA")
    brand = rgba.getpixel((0, 0))
    assert brand[3] == 255
    size = rgba.width
    for x in range(0, size, 4):
        for y in range(0, size, 4):
            if (x - size / 2) ** 2 + (y - size / 2) ** 2 > (0.4 * size) ** 2:
                assert rgba.getpixel((x, y)) == brand, (x, y)


def test_service_worker_is_served_from_the_root_as_uncached_javascript(client):
    """/sw.js is JavaScript, Cache-Control no-cache, its settings on the first line and the
    static worker source after it."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    source = Path(finders.find("js/sw.js")).read_text()
    assert body.endswith(source)
    config = _worker_config(body)
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert config["offlineUrl"] == "/offline/"


def test_service_worker_precaches_the_offline_page_and_the_app_shell(client):
    """The precache list holds the offline page and every app-shell file's static URL, and
    every one of them answers 200."""
    config = _worker_config(client.get("/sw.js").content.decode())
    assert config["precache"][0] == "/offline/"
    assert "/static/css/threadly.css" in config["precache"]
    assert "/static/img/icon-512.png" in config["precache"]
    for path in pwa.APP_SHELL:
        assert finders.find(path), path
    assert client.get("/offline/").status_code == 200


def test_service_worker_version_changes_when_the_shell_or_release_changes(settings, monkeypatch):
    """A changed app-shell file or a new release gives a new cache version (so browsers
    install the new worker and drop the old caches); the same inputs give the same one."""
    settings.DEBUG = True  # recomputed on every call
    first = pwa.worker_config()["version"]
    assert pwa.worker_config()["version"] == first
    settings.VERSION = "9.9.9"
    released = pwa.worker_config()["version"]
    assert released != first
    original = pwa._static_bytes
    monkeypatch.setattr(
        pwa,
        "_static_bytes",
        lambda path: original(path) + (b"/* edited */" if path == "css/threadly.css" else b""),
    )
    assert pwa.worker_config()["version"] not in {first, released}


def test_service_worker_never_caches_personal_pages_by_allow_list():
    """The worker stores only pages on its allow-list (home, browse, categories, listings,
    sellers) and handles only GET requests; the list names no personal page."""
    source = Path(finders.find("js/sw.js")).read_text()
    allow = re.search(r"PAGE_ALLOW_LIST = \[(.*?)\];", source, re.S).group(1)
    patterns = [re.compile(p.replace("\\/", "/")) for p in re.findall(r"^\s*/(.+?)/,", allow, re.M)]
    assert len(patterns) == 5
    public = ["/", "/browse/", "/c/jackets/", "/items/12-wool-coat/", "/members/mila.vintage/"]
    personal = [
        "/cart/",
        "/checkout/",
        "/orders/",
        "/orders/3/",
        "/sales/",
        "/me/",
        "/me/profile/",
        "/saved/",
        "/my/listings/",
        "/items/new/",
        "/items/3/edit/",
        "/messages/",
        "/accounts/login/",
        "/admin/",
        "/ops/analytics/",
        "/dashboard/stats/",
    ]
    assert all(any(p.fullmatch(path) for p in patterns) for path in public)
    assert [path for path in personal if any(p.fullmatch(path) for p in patterns)] == []
    assert 'request.method !== "GET"' in source


def test_offline_page_says_offline_offers_retry_and_needs_no_database(
    client, django_assert_num_queries
):
    """/offline/ renders without a single query, is noindex, runs no script and offers a
    retry link to the address asked for and a way home."""
    with django_assert_num_queries(0):
        response = client.get("/offline/")
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    body = response.content.decode()
    assert '<meta name="robots" content="noindex">' in body
    assert "You're offline" in body
    assert '<a class="btn btn-primary" href="">Try again</a>' in body
    assert "<script" not in body
    assert "csrfmiddlewaretoken" not in body


def test_offline_page_holds_nothing_of_the_member(client, buyer):
    """A member's offline page is the same as anyone's (it is cached and shared)."""
    anonymous = client.get("/offline/").content
    client.force_login(buyer)
    assert client.get("/offline/").content == anonymous
    assert buyer.email.encode() not in anonymous


@pytest.mark.parametrize("path", ["/manifest.webmanifest", "/sw.js", "/offline/"])
def test_app_endpoints_refuse_post(client, path):
    """The manifest, worker and offline page are read-only (POST is 405)."""
    assert client.post(path).status_code == 405


def test_pages_link_the_manifest_icon_and_scripts_within_the_csp(client):
    """Every page links the manifest and apple-touch icon, loads the app scripts with the
    nonce, and the CSP allows same-origin workers and manifests without loosening scripts."""
    response = client.get("/")
    body = response.content.decode()
    csp = response["Content-Security-Policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert '<link rel="manifest" href="/manifest.webmanifest">' in body
    assert '<link rel="apple-touch-icon" href="/static/img/apple-touch-icon.png">' in body
    assert '<meta name="theme-color" content="#1f3d36">' in body
    for script in ("pwa.js", "shortcuts.js", "touch.js"):
        assert re.search(rf'<script src="/static/js/{script}" nonce="{nonce}"', body), script
    assert 'data-sw="/sw.js"' in body
    assert "worker-src 'self'" in csp
    assert "manifest-src 'self'" in csp
    script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
    assert script_src == ["'self'", f"'nonce-{nonce}'"]


def _project_templates() -> list[Path]:
    roots = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return [path for root in roots for path in root.rglob("*.html") if ".venv" not in path.parts]


def test_every_image_in_a_template_has_width_and_height_and_listing_photos_load_lazily():
    """No layout shift: every <img> in our templates has width and height; every listing photo
    decodes asynchronously and is lazy unless it is the listing page's first (LCP) photo."""
    problems = []
    for path in _project_templates():
        for tag in re.findall(r"<img\b[^>]*>", path.read_text(), re.S):
            where = f"{path.relative_to(BASE_DIR)}: {tag[:80]}"
            if "width=" not in tag or "height=" not in tag:
                problems.append(f"{where} has no width/height")
            if "image." in tag:  # a ListingImage (url / thumb_url)
                if 'decoding="async"' not in tag:
                    problems.append(f"{where} is not decoding=async")
                if 'loading="lazy"' not in tag:
                    problems.append(f"{where} is not loading=lazy")
    assert problems == []
    assert len(_project_templates()) > 20
