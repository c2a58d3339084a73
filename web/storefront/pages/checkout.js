import { newIdempotencyKey } from "../../shared/api.js";
import { field, fill, h } from "../../shared/dom.js";
import { money } from "../../shared/format.js";
import { rememberOrder } from "../orders-store.js";
import { emulatorCardForm, stripePaymentElement } from "../payments.js";
import { totals } from "./cart.js";

const COUNTRIES = [["US", "United States"], ["CA", "Canada"], ["GB", "United Kingdom"], ["DE", "Germany"], ["FR", "France"], ["AU", "Australia"]];
const ADDRESS_KEY = "shopstack.address";

let pending = null; // Stripe mode: { cartId, order, lines } while the shopper retries a declined payment
let attempt = null; // { fingerprint, key }: a retried identical checkout reuses its Idempotency-Key

function idempotencyKeyFor(cartId, body) {
  const fingerprint = JSON.stringify([cartId, body]);
  if (!attempt || attempt.fingerprint !== fingerprint) attempt = { fingerprint, key: newIdempotencyKey() };
  return attempt.key;
}

function outOfStockMessage(error, cart) {
  const names = Object.fromEntries(cart.items.map((i) => [i.sku, i.name]));
  const lines = (error.problem.errors || []).map((e) =>
    e.available > 0
      ? `Only ${e.available} of ${names[e.sku] || e.sku} left (you asked for ${e.requested}).`
      : `${names[e.sku] || e.sku} is out of stock.`);
  return `${error.message} ${lines.join(" ")} Update your cart and try again.`.trim();
}

