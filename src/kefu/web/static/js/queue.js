// The live queue (/app/queue): drag a waiting conversation onto an agent's row to give it to them.
// The reassignment is the same POST as the row's Assign button; the queue body is swapped with the answer.
(function () {
  "use strict";
  let dragged = null;

  document.addEventListener("dragstart", (e) => {
    const item = e.target.closest && e.target.closest(".queue-item");
    if (!item) return;
    dragged = item.dataset.conversationId;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged);
    item.classList.add("dragging");
  });
  document.addEventListener("dragend", (e) => {
    const item = e.target.closest && e.target.closest(".queue-item");
    if (item) item.classList.remove("dragging");
    document.querySelectorAll(".agent-row.drop-target").forEach((r) => r.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (e) => {
    const row = e.target.closest && e.target.closest(".agent-row");
    if (!row || !dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    row.classList.add("drop-target");
  });
  document.addEventListener("dragleave", (e) => {
    const row = e.target.closest && e.target.closest(".agent-row");
    if (row) row.classList.remove("drop-target");
  });
  document.addEventListener("drop", (e) => {
    const row = e.target.closest && e.target.closest(".agent-row");
    if (!row) return;
    e.preventDefault();
    const conv = e.dataTransfer.getData("text/plain") || dragged;
    dragged = null;
    row.classList.remove("drop-target");
    if (!conv || !window.htmx) return;
    htmx.ajax("POST", "/app/queue/" + conv + "/reassign", {
      target: "#queue-body",
      swap: "outerHTML",
      values: { user_id: row.dataset.agentId },
    });
  });
})();

// The queue refreshes itself every few seconds; not while a supervisor is choosing an agent or dragging.
document.addEventListener("htmx:beforeRequest", (e) => {
  const body = document.getElementById("queue-body");
  if (!body || e.detail.elt !== body) return;
  const busy = body.contains(document.activeElement) || body.querySelector(".queue-item.dragging");
  if (busy) e.preventDefault();
});
