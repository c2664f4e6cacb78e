/* kefu chat widget loader. Embed on any site:
     <script src="https://YOUR-KEFU-HOST/widget.js" data-inbox="INBOX_KEY" async></script>
   Optional: data-locale="zh_CN" | "zh_TW" | "en" (default: the visitor's browser language).
   Optional, signed by the site's server: data-user-id, data-level ("normal" | "vip" | "gold") and
   data-signature = hex HMAC-SHA256 of "user_id:level" with the inbox's identity secret (docs/automation.md);
   data-email, data-phone and data-identifier-hash = hex HMAC-SHA256 of "user_id\nemail\nphone" with the same
   secret: a verified identity (docs/customers.md).
   Adds a chat bubble and an iframe served by the kefu host named in this script's own src. */
(function () {
  "use strict";
  var LABELS = __KEFU_LABELS__;
  var script = document.currentScript || document.querySelector('script[data-inbox][src*="widget.js"]');
  if (!script) return;
  var key = script.getAttribute("data-inbox");
  var registry = (window.__kefuWidgets = window.__kefuWidgets || {});
  if (!key || registry[key]) return;
  registry[key] = true;
  var origin = new URL(script.src, location.href).origin;

  function pick(tag) {
    tag = String(tag || "").toLowerCase().replace(/_/g, "-");
    if (/^zh-(tw|hk|mo|hant)/.test(tag)) return "zh_TW";
    if (tag === "zh" || tag.indexOf("zh-") === 0) return "zh_CN";
    if (tag === "en" || tag.indexOf("en-") === 0) return "en";
    return "";
  }
  var locale = pick(script.getAttribute("data-locale")) || pick(navigator.language) || "zh_CN";
  var labels = LABELS[locale] || LABELS.zh_CN;

  var css = [
    ".kefu-w-bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:#1f6feb;color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer;z-index:2147483000;",
    "display:flex;align-items:center;justify-content:center;padding:0}",
    ".kefu-w-bubble:focus-visible{outline:3px solid #9ec5ff;outline-offset:2px}",
    ".kefu-w-bubble .kefu-w-dot{position:absolute;top:4px;right:4px;width:12px;height:12px;border-radius:50%;",
    "background:#e5484d;border:2px solid #fff;display:none}",
    ".kefu-w-bubble.kefu-w-unread .kefu-w-dot{display:block}",
    ".kefu-w-frame{position:fixed;right:20px;bottom:88px;width:370px;height:560px;max-height:calc(100vh - 110px);",
    "border:0;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);z-index:2147483000;background:#fff;",
    "display:none}",
    ".kefu-w-frame.kefu-w-open{display:block}",
    "@media (max-width:480px){.kefu-w-frame{right:0;bottom:0;width:100vw;height:100%;max-height:100%;",
    "border-radius:0}.kefu-w-frame.kefu-w-open + .kefu-w-bubble,.kefu-w-open ~ .kefu-w-bubble{display:none}}"
  ].join("");

  function mount() {
    var style = document.createElement("style");
    style.textContent = css;
    document.head.appendChild(style);

    var frame = document.createElement("iframe");
    frame.className = "kefu-w-frame";
    frame.title = labels.title;
    frame.setAttribute("data-kefu-inbox", key);
    frame.src = origin + "/widget/frame?inbox=" + encodeURIComponent(key) + "&locale=" + encodeURIComponent(locale);
    var level = script.getAttribute("data-level"), signature = script.getAttribute("data-signature");
    var userId = script.getAttribute("data-user-id");
    var hash = script.getAttribute("data-identifier-hash");
    var fragment = {};
    if (level && signature && userId) fragment = { uid: userId, level: level, sig: signature };
    if (hash && userId) {
      // A verified identity (docs/customers.md): the user id, email and phone the site signed.
      fragment.uid = userId;
      fragment.hash = hash;
      fragment.email = script.getAttribute("data-email") || "";
      fragment.phone = script.getAttribute("data-phone") || "";
    }
    if (fragment.uid) {
      // In the fragment: never sent to a server, read by the frame only.
      frame.src += "#" + new URLSearchParams(fragment).toString();
    }

    var bubble = document.createElement("button");
    bubble.type = "button";
    bubble.className = "kefu-w-bubble";
    bubble.setAttribute("aria-label", labels.open);
    bubble.setAttribute("data-kefu-bubble", key);
    bubble.innerHTML = '<svg width="28" height="28" viewBox="0 0 24 24" fill="none" aria-hidden="true">' +
      '<path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4h0A1.5 1.5 0 0 1 4 14.5z" ' +
      'fill="currentColor"/></svg><span class="kefu-w-dot"></span>';

    function setOpen(open) {
      frame.classList.toggle("kefu-w-open", open);
      bubble.setAttribute("aria-expanded", open ? "true" : "false");
      bubble.setAttribute("aria-label", open ? labels.close : labels.open);
      if (open) bubble.classList.remove("kefu-w-unread");
      if (frame.contentWindow) frame.contentWindow.postMessage({ kefu: open ? "opened" : "closed" }, origin);
    }
    function close() {
      setOpen(false);
      bubble.focus();
    }
    bubble.addEventListener("click", function () { setOpen(!frame.classList.contains("kefu-w-open")); });
    // Esc closes the chat: inside the frame (the frame asks us, below) and on the host page (e.g. on the bubble).
    document.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && !e.defaultPrevented && frame.classList.contains("kefu-w-open")) close();
    });
    window.addEventListener("message", function (e) {
      if (e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
      if (e.data.kefu === "close") close();
      if (e.data.kefu === "message" && !frame.classList.contains("kefu-w-open")) bubble.classList.add("kefu-w-unread");
    });
    document.body.appendChild(frame);
    document.body.appendChild(bubble);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
