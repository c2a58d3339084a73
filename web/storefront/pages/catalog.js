import { fill, h } from "../../shared/dom.js";
import { money } from "../../shared/format.js";

const PAGE_SIZE = 12;
let everything = null; // the whole catalog, for categories, search and filters (the API filters by category only)

async function allProducts(api) {
  if (everything) return everything;
  const items = [];
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const data = await api.get(`/products?${query}`);
    items.push(...data.items);
    cursor = data.nextCursor;
    if (!cursor) break;
  }
  everything = items;
  setTimeout(() => { everything = null; }, 60_000);
  return items;
}

export function availability(product) {
  const n = product.available;
  if (product.status && product.status !== "ACTIVE") return h("p", { class: "stock out" }, "No longer sold");
  if (n <= 0) return h("p", { class: "stock out" }, "Out of stock");
  if (n <= 5) return h("p", { class: "stock low" }, `Only ${n} left`);
  return h("p", { class: "stock" }, `${n} in stock`);
}

const label = (category) => category.charAt(0).toUpperCase() + category.slice(1);

export async function addToCart(app, product, quantity, button) {
  if (button) button.disabled = true;
  try {
    await app.cart.add(product.sku, quantity);
    app.announce(`Added ${quantity} × ${product.name} to your cart.`, "success");
  } catch (error) {
    const short = error.code === "out_of_stock" && (error.problem.errors || []).find((e) => e.sku === product.sku);
    if (short) {
      const inCart = app.cart.get()?.items.find((i) => i.sku === product.sku)?.quantity || 0;
      app.announce(short.available > 0
        ? `Only ${short.available} of ${product.name} left${inCart ? ` (${inCart} already in your cart)` : ""}. Choose a smaller quantity.`
        : `${product.name} is out of stock.`, "error");
    } else {
      app.error(error);
    }
  } finally {
    if (button) button.disabled = false;
  }
}

function productCard(app, product) {
  const out = product.available <= 0 || product.status !== "ACTIVE";
  const link = `#/product/${encodeURIComponent(product.sku)}`;
  return h("li", {}, h("article", { class: "card", "aria-labelledby": `p-${product.sku}` },
    h("img", { src: product.images?.[0] || "", alt: product.name, width: 400, height: 300, loading: "lazy" }),
    h("h2", { id: `p-${product.sku}` }, h("a", { href: link }, product.name)),
    h("p", { class: "price" }, money(product.price)),
    availability(product),
    h("button", { type: "button", disabled: out, onclick: (e) => addToCart(app, product, 1, e.currentTarget) },
      out ? "Out of stock" : "Add to cart", h("span", { class: "visually-hidden" }, `: ${product.name}`)),
  ));
}

export async function catalogPage(app, params, view) {
  const category = params.get("category") || "";
  const q = (params.get("q") || "").trim();
  const inStock = params.get("inStock") === "1";
  const maxPrice = params.get("max") || "";
  const cursor = params.get("cursor");
  const page = Math.max(1, Number(params.get("page") || 1));
  const filtering = Boolean(q || inStock || maxPrice);

  const all = await allProducts(app.api);
  const categories = [...new Set(all.map((p) => p.category))].sort();

  let items;
  let next = null;
  let previous = null;
  if (filtering) {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    const matches = all.filter((p) =>
      (!category || p.category === category) &&
      words.every((w) => p.name.toLowerCase().includes(w)) &&
      (!inStock || p.available > 0) &&
      (!maxPrice || p.price.amount <= Number(maxPrice) * 100));
    items = matches.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const base = new URLSearchParams(params);
    if (page * PAGE_SIZE < matches.length) { base.set("page", String(page + 1)); next = `#/?${base}`; }
    if (page > 1) { base.set("page", String(page - 1)); previous = `#/?${base}`; }
    items.total = matches.length;
  } else {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (category) query.set("category", category);
    if (cursor) query.set("cursor", cursor);
    const data = await app.api.get(`/products?${query}`);
    items = data.items;
    if (data.nextCursor) {
      const base = new URLSearchParams(category ? { category } : {});
      base.set("cursor", data.nextCursor);
      next = `#/?${base}`;
    }
    if (cursor) previous = category ? `#/?category=${encodeURIComponent(category)}` : "#/";
  }

  const heading = q ? `Results for “${q}”` : category ? label(category) : "All gear";
  const searchForm = h("form", { class: "filters", role: "search", "aria-label": "Search and filter products",
    onsubmit(event) {
      event.preventDefault();
      const data = new FormData(event.currentTarget);
      const next = new URLSearchParams();
      for (const name of ["q", "category", "max"]) if (data.get(name)) next.set(name, data.get(name));
      if (data.get("inStock")) next.set("inStock", "1");
      app.navigate(`#/?${next}`);
    } },
    h("div", { class: "field" }, h("label", { for: "search-q" }, "Search by name"), h("input", { id: "search-q", name: "q", type: "search", value: q })),
    h("div", { class: "field" }, h("label", { for: "search-category" }, "Category"),
      h("select", { id: "search-category", name: "category" }, h("option", { value: "" }, "All categories"),
        categories.map((c) => h("option", { value: c, selected: c === category }, label(c))))),
    h("div", { class: "field" }, h("label", { for: "search-max" }, "Price"),
      h("select", { id: "search-max", name: "max" }, [["", "Any price"], ["50", "Under $50"], ["100", "Under $100"], ["250", "Under $250"]].map(([v, t]) => h("option", { value: v, selected: v === maxPrice }, t)))),
    h("div", { class: "field inline" }, h("input", { id: "search-stock", name: "inStock", type: "checkbox", value: "1", checked: inStock }), h("label", { for: "search-stock" }, "In stock only")),
    h("button", { type: "submit" }, "Search"),
  );
  const nav = h("nav", { class: "categories", "aria-label": "Categories" }, h("ul", {},
    h("li", {}, h("a", { href: "#/", "aria-current": !category && !filtering ? "page" : null }, "All")),
    categories.map((c) => h("li", {}, h("a", { href: `#/?category=${encodeURIComponent(c)}`, "aria-current": c === category && !filtering ? "page" : null }, label(c))))));
  const results = items.length
    ? h("ul", { class: "grid", "aria-label": "Products" }, items.map((p) => productCard(app, p)))
    : h("p", {}, "No products match. Try another search or category.");
  fill(view, 
    h("h1", {}, heading),
    nav,
    searchForm,
    h("p", { class: "hint" }, filtering ? `${items.total} product${items.total === 1 ? "" : "s"} found.` : ""),
    results,
    next || previous ? h("nav", { class: "pager", "aria-label": "Pages" },
      previous ? h("a", { href: previous, rel: "prev" }, filtering ? "Previous page" : "First page") : null,
      next ? h("a", { href: next, rel: "next" }, "Next page") : null) : null,
  );
}
