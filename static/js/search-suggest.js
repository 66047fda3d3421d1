/* Search suggestions under the header search box: the ARIA 1.2 combobox pattern with a
   listbox popup (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/). Arrow keys move
   through the suggestions, Enter opens the chosen one (or searches), Escape closes the list
   (a second Escape clears the box). Without JavaScript the form simply searches. */
(function () {
  "use strict";
  var form = document.querySelector("form.search[data-suggest-url]");
  if (!form) return;
  var input = form.querySelector("[role=combobox]");
  var list = document.getElementById(input.getAttribute("aria-controls"));
  var status = form.querySelector("[data-suggest-status]");
  var endpoint = form.getAttribute("data-suggest-url");
  var KIND_LABEL = { listing: "Item", brand: "Brand", category: "Category" };
  var items = [];
  var active = -1;
  var timer = null;
  var pending = null;
  var lastQuery = null;

  function isOpen() { return !list.hidden; }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function open() {
    if (!items.length) return close();
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function setActive(index) {
    var options = list.querySelectorAll("[role=option]");
    if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
    active = index;
    if (active < 0) { input.removeAttribute("aria-activedescendant"); return; }
    var option = options[active];
    option.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  function render(suggestions) {
    items = suggestions;
    list.textContent = "";
    suggestions.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = "site-search-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.className = "suggestion suggestion-" + s.kind;
      if (s.thumbnail) {
        var img = document.createElement("img");
        img.src = s.thumbnail; img.alt = ""; img.width = 40; img.height = 40;
        img.loading = "lazy"; img.decoding = "async";
        li.appendChild(img);
      }
      var text = document.createElement("span");
      text.className = "suggestion-label";
      text.textContent = s.label;
      li.appendChild(text);
      var meta = document.createElement("span");
      meta.className = "suggestion-meta";
      meta.textContent = s.price ? s.price : (KIND_LABEL[s.kind] || "");
      li.appendChild(meta);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });
      li.addEventListener("click", function () { go(i); });
      list.appendChild(li);
    });
    active = -1;
    status.textContent = suggestions.length
      ? suggestions.length + (suggestions.length === 1 ? " suggestion" : " suggestions") + " available."
      : "";
    if (suggestions.length) open(); else close();
  }

  function go(index) {
    var s = items[index];
    if (s) window.location.assign(s.url);
  }

  function fetchSuggestions() {
    var q = input.value.trim();
    if (q === lastQuery) { if (items.length) open(); return; }
    lastQuery = q;
    if (q.length < 2) { render([]); return; }
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(endpoint + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      signal: pending.signal,
      credentials: "same-origin"
    })
      .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
      .then(function (data) { if (input.value.trim() === q) render(data.suggestions || []); })
      .catch(function () { /* aborted or offline: the form still searches */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, 150);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!isOpen()) { lastQuery = null; fetchSuggestions(); open(); return; }
      setActive(active + 1 >= items.length ? 0 : active + 1);
    } else if (event.key === "ArrowUp") {
      if (!isOpen()) return;
      event.preventDefault();
      setActive(active <= 0 ? items.length - 1 : active - 1);
    } else if (event.key === "Enter") {
      if (isOpen() && active >= 0) { event.preventDefault(); go(active); }
    } else if (event.key === "Escape") {
      if (isOpen()) { event.preventDefault(); close(); }
      else if (input.value) { event.preventDefault(); input.value = ""; lastQuery = null; render([]); }
    } else if (event.key === "Tab") {
      close();
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 100); });
  input.addEventListener("focus", function () { if (items.length && input.value.trim() === lastQuery) open(); });
})();
