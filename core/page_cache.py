"""The anonymous page cache (issue 11): whole pages for cookie-less visitors, from the shared
cache, with exact invalidation. Kernel module: the mechanism only; which pages are kept and
what they depend on is the apps' business (marketplace.page_cache).

How it works:
- A view whose pages may be kept is decorated with `cacheable_view`, and opts in per response
  with `cacheable(response, tags=[...])`: the page is shareable and shows data named by those
  tags ("listing:7", "catalogue", ...). Nothing else is ever stored, and requests for other
  views are not even looked up (robots.txt, help pages: no round trip to the cache).
- `PageCacheMiddleware` sits before SessionMiddleware. For a GET/HEAD that carries no session,
  messages or read-your-writes cookie and no Authorization header, it looks the page up
  (key: release + scheme, host, path, sorted query string + HX-Request + HX-Boosted). A hit
  is answered at once: no session, user, CSRF, view, template or SQL. A miss runs the site;
  when the visitor had no CSRF cookie either, it stores a 200 that opted in, sets no cookie,
  is not private and varies on nothing but htmx (so a stored page holds no CSRF token, and a
  visitor with only a CSRF cookie may be served it). A hard reload (`Cache-Control:
  no-cache`) skips the lookup and stores the fresh render.
- Invalidation: a logical clock in the cache (CLOCK_KEY). A page remembers the clock value
  read BEFORE its view ran; `invalidate(tags)` ticks the clock after the transaction commits
  and stamps each tag with the new value. A page is fresh while every tag's stamp is <= its
  own: a render that may have read the data before the commit is older than the stamp. A
  missing stamp counts as 0, which is safe because stamps outlive the pages they could make
  stale (TTL + STAMP_MARGIN); if a stamp can't be written (cache down), the epoch key is
  deleted (core.cache replays the delete when Redis is back), and a new epoch orphans every
  page. PAGE_CACHE_SECONDS is the safety net.
- CSP: the page is stored with the nonce of the render that made it, and each hit swaps in a
  fresh nonce in the body and the Content-Security-Policy header (the same length, so the
  bytes only change in place).
- Maintenance mode wins: a hit is served only when it is off (MaintenanceModeMiddleware,
  later in the chain, answers otherwise). Security headers set outside this middleware
  (SecurityMiddleware, Permissions-Policy) and request metrics are added on hits as on misses;
  the ones set inside it (X-Frame-Options, CSP) are stored with the page.
- Side effects a hit must keep (a listing view is counted) run through hooks: the view names
  one with `cacheable(..., on_hit=(name, kwargs))`, the app registers it with
  `register_hit_hook` at start-up.
"""

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.csp import CSP, generate_nonce
from django.utils.http import split_header_value, urlencode

from core import maintenance
from core.cache import CacheUnavailable
from core.db_router import STICKY_COOKIE
from core.http import personal_cookie_names

logger = logging.getLogger(__name__)
Handler = Callable[[HttpRequest], HttpResponseBase]
HitHook = Callable[..., None]

CLOCK_KEY = "pagecache:clock"
EPOCH_KEY = "pagecache:epoch"
# A tag's stamp lives this much longer than the pages it can make stale.
STAMP_MARGIN = 60
# Requests to these are never pages worth a lookup.
SKIPPED_PREFIXES = ("/static/", "/media/", "/api/", "/admin/", "/health")
# htmx headers that change what a view answers; both are in the key.
HTMX_HEADERS = ("hx-request", "hx-boosted")
# Stored headers that are recomputed or said afresh on a hit.
UNSTORED_HEADERS = {"content-length", "x-cache", "set-cookie"}
CSP_HEADERS = {CSP.HEADER_ENFORCE.lower(), CSP.HEADER_REPORT_ONLY.lower()}

# Per process: the tags of pages seen lately, so a hit needs one round trip (bounded).
KNOWN_TAGS_MAX = 20_000

_hit_hooks: dict[str, HitHook] = {}
_known_tags: dict[str, tuple[str, ...]] = {}


class Entry(TypedDict):
    """One stored page (a plain dict when pickled, so a code change can't break reading it)."""

    epoch: str
    started: int  # the clock when the render began
    tags: tuple[str, ...]
    content: bytes
    headers: list[tuple[str, str]]
    nonce: str  # the render's CSP nonce, "" if the page used none
    on_hit: tuple[str, dict[str, Any]] | None


@dataclass(frozen=True)
class Mark:
    """What a view says about its response: the tags it shows and the hook a hit must run."""

    tags: tuple[str, ...]
    on_hit: tuple[str, dict[str, Any]] | None = None


# --- what views and apps call ----------------------------------------------------------------
def cacheable_view[V: Callable](view: V) -> V:
    """Decorate a view whose responses may be marked `cacheable`: only requests routed to
    such views are looked up in the page cache."""
    view.page_cache_view = True  # functools.wraps carries it through other decorators
    return view


