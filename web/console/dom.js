// Small DOM helpers for the ops console: elements are built with textContent only (never
// innerHTML from data), so nothing the API returns can inject markup.

import { fill, h } from "../shared/dom.js";
import { money } from "../shared/format.js";

export { fill as clear, h, money };

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form control: <div class="field"><label for>…</label><input id></div>.
export function field(label, control, hint) {
  const id = control.id || nextId("field");
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h("small", { id: `${id}-hint`, class: "hint" }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

export function select(name, options, selected) {
  return h(
    "select",
    { name },
    options.map(([value, text]) => h("option", { value, selected: value === selected }, text)),
  );
}

export function minor(amount, currency) {
  return money({ amount, currency });
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

export function timeEl(iso) {
  return h("time", { datetime: iso }, when(iso));
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function daysAgo(n) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - n);
  return isoDay(d);
}

export function table(caption, headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h(
      "tbody",
      {},
      rows.length
        ? rows
        : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "Nothing to show.")),
    ),
  );
}

export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// A form whose submit runs `action(data, form)` with the button disabled meanwhile; errors are
// reported by the caller's `onError`.
export function form(attrs, children, action, onError) {
  const el = h("form", { ...attrs, novalidate: false }, children);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = el.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    el.setAttribute("aria-busy", "true");
    try {
      await action(new FormData(el), el);
    } catch (error) {
      onError(error, el);
    } finally {
      if (button) button.disabled = false;
      el.removeAttribute("aria-busy");
    }
  });
  return el;
}
