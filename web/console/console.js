// The staff ops console: sign-in, then a hash-routed single page per section. Plain ES modules,
// bundled by web/build.mjs into /assets/console.js and /assets/console.css.
import "./console.css";
import { clear, field, form, h } from "./dom.js";
import { ApiError, api, config, currentUser, signIn, signOut, whenUnauthorized } from "./session.js";
import { clearMessages, fail, notify } from "./ui.js";
import { ordersPage, orderPage } from "./pages/orders.js";
import { inventoryPage } from "./pages/inventory.js";
import { productsPage } from "./pages/products.js";
import { customersPage, customerPage } from "./pages/customers.js";
import { analyticsPage } from "./pages/analytics.js";
import { webhooksPage, webhookPage } from "./pages/webhooks.js";
import { operationsPage } from "./pages/operations.js";

const main = () => document.getElementById("main");

const routes = [
  [/^\/orders\/([^/]+)$/, orderPage, "Order"],
  [/^\/orders$/, ordersPage, "Orders"],
  [/^\/inventory$/, inventoryPage, "Inventory"],
  [/^\/products$/, productsPage, "Products"],
  [/^\/customers\/([^/]+)$/, customerPage, "Customer"],
  [/^\/customers$/, customersPage, "Customers"],
  [/^\/analytics$/, analyticsPage, "Analytics"],
  [/^\/webhooks\/([^/]+)$/, webhookPage, "Webhook"],
  [/^\/webhooks$/, webhooksPage, "Webhooks"],
  [/^\/operations$/, operationsPage, "Alarms and metrics"],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/orders";
  const [path, search = ""] = raw.split("?");
  return { path, params: new URLSearchParams(search) };
}

export function go(path) {
  location.hash = `#${path}`;
}

function renderAccount(user) {
  const account = document.getElementById("account");
  const nav = document.getElementById("nav");
  if (!user) {
    nav.hidden = true;
    clear(account);
    return;
  }
  nav.hidden = false;
  clear(
    account,
    h("span", { class: "muted" }, "Signed in as ", h("strong", {}, user.email)),
    h("button", { type: "button", class: "secondary", onclick: () => { signOut(); notify("You are signed out."); route(); } }, "Sign out"),
  );
}

function signInPage(reason) {
  renderAccount(null);
  const el = main();
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  clear(
    el,
    h("h1", {}, "Staff sign-in"),
    reason ? h("p", {}, reason) : null,
    form(
      { "aria-label": "Staff sign-in" },
      [field("Email", email), field("Password", password), h("button", { type: "submit" }, "Sign in")],
      async (data) => {
        await signIn(String(data.get("email")).trim(), String(data.get("password")));
        notify("Signed in.");
        await route();
      },
      fail,
    ),
  );
  document.title = "Sign in · shopstack ops console";
  email.focus();
}

function forbiddenPage(user) {
  renderAccount(user);
  document.getElementById("nav").hidden = true;
  clear(
    main(),
    h("h1", {}, "This console is for staff"),
    h("p", {}, `You are signed in as ${user.email}, which is not a member of the staff group. Sign out and sign in with a staff account.`),
  );
  document.title = "For staff only · shopstack ops console";
}

let staffChecked = null; // the token whose admin access was confirmed by the API

async function route() {
  const user = currentUser();
  if (!user) {
    signInPage();
    return;
  }
  if (staffChecked !== user.token) {
    try {
      await api("GET", "/admin/webhooks");
      staffChecked = user.token;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        fail(error);
        forbiddenPage(user);
        return;
      }
      if (error instanceof ApiError && error.status === 401) return; // whenUnauthorized shows sign-in
      fail(error);
    }
  }
  renderAccount(user);
  const { path, params } = parseHash();
  const match = routes.find(([pattern]) => pattern.test(path));
  if (!match) {
    go("/orders");
    return;
  }
  const [pattern, page, title] = match;
  const args = path.match(pattern).slice(1).map(decodeURIComponent);
  for (const link of document.querySelectorAll("#nav a")) {
    const section = link.getAttribute("href").slice(1);
    if (path === section || path.startsWith(`${section}/`)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${title} · shopstack ops console`;
  // Each visit renders into a view of its own: a page still loading when staff move on writes
  // into a detached view, never over the next page.
  const el = h("div", { class: "view" }, h("p", { "aria-busy": "true" }, "Loading…"));
  clear(main(), el);
  try {
    await page(el, { args, params, go, refresh: route });
  } catch (error) {
    if (!el.isConnected) return;
    clear(el, h("h1", {}, title), h("p", {}, "This page could not be loaded."));
    fail(error);
  }
}

whenUnauthorized(() => {
  signOut();
  staffChecked = null;
  signInPage("Your session has expired. Sign in again.");
  fail(new Error("Your session has expired. Sign in again."));
});

let lastPath = null;
window.addEventListener("hashchange", () => {
  const { path } = parseHash();
  if (path !== lastPath) clearMessages();
  lastPath = path;
  route().then(() => main().focus());
});

config()
  .then(() => {
    lastPath = parseHash().path;
    return route();
  })
  .catch((error) => {
    clear(main(), h("h1", {}, "The console could not start"));
    fail(error);
  });
