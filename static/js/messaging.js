/* Threadly messaging: polls only while the tab is visible, catch up when it comes back,
   keep the newest message in view. Loaded as a static file (the CSP forbids inline code and
   eval, so htmx's [filter] trigger syntax is not available). Elements with data-poll are the
   pollers: the conversation, the inbox and the header badge. */
(function () {
  "use strict";

  function isPoller(element) {
    return element && element.hasAttribute && element.hasAttribute("data-poll");
  }

  // Cancel a poll while the tab is hidden (htmx:beforeRequest is cancelable).
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (document.visibilityState !== "visible" && isPoller(event.detail.elt)) {
      event.preventDefault();
    }
  });

  // Back on the tab: poll at once instead of waiting for the next tick.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      document.body.dispatchEvent(new CustomEvent("threadly:visible"));
    }
  });

  function showNewest() {
    var thread = document.getElementById("thread");
    if (thread && thread.lastElementChild) {
      thread.lastElementChild.scrollIntoView({ block: "nearest" });
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "thread") {
      showNewest();
    }
  });

  if (document.getElementById("thread")) {
    var composer = document.getElementById("composer");
    (composer || document.getElementById("thread")).scrollIntoView({ block: "end" });
  }
})();
