/* Threadly's service worker, served at /sw.js by core.pwa.service_worker, which puts its
 * settings on the line above: self.THREADLY_SW = {version, offlineUrl, precache, staticUrl}.
 *
 * - install: precache the app shell (offline page, CSS, JS, icons) into "threadly-<version>".
 * - activate: delete every other threadly-* cache, take control of open pages.
 * - static files (same origin, under STATIC_URL): cache-first, cached on first use.
 * - page navigations: network-first. Only the public catalogue pages of PAGE_ALLOW_LIST are
 *   kept for offline reading; everything else (cart, checkout, orders, messages, account,
 *   saved, admin, ops, ...) is never stored. Offline, a page not in the cache gets the
 *   offline page.
 * - anything else (non-GET, htmx fragments, other origins, media, APIs): not touched.
 */
"use strict";

const CONFIG = self.THREADLY_SW;
const PREFIX = "threadly-";
const SHELL_CACHE = `${PREFIX}${CONFIG.version}`;
const PAGE_CACHE = `${PREFIX}pages-${CONFIG.version}`;
const MAX_PAGES = 40;

// Pages that may be stored: the same for every visitor (the catalogue), by path.
const PAGE_ALLOW_LIST = [
  /^\/$/, // home
  /^\/browse\/$/, // browse and search
  /^\/c\/[\w-]+\/$/, // a category
  /^\/items\/\d+-[\w-]+\/$/, // a listing
  /^\/members\/[\w.-]+\/$/, // a seller's shop
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(CONFIG.precache))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith(PREFIX) && name !== SHELL_CACHE && name !== PAGE_CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function pageMayBeCached(url) {
  return PAGE_ALLOW_LIST.some((pattern) => pattern.test(url.pathname));
}

async function trimPages(cache) {
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map((key) => cache.delete(key)));
}

async function staticCacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    const copy = response.clone();
    caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

async function navigationNetworkFirst(event, url) {
  const cacheable = pageMayBeCached(url);
  try {
    const response = await fetch(event.request);
    if (cacheable && response.status === 200 && response.type === "basic") {
      const copy = response.clone();
      event.waitUntil(
        caches.open(PAGE_CACHE).then((cache) => cache.put(event.request, copy).then(() => trimPages(cache))),
      );
    }
    return response;
  } catch (error) {
    if (cacheable) {
      const cached = await caches.match(event.request, { cacheName: PAGE_CACHE });
      if (cached) return cached;
    }
    const offline = await caches.match(CONFIG.offlineUrl, { cacheName: SHELL_CACHE });
    return offline || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Logging out: forget the stored pages, whose header was the member's.
    if (url.pathname.startsWith("/accounts/logout/")) {
      event.waitUntil(caches.delete(PAGE_CACHE));
    }
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(navigationNetworkFirst(event, url));
  } else if (url.pathname.startsWith(CONFIG.staticUrl)) {
    event.respondWith(staticCacheFirst(request));
  }
});
