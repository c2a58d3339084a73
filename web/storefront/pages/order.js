import { newIdempotencyKey } from "../../shared/api.js";
import { fill, h } from "../../shared/dom.js";
import { money, statusText, when } from "../../shared/format.js";
import { orderLink, recentOrders, tokenFor } from "../orders-store.js";
import { totals } from "./cart.js";

const CANCELLABLE = ["PENDING_PAYMENT", "PAID", "CONFIRMED"];
const RETURNABLE = ["DELIVERED", "RETURN_REQUESTED", "PARTIALLY_REFUNDED"];
const SETTLING = ["PENDING_PAYMENT", "PAID"];

function statusBlock(order) {
  return h("p", { id: "order-status" }, "Status: ", h("strong", { class: "badge" }, statusText(order.status)));
}

function historyBlock(order) {
  return h("section", { id: "order-history", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "History"),
    h("ol", { class: "timeline" }, (order.history || []).map((step) =>
      h("li", {}, h("strong", {}, statusText(step.status)), ` · ${when(step.at)}`, step.note ? ` · ${step.note}` : ""))));
}

function returnable(order) {
  const returned = {};
  for (const r of order.returns || []) {
    if (["REJECTED", "CANCELLED"].includes(r.status)) continue;
    for (const l of r.lines || []) returned[l.sku] = (returned[l.sku] || 0) + l.quantity;
  }
  return (order.lines || []).map((l) => ({ ...l, quantity: l.quantity - (returned[l.sku] || 0) })).filter((l) => l.quantity > 0);
}

function returnForm(app, order, token, onDone) {
  const key = { value: null };
  const lines = returnable(order);
  if (!lines.length) return null;
  const form = h("form", { "aria-labelledby": "return-title", async onsubmit(event) {
    event.preventDefault();
    const data = new FormData(form);
    const reason = String(data.get("reason") || "").trim();
    const chosen = lines
      .map((l) => ({ sku: l.sku, quantity: Number(data.get(`return-${l.sku}`) || 0), reason }))
      .filter((l) => l.quantity > 0);
    if (!chosen.length) {
      app.announce("Choose at least one item to return.", "error");
      form.querySelector("select").focus();
      return;
    }
    if (!reason) {
      app.announce("Tell us why you are returning the items.", "error");
      form.reason.focus();
      return;
    }
    key.value = key.value || newIdempotencyKey();
    form.querySelector("button").disabled = true;
    try {
      const created = await app.api.post(`/orders/${order.orderId}/returns`, { lines: chosen }, { orderToken: token, idempotencyKey: key.value });
      app.announce(`Return ${created.returnId} requested. We will refund you once the items arrive.`, "success");
      onDone();
    } catch (error) {
      form.querySelector("button").disabled = false;
      app.error(error);
    }
  } },
    h("h2", { id: "return-title" }, "Request a return"),
    lines.map((l) => h("div", { class: "field" },
      h("label", { for: `return-${l.sku}` }, `Quantity of ${l.name} to return`),
      h("select", { id: `return-${l.sku}`, name: `return-${l.sku}` }, Array.from({ length: l.quantity + 1 }, (_, n) => h("option", { value: n }, String(n)))))),
    h("div", { class: "field" }, h("label", { for: "return-reason" }, "Reason"), h("textarea", { id: "return-reason", name: "reason", rows: 3, maxlength: 500 })),
    h("button", { type: "submit" }, "Request return"));
  return form;
}

