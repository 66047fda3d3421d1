/* Registers the service worker (core.pwa, /sw.js) so Threadly installs as an app and shows
 * the offline page when the network is gone. The worker's URL comes from data-sw on this
 * script tag (templates/pwa/_scripts.html). */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || !("serviceWorker" in navigator) || !window.isSecureContext) return;
  const url = script.dataset.sw;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(url, { scope: "/" }).catch(function (error) {
      // An app that can't install still works as a website: say why once, quietly.
      console.warn("Service worker not registered:", error.message);
    });
  });
})();
