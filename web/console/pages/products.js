// Products: the catalog as listed, a form to create or edit one (PUT /admin/products/{sku}
// replaces the product), and archive (the same PUT with status ARCHIVED: it leaves the storefront).
import { clear, field, form, h, money, select, table } from "../dom.js";
import { api } from "../session.js";
import { fail, notify } from "../ui.js";
import { allProducts } from "./catalog.js";

function bodyOf(product, status) {
  return {
    name: product.name,
    description: product.description || "",
    category: product.category,
    price: { amount: product.price.amount, currency: product.price.currency },
    images: product.images || [],
    status: status || product.status,
  };
}

export async function productsPage(el, { params, go, refresh }) {
  const products = await allProducts();
  const editing = params.get("edit") ? products.find((p) => p.sku === params.get("edit")) : null;
  const currency = products[0]?.price.currency || "usd";

  const skuInput = h("input", { name: "sku", required: true, pattern: "[A-Z0-9][A-Z0-9-]{1,31}", value: editing?.sku || "", readonly: Boolean(editing), autocomplete: "off" });
  const editor = form(
    { "aria-labelledby": "product-legend", id: "product-form" },
    h("fieldset", {},
      h("legend", { id: "product-legend" }, editing ? `Edit ${editing.sku}` : "Create a product"),
      h("div", { class: "row" },
        field("SKU", skuInput, "Capitals, digits and dashes, e.g. TENT-3P"),
        field("Name", h("input", { name: "name", required: true, maxlength: 200, value: editing?.name || "" })),
        field("Category", h("input", { name: "category", required: true, pattern: "[a-z0-9][a-z0-9-]{0,39}", value: editing?.category || "" }), "Lowercase, e.g. tents"),
        field(`Price (${currency.toUpperCase()})`, h("input", { name: "price", type: "number", min: 0, step: "0.01", required: true, value: editing ? (editing.price.amount / 100).toFixed(2) : "" })),
        field("Status", select("status", [["ACTIVE", "Active"], ["DRAFT", "Draft"], ["ARCHIVED", "Archived"]], editing?.status || "ACTIVE")),
        field("Low-stock threshold", h("input", { name: "lowStockThreshold", type: "number", min: 0, step: 1 }), "Empty keeps the current one")),
      field("Description", h("textarea", { name: "description", rows: 3, maxlength: 5000 }, editing?.description || "")),
      field("Images", h("textarea", { name: "images", rows: 2 }, (editing?.images || []).join("\n")), "One path or URL per line, at most 10"),
      h("div", { class: "row" },
        h("button", { type: "submit" }, editing ? "Save changes" : "Create product"),
        editing ? h("a", { href: "#/products" }, "Cancel editing") : null)),
    async (data) => {
      const sku = String(data.get("sku")).trim().toUpperCase();
      const body = {
        name: String(data.get("name")).trim(),
        description: String(data.get("description") || ""),
        category: String(data.get("category")).trim(),
        price: { amount: Math.round(Number(data.get("price")) * 100), currency },
        images: String(data.get("images") || "").split("\n").map((s) => s.trim()).filter(Boolean),
        status: String(data.get("status")),
      };
      if (String(data.get("lowStockThreshold") || "") !== "") body.lowStockThreshold = Number(data.get("lowStockThreshold"));
      const saved = await api("PUT", `/admin/products/${encodeURIComponent(sku)}`, { body });
      if (editing) go("/products");
      else await refresh();
      notify(`${saved.sku} saved: ${saved.name}, ${money(saved.price)}, ${saved.status}.`);
    },
    fail,
  );

  const rows = products.map((p) =>
    h("tr", { dataset: { sku: p.sku } },
      h("td", {}, p.sku), h("td", {}, p.name), h("td", {}, p.category), h("td", { class: "num" }, money(p.price)), h("td", { class: "num" }, p.available), h("td", {}, p.status),
      h("td", {},
        h("a", { href: `#/products?edit=${encodeURIComponent(p.sku)}`, "aria-label": `Edit ${p.sku}` }, "Edit"), " ",
        h("button", {
          type: "button",
          class: "secondary",
          "aria-label": `Archive ${p.sku}`,
          onclick: async (event) => {
            if (!window.confirm(`Archive ${p.sku}? It leaves the storefront.`)) return;
            event.target.disabled = true;
            try {
              await api("PUT", `/admin/products/${encodeURIComponent(p.sku)}`, { body: bodyOf(p, "ARCHIVED") });
              await refresh();
              notify(`${p.sku} is archived.`);
            } catch (error) {
              event.target.disabled = false;
              fail(error);
            }
          },
        }, "Archive"))),
  );
  clear(
    el,
    h("h1", {}, "Products"),
    editor,
    table("Products on sale (archived and draft products leave this list)", ["SKU", "Name", "Category", "Price", "Available", "Status", "Actions"], rows, { id: "products-table" }),
  );
  if (editing) el.querySelector("[name=name]").focus();
}
