/* kefu — small helpers shared by every page: local times, auto-submitting selects, copy buttons,
   forms that ask for confirmation (data-confirm), error toasts for HTMX requests, and the browser's
   time-zone offset for snooze forms. */
(function () {
  "use strict";

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function formatTimes(root) {
    const lang = document.documentElement.lang || undefined;
    const today = new Date().toDateString();
    (root || document).querySelectorAll("time[datetime]").forEach((el) => {
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = d.toLocaleString(lang);
      el.textContent = d.toDateString() === today
        ? d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })
        : d.toLocaleString(lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    });
    (root || document).querySelectorAll("[data-tz-offset]").forEach((el) => {
      el.value = String(new Date().getTimezoneOffset());
    });
  }

  let toastTimer = null;
  function toast(text, isError) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !!isError);
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
  }

  function textOf(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return (t.content.textContent || "").trim();
  }

  document.addEventListener("DOMContentLoaded", () => formatTimes(document));
  document.addEventListener("htmx:afterSettle", (e) => formatTimes(e.target));
  document.addEventListener("htmx:responseError", (e) => {
    toast(textOf(e.detail.xhr.responseText) || e.detail.xhr.statusText, true);
  });
  document.addEventListener("htmx:sendError", () => toast(document.body.dataset.offline || "Network error", true));
  document.addEventListener("change", (e) => {
    const el = e.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
  // Forms that ask first (data-confirm="question"): no inline handlers, the CSP allows no inline script.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });
  document.addEventListener("click", (e) => {
    const btn = e.target instanceof Element ? e.target.closest("[data-copy-target]") : null;
    if (!btn) return;
    const src = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!src) return;
    const text = src.value !== undefined ? src.value : src.textContent;
    const done = () => {
      const old = btn.textContent;
      btn.textContent = btn.getAttribute("data-copied") || "✓";
      setTimeout(() => { btn.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => { src.select && src.select(); });
    } else if (src.select) {
      src.select();
      document.execCommand("copy");
      done();
    }
  });

  window.kefu = { uuid, formatTimes, toast, textOf };
})();
