/* Crocevia pages: the bell's live unread count (Server-Sent Events from this service,
 * which relays the notifications service), and counts sent back by htmx answers. */
"use strict";
(function () {
  const bell = document.getElementById("bell");
  if (!bell) return;
  const count = document.getElementById("bell-count");

  function show(n) {
    bell.dataset.unread = String(n);
    count.textContent = String(n);
    count.hidden = n <= 0;
    bell.setAttribute("aria-label", bell.dataset.label.replace("{n}", String(n)));
  }

  document.body.addEventListener("crocevia-unread", (e) => show(Number(e.detail.value)));
  if (!window.EventSource) return;
  const source = new EventSource(bell.dataset.stream);
  source.addEventListener("unread", (e) => show(Number(e.data)));
  source.addEventListener("off", () => { source.close(); bell.hidden = true; });
})();
