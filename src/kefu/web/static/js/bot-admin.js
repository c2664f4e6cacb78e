/* The bot's admin pages: rows of the flow builder (add / remove / reorder slots and headers, from the
   server-rendered <template>s, so no HTML is assembled here), the action fields shown for the chosen
   method, and the try-it console's input (cleared after each answer, transcript scrolled). */
(function () {
  "use strict";

  function syncAction(root) {
    const select = (root || document).querySelector("#action-method");
    if (!select) return;
    const method = select.value;
    document.querySelectorAll("[data-action-fields]").forEach((el) => { el.hidden = !method; });
    document.querySelectorAll("[data-post-only]").forEach((el) => { el.hidden = method !== "POST"; });
  }

  function addRow(kind) {
    const template = document.getElementById(kind + "-row-template");
    const rows = document.getElementById(kind + "-rows");
    if (!template || !rows) return;
    rows.appendChild(template.content.cloneNode(true));
    const added = rows.lastElementChild;
    const first = added && added.querySelector("input, select");
    if (first) first.focus();
  }

  function rowAction(button) {
    const row = button.closest("[data-row]");
    if (!row) return;
    const action = button.getAttribute("data-row-action");
    if (action === "remove") {
      row.remove();
    } else if (action === "up" && row.previousElementSibling) {
      row.parentNode.insertBefore(row, row.previousElementSibling);
      button.focus();
    } else if (action === "down" && row.nextElementSibling) {
      row.parentNode.insertBefore(row.nextElementSibling, row);
      button.focus();
    }
  }

  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element ? e.target.closest("[data-add-row], [data-row-action]") : null;
    if (!el) return;
    e.preventDefault();
    if (el.hasAttribute("data-add-row")) addRow(el.getAttribute("data-add-row"));
    else rowAction(el);
  });
  document.addEventListener("change", (e) => {
    if (e.target instanceof Element && e.target.id === "action-method") syncAction(document);
  });
  document.addEventListener("DOMContentLoaded", () => syncAction(document));
  document.addEventListener("htmx:afterSettle", () => syncAction(document));

  document.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail.elt;
    if (!(form instanceof HTMLFormElement) || form.id !== "try-form" || !e.detail.successful) return;
    const input = form.querySelector("#try-text");
    if (input) { input.value = ""; input.focus(); }
    const transcript = document.getElementById("transcript");
    if (transcript && transcript.lastElementChild) transcript.lastElementChild.scrollIntoView({ block: "nearest" });
  });
})();
