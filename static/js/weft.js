/* Weft shell behaviour. Loaded on every page after bootstrap.bundle and htmx; no inline scripts
 * anywhere (a strict Content-Security-Policy can be switched on later without nonces).
 *
 *   - htmx requests carry Django's CSRF token (X-CSRFToken, from <meta name="csrf-token">)
 *   - fields Django marked aria-invalid="true" get Bootstrap's .is-invalid; collapsed form
 *     sections holding an error open themselves
 *   - <form data-confirm="Sure?"> and <button data-confirm="…"> ask before submitting
 *   - <select data-autosubmit> / <input data-autosubmit> submit their form on change
 *   - a failed htmx request shows a toast instead of failing silently
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      return meta.content;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  var SAFE_METHODS = /^(GET|HEAD|OPTIONS|TRACE)$/i;

  // htmx: every unsafe request sends the CSRF header Django expects.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!SAFE_METHODS.test(event.detail.verb || "")) {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });

  function enhance(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll('[aria-invalid="true"]').forEach(function (el) {
      el.classList.add("is-invalid");
    });
    root.querySelectorAll("details.weft-section:not([open])").forEach(function (details) {
      if (details.querySelector('[aria-invalid="true"], .invalid-feedback')) {
        details.open = true;
      }
    });
    // Bootstrap tooltips for elements that ask for one.
    if (window.bootstrap && window.bootstrap.Tooltip) {
      root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
        window.bootstrap.Tooltip.getOrCreateInstance(el);
      });
    }
  }

  // Confirmation before destructive submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      // Drop the page number: a new filter starts at page one.
      var page = el.form.querySelector('input[name="page"]');
      if (page) {
        page.disabled = true;
      }
      if (el.form.requestSubmit) {
        el.form.requestSubmit();
      } else {
        el.form.submit();
      }
    }
  });

  function toast(text) {
    var box = document.getElementById("weft-toasts");
    if (!box || !window.bootstrap) {
      return;
    }
    var el = document.createElement("div");
    el.className = "toast align-items-center text-bg-danger border-0";
    el.setAttribute("role", "alert");
    el.setAttribute("aria-live", "assertive");
    el.setAttribute("aria-atomic", "true");
    var row = document.createElement("div");
    row.className = "d-flex";
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", box.getAttribute("data-close-text") || "Close");
    row.appendChild(body);
    row.appendChild(close);
    el.appendChild(row);
    box.appendChild(el);
    el.addEventListener("hidden.bs.toast", function () { el.remove(); });
    window.bootstrap.Toast.getOrCreateInstance(el, { delay: 6000 }).show();
  }

  document.addEventListener("htmx:responseError", function () {
    var box = document.getElementById("weft-toasts");
    toast(box ? box.getAttribute("data-error-text") : "Request failed");
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("weft-toasts");
    toast(box ? box.getAttribute("data-offline-text") : "Network error");
  });

  // htmx:load fires for the initial page and for every piece of content htmx swaps in.
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }

  window.Weft = { csrfToken: csrfToken, toast: toast };
})();