export async function orderPage(app, params, orderId, view, { confirmation = false } = {}) {
  const token = params.get("token") || tokenFor(orderId);
  let order;
  try {
    order = await app.api.get(`/orders/${encodeURIComponent(orderId)}`, { orderToken: token });
  } catch (error) {
    if (error.status !== 404 && error.status !== 401) throw error;
    fill(view, h("h1", {}, "Order not found"),
      h("p", {}, "Check the link from your confirmation email, or sign in to see your orders."),
      h("p", {}, h("a", { href: "#/track" }, "Track an order")));
    return;
  }
  const render = () => {
    const link = `${location.origin}${location.pathname}${orderLink(order.orderId, token)}`;
    let tracking = null;
    if (order.shipments?.length) {
      tracking = h("section", { "aria-labelledby": "ship-title" }, h("h2", { id: "ship-title" }, "Shipments"),
        h("ul", {}, order.shipments.map((s) => h("li", {}, `${s.carrier || "Carrier"} ${s.trackingNumber || ""}: ${statusText(s.status)}`,
          s.events?.length ? h("ul", {}, s.events.map((e) => h("li", {}, `${statusText(e.status)} · ${when(e.at)}${e.location ? ` · ${e.location}` : ""}`))) : null))));
    }
    const cancel = CANCELLABLE.includes(order.status)
      ? h("section", { "aria-labelledby": "cancel-title" }, h("h2", { id: "cancel-title" }, "Cancel"),
          h("p", {}, "You can cancel until the order ships; the stock goes back and your payment is voided or refunded."),
          h("button", { type: "button", class: "danger", async onclick(event) {
            event.currentTarget.disabled = true;
            try {
              order = await app.api.post(`/orders/${order.orderId}/cancel`, {}, { orderToken: token });
              app.announce(order.status === "CANCELLED" ? "Your order is cancelled." : "Your order is being cancelled; the refund follows shortly.", "success");
              render();
              view.querySelector("h1").focus();
            } catch (error) {
              event.currentTarget.disabled = false;
              app.error(error);
            }
          } }, "Cancel order"))
      : null;
    fill(view, 
      h("h1", {}, confirmation ? "Thank you! Your order is placed" : `Order ${order.orderId.slice(0, 8)}`),
      h("p", {}, "Order number ", h("code", {}, order.orderId)),
      statusBlock(order),
      confirmation ? h("p", {}, `A confirmation goes to ${order.email || "your email"}. `, token ? h("a", { href: orderLink(order.orderId, token) }, "Track this order") : h("a", { href: "#/account" }, "See it in your account")) : null,
      token ? h("p", { class: "hint" }, "Keep this tracking link: ", h("span", { class: "tracking-link" }, link)) : null,
      h("div", { class: "columns" },
        h("section", { "aria-labelledby": "lines-title" }, h("h2", { id: "lines-title" }, "Items"),
          h("ul", {}, (order.lines || []).map((l) => h("li", {}, `${l.quantity} × ${l.name}: ${money(l.lineTotal)}`))),
          order.shippingAddress ? h("p", {}, h("strong", {}, "Ship to: "), [order.shippingAddress.name, order.shippingAddress.line1, order.shippingAddress.line2, order.shippingAddress.city, order.shippingAddress.postalCode, order.shippingAddress.country].filter(Boolean).join(", ")) : null),
        totals(order)),
      order.invoice ? h("p", {}, h("a", { href: `#/invoice/${order.orderId}${token ? `?token=${encodeURIComponent(token)}` : ""}` }, `Invoice ${order.invoice.invoiceNumber}`)) : null,
      historyBlock(order),
      tracking,
      order.returns?.length ? h("section", { "aria-labelledby": "returns-title" }, h("h2", { id: "returns-title" }, "Returns"),
        h("ul", {}, order.returns.map((r) => h("li", {}, `${r.returnId}: ${statusText(r.status)} · ${r.lines.map((l) => `${l.quantity} × ${l.sku}`).join(", ")}`)))) : null,
      RETURNABLE.includes(order.status) ? returnForm(app, order, token, async () => {
        order = await app.api.get(`/orders/${encodeURIComponent(orderId)}`, { orderToken: token });
        render();
        view.querySelector("#returns-title")?.setAttribute("tabindex", "-1");
        view.querySelector("#returns-title")?.focus();
      }) : null,
      cancel,
    );
  };
  render();
  // Follow a fresh order as the workflow confirms it (a few seconds), updating only its status.
  if (SETTLING.includes(order.status)) {
    (async () => {
      for (let i = 0; i < 30 && SETTLING.includes(order.status); i += 1) {
        await new Promise((r) => setTimeout(r, 1000));
        if (!view.isConnected) return;
        const latest = await app.api.get(`/orders/${encodeURIComponent(orderId)}`, { orderToken: token }).catch(() => null);
        if (!latest || latest.status === order.status) continue;
        order = latest;
        view.querySelector("#order-status")?.replaceWith(statusBlock(order));
        view.querySelector("#order-history")?.replaceWith(historyBlock(order));
        app.announce(`Order status: ${statusText(order.status)}.`);
      }
    })();
  }
}

