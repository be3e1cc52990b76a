/* Minhu workbenches: small behaviour the pages cannot do with HTML and htmx alone. Loaded with
 * `defer` from our own origin; no inline script, no eval (the Content-Security-Policy forbids
 * both).
 *
 * - A "select all" checkbox (`data-wb-checkall="<name>"`) ticks every checkbox of that name in
 *   its form (batch dispatch).
 * - An action card whose address is the page's #fragment opens and scrolls into view (links
 *   from the queues go straight to "审批", "回访" …).
 */
(function () {
  "use strict";

  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box || !box.getAttribute) {
      return;
    }
    var name = box.getAttribute("data-wb-checkall");
    if (!name || !box.form) {
      return;
    }
    var boxes = box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    Array.prototype.forEach.call(boxes, function (b) {
      b.checked = box.checked;
    });
  });

  function openFragment() {
    var id = window.location.hash ? window.location.hash.slice(1) : "";
    if (!id) {
      return;
    }
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      var field = target.querySelector("textarea, input:not([type=hidden]), select");
      target.scrollIntoView({ block: "start" });
      if (field) {
        field.focus({ preventScroll: true });
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openFragment);
  } else {
    openFragment();
  }
  window.addEventListener("hashchange", openFragment);
})();
