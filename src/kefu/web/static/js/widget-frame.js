/* The chat inside the widget iframe. A visitor is created once per inbox (token kept in localStorage),
   history is loaded over HTTP, new messages arrive over /ws/widget (opened with a one-time ticket,
   resuming with last_event_id), and
   each message is posted with a random client_message_id so a retry is stored once. Messages are
   de-duplicated by id and rendered with textContent only. Files are uploaded first, then sent by id. */
(function () {
  "use strict";
  const body = document.body;
  const KEY = body.dataset.inbox;
  const LOCALE = body.dataset.locale;
  const API = `/api/v1/widget/${encodeURIComponent(KEY)}`;
  const STORE = `kefu:visitor:${KEY}`;
  const $ = (id) => document.getElementById(id);
  const box = $("w-messages");
  const input = $("w-input");
  let token = null;
  let conversationId = null;
  let lastEventId = null;
  let lastMessageId = 0;
  let socket = null;
  let retries = 0;
  const RECONNECT_BASE_MS = 500;
  const RECONNECT_CAP_MS = 30000;
  let typingTimer = null;
  const seen = new Set();
  let lastTypingSent = 0;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function storage(getOrSet, value) {
    try {
      if (getOrSet === "get") return localStorage.getItem(STORE);
      if (value === null) localStorage.removeItem(STORE); else localStorage.setItem(STORE, value);
    } catch (e) { /* storage blocked: the conversation lasts for this page view */ }
    return null;
  }

  function timeText(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  }

  function scrollToEnd() { box.scrollTop = box.scrollHeight; }

  const IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

  function fileSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1048576).toFixed(1)} MB`;
  }

  // Uploaded files: images as a thumbnail that opens full size, others as a link. Only kefu's own signed
  // download paths are used as links.
  function files(list) {
    const wrap = document.createElement("div");
    wrap.className = "w-files";
    (list || []).forEach((a) => {
      if (typeof a.url !== "string" || !a.url.startsWith("/api/v1/attachments/")) return;
      const link = document.createElement("a");
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener";
      if (IMAGES.includes(a.content_type)) {
        link.className = "w-thumb";
        link.title = a.name;
        const img = document.createElement("img");
        img.src = a.url;
        img.alt = a.name;
        img.addEventListener("load", scrollToEnd);
        link.appendChild(img);
      } else {
        link.className = "w-file";
        const name = document.createElement("span");
        name.textContent = a.name;
        const size = document.createElement("span");
        size.className = "w-file-size";
        size.textContent = fileSize(a.size);
        link.append(name, " ", size);
      }
      wrap.appendChild(link);
    });
    return wrap;
  }

  function bubble(el, text, sender, iso, attachments) {
    el.textContent = "";
    if (sender) {
      const who = document.createElement("div");
      who.className = "w-sender";
      who.textContent = sender;
      el.appendChild(who);
    }
    const b = document.createElement("div");
    b.className = "w-bubble";
    const list = attachments || [];
    if (!(list.length === 1 && list[0].name === text)) b.textContent = text;
    if (list.length) b.appendChild(files(list));
    el.appendChild(b);
    const t = document.createElement("time");
    t.textContent = timeText(iso);
    el.appendChild(t);
  }

  function render(msg) {
    if (msg.kind === "note") return;
    if (msg.id > lastMessageId) lastMessageId = msg.id;
    if (msg.conversation_id) conversationId = msg.conversation_id;
    if (document.getElementById(`m-${msg.id}`)) return false;
    let el = msg.client_message_id ? box.querySelector(`[data-cmid="${CSS.escape(msg.client_message_id)}"]`) : null;
    if (!el) {
      el = document.createElement("div");
      box.appendChild(el);
    }
    el.id = `m-${msg.id}`;
    el.removeAttribute("data-cmid");
    const mine = msg.direction === "incoming";
    el.className = `w-msg ${mine ? "w-me" : "w-agent"} w-kind-${msg.kind}`;
    const sender = mine ? "" : (msg.kind === "bot" ? body.dataset.i18nBot : body.dataset.i18nAgent);
    if (msg.kind === "system") {
      el.className = "w-msg w-system";
      el.textContent = msg.content.startsWith("status:resolved") ? body.dataset.i18nResolved : "";
      if (!el.textContent) el.remove();
    } else {
      bubble(el, msg.content, sender, msg.created_at, msg.attachments);
    }
    retireChoices();
    addChoices(el, msg);
    scrollToEnd();
    return true;
  }

  // ---- quick replies: a bot message's `meta.choices` ([{kind, id, title}]) as buttons ----------------
  // The text keeps its numbered list for channels without buttons; here the list lines give way to the
  // buttons. A click sends the choice's title as the customer's message (the bot recognises it); the
  // buttons of a message are disabled once used or once anything newer is shown.

  function choicesOf(msg) {
    const list = msg.kind === "bot" && msg.meta && Array.isArray(msg.meta.choices) ? msg.meta.choices : [];
    return list.filter((c) => c && typeof c.title === "string" && c.title.trim());
  }

  function addChoices(el, msg) {
    const choices = choicesOf(msg);
    if (!choices.length) return;
    const b = el.querySelector(".w-bubble");
    const listed = new Set(choices.map((c, i) => `${i + 1}. ${c.title}`));
    if (b) b.textContent = msg.content.split("\n").filter((line) => !listed.has(line.trim())).join("\n");
    el.insertBefore(choiceButtons(choices), el.querySelector("time"));
  }

  function choiceButtons(choices) {
    const wrap = document.createElement("div");
    wrap.className = "w-choices";
    wrap.setAttribute("role", "group");
    choices.forEach((c) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "w-choice";
      button.textContent = c.title;
      button.addEventListener("click", () => pickChoice(wrap, button, c.title));
      wrap.appendChild(button);
    });
    return wrap;
  }

  function pickChoice(wrap, button, title) {
    if (!token || button.disabled) return;
    button.classList.add("w-chosen");
    sendText(title);
  }

  function retireChoices() {
    box.querySelectorAll(".w-choices button:not([disabled])").forEach((button) => { button.disabled = true; });
  }

  function sendText(content) {
    const cmid = uuid();
    const el = document.createElement("div");
    el.className = "w-msg w-me";
    el.dataset.cmid = cmid;
    bubble(el, content, "", null);
    retireChoices();
    box.appendChild(el);
    scrollToEnd();
    post(el, content, cmid);
  }

  async function call(path, options) {
    const headers = Object.assign({ "Content-Type": "application/json" }, options && options.headers);
    if (token) headers["X-Contact-Token"] = token;
    return fetch(API + path, Object.assign({}, options, { headers }));
  }

  async function ensureVisitor(force) {
    token = force ? null : storage("get");
    if (token) return;
    const r = await call("/contacts", { method: "POST", body: JSON.stringify({ locale: LOCALE || null }) });
    if (!r.ok) throw new Error(`visitor: ${r.status}`);
    token = (await r.json()).token;
    storage("set", token);
  }

  // A customer level the site signed (data-level on the snippet, passed in this frame's URL fragment).
  async function identify() {
    const got = new URLSearchParams(location.hash.slice(1));
    const level = got.get("level"), signature = got.get("sig"), userId = got.get("uid");
    const hash = got.get("hash");
    if (userId && hash) {  // a verified identity: may merge this visitor into the site's known customer
      const body = { user_id: userId, email: got.get("email") || null, phone: got.get("phone") || null };
      await call("/identity", { method: "POST", body: JSON.stringify(Object.assign(body, { identifier_hash: hash })) });
    }
    if (!level || !signature || !userId) return;
    await call("/identify", { method: "POST", body: JSON.stringify({ user_id: userId, level, signature }) });
  }

  async function loadHistory() {
    const r = await call(`/messages${lastMessageId ? `?after_id=${lastMessageId}` : ""}`);
    if (r.status === 401) { await ensureVisitor(true); return; }
    if (!r.ok) return;
    const data = await r.json();
    if (data.conversation_id) conversationId = data.conversation_id;
    let added = false;
    data.messages.forEach((m) => { if (render(m)) added = true; });
    if (added) notifyParent();
  }

  function notifyParent() {
    if (window.parent !== window) window.parent.postMessage({ kefu: "message" }, "*");
  }

  function setConn(online) {
    const el = $("w-conn");
    el.textContent = online ? el.dataset.online : el.dataset.offline;
    body.dataset.ws = online ? "open" : "closed";
  }

  // The socket opens with a one-time ticket fetched over HTTP (the contact token in a header), so the
  // token never appears in a URL. A refused ticket (401: the token expired or the visitor was signed out)
  // starts a new visitor.
  async function connect() {
    let ticket = null;
    let hintS = 0;
    try {
      const r = await call("/socket_ticket", { method: "POST" });
      if (r.status === 401) await ensureVisitor(true);
      else if (r.status === 503) hintS = Number(r.headers.get("Retry-After")) || 5; // the server is busy
      else if (r.ok) ticket = (await r.json()).ticket;
    } catch (err) { /* offline: retry below */ }
    if (!ticket) {
      setConn(false);
      reconnectLater(hintS);
      return;
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/ws/widget?inbox=${encodeURIComponent(KEY)}&ticket=${encodeURIComponent(ticket)}`;
    if (lastEventId !== null) url += `&last_event_id=${lastEventId}`;
    socket = new WebSocket(url);
    socket.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.type === "hello") {
        if (lastEventId === null) lastEventId = msg.last_event_id;
        retries = 0;
        setConn(true);
        loadHistory(); // catch up on anything sent before the socket was open
        return;
      }
      if (msg.id !== null && msg.id !== undefined) {
        if (seen.has(msg.id)) return; // a replayed event we already handled
        seen.add(msg.id);
        if (lastEventId === null || msg.id > lastEventId) lastEventId = msg.id;
      }
      if (msg.type === "message.created") {
        if (msg.payload.direction !== "incoming") $("w-typing").hidden = true;
        if (render(msg.payload) && msg.payload.direction !== "incoming") notifyParent();
      } else if (msg.type === "typing") {
        const el = $("w-typing");
        clearTimeout(typingTimer);
        el.hidden = msg.payload && msg.payload.typing === false;
        typingTimer = setTimeout(() => { el.hidden = true; }, 5000);
      }
    };
    socket.onclose = async (e) => {
      setConn(false);
      if (e.code === 4401) { await ensureVisitor(true).catch(() => {}); }
      // 1013: the server is shedding load; its reason says how long to stay away ("retry_after=N").
      const hint = e.code === 1013 ? Number((/retry_after=(\d+)/.exec(e.reason || "") || [])[1] || 5) : 0;
      reconnectLater(hint);
    };
  }

  // Reconnect with exponential backoff and full jitter (a random wait between 0 and the backoff), after
  // the server's hint if it gave one: after a restart every visitor's widget reconnects at once, and the
  // jitter spreads them out instead of retrying in lockstep.
  function reconnectLater(hintS) {
    retries++;
    const backoff = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(retries, 8));
    const delay = hintS * 1000 + Math.random() * backoff;
    body.dataset.reconnectMs = String(Math.round(delay));
    setTimeout(connect, delay);
  }

  async function post(el, content, cmid, attachments) {
    el.classList.add("w-pending");
    el.classList.remove("w-failed");
    const message = { content, client_message_id: cmid };
    if (attachments) message.attachments = attachments;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const r = await call("/messages", { method: "POST", body: JSON.stringify(message) });
        if (r.ok) {
          el.classList.remove("w-pending");
          render(await r.json());
          return;
        }
        if (r.status < 500 && r.status !== 429) break;
      } catch (err) { /* network: retry with the same client_message_id */ }
      await new Promise((res) => setTimeout(res, 600 * (attempt + 1)));
    }
    el.classList.remove("w-pending");
    el.classList.add("w-failed");
    el.title = body.dataset.i18nFailed;
    el.onclick = () => { el.onclick = null; post(el, content, cmid, attachments); };
  }

  const FILE_ERRORS = { 413: "i18nFileTooLarge", 415: "i18nFileType" };

  function showError(text) {
    const el = document.createElement("div");
    el.className = "w-msg w-error";
    el.setAttribute("role", "alert");
    el.textContent = text;
    box.appendChild(el);
    scrollToEnd();
    setTimeout(() => el.remove(), 8000);
  }

  // A file: upload it, then send a message that carries it (named after the file).
  async function sendFile(file) {
    if (!token) return;
    if (file.size > Number(body.dataset.maxAttachment || Infinity)) { showError(body.dataset.i18nFileTooLarge); return; }
    const button = $("w-attach");
    button.disabled = true;
    try {
      const form = new FormData();
      form.append("file", file);
      const r = await fetch(`${API}/attachments`, { method: "POST", body: form, headers: { "X-Contact-Token": token } });
      if (!r.ok) { showError(body.dataset[FILE_ERRORS[r.status] || "i18nFileFailed"]); return; }
      const att = await r.json();
      const cmid = uuid();
      const el = document.createElement("div");
      el.className = "w-msg w-me";
      el.dataset.cmid = cmid;
      bubble(el, att.name, "", null, [att]);
      box.appendChild(el);
      scrollToEnd();
      await post(el, att.name, cmid, [{ id: att.id }]);
    } catch (err) {
      showError(body.dataset.i18nFileFailed);
    } finally {
      button.disabled = false;
    }
  }

  function send() {
    const content = input.value.trim();
    if (!content || !token) return;
    input.value = "";
    autosize();
    const cmid = uuid();
    const el = document.createElement("div");
    el.className = "w-msg w-me";
    el.dataset.cmid = cmid;
    bubble(el, content, "", null);
    box.appendChild(el);
    scrollToEnd();
    post(el, content, cmid);
  }

  function sendTyping() {
    const now = Date.now();
    if (!socket || socket.readyState !== 1 || !conversationId || now - lastTypingSent < 2500) return;
    lastTypingSent = now;
    socket.send(JSON.stringify({ type: "typing", conversation_id: conversationId, typing: true }));
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  $("w-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); send(); }
  });
  input.addEventListener("input", () => { autosize(); sendTyping(); });
  $("w-attach").addEventListener("click", () => $("w-file").click());
  $("w-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) sendFile(file);
  });
  // The × button and Esc (not while an input method is composing: there Esc cancels the composition) close
  // the chat; the loader hides the frame and gives the focus back to the bubble.
  const close = () => { window.parent.postMessage({ kefu: "close" }, "*"); };
  $("w-close").addEventListener("click", close);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.isComposing && e.keyCode !== 229 && !e.defaultPrevented) close();
  });
  window.addEventListener("message", (e) => {
    if (e.data && e.data.kefu === "opened") { scrollToEnd(); input.focus(); }
  });

  (async function start() {
    try {
      await ensureVisitor(false);
      await identify().catch(() => {});
      await loadHistory();
      connect();
      body.dataset.ready = "1";
    } catch (err) {
      setConn(false);
      setTimeout(start, 3000);
    }
  })();
})();