def cacheable(
    response: HttpResponse,
    *,
    tags: Iterable[str],
    on_hit: tuple[str, dict[str, Any]] | None = None,
) -> HttpResponse:
    """Mark `response` as a page every cookie-less visitor may share, showing data named by
    `tags`. The middleware still refuses it if it sets a cookie, isn't a 200, is private or
    the request was a member's. Returns the response."""
    response.page_cache = Mark(tags=tuple(dict.fromkeys(tags)), on_hit=on_hit)
    return response


def register_hit_hook(name: str, hook: HitHook) -> None:
    """`hook(**kwargs)` runs on every hit of a page stored with `on_hit=(name, kwargs)`."""
    _hit_hooks[name] = hook


def invalidate(tags: Iterable[str]) -> None:
    """Pages showing any of `tags` are stale once the current transaction commits (at once
    outside one). A no-op while the page cache is off."""
    stale = frozenset(tags)
    if stale and settings.PAGE_CACHE_SECONDS > 0:
        transaction.on_commit(partial(stamp, stale), robust=True)


def stamp(tags: Iterable[str]) -> None:
    """Tick the clock and stamp `tags` with it now (callers want `invalidate`). If the cache
    can't take the stamps, every stored page is orphaned instead (see the module docstring)."""
    keys = [tag_key(tag) for tag in tags]
    tick = _tick()
    failed = True
    if tick is not None:
        failed = bool(
            cache.set_many(
                dict.fromkeys(keys, tick), timeout=settings.PAGE_CACHE_SECONDS + STAMP_MARGIN
            )
        )
    if failed:
        logger.warning("page cache: could not stamp %s; dropping every cached page", keys)
        cache.delete(EPOCH_KEY)


def tag_key(tag: str) -> str:
    return f"pagecache:tag:{tag}"


def page_key(request: HttpRequest) -> str:
    """The method-independent key of the page `request` asks for (raises DisallowedHost on a
    host settings don't allow, as Django would)."""
    query = urlencode(sorted(request.GET.lists()), doseq=True)
    htmx = "|".join(request.headers.get(name, "") for name in HTMX_HEADERS)
    release = f"{settings.VERSION}@{settings.BASE_DIR}"
    url = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
    digest = hashlib.sha256(f"{release}|{url}|{htmx}".encode()).hexdigest()
    return f"pagecache:page:{digest}"


# --- the middleware -----------------------------------------------------------------------------
class PageCacheMiddleware:
    """Answers cookie-less GET/HEAD requests from the page cache; stores the pages views mark
    with `cacheable`. Goes before SessionMiddleware and after the middleware whose headers
    every response needs (metrics, SecurityMiddleware, Permissions-Policy). X-Cache says
    hit or miss on every request it looked up."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        seconds = settings.PAGE_CACHE_SECONDS
        if seconds <= 0 or not _eligible(request):
            return self.get_response(request)
        # A hard reload (Cache-Control: no-cache) skips the copy; the render is kept only from
        # a visit without a CSRF cookie. With neither, there is nothing to read or write.
        reads_copy, keeps_render = not _asks_for_fresh(request), _storable(request)
        if not (reads_copy or keeps_render):
            return _missed(self.get_response(request))
        key = page_key(request)
        # One round trip: the page, the clock, the epoch and the stamps of the tags this page
        # had last time this process saw it (maintenance.is_enabled keeps its answer a second).
        known = _known_tags.get(key, ())
        page = [key] if reads_copy else []
        found = cache.get_many([*page, CLOCK_KEY, EPOCH_KEY, *map(tag_key, known)])
        epoch, entry = found.get(EPOCH_KEY), found.get(key)
        if (
            entry is not None
            and entry["epoch"] == epoch
            and _fresh(key, entry, found, known)
            and not maintenance.is_enabled()
        ):
            return _replay(entry)
        if not keeps_render:
            return _missed(self.get_response(request))
        # Read before the view runs: a change committed after this read stamps its tags
        # with a later tick, so this render can never pass for newer than it is.
        started = found.get(CLOCK_KEY) or _start(CLOCK_KEY, int(time.time() * 1000))
        epoch = epoch or _start(EPOCH_KEY, secrets.token_hex(8))
        response = _missed(self.get_response(request))
        if started is not None and epoch is not None and _shareable(request, response):
            # Once the page has gone out: the WSGI server closes a response after sending it,
            # and Django's close() runs these closers, so the visitor doesn't wait for the
            # store (about half a millisecond: pickling the page and a round trip).
            response._resource_closers.append(
                partial(
                    _store,
                    request,
                    response,
                    key=key,
                    epoch=epoch,
                    started=started,
                    seconds=seconds,
                )
            )
        return response


def _missed(response: HttpResponseBase) -> HttpResponseBase:
    response.headers["X-Cache"] = "miss"
    return response


def _personal_cookies() -> tuple[str, ...]:
    """The cookies that keep a visitor off stored pages. The CSRF cookie is not one of them:
    a stored page holds no CSRF token (it was rendered for a cookie-less visitor and set no
    cookie, so no form on it asked for one), and most returning visitors carry that cookie
    for a year once any form has been shown to them."""
    csrf = settings.CSRF_COOKIE_NAME
    # The read-your-writes cookie too: that visitor's pages must come from the primary.
    return (*(name for name in personal_cookie_names() if name != csrf), STICKY_COOKIE)


def _eligible(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not request.path.startswith(SKIPPED_PREFIXES)
        and "HTTP_AUTHORIZATION" not in request.META
        and not any(name in request.COOKIES for name in _personal_cookies())
        and _routed_to_cacheable_view(request)
    )


def _storable(request: HttpRequest) -> bool:
    """Only a cookie-less visit's render is kept: with a CSRF cookie, a form on the page
    would carry that visitor's token without setting a cookie."""
    return settings.CSRF_COOKIE_NAME not in request.COOKIES