export async function checkoutPage(app, params, view) {
  let cart = await app.cart.load();
  if (!cart || !cart.items.length) {
    fill(view, h("h1", {}, "Checkout"), h("p", {}, "Your cart is empty."), h("p", {}, h("a", { href: "#/" }, "Browse the shop")));
    return;
  }
  const user = app.session.user();
  const saved = JSON.parse(localStorage.getItem(ADDRESS_KEY) || "{}");
  const emulator = app.config.payments?.mode === "emulator";
  const payment = emulator ? emulatorCardForm() : await stripePaymentElement(app.config, cart);

  const summary = h("div", {});
  const renderSummary = () => {
    const country = form ? form.country.value : saved.country || "US";
    const note = cart.destination && cart.destination !== country
      ? `Shipping and tax are shown for ${cart.destination}; the shop prices them for ${country} when you place the order.`
      : "Shipping and tax are computed by the shop before you pay.";
    fill(summary, 
      h("h2", {}, "Items"),
      h("ul", {}, cart.items.map((i) => h("li", {}, `${i.quantity} × ${i.name}: ${money(i.lineTotal)}`))),
      totals(cart, { note }),
      h("p", {}, h("a", { href: "#/cart" }, "Change the cart")));
    const pay = view.querySelector("#pay");
    if (pay) pay.textContent = `Pay ${money(cart.total || cart.subtotal)}`;
  };

  let form = null;
  form = h("form", { novalidate: true, "aria-labelledby": "checkout-title", async onsubmit(event) {
    event.preventDefault();
    await submit();
  } },
    h("fieldset", {}, h("legend", {}, "Contact"),
      field("Email", { name: "email", type: "email", autocomplete: "email", required: true, value: user?.email || saved.email || "" }, "We send the confirmation and tracking link here.")),
    h("fieldset", {}, h("legend", {}, "Shipping address"),
      field("Full name", { name: "name", autocomplete: "name", required: true, value: saved.name || "" }),
      field("Address", { name: "line1", autocomplete: "address-line1", required: true, value: saved.line1 || "" }),
      field("Apartment, suite (optional)", { name: "line2", autocomplete: "address-line2", value: saved.line2 || "" }),
      field("City", { name: "city", autocomplete: "address-level2", required: true, value: saved.city || "" }),
      field("Postal code", { name: "postalCode", autocomplete: "postal-code", required: true, value: saved.postalCode || "" }),
      field("Country", { name: "country", type: "select", autocomplete: "country", options: COUNTRIES, value: saved.country || "US", onchange: () => renderSummary() })),
    payment.element,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "pay" }, `Pay ${money(cart.total || cart.subtotal)}`)),
  );

  async function submit() {
    const button = form.querySelector("#pay");
    const data = Object.fromEntries(new FormData(form).entries());
    const missing = ["email", "name", "line1", "city", "postalCode"].filter((n) => !String(data[n] || "").trim());
    if (missing.length) {
      app.announce("Please fill in your email and shipping address.", "error");
      form.elements[missing[0]].focus();
      return;
    }
    const address = { name: data.name.trim(), line1: data.line1.trim(), city: data.city.trim(), postalCode: data.postalCode.trim(), country: data.country };
    if (data.line2?.trim()) address.line2 = data.line2.trim();
    localStorage.setItem(ADDRESS_KEY, JSON.stringify({ email: data.email.trim(), ...address }));
    const body = { email: data.email.trim(), shippingAddress: address };
    try {
      if (emulator) body.paymentMethod = await payment.paymentMethod();
      else await payment.validate();
    } catch (error) {
      app.announce(error.message, "error");
      payment.focus();
      return;
    }
    button.disabled = true;
    app.announce("Placing your order…");
    if (!emulator && pending && pending.cartId === cart.cartId) {
      // Stripe mode after a decline: the order is placed; confirm its payment again with the new details.
      await confirmStripe(pending.order, pending.lines, button);
      return;
    }
    try {
      const order = await app.api.post(`/carts/${cart.cartId}/checkout`, body, {
        cartToken: app.cart.token(),
        idempotencyKey: idempotencyKeyFor(cart.cartId, body),
      });
      rememberOrder(order.orderId, order.orderToken);
      const lines = cart.items;
      app.cart.forget();
      const query = `token=${encodeURIComponent(order.orderToken)}`;
      const status = order.payment?.status;
      if (emulator && status === "requires_action") {
        // The bank's challenge is the emulator's page; it comes back to #/authenticate with the outcome.
        sessionStorage.setItem(`shopstack.lines.${order.orderId}`, JSON.stringify(lines));
        const pi = encodeURIComponent(order.payment.paymentIntentId);
        const back = `${location.origin}${location.pathname}#/authenticate/${order.orderId}?${query}`;
        const emulatorUrl = (app.config.payments?.emulatorUrl || "").replace(/\/$/, "");
        location.assign(`${emulatorUrl}/_emulator/payment_intents/${pi}/challenge?return_url=${encodeURIComponent(back)}`);
        return;
      }
      if (!emulator && status && !["requires_capture", "succeeded", "processing"].includes(status)) {
        await confirmStripe(order, lines, button);
        return;
      }
      app.navigate(`#/confirmation/${order.orderId}?${query}`);
    } catch (error) {
      button.disabled = false;
      if (error.status === 402) {
        // The server keeps the declined order and closes the cart: a fresh cart with the same lines.
        cart = await app.cart.reopenWith(cart.items).catch(() => cart);
        renderSummary();
        app.announce(`Payment declined: ${error.message} Try another card.`, "error");
        const number = form.querySelector("#card-number");
        if (number) number.value = "";
        payment.focus();
      } else if (error.code === "out_of_stock") {
        app.announce(outOfStockMessage(error, cart), "error");
      } else if (error.status === 409 && error.code === "invalid_state") {
        cart = await app.cart.reopenWith(cart.items);
        renderSummary();
        app.announce("Your cart had already been checked out; it is ready again. Please try once more.", "error");
      } else if (error.status === 401) {
        app.announce("Your session has expired. Please sign in again, then check out: your cart is kept.", "error");
        app.refreshNav();
      } else {
        app.error(error);
      }
    }
  }

  async function confirmStripe(order, lines, button) {
    const query = `token=${encodeURIComponent(order.orderToken)}`;
    const returnUrl = `${location.origin}${location.pathname}#/confirmation/${order.orderId}?${query}`;
    try {
      await payment.confirm(order.payment.clientSecret, returnUrl, order.total?.amount);
    } catch (error) {
      pending = { cartId: cart.cartId, order, lines };
      app.announce(`${error.message} Try again or use another card.`, "error");
      button.disabled = false;
      payment.focus();
      return;
    }
    pending = null;
    app.navigate(`#/confirmation/${order.orderId}?${query}`);
  }

  fill(view, 
    h("h1", { id: "checkout-title" }, "Checkout"),
    h("div", { class: "columns" }, form, h("aside", { "aria-label": "Order summary" }, summary)),
  );
  renderSummary();
  if (!user) {
    form.prepend(h("p", {}, "Checking out as a guest. ", h("a", { href: "#/signin?next=%23%2Fcheckout" }, "Sign in"), " to keep the order in your account."));
  }
}

/**
 * 3-D Secure (emulator mode), back from the bank: the emulator's challenge page sends the shopper
 * here with `redirect_status`; the order, moved by the payment's webhook, tells the outcome.
 */
export async function authenticatePage(app, params, orderId, view) {
  const token = params.get("token");
  const failed = params.get("redirect_status") === "failed";
  const query = `token=${encodeURIComponent(token)}`;
  fill(view, h("h1", {}, "Confirming your payment"), h("p", {}, "Your bank answered; checking the payment…"));
  app.announce("Confirming with your bank…");
  for (let i = 0; i < 40; i += 1) {
    const current = await app.api.get(`/orders/${encodeURIComponent(orderId)}`, { orderToken: token });
    if (current.status !== "PENDING_PAYMENT") {
      if (["PAYMENT_FAILED", "CANCELLED", "CANCELLING"].includes(current.status)) break;
      app.navigate(`#/confirmation/${orderId}?${query}`);
      return;
    }
    if (failed && i >= 2) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const order = await app.api.get(`/orders/${encodeURIComponent(orderId)}`, { orderToken: token });
  const lines = JSON.parse(sessionStorage.getItem(`shopstack.lines.${orderId}`) || "null") || order.lines;
  await app.cart.reopenWith(lines.map((l) => ({ sku: l.sku, quantity: l.quantity }))).catch(() => null);
  app.navigate("#/checkout", { message: "Your bank did not confirm the payment, so nothing was charged. Try again or use another card.", kind: "error" });
}
