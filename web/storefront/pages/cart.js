import { fill, h } from "../../shared/dom.js";
import { money } from "../../shared/format.js";

export function totals(cart, { note } = {}) {
  return h("section", { class: "summary", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Order summary"),
    h("dl", {},
      h("dt", {}, "Subtotal"), h("dd", {}, money(cart.subtotal)),
      h("dt", {}, `Shipping${cart.destination ? ` to ${cart.destination}` : ""}`), h("dd", {}, cart.shipping ? money(cart.shipping) : "At checkout"),
      h("dt", {}, "Tax"), h("dd", {}, cart.tax ? money(cart.tax) : "At checkout"),
      h("dt", { class: "total" }, "Total"), h("dd", { class: "total" }, money(cart.total || cart.subtotal))),
    note ? h("p", { class: "hint" }, note) : null);
}

export async function cartPage(app, params, view) {
  const cart = await app.cart.load();
  if (!cart || !cart.items.length) {
    fill(view, h("h1", {}, "Your cart"), h("p", {}, "Your cart is empty."), h("p", {}, h("a", { href: "#/" }, "Browse the shop")));
    return;
  }
  const update = async (sku, quantity, control) => {
    if (control) control.disabled = true;
    try {
      await app.cart.setQuantity(sku, quantity);
      app.announce(quantity > 0 ? "Cart updated." : "Item removed.", "success");
      app.skipFocus = true;
      await cartPage(app, params, view);
      const target = view.querySelector(`[data-sku="${sku}"]`) || view.querySelector("h1");
      target.focus();
    } catch (error) {
      app.error(error);
      if (control) control.disabled = false;
    }
  };
  fill(view, 
    h("h1", {}, "Your cart"),
    h("div", { class: "columns" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Items in your cart"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col", class: "num" }, "Price"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, cart.items.map((item) => h("tr", {},
          h("td", {}, h("a", { href: `#/product/${encodeURIComponent(item.sku)}` }, item.name)),
          h("td", { class: "num" }, money(item.unitPrice)),
          h("td", {}, h("form", { class: "field inline", onsubmit(event) {
            event.preventDefault();
            update(item.sku, Number(event.currentTarget.quantity.value), event.currentTarget.querySelector("button"));
          } },
            h("label", { for: `qty-${item.sku}`, class: "visually-hidden" }, `Quantity of ${item.name}`),
            h("input", { id: `qty-${item.sku}`, name: "quantity", type: "number", min: 0, max: 99, value: item.quantity, "data-sku": item.sku, }),
            h("button", { type: "submit", class: "secondary" }, "Update", h("span", { class: "visually-hidden" }, ` ${item.name}`)))),
          h("td", { class: "num" }, money(item.lineTotal)),
          h("td", {}, h("button", { type: "button", class: "secondary", onclick: (e) => update(item.sku, 0, e.currentTarget) }, "Remove", h("span", { class: "visually-hidden" }, ` ${item.name}`))))))),
      h("div", {},
        totals(cart, { note: "Shipping and tax are computed by the shop for the shipping country; the final amounts are shown before you pay." }),
        cart.unavailable?.length ? h("p", { class: "message message-error" }, `No longer for sale: ${cart.unavailable.join(", ")}. Remove them to check out.`) : null,
        h("p", { class: "actions" }, h("a", { class: "button", href: "#/checkout" }, "Check out")))),
  );
}
