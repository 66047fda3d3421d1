/* Keyboard shortcuts (docs/operations.md, "The app on phones and keyboards"):
 *   /      focus the header search box
 *   g h    go to the home page
 *   g c    go to the cart
 *   ?      open the list of shortcuts (a modal <dialog>)
 * Never while typing in a field (input, textarea, select, contenteditable) and never with
 * Ctrl, Meta (Cmd) or Alt held, so browser and screen-reader keys keep working. The URLs come
 * from data-home-url / data-cart-url on this script tag (templates/pwa/_scripts.html). */
(function () {
  "use strict";
  const script = document.currentScript;
  const homeUrl = (script && script.dataset.homeUrl) || "/";
  const cartUrl = script && script.dataset.cartUrl;
  const SEQUENCE_MS = 1500;
  const TYPING = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";
  const SHORTCUTS = [
    ["/", "Search"],
    ["g h", "Go to the home page"],
    ["g c", "Go to your cart"],
    ["?", "Show these shortcuts"],
    ["Esc", "Close this list"],
  ].filter(function (row) {
    return cartUrl || row[0] !== "g c";
  });

  let dialog = null;
  let returnFocusTo = null;
  let awaitingSecondKey = false;
  let sequenceTimer = null;

  function isTyping(target) {
    return Boolean(target && target.closest && (target.isContentEditable || target.closest(TYPING)));
  }

  function buildDialog() {
    const element = document.createElement("dialog");
    element.className = "shortcuts-dialog";
    element.setAttribute("aria-labelledby", "shortcuts-title");
    const head = document.createElement("div");
    head.className = "shortcuts-head";
    const title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-sm";
    close.textContent = "Close";
    close.addEventListener("click", function () {
      element.close();
    });
    head.append(title, close);
    const list = document.createElement("dl");
    list.className = "shortcuts-list";
    SHORTCUTS.forEach(function (row) {
      const item = document.createElement("div");
      const keys = document.createElement("dt");
      row[0].split(" ").forEach(function (key, index) {
        if (index) keys.append(" then ");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        keys.append(kbd);
      });
      const what = document.createElement("dd");
      what.textContent = row[1];
      item.append(keys, what);
      list.append(item);
    });
    element.append(head, list);
    // Tab and Shift+Tab cycle inside the dialog instead of leaving it for the browser's UI.
    element.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      const focusable = element.querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])");
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    // A click on the backdrop (outside the box) closes it too.
    element.addEventListener("click", function (event) {
      if (event.target === element) element.close();
    });
    element.addEventListener("close", function () {
      if (returnFocusTo && document.contains(returnFocusTo)) returnFocusTo.focus();
      returnFocusTo = null;
    });
    document.body.append(element);
    return element;
  }

  function openHelp() {
    dialog = dialog || buildDialog();
    if (dialog.open) return;
    returnFocusTo = document.activeElement;
    dialog.showModal();
    dialog.querySelector("button").focus();
  }

  function resetSequence() {
    awaitingSecondKey = false;
    clearTimeout(sequenceTimer);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      resetSequence();
      return;
    }
    if (isTyping(event.target) || document.querySelector("dialog[open]")) {
      resetSequence();
      return;
    }
    const key = event.key;
    if (awaitingSecondKey) {
      resetSequence();
      if (key === "h") {
        event.preventDefault();
        window.location.assign(homeUrl);
        return;
      }
      if (key === "c" && cartUrl) {
        event.preventDefault();
        window.location.assign(cartUrl);
        return;
      }
    }
    if (key === "/") {
      const search = document.getElementById("site-search");
      if (!search) return;
      event.preventDefault();
      search.focus();
      search.select();
    } else if (key === "?") {
      event.preventDefault();
      openHelp();
    } else if (key === "g") {
      awaitingSecondKey = true;
      sequenceTimer = setTimeout(resetSequence, SEQUENCE_MS);
    }
  });
})();
