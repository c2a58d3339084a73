// The storefront: one page, hash routes (#/product/SKU, #/cart, ...) so S3 and CloudFront serve
// index.html alone and need no rewrites.
import "./styles.css";
import { createApi } from "../shared/api.js";
import { createCognito } from "../shared/cognito.js";
import { loadConfig } from "../shared/config.js";
import { announce, focusHeading, fill, h } from "../shared/dom.js";
import { createSession } from "../shared/session.js";
import { createCartStore } from "./cart-store.js";
import { accountPage } from "./pages/account.js";
import { confirmPage, signInPage, signOut, signUpPage } from "./pages/auth.js";
import { cartPage } from "./pages/cart.js";
import { catalogPage } from "./pages/catalog.js";
import { authenticatePage, checkoutPage } from "./pages/checkout.js";
import { invoicePage, orderPage, trackPage } from "./pages/order.js";
import { productPage } from "./pages/product.js";

const ROUTES = [
  [/^\/?$/, catalogPage],
  [/^\/product\/([^/]+)$/, productPage],
  [/^\/cart$/, cartPage],
  [/^\/checkout$/, checkoutPage],
  [/^\/authenticate\/([^/]+)$/, authenticatePage],
  [/^\/confirmation\/([^/]+)$/, (app, params, id, view) => orderPage(app, params, id, view, { confirmation: true })],
  [/^\/order\/([^/]+)$/, orderPage],
  [/^\/invoice\/([^/]+)$/, invoicePage],
  [/^\/track$/, trackPage],
  [/^\/signin$/, signInPage],
  [/^\/signup$/, signUpPage],
  [/^\/confirm$/, confirmPage],
  [/^\/signout$/, signOut],
  [/^\/account$/, accountPage],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

function renderNav(app) {
  const { path } = parseHash();
  const user = app.session.user();
  const count = app.cart.count();
  const link = (href, text, match) =>
    h("li", {}, h("a", { href, "aria-current": match ? "page" : null }, text));
  const items = [
    link("#/", "Shop", path === "/" || path === "" || path.startsWith("/product")),
    link("#/cart", count ? `Cart (${count} item${count === 1 ? "" : "s"})` : "Cart", path === "/cart"),
  ];
  if (user && !user.expired) {
    items.push(link("#/account", "Account", path === "/account"));
    items.push(h("li", {}, h("button", { type: "button", class: "secondary", onclick: () => signOut(app) }, "Sign out")));
  } else {
    items.push(link("#/track", "Track an order", path === "/track"));
    items.push(link("#/signin", "Sign in", path === "/signin"));
    items.push(link("#/signup", "Create account", path === "/signup"));
  }
  document.getElementById("nav").replaceChildren(h("ul", {}, items));
}

/** An expired ID token is renewed with the refresh token; failing that, the shopper is told. */
async function renewSession(app) {
  const tokens = app.session.tokens();
  if (!tokens || !app.session.user()?.expired) return;
  try {
    if (!tokens.refreshToken) throw new Error("no refresh token");
    app.session.save(await app.cognito.refresh(tokens.refreshToken));
  } catch {
    app.session.clear();
    announce("Your session has expired. Please sign in again.", "error");
  }
}

async function route(app, { keepMessage = false } = {}) {
  const { path, params } = parseHash();
  if (path === "main") return;
  const main = document.getElementById("main");
  if (!keepMessage && !app.keepMessageOnce) announce("");
  app.keepMessageOnce = false;
  await renewSession(app);
  renderNav(app);
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const args = match.slice(1).map(decodeURIComponent);
    const view = h("div", { class: "page" }, h("p", {}, "Loading…"));
    fill(main, view);
    try {
      await page(app, params, ...args, view);
    } catch (error) {
      fill(view, h("h1", {}, "Something went wrong"), h("p", {}, error.message));
      app.error(error);
    }
    const heading = main.querySelector("h1");
    document.title = heading ? `${heading.textContent} · shopstack outdoor` : "shopstack outdoor";
    if (!app.skipFocus) focusHeading(main);
    app.skipFocus = false;
    return;
  }
  fill(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
  focusHeading(main);
}

async function start() {
  const main = document.getElementById("main");
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    fill(main, h("h1", {}, "The shop is unavailable"), h("p", {}, error.message));
    return;
  }
  const session = createSession();
  const app = {
    config,
    session,
    cognito: createCognito(config),
    navigate(hash, { message, kind = "info" } = {}) {
      if (message) {
        announce(message, kind);
        app.keepMessageOnce = true;
      }
      if (location.hash === hash) route(app, { keepMessage: Boolean(message) });
      else location.hash = hash;
    },
    announce,
    /** Show an error in the live region; a 401 while signed in signs out first. */
    error(error) {
      announce(error.message, "error");
    },
    refreshNav: () => renderNav(app),
  };
  app.api = createApi({
    base: config.apiBase,
    idToken: () => session.idToken(),
    onUnauthorized(error) {
      if (error.code === "account_erased" || session.tokens()) {
        session.clear();
        renderNav(app);
      }
    },
  });
  app.cart = createCartStore(app.api);
  app.cart.onChange(() => renderNav(app));
  document.querySelector("[data-skip]").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener("hashchange", () => route(app));
  try {
    await app.cart.load();
  } catch (error) {
    app.error(error);
  }
  await route(app);
  window.shopstack = { ready: true };
}

start();
