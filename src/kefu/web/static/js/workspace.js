/* The agent workspace, live: one WebSocket to /ws/agent (authenticated by the session cookie).
   Events refresh the conversation list and the open conversation by asking the server for HTML
   partials (so every piece of user content is escaped by the templates), show typing indicators,
   and send our own typing frames. Reconnects resume with ?last_event_id= and duplicate event ids
   are dropped. */
(function () {
  "use strict";
  const root = document.getElementById("workspace");
  if (!root) return;
  const me = Number(root.dataset.me);
  const seen = new Set();
  const unread = new Set();
  let lastEventId = null;
  let socket = null;
  let retries = 0;
  let listTimer = null;
  let typingTimer = null;
  let lastTypingSent = 0;
  let loading = Promise.resolve();

  const $ = (id) => document.getElementById(id);
  const openId = () => { const p = $("conv-pane"); return p ? Number(p.dataset.conversationId) : null; };
  const partial = (url) => fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });

  function scrollToEnd() { const box = $("messages"); if (box) box.scrollTop = box.scrollHeight; }

  function appendMessages(html) {
    const box = $("messages");
    if (!box) return 0;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    let added = 0;
    tpl.content.querySelectorAll(".msg[id]").forEach((el) => {
      if (document.getElementById(el.id)) return; // already shown (dedupe by message id)
      box.appendChild(el);
      added++;
    });
    if (added) { window.kefu.formatTimes(box); scrollToEnd(); }
    return added;
  }

  function lastMessageId() {
    const all = document.querySelectorAll("#messages .msg[data-id]");
    return all.length ? Number(all[all.length - 1].dataset.id) : 0;
  }

  function loadNewMessages() {
    const id = openId();
    if (!id) return loading;
    loading = loading.then(async () => {
      if (openId() !== id) return;
      const r = await partial(`/app/c/${id}/messages?after_id=${lastMessageId()}`);
      if (r.ok && openId() === id) appendMessages(await r.text());
    }).catch(() => {});
    return loading;
  }

  function refresh(id) { const el = $(id); if (el && window.htmx) htmx.trigger(el, "refresh"); }

  async function refreshList() {
    const el = $("conv-list");
    if (!el) return;
    const r = await partial(el.getAttribute("hx-get")).catch(() => null);
    if (!r || !r.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = (await r.text()).trim();
    const fresh = tpl.content.firstElementChild;
    const scroll = el.querySelector(".items") ? el.querySelector(".items").scrollTop : 0;
    const current = $("conv-list");
    if (!fresh || !current) return;
    current.replaceWith(fresh);
    if (window.htmx) htmx.process(fresh);
    if (fresh.querySelector(".items")) fresh.querySelector(".items").scrollTop = scroll;
    window.kefu.formatTimes(fresh);
    markList();
  }

  function scheduleListRefresh() {
    clearTimeout(listTimer);
    listTimer = setTimeout(refreshList, 250);
  }

  function markList() {
    const current = openId();
    unread.delete(current);
    document.querySelectorAll("#conv-list .conv-item").forEach((a) => {
      const id = Number(a.dataset.id);
      a.classList.toggle("selected", id === current);
      a.classList.toggle("unread", unread.has(id) && id !== current);
    });
  }

  function showTyping(msg) {
    if (msg.conversation_id !== openId()) return;
    if (msg.actor && msg.actor.type === "user" && msg.actor.id === me) return;
    const el = $("typing");
    if (!el) return;
    clearTimeout(typingTimer);
    if (msg.payload && msg.payload.typing === false) { el.hidden = true; return; }
    const shown = msg.actor && msg.actor.type === "contact" && $("contact-name");
    const name = (shown && shown.textContent.trim()) || (msg.payload && msg.payload.name) || root.dataset.i18nSomeone;
    el.textContent = root.dataset.i18nTyping.replace("{name}", name);
    el.hidden = false;
    typingTimer = setTimeout(() => { el.hidden = true; }, 5000);
  }

  function handle(msg) {
    if (msg.type === "hello") {
      if (lastEventId === null) lastEventId = msg.last_event_id;
      document.body.dataset.ws = "open";
      scheduleListRefresh();
      loadNewMessages();
      return;
    }
    if (msg.type === "pong" || msg.type === "error") return;
    if (msg.id !== null && msg.id !== undefined) {
      if (seen.has(msg.id)) return;
      seen.add(msg.id);
      if (lastEventId === null || msg.id > lastEventId) lastEventId = msg.id;
    }
    if (msg.type === "typing") { showTyping(msg); return; }
    if (msg.type === "automation.notify") {  // a rule's notice (docs/automation.md): shown to whom it names
      if ((msg.user_ids || []).includes(Number(root.dataset.me))) window.kefu.toast(String(msg.text || ""), false);
      return;
    }
    const current = openId();
    if (msg.type === "message.created") {
      if (msg.conversation_id === current) {
        if (msg.payload.direction === "incoming") { const t = $("typing"); if (t) t.hidden = true; }
        loadNewMessages();
      } else if (msg.payload.direction === "incoming") {
        unread.add(msg.conversation_id);
      }
      scheduleListRefresh();
    } else if (msg.type.startsWith("conversation.")) {
      scheduleListRefresh();
      if (msg.conversation_id === current) { refresh("conv-head"); refresh("contact-side"); }
    } else if (msg.type.startsWith("contact.") && current) {
      const pane = $("conv-pane");
      if (pane && Number(pane.dataset.contactId) === msg.contact_id) refresh("contact-side");
    }
  }

  function setOnline(online) {
    const el = $("ws-status");
    if (el) el.hidden = online;
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/ws/agent`;
    if (lastEventId !== null) url += `?last_event_id=${lastEventId}`;
    socket = new WebSocket(url);
    socket.onopen = () => { retries = 0; setOnline(true); };
    socket.onmessage = (e) => { try { handle(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    socket.onclose = (e) => {
      document.body.dataset.ws = "closed";
      if (e.code === 4401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
      setOnline(false);
      // Backoff with full jitter, after the server's hint when it sheds load (1013, "retry_after=N").
      retries++;
      const hint = e.code === 1013 ? Number((/retry_after=(\d+)/.exec(e.reason || "") || [])[1] || 5) : 0;
      setTimeout(connect, hint * 1000 + Math.random() * Math.min(30000, 500 * 2 ** Math.min(retries, 8)));
    };
  }

  function sendTyping() {
    const id = openId();
    const now = Date.now();
    if (!id || !socket || socket.readyState !== 1 || now - lastTypingSent < 2500) return;
    lastTypingSent = now;
    socket.send(JSON.stringify({ type: "typing", conversation_id: id, typing: true }));
  }

  async function submitReply(form) {
    const text = form.querySelector("textarea");
    const button = form.querySelector("button[type=submit]");
    if (!text.value.trim() || button.disabled) return;
    const body = new URLSearchParams(new FormData(form));
    body.set("client_message_id", window.kefu.uuid());
    button.disabled = true;
    try {
      let r = null;
      for (let attempt = 0; attempt < 3 && !r; attempt++) {
        try {
          r = await fetch(form.action, {
            method: "POST",
            body,
            credentials: "same-origin",
            headers: { "HX-Request": "true", "X-CSRF-Token": document.body.dataset.csrf || "" },
          });
        } catch (err) {
          await new Promise((res) => setTimeout(res, 500 * (attempt + 1))); // same client_message_id: safe to retry
        }
      }
      if (!r) throw new Error(root.dataset.i18nOffline);
      const html = await r.text();
      if (!r.ok) { window.kefu.toast(window.kefu.textOf(html), true); return; }
      appendMessages(html);
      text.value = "";
      scheduleListRefresh();
    } catch (err) {
      window.kefu.toast(String(err.message || err), true);
    } finally {
      button.disabled = false;
      text.focus();
    }
  }

  // A file: upload it (POST /api/v1/attachments), then send it as a reply (or note) named after the file.
  const FILE_ERRORS = { 413: "i18nFileTooLarge", 415: "i18nFileType" };
  const csrfHeaders = () => ({ "HX-Request": "true", "X-CSRF-Token": document.body.dataset.csrf || "" });

  async function sendFile(form, file) {
    const button = $("reply-attach");
    if (file.size > Number(root.dataset.maxAttachment || Infinity)) {
      window.kefu.toast(root.dataset.i18nFileTooLarge, true);
      return;
    }
    button.disabled = true;
    try {
      const upload = new FormData();
      upload.append("file", file);
      const up = await fetch("/api/v1/attachments", {
        method: "POST", body: upload, credentials: "same-origin", headers: csrfHeaders(),
      });
      if (!up.ok) { window.kefu.toast(root.dataset[FILE_ERRORS[up.status] || "i18nFileFailed"], true); return; }
      const att = await up.json();
      const body = new URLSearchParams();
      body.set("kind", (form.querySelector("input[name=kind]:checked") || { value: "text" }).value);
      body.set("content", att.name);
      body.set("client_message_id", window.kefu.uuid());
      body.append("attachment_id", String(att.id));
      const r = await fetch(form.action, { method: "POST", body, credentials: "same-origin", headers: csrfHeaders() });
      const html = await r.text();
      if (!r.ok) { window.kefu.toast(window.kefu.textOf(html), true); return; }
      appendMessages(html);
      scheduleListRefresh();
    } catch (err) {
      window.kefu.toast(root.dataset.i18nFileFailed, true);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("#reply-attach")) $("reply-file").click();
  });
  document.addEventListener("change", (e) => {
    if (e.target.id !== "reply-file" || !e.target.files.length) return;
    const file = e.target.files[0];
    e.target.value = "";
    sendFile(e.target.form, file);
  });

  document.addEventListener("submit", (e) => {
    if (e.target.id === "reply-form") { e.preventDefault(); submitReply(e.target); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "reply-text") return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitReply(e.target.form);
    }
  });
  document.addEventListener("input", (e) => { if (e.target.id === "reply-text") sendTyping(); });
  document.addEventListener("change", (e) => {
    if (e.target.name === "kind" && e.target.form && e.target.form.id === "reply-form") {
      const form = e.target.form;
      const note = e.target.value === "note";
      form.classList.toggle("note-mode", note);
      const ta = form.querySelector("textarea");
      ta.placeholder = note ? ta.dataset.placeholderNote : ta.dataset.placeholderText;
    }
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    const target = (e.detail && e.detail.target) || e.target;
    if (target && target.id === "conv-slot") {
      markList();
      scrollToEnd();
      const ta = $("reply-text");
      if (ta) ta.focus();
    }
  });

  scrollToEnd();
  connect();
})();
