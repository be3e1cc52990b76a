/* Minhu page behaviour. Loaded with `defer` from our own origin; no inline script anywhere
 * (the Content-Security-Policy forbids it) and no eval (htmx runs with allowEval: false).
 *
 * 1. A background request (the unread-count poll, marked X-Minhu-Background: 1) that finds the
 *    session ended is answered with the login page: take the whole window there instead of
 *    swapping a login form into the slot.
 * 2. htmx requests that fail (403, 404, 500, network) say so in the page's message area, in the
 *    page's language (the texts come from data-msg-* attributes on <body>).
 */
(function () {
  "use strict";

  function loginPath() {
    return document.body ? document.body.getAttribute("data-login-url") : null;
  }

  function message(key, fallback) {
    var text = document.body ? document.body.getAttribute("data-msg-" + key) : null;
    return text || fallback;
  }

  function showAlert(text) {
    var box = document.getElementById("messages");
    if (!box) {
      return;
    }
    var p = document.createElement("p");
    p.className = "message message--danger";
    p.setAttribute("role", "alert");
    p.textContent = text;
    box.appendChild(p);
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    var login = loginPath();
    if (!xhr || !login || !xhr.responseURL) {
      return;
    }
    var url;
    try {
      url = new URL(xhr.responseURL);
    } catch (e) {
      return;
    }
    if (url.origin === window.location.origin && url.pathname === login) {
      evt.detail.shouldSwap = false;
      var next = window.location.pathname + window.location.search;
      window.location.assign(login + "?next=" + encodeURIComponent(next));
    }
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    if (status === 403) {
      showAlert(message("403", "无权进行此操作。") + " (403)");
    } else if (status === 404) {
      showAlert(message("404", "内容不存在或已被移动。") + " (404)");
    } else {
      showAlert(message("error", "操作没有完成，请稍后重试。") + " (" + status + ")");
    }
  });

  document.addEventListener("htmx:sendError", function (evt) {
    var elt = evt.detail.elt;
    // A failed background poll (offline for a moment) is not worth an alert.
    if (elt && elt.closest && elt.closest("[hx-headers*='X-Minhu-Background']")) {
      return;
    }
    showAlert(message("offline", "网络连接失败，请检查网络后重试。"));
  });
})();
