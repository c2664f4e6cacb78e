/* kefu — SLA countdown badges. Every element with data-sla-due (ISO 8601) shows the time left until then,
   ticking each second: "12:34" under an hour, "1h 05m" above; class sla-ok, sla-warning once the
   data-sla-warn instant has passed, sla-breached past due ("overdue 3m"). Wording comes from the element's
   data-sla-hm / data-sla-m / data-sla-overdue templates (translated by the server). Elements added later
   (HTMX swaps) are picked up on the next tick. docs/sla.md "Countdown badges". */
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function fill(template, fallback, values) {
    let out = template || fallback;
    Object.keys(values).forEach((k) => { out = out.split("{" + k + "}").join(String(values[k])); });
    return out;
  }

  function hoursMinutes(el, seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return fill(el.dataset.slaHm, "{h}h {m}m", { h: h, m: pad(m) });
  }

  function left(el, seconds) {
    if (seconds >= 3600) return hoursMinutes(el, seconds);
    return Math.floor(seconds / 60) + ":" + pad(seconds % 60);
  }

  function overdue(el, seconds) {
    const t = seconds >= 3600 ? hoursMinutes(el, seconds)
      : fill(el.dataset.slaM, "{m}m", { m: Math.max(1, Math.floor(seconds / 60)) });
    return fill(el.dataset.slaOverdue, "overdue {t}", { t: t });
  }

  function render(el, now) {
    const due = Date.parse(el.dataset.slaDue);
    if (isNaN(due)) return;
    const warn = el.dataset.slaWarn ? Date.parse(el.dataset.slaWarn) : NaN;
    const seconds = Math.floor((due - now) / 1000);
    const state = seconds < 0 ? "breached" : (!isNaN(warn) && now >= warn ? "warning" : "ok");
    const text = seconds < 0 ? overdue(el, -seconds) : left(el, seconds);
    if (el.textContent !== text) el.textContent = text;
    ["ok", "warning", "breached"].forEach((s) => el.classList.toggle("sla-" + s, s === state));
    el.dataset.slaState = state;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-sla-due]").forEach((el) => render(el, now));
  }

  function start() {
    tick();
    setInterval(tick, 1000);
    document.addEventListener("htmx:afterSwap", tick);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
