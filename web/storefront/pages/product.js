import { fill, h } from "../../shared/dom.js";
import { money } from "../../shared/format.js";
import { addToCart, availability } from "./catalog.js";

export async function productPage(app, params, sku, view) {
  let product;
  try {
    product = await app.api.get(`/products/${encodeURIComponent(sku)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    fill(view, h("h1", {}, "Product not found"), h("p", {}, error.message), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
    return;
  }
  const out = product.available <= 0 || product.status !== "ACTIVE";
  const [main, detail] = product.images || [];
  fill(view, 
    h("p", {}, h("a", { href: `#/?category=${encodeURIComponent(product.category)}` }, `← ${product.category}`)),
    h("article", { class: "product", "aria-labelledby": "product-name" },
      h("div", { class: "images" },
        main ? h("img", { src: main, alt: product.name, width: 400, height: 300 }) : null,
        detail ? h("img", { src: detail, alt: `${product.name}, close-up`, width: 400, height: 300 }) : null),
      h("div", {},
        h("h1", { id: "product-name" }, product.name),
        h("p", { class: "price" }, money(product.price)),
        availability(product),
        h("p", {}, product.description),
        h("p", { class: "hint" }, `SKU ${product.sku}`),
        h("form", { onsubmit(event) {
          event.preventDefault();
          const quantity = Number(event.currentTarget.quantity.value);
          addToCart(app, product, quantity, event.currentTarget.querySelector("button"));
        } },
          h("div", { class: "field" }, h("label", { for: "quantity" }, "Quantity"),
            h("input", { id: "quantity", name: "quantity", type: "number", min: 1, max: 99, value: 1, required: true, disabled: out })),
          h("div", { class: "actions" },
            h("button", { type: "submit", disabled: out }, out ? "Out of stock" : "Add to cart"),
            h("a", { href: "#/cart" }, "View cart"))),
      )),
  );
}
