/* kefu knowledge panel: "insert into reply" buttons put the answer into the workspace reply box. */
(function () {
  "use strict";
  if (window.kefuKnowledge) return;
  window.kefuKnowledge = true;
  document.addEventListener("click", (e) => {
    const btn = e.target instanceof Element ? e.target.closest("[data-kefu-insert]") : null;
    if (!btn) return;
    const box = document.getElementById("reply-text");
    if (!box) return;
    const text = btn.getAttribute("data-kefu-insert") || "";
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
