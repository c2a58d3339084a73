// Orders: the list with filters (status on the server; date range over the loaded pages, since the
// API filters by status only), an order's detail with its history, and the staff actions.
import { clear, field, form, h, money, newKey, select, table, timeEl, when } from "../dom.js";
import { api } from "../session.js";
import { fail, notify } from "../ui.js";

export const STATUSES = [
  "PENDING_PAYMENT", "PAID", "CONFIRMED", "SHIPPED", "DELIVERED", "PAYMENT_FAILED", "CANCELLING", "CANCELLED",
  "RETURN_REQUESTED", "REFUNDING", "PARTIALLY_REFUNDED", "REFUNDED",
];
const CANCELLABLE = new Set(["PENDING_PAYMENT", "PAID", "CONFIRMED"]);
const TRACKING = [["IN_TRANSIT", "In transit"], ["OUT_FOR_DELIVERY", "Out for delivery"], ["DELIVERED", "Delivered"], ["EXCEPTION", "Exception"]];

const badge = (status) => h("span", { class: `badge ${status}` }, status);

export async function ordersPage(el, { params, go }) {
  const status = params.get("status") || "";
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  const statusSelect = select("status", [["", "Any status"], ...STATUSES.map((s) => [s, s])], status);
  const fromInput = h("input", { type: "date", name: "from", value: from });
  const toInput = h("input", { type: "date", name: "to", value: to });
  const filters = form(
    { "aria-label": "Filter orders", role: "search" },
    h("div", { class: "row" }, field("Status", statusSelect), field("Placed from", fromInput), field("Placed to", toInput), h("button", { type: "submit" }, "Apply filters")),
    async (data) => {
      const q = new URLSearchParams();
      for (const key of ["status", "from", "to"]) if (data.get(key)) q.set(key, data.get(key));
      go(`/orders${q.toString() ? `?${q}` : ""}`);
    },
    fail,
  );
  const body = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more orders");
  const list = h(
    "table",
    { id: "orders-table" },
    h("caption", {}, "Orders, newest first"),
    h("thead", {}, h("tr", {}, ["Order", "Placed", "Status", "Email", "Items", "Total"].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  clear(el, h("h1", {}, "Orders"), filters, summary, list, more);

  let cursor = null;
  let shown = 0;
  const inRange = (order) => {
    const day = (order.createdAt || "").slice(0, 10);
    return (!from || day >= from) && (!to || day <= to);
  };
  async function load() {
    const page = await api("GET", "/admin/orders", { query: { status, limit: 50, cursor } });
    const items = page.items.filter(inRange);
    for (const order of items) {
      body.append(
        h(
          "tr",
          { dataset: { orderId: order.orderId } },
          h("td", {}, h("a", { href: `#/orders/${encodeURIComponent(order.orderId)}` }, order.orderId)),
          h("td", {}, timeEl(order.createdAt)),
          h("td", {}, badge(order.status)),
          h("td", {}, order.email),
          h("td", { class: "num" }, order.lines.reduce((n, l) => n + l.quantity, 0)),
          h("td", { class: "num" }, money(order.total)),
        ),
      );
    }
    shown += items.length;
    cursor = page.nextCursor;
    more.hidden = !cursor;
    summary.textContent = `${shown} order${shown === 1 ? "" : "s"} shown${cursor ? "; more are available" : ""}.`;
    if (!shown && !cursor) body.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No orders match these filters.")));
  }
  more.addEventListener("click", () => load().catch(fail));
  await load();
}

function lineRows(order) {
  return order.lines.map((l) =>
    h("tr", {}, h("td", {}, l.sku), h("td", {}, l.name), h("td", { class: "num" }, l.quantity), h("td", { class: "num" }, money(l.unitPrice)), h("td", { class: "num" }, money(l.lineTotal))),
  );
}

export async function orderPage(el, { args, refresh }) {
  const [orderId] = args;
  const order = await api("GET", `/orders/${encodeURIComponent(orderId)}`);
  const address = order.shippingAddress;
  const sections = [
    h("p", {}, h("a", { href: "#/orders" }, "← All orders")),
    h("h1", {}, "Order ", h("span", { class: "muted" }, order.orderId)),
    h(
      "dl",
      { class: "summary" },
      h("dt", {}, "Status"), h("dd", { id: "order-status" }, badge(order.status)),
      h("dt", {}, "Email"), h("dd", {}, order.email),
      h("dt", {}, "Placed"), h("dd", {}, timeEl(order.createdAt)),
      h("dt", {}, "Total"), h("dd", {}, `${money(order.total)} (subtotal ${money(order.subtotal)}, shipping ${money(order.shipping)}, tax ${money(order.tax)})`),
      address ? [h("dt", {}, "Ship to"), h("dd", {}, [address.name, address.line1, address.line2, `${address.postalCode} ${address.city}`, address.country].filter(Boolean).join(", "))] : null,
      order.invoice ? [h("dt", {}, "Invoice"), h("dd", {}, `${order.invoice.invoiceNumber}, issued ${when(order.invoice.issuedAt)}`)] : null,
    ),
    table("Lines", ["SKU", "Product", "Quantity", "Unit price", "Line total"], lineRows(order)),
    table(
      "History",
      ["Status", "At", "Note"],
      order.history.map((e) => h("tr", {}, h("td", {}, badge(e.status)), h("td", {}, timeEl(e.at)), h("td", {}, e.note || ""))),
      { id: "order-history" },
    ),
  ];

  // Ship: a confirmed order not yet shipped.
  if (order.status === "CONFIRMED") {
    sections.push(
      form(
        { "aria-labelledby": "ship-heading", id: "ship-form" },
        h("fieldset", {},
          h("legend", { id: "ship-heading" }, "Ship this order"),
          h("div", { class: "row" },
            field("Carrier", h("input", { name: "carrier", required: true, maxlength: 40, autocomplete: "off" })),
            field("Tracking number", h("input", { name: "trackingNumber", required: true, pattern: "[A-Za-z0-9-]{4,40}", autocomplete: "off" }), "4-40 letters, digits or dashes"),
            h("button", { type: "submit" }, "Ship"))),
        async (data) => {
          const shipment = await api("POST", `/admin/orders/${encodeURIComponent(order.orderId)}/shipments`, {
            body: { carrier: String(data.get("carrier")).trim(), trackingNumber: String(data.get("trackingNumber")).trim() },
          });
          await refresh();
          notify(`Shipped with ${shipment.carrier}, tracking number ${shipment.trackingNumber}.`);
        },
        fail,
      ),
    );
  }

  // Shipments with their tracking events and a form to record one.
  for (const shipment of order.shipments || []) {
    const legendId = `track-${shipment.shipmentId}`;
    sections.push(
      h("section", { "aria-labelledby": `${legendId}-h`, class: "shipment", dataset: { shipmentId: shipment.shipmentId } },
        h("h2", { id: `${legendId}-h` }, `Shipment ${shipment.trackingNumber} (${shipment.carrier})`),
        h("p", {}, "Status: ", badge(shipment.status)),
        table(
          "Tracking events",
          ["Status", "At", "Location"],
          (shipment.events || []).map((e) => h("tr", {}, h("td", {}, badge(e.status)), h("td", {}, timeEl(e.at)), h("td", {}, e.location || ""))),
        ),
        shipment.status === "DELIVERED"
          ? null
          : form(
              { "aria-labelledby": legendId, class: "tracking-form" },
              h("fieldset", {},
                h("legend", { id: legendId }, "Record a tracking event"),
                h("div", { class: "row" },
                  field("Event", select("status", TRACKING, "DELIVERED")),
                  field("At", h("input", { type: "datetime-local", name: "at", step: 1 }), "Local time; empty means now"),
                  field("Location", h("input", { name: "location", maxlength: 120 })),
                  h("button", { type: "submit" }, "Record event"))),
              async (data) => {
                const at = data.get("at") ? new Date(String(data.get("at"))) : new Date();
                const body = { status: String(data.get("status")), at: at.toISOString() };
                if (String(data.get("location") || "").trim()) body.location = String(data.get("location")).trim();
                await api("POST", `/admin/shipments/${encodeURIComponent(shipment.shipmentId)}/events`, { body });
                await refresh();
                notify(`Recorded ${body.status} for shipment ${shipment.trackingNumber}.`);
              },
              fail,
            )),
    );
  }

  // Returns, with a refund for each one requested.
  if ((order.returns || []).length) {
    const rows = order.returns.map((ret) => {
      const key = newKey();
      const restock = h("input", { type: "checkbox", name: "restock", checked: true, id: `restock-${ret.returnId}` });
      const action =
        ret.status === "REQUESTED" || ret.status === "REFUNDING"
          ? form(
              { "aria-label": `Refund return ${ret.returnId}`, class: "refund-form" },
              [h("label", { for: restock.id }, restock, " Restock"), " ", h("button", { type: "submit" }, "Refund")],
              async (data) => {
                // One key per return and page: a retried click is the same refund, never a second.
                const result = await api("POST", `/admin/returns/${encodeURIComponent(ret.returnId)}/refund`, {
                  body: { restock: data.get("restock") === "on" },
                  headers: { "Idempotency-Key": `refund-${ret.returnId}-${key}` },
                });
                await refresh();
                notify(`Return ${ret.returnId} is ${result.status}${result.refund ? `: ${money(result.refund)} refunded` : ""}.`);
              },
              fail,
            )
          : ret.refund
            ? `${money(ret.refund)} refunded ${when(ret.refundedAt)}${ret.restocked ? ", restocked" : ""}`
            : "";
      return h(
        "tr",
        { dataset: { returnId: ret.returnId } },
        h("td", {}, ret.returnId),
        h("td", {}, badge(ret.status)),
        h("td", {}, ret.lines.map((l) => `${l.quantity} × ${l.sku} (${l.reason})`).join("; ")),
        h("td", {}, timeEl(ret.createdAt)),
        h("td", {}, action),
      );
    });
    sections.push(h("section", { "aria-labelledby": "returns-h" }, h("h2", { id: "returns-h" }, "Returns"), table("Returns of this order", ["Return", "Status", "Lines", "Requested", "Refund"], rows, { id: "returns-table" })));
  }

  if (CANCELLABLE.has(order.status)) {
    sections.push(
      h("section", { "aria-labelledby": "cancel-h" },
        h("h2", { id: "cancel-h" }, "Cancel"),
        h("p", {}, "Cancelling gives the stock back and voids or refunds the payment."),
        h("button", {
          type: "button",
          class: "danger",
          onclick: async (event) => {
            if (!window.confirm(`Cancel order ${order.orderId}?`)) return;
            event.target.disabled = true;
            try {
              const result = await api("POST", `/admin/orders/${encodeURIComponent(order.orderId)}/cancel`);
              await refresh();
              notify(result.status === "CANCELLING" ? "The order is cancelling: the stock is back and the payment will be returned shortly." : "The order is cancelled.");
            } catch (error) {
              event.target.disabled = false;
              fail(error);
            }
          },
        }, "Cancel order")),
    );
  }
  clear(el, ...sections);
}
