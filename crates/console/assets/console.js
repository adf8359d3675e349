// Causeway console: the little the pages need beyond HTML. Every page works without it.
"use strict";

// The function editor: line numbers that follow the text and its scrolling; Tab indents.
for (const editor of document.querySelectorAll("div.editor")) {
  const text = editor.querySelector("textarea");
  const gutter = editor.querySelector("pre.gutter");
  if (!text || !gutter) continue;
  const marked = gutter.querySelector(".error-line");
  const errorLine = marked ? Number(marked.textContent) : 0;
  const number = () => {
    const lines = Math.max(text.value.split("\n").length, Number(text.getAttribute("rows")) || 1);
    const parts = [];
    for (let n = 1; n <= lines; n++) {
      if (n === errorLine) {
        const span = document.createElement("span");
        span.className = "error-line";
        span.textContent = String(n);
        parts.push(span, "\n");
      } else {
        parts.push(n + "\n");
      }
    }
    gutter.replaceChildren(...parts);
  };
  text.addEventListener("input", number);
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  text.addEventListener("keydown", (e) => {
    if (e.key !== "Tab" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) return;
    // Tab indents; Escape then Tab leaves the editor (keyboard users are not trapped).
    if (text.dataset.escaped === "1") { text.dataset.escaped = ""; return; }
    e.preventDefault();
    text.setRangeText("  ", text.selectionStart, text.selectionEnd, "end");
    number();
  });
  text.addEventListener("keyup", (e) => { if (e.key === "Escape") text.dataset.escaped = "1"; });
  number();
}

// Buttons that start long operations say so and cannot be pressed twice.
for (const form of document.querySelectorAll("form[data-busy]")) {
  form.addEventListener("submit", () => {
    for (const b of form.querySelectorAll("button[type=submit]")) {
      b.disabled = true;
      b.textContent = form.dataset.busy;
    }
  });
}
