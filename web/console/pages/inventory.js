// Inventory: one SKU's stock with an adjustment form (reason required, Idempotency-Key per
// adjustment), and the low-stock list (available at or under the SKU's threshold).
import { clear, field, form, h, newKey, table } from "../dom.js";
import { api } from "../session.js";
import { fail, notify } from "../ui.js";
import { allProducts, pool } from "./catalog.js";

const REASONS = ["restock", "count correction", "damaged", "shrinkage", "returned to supplier"];

function stockRows(inv) {
  return [h("tr", { dataset: { sku: inv.sku } }, h("td", {}, inv.sku), h("td", { class: "num" }, inv.onHand), h("td", { class: "num" }, inv.reserved), h("td", { class: "num" }, inv.available), h("td", { class: "num" }, inv.lowStockThreshold))];
}

export async function inventoryPage(el, { params, go }) {
  const sku = (params.get("sku") || "").toUpperCase();
  const lookup = form(
    { role: "search", "aria-label": "Find a SKU" },
    h("div", { class: "row" }, field("SKU", h("input", { name: "sku", value: sku, required: true, pattern: "[A-Za-z0-9][A-Za-z0-9-]{1,31}", autocomplete: "off" })), h("button", { type: "submit" }, "Show stock")),
    async (data) => go(`/inventory?sku=${encodeURIComponent(String(data.get("sku")).trim().toUpperCase())}`),
    fail,
  );
  const stock = h("section", { "aria-labelledby": "stock-h" });
  const low = h("section", { "aria-labelledby": "low-h" }, h("h2", { id: "low-h" }, "Low stock"), h("p", { "aria-busy": "true" }, "Checking every SKU…"));
  clear(el, h("h1", {}, "Inventory"), lookup, sku ? stock : null, low);

  if (sku) {
    const inv = await api("GET", `/admin/inventory/${encodeURIComponent(sku)}`);
    const stockTable = table(`Stock of ${sku}`, ["SKU", "On hand", "Reserved", "Available", "Low-stock threshold"], stockRows(inv), { id: "stock-table" });
    let key = newKey();
    let lastBody = null;
    const adjust = form(
      { "aria-labelledby": "adjust-legend", id: "adjust-form" },
      h("fieldset", {},
        h("legend", { id: "adjust-legend" }, `Adjust stock of ${sku}`),
        h("div", { class: "row" },
          field("Change (units)", h("input", { type: "number", name: "delta", required: true, step: 1 }), "Positive adds, negative removes"),
          field("Reason", h("input", { name: "reason", required: true, maxlength: 200, list: "reasons" })),
          h("datalist", { id: "reasons" }, REASONS.map((r) => h("option", { value: r }))),
          h("button", { type: "submit" }, "Apply adjustment"))),
      async (data, formEl) => {
        const body = { delta: Number(data.get("delta")), reason: String(data.get("reason")).trim() };
        if (!Number.isInteger(body.delta) || body.delta === 0) throw new Error("The change must be a whole number other than 0.");
        // The same key while the same adjustment is retried; a new one for a new adjustment.
        const text = JSON.stringify(body);
        if (lastBody !== null && lastBody !== text) key = newKey();
        lastBody = text;
        const result = await api("POST", `/admin/inventory/${encodeURIComponent(sku)}/adjustments`, { body, headers: { "Idempotency-Key": key } });
        key = newKey();
        lastBody = null;
        clear(stockTable.tBodies[0], stockRows(result));
        formEl.reset();
        notify(`${sku}: ${body.delta > 0 ? "+" : ""}${body.delta} (${body.reason}). On hand ${result.onHand}, available ${result.available}.`);
      },
      fail,
    );
    clear(stock, h("h2", { id: "stock-h" }, `Stock of ${sku}`), stockTable, adjust);
  }

  const products = await allProducts();
  const stocks = await pool(products, 4, (p) => api("GET", `/admin/inventory/${encodeURIComponent(p.sku)}`));
  const lows = stocks.filter((s) => s && !s.error && s.available <= s.lowStockThreshold).sort((a, b) => a.available - b.available);
  const rows = lows.map((inv) =>
    h("tr", { dataset: { sku: inv.sku } },
      h("td", {}, h("a", { href: `#/inventory?sku=${encodeURIComponent(inv.sku)}` }, inv.sku)),
      h("td", {}, products.find((p) => p.sku === inv.sku)?.name || ""),
      h("td", { class: "num" }, inv.onHand), h("td", { class: "num" }, inv.reserved), h("td", { class: "num" }, inv.available), h("td", { class: "num" }, inv.lowStockThreshold)),
  );
  clear(
    low,
    h("h2", { id: "low-h" }, "Low stock"),
    h("p", { class: "muted" }, `${lows.length} of ${products.length} listed SKUs are at or under their low-stock threshold.`),
    table("SKUs at or under their threshold, fewest available first", ["SKU", "Product", "On hand", "Reserved", "Available", "Threshold"], rows, { id: "low-stock-table" }),
  );
}