def _asks_for_fresh(request: HttpRequest) -> bool:
    """A hard reload: `Cache-Control: no-cache` (or HTTP/1.0's `Pragma: no-cache`)."""
    directives = {
        value.partition("=")[0].strip().lower()
        for value in split_header_value(request.headers.get("Cache-Control", ""))
    }
    return "no-cache" in directives or "no-cache" in request.headers.get("Pragma", "").lower()


def _routed_to_cacheable_view(request: HttpRequest) -> bool:
    """The URL resolves to a `cacheable_view` (tens of microseconds: a lookup would cost a
    round trip to the cache for every robots.txt or help page)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return getattr(match.func, "page_cache_view", False)


def _fresh(key: str, entry: Entry, found: dict[str, Any], known: tuple[str, ...]) -> bool:
    """No tag of the page was stamped after its render began. The stamps came with the page
    when this process knew its tags (a URL's tags don't change: a listing keeps its seller);
    otherwise they cost a second round trip, and the tags are remembered."""
    keys = [tag_key(tag) for tag in entry["tags"]]
    if set(entry["tags"]) <= set(known):
        stamps = found
    else:
        stamps = cache.get_many(keys) if keys else {}
        if not getattr(cache, "available", True):  # the cache went away between the reads
            return False
        if len(_known_tags) >= KNOWN_TAGS_MAX:
            _known_tags.clear()
        _known_tags[key] = entry["tags"]
    return all(stamps.get(k, 0) <= entry["started"] for k in keys)


def _shareable(request: HttpRequest, response: HttpResponseBase) -> bool:
    """The response opted in and is the same for every cookie-less visitor."""
    if not isinstance(getattr(response, "page_cache", None), Mark):
        return False
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    vary = {value.lower() for value in split_header_value(response.get("Vary", ""))}
    if not vary <= set(HTMX_HEADERS):
        return False
    control = {
        value.partition("=")[0].lower()
        for value in split_header_value(response.get("Cache-Control", ""))
    }
    return not control & {"private", "no-store", "no-cache"}


def _store(
    request: HttpRequest,
    response: HttpResponse,
    *,
    key: str,
    epoch: str,
    started: int,
    seconds: int,
) -> None:
    nonce = getattr(request, "_csp_nonce", None)
    mark: Mark = response.page_cache
    entry: Entry = {
        "epoch": epoch,
        "started": started,
        "tags": mark.tags,
        "content": response.content,
        "headers": [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in UNSTORED_HEADERS
        ],
        # LazyNonce is falsy until a template used it.
        "nonce": str(nonce) if nonce else "",
        "on_hit": mark.on_hit,
    }
    cache.set(key, entry, seconds)
    if len(_known_tags) >= KNOWN_TAGS_MAX:
        _known_tags.clear()
    _known_tags[key] = mark.tags


def _replay(entry: Entry) -> HttpResponse:
    """The stored page with a fresh CSP nonce, after running its hit hook."""
    content, headers = entry["content"], entry["headers"]
    if entry["nonce"]:
        old, new = entry["nonce"], generate_nonce()
        content = content.replace(old.encode(), new.encode())
        headers = [
            (name, value.replace(old, new) if name.lower() in CSP_HEADERS else value)
            for name, value in headers
        ]
    response = HttpResponse(content)
    for name, value in headers:
        response.headers[name] = value
    response.headers["Content-Length"] = str(len(content))  # as CommonMiddleware would
    response.headers["X-Cache"] = "hit"
    if entry["on_hit"] is not None:
        name, kwargs = entry["on_hit"]
        hook = _hit_hooks.get(name)
        if hook is None:
            logger.error("page cache: no hit hook %r is registered", name)
        else:
            hook(**kwargs)
    return response


def _tick() -> int | None:
    """The clock, one tick on; None when the cache is unreachable."""
    try:
        return cache.incr(CLOCK_KEY)
    except CacheUnavailable:
        return None
    except ValueError:  # no clock yet (or it was evicted): start it from the wall clock
        _start(CLOCK_KEY, int(time.time() * 1000))
        try:
            return cache.incr(CLOCK_KEY)
        except ValueError:
            return None


def _start(key: str, value: Any) -> Any:
    """Create `key` (no expiry) unless another process did first; its value, None if the cache
    is unreachable. The clock starts at the wall clock in milliseconds, so a clock lost and
    started again is still ahead of every stamp the old one gave."""
    if cache.add(key, value, None):
        return value
    return cache.get(key)
