/* Threadly realtime: live updates through Pusher Channels (or a Pusher-protocol server).
 *
 * Runs only where the page rendered a #realtime-config JSON script (templates/realtime/
 * _client.html, when Pusher is configured); without it the pages keep polling with htmx.
 * Subscribes to the private channels the config lists (each one signed by POST /pusher/auth,
 * with the CSRF token) and re-dispatches Pusher events as DOM events on <body>:
 *   "message" -> "threadly:message" (detail: {conversation_id, message_id})
 *   "unread"  -> "threadly:unread"  (detail: {count})
 * <body data-realtime="..."> follows the connection state ("connected", "unavailable", ...),
 * so a page may poll less often while it is "connected".
 */
(function () {
  "use strict";

  var EVENTS = { message: "threadly:message", unread: "threadly:unread" };

  function readConfig() {
    var element = document.getElementById("realtime-config");
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function dispatch(name, data) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: data }));
  }

  function start() {
    var config = readConfig();
    if (!config || !config.key || typeof window.Pusher !== "function") {
      return;
    }
    var pusher = new window.Pusher(config.key, {
      cluster: config.cluster,
      wsHost: config.wsHost,
      wsPort: config.wsPort,
      wssPort: config.wsPort,
      forceTLS: config.forceTLS,
      enabledTransports: ["ws", "wss"],
      channelAuthorization: {
        endpoint: config.authEndpoint,
        transport: "ajax",
        headers: { "X-CSRFToken": csrfToken() },
      },
    });
    pusher.connection.bind("state_change", function (states) {
      document.body.dataset.realtime = states.current;
    });
    (config.channels || []).forEach(function (name) {
      var channel = pusher.subscribe(name);
      Object.keys(EVENTS).forEach(function (event) {
        channel.bind(event, function (data) {
          dispatch(EVENTS[event], data);
        });
      });
    });
    window.threadlyRealtime = pusher;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
