/* Pull-to-refresh and loading skeletons.
 *
 * Pull-to-refresh: on the home feed and the browse pages (those with #results: browse, search,
 * categories), a finger dragged down from the very top of the page shows an indicator; let go
 * past THRESHOLD and the results are fetched again with htmx (or the page reloads where there
 * is no #results). Touch events only, so a mouse never triggers it. The indicator follows the
 * finger; its easing and spinner only run under prefers-reduced-motion: no-preference
 * (static/css/motion.css).
 *
 * Skeletons: while htmx fetches new results into an element holding listing cards (or marked
 * data-skeleton), card placeholders stand in for them and the element is aria-busy.
 */
(function () {
  "use strict";
  const THRESHOLD = 70; // px of (damped) pull that arms the refresh
  const MAX_PULL = 110;
  const DAMPING = 0.5;
  const SKELETON_CARDS = 8;

  // --- Skeletons ---------------------------------------------------------------------------
  function wantsSkeleton(target) {
    return target && (target.id === "results" || target.hasAttribute("data-skeleton") || target.querySelector(".listing-card"));
  }

  function showSkeleton(target) {
    if (target.querySelector(":scope > .skeleton-grid")) return;
    const grid = document.createElement("ul");
    grid.className = "grid grid-wide skeleton-grid";
    grid.setAttribute("aria-hidden", "true");
    for (let i = 0; i < SKELETON_CARDS; i += 1) {
      const card = document.createElement("li");
      card.className = "skeleton-card";
      card.innerHTML = '<div class="skeleton-photo"></div><div class="skeleton-line"></div><div class="skeleton-line skeleton-short"></div>';
      grid.append(card);
    }
    const bar = target.querySelector(":scope > .results-bar");
    if (bar) bar.after(grid);
    else target.prepend(grid);
    target.classList.add("is-loading");
    target.setAttribute("aria-busy", "true");
  }

  function hideSkeleton(target) {
    const grid = target.querySelector(":scope > .skeleton-grid");
    if (grid) grid.remove();
    target.classList.remove("is-loading");
    target.removeAttribute("aria-busy");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const target = event.detail.target;
    if (event.detail.requestConfig && event.detail.requestConfig.verb !== "get") return;
    if (wantsSkeleton(target)) showSkeleton(target);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const target = event.detail.target;
    if (target) hideSkeleton(target);
  });

  // --- Pull-to-refresh ---------------------------------------------------------------------
  const results = document.getElementById("results");
  const isHome = window.location.pathname === "/";
  if (!results && !isHome) return;

  let indicator = null;
  let startY = null;
  let pull = 0;
  let refreshing = false;

  function atTop() {
    return (document.scrollingElement || document.documentElement).scrollTop <= 0;
  }

  function ensureIndicator() {
    if (indicator) return indicator;
    indicator = document.createElement("div");
    indicator.className = "pull-refresh";
    indicator.setAttribute("role", "status");
    const label = document.createElement("span");
    label.className = "pull-refresh-label";
    indicator.append(label);
    document.body.append(indicator);
    return indicator;
  }

  function show(distance, text, state) {
    const element = ensureIndicator();
    element.style.setProperty("--pull", `${distance}px`);
    element.dataset.state = state;
    element.firstChild.textContent = text;
  }

  function settle() {
    if (!indicator) return;
    indicator.dataset.state = "idle";
    indicator.style.setProperty("--pull", "0px");
    indicator.firstChild.textContent = "";
  }

  function refresh() {
    refreshing = true;
    show(THRESHOLD, "Refreshing…", "refreshing");
    if (results && window.htmx) {
      window.htmx
        .ajax("GET", window.location.href, { target: results, swap: "innerHTML" })
        .finally(function () {
          refreshing = false;
          settle();
        });
    } else {
      window.location.reload();
    }
  }

  document.addEventListener(
    "touchstart",
    function (event) {
      if (refreshing || event.touches.length !== 1 || !atTop() || document.querySelector("dialog[open]")) {
        startY = null;
        return;
      }
      startY = event.touches[0].clientY;
      pull = 0;
    },
    { passive: true },
  );

  document.addEventListener(
    "touchmove",
    function (event) {
      if (startY === null) return;
      const dy = event.touches[0].clientY - startY;
      if (dy <= 0 || !atTop()) {
        pull = 0;
        settle();
        return;
      }
      pull = Math.min(MAX_PULL, dy * DAMPING);
      const armed = pull >= THRESHOLD;
      show(pull, armed ? "Release to refresh" : "Pull to refresh", armed ? "armed" : "pulling");
    },
    { passive: true },
  );

  function end() {
    if (startY === null) return;
    startY = null;
    if (pull >= THRESHOLD) refresh();
    else settle();
    pull = 0;
  }
  document.addEventListener("touchend", end, { passive: true });
  document.addEventListener("touchcancel", end, { passive: true });
  document.documentElement.classList.add("has-pull-refresh");
})();