export async function invoicePage(app, params, orderId, view) {
  const token = params.get("token") || tokenFor(orderId);
  const invoice = await app.api.get(`/orders/${encodeURIComponent(orderId)}/invoice`, { orderToken: token });
  const address = (a) => (a ? [a.line1, a.line2, a.city, a.postalCode, a.country] : []);
  const party = (p) =>
    p ? [p.name, ...address(p.address || p), p.email, p.taxId].filter((v) => typeof v === "string" && v).join(", ") : "";
  fill(view, 
    h("h1", {}, `Invoice ${invoice.invoiceNumber}`),
    h("p", {}, `Issued ${when(invoice.issuedAt)}`),
    h("p", {}, h("strong", {}, "Seller: "), party(invoice.seller)),
    h("p", {}, h("strong", {}, "Bill to: "), party(invoice.billTo)),
    h("table", {}, h("caption", { class: "visually-hidden" }, "Invoice lines"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col", class: "num" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Unit price"), h("th", { scope: "col", class: "num" }, "Total"))),
      h("tbody", {}, (invoice.lines || []).map((l) => h("tr", {}, h("td", {}, `${l.description || l.name || l.sku} (${l.sku})`), h("td", { class: "num" }, String(l.quantity)), h("td", { class: "num" }, money(l.unitPrice)), h("td", { class: "num" }, money(l.lineTotal)))))),
    totals(invoice),
    h("p", { class: "actions" }, h("button", { type: "button", onclick: () => window.print() }, "Print"), h("a", { href: orderLink(orderId, token) }, "Back to the order")),
  );
}

export async function trackPage(app, params, view) {
  const recent = recentOrders();
  const form = h("form", { onsubmit(event) {
    event.preventDefault();
    const value = form.order.value.trim();
    const fromLink = /#\/order\/([^?]+)\?token=([^&]+)/.exec(value);
    if (fromLink) return app.navigate(`#/order/${fromLink[1]}?token=${fromLink[2]}`);
    const token = form.token.value.trim();
    if (!value || !token) {
      app.announce("Enter the order number and its token, or paste the tracking link.", "error");
      form.order.focus();
      return;
    }
    app.navigate(orderLink(value, token));
  } },
    h("div", { class: "field" }, h("label", { for: "track-order" }, "Order number or tracking link"), h("input", { id: "track-order", name: "order", required: true })),
    h("div", { class: "field" }, h("label", { for: "track-token" }, "Order token"), h("p", { class: "hint", id: "track-token-hint" }, "In your confirmation email; not needed with the link."), h("input", { id: "track-token", name: "token", "aria-describedby": "track-token-hint" })),
    h("button", { type: "submit" }, "Track"));
  fill(view, 
    h("h1", {}, "Track an order"),
    form,
    recent.length ? h("section", { "aria-labelledby": "recent-title" }, h("h2", { id: "recent-title" }, "Orders placed from this browser"),
      h("ul", {}, recent.map((o) => h("li", {}, h("a", { href: orderLink(o.orderId, o.orderToken) }, `Order ${o.orderId.slice(0, 8)}`), ` · ${when(o.at)}`)))) : null,
    h("p", {}, "Signed-in customers find every order in ", h("a", { href: "#/account" }, "their account"), "."),
  );
}
