"""The installable web app: the web manifest, the service worker and the offline page.

Kernel module (imports no app). The service worker source is the static file js/sw.js; the
view serves it from the site root (so its scope is the whole site) with a first line of
settings: the cache version, the app-shell URLs to precache and the offline page's URL.

The cache version is the first 12 hex digits of a SHA-256 over the release (settings.VERSION),
the worker's source, the offline page's HTML and the bytes of every app-shell file. Any release
that changes one of them changes /sw.js, so browsers install the new worker, which precaches
into a new cache and deletes the old ones on activate; nobody bumps a number by hand. It is
computed once per process (on every request while DEBUG is on, so edits show at once).
"""

import hashlib
import json
from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

# The colours of static/css/threadly.css (--color-bg, --color-brand).
BACKGROUND_COLOR = "#faf8f4"
THEME_COLOR = "#1f3d36"
SERVICE_WORKER = "js/sw.js"
# Precached on install: what the offline page and every page's first paint need. Other files
# under STATIC_URL are cached the first time they are fetched (cache-first).
APP_SHELL = (
    "css/threadly.css",
    "css/catalog.css",
    "css/orders.css",
    "css/ops.css",
    "css/motion.css",
    "vendor/htmx.min.js",
    "js/pwa.js",
    "js/shortcuts.js",
    "js/touch.js",
    "img/favicon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
    "img/icon-maskable-512.png",
    "img/apple-touch-icon.png",
)


def offline_page_html() -> str:
    """The offline page: no request, no context processors, no database (it is cached by the
    service worker and shown to everyone, so it must hold nothing personal)."""
    return render_to_string("pwa/offline.html", {"site_name": settings.SITE_NAME})


def _static_bytes(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(f"static file {path} not found")
    with open(found, "rb") as handle:
        return handle.read()


def _worker_config() -> dict:
    offline_url = reverse("pwa_offline")
    precache = [offline_url, *(static(path) for path in APP_SHELL)]
    digest = hashlib.sha256(settings.VERSION.encode())
    digest.update(_static_bytes(SERVICE_WORKER))
    digest.update(offline_page_html().encode())
    for path in APP_SHELL:
        digest.update(path.encode() + b"\0" + _static_bytes(path))
    return {
        "version": digest.hexdigest()[:12],
        "offlineUrl": offline_url,
        "precache": precache,
        "staticUrl": settings.STATIC_URL,
    }


_cached_worker_config = cache(_worker_config)


def worker_config() -> dict:
    """Cache version, offline URL and precache list (see the module docstring)."""
    return _worker_config() if settings.DEBUG else _cached_worker_config()


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js: the static worker source with its settings on the first line; never cached by
    HTTP caches, so the browser's update check always sees a new release."""
    config = json.dumps(worker_config(), separators=(",", ":"))
    body = f"self.THREADLY_SW = {config};\n".encode() + _static_bytes(SERVICE_WORKER)
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    """/manifest.webmanifest: what Chromium needs to offer "Install app" (name, start URL,
    standalone display, 192 and 512 px icons) plus a maskable icon for Android launchers."""
    data = {
        "id": "/",
        "name": f"{settings.SITE_NAME} — second-hand fashion",
        "short_name": settings.SITE_NAME,
        "description": "Buy and sell pre-loved fashion from real wardrobes.",
        "lang": "en",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "categories": ["shopping", "lifestyle"],
        "icons": [
            {"src": static(name), "sizes": size, "type": "image/png", "purpose": purpose}
            for name, size, purpose in (
                ("img/icon-192.png", "192x192", "any"),
                ("img/icon-512.png", "512x512", "any"),
                ("img/icon-maskable-512.png", "512x512", "maskable"),
            )
        ],
    }
    response = JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """/offline/: what the service worker shows when a page can't be fetched."""
    response = HttpResponse(offline_page_html())
    response["X-Robots-Tag"] = "noindex"
    return response
