/**
 * Tiny DOM helpers shared by the storefront and the console.
 *
 *   h("button", { type: "button", onclick: go }, "Add to cart")   // an element
 *   announce("Added to cart")                                     // polite, in the live region
 *   announce("Your card was declined.", "error")                  // the same region, styled as an error
 *   focusHeading(main)                                            // after a route change
 */

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** The page's aria-live region: `<div id="messages" aria-live="polite">`. */
export function announce(message, kind = "info", region = document.getElementById("messages")) {
  if (!region) return;
  region.replaceChildren();
  if (!message) return;
  region.dataset.kind = kind;
  // A fresh node each time so screen readers repeat an identical message.
  region.append(h("p", { class: `message message-${kind}`, role: kind === "error" ? "alert" : null }, message));
}

export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

/** A labelled form field: `field("Email", { name: "email", type: "email", required: true })`. */
export function field(label, attrs = {}, hint) {
  const id = attrs.id || `f-${attrs.name}`;
  const hintId = hint ? `${id}-hint` : null;
  const control =
    attrs.type === "select"
      ? h("select", { ...attrs, type: null, id, options: null, "aria-describedby": hintId }, (attrs.options || []).map(([value, text]) => h("option", { value, selected: value === attrs.value }, text)))
      : h("input", { ...attrs, id, "aria-describedby": hintId });
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { class: "hint", id: hintId }, hint) : null, control);
}

/** Replace an element's children; null, false and nested arrays are handled as in `h()`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
