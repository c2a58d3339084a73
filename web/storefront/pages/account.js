import { field, fill, h } from "../../shared/dom.js";
import { money, statusText, when } from "../../shared/format.js";

export async function accountPage(app, params, view) {
  const user = app.session.user();
  if (!user || user.expired || !app.session.idToken()) {
    if (user) app.session.clear();
    app.navigate("#/signin?next=%23%2Faccount", {
      message: user ? "Your session has expired. Please sign in again." : "Sign in to see your account.",
      kind: user ? "error" : "info",
    });
    return;
  }
  let me;
  let orders;
  try {
    [me, orders] = await Promise.all([app.api.get("/me"), app.api.get("/orders?limit=50")]);
  } catch (error) {
    if (error.status === 401) {
      app.session.clear();
      app.navigate("#/signin?next=%23%2Faccount", { message: error.message, kind: "error" });
      return;
    }
    throw error;
  }
  const items = orders.items || [];

  const profile = h("form", { "aria-labelledby": "profile-title", async onsubmit(event) {
    event.preventDefault();
    const data = new FormData(profile);
    const body = {
      name: String(data.get("name") || "").trim() || null,
      phone: String(data.get("phone") || "").trim() || null,
      addresses: me.addresses || [],
      marketingOptIn: data.get("marketingOptIn") === "on",
    };
    try {
      me = await app.api.put("/me", body);
      app.announce("Your profile is saved.", "success");
    } catch (error) {
      app.error(error);
    }
  } },
    h("h2", { id: "profile-title" }, "Profile"),
    h("p", {}, `Email: ${me.email}`),
    field("Name", { name: "name", autocomplete: "name", value: me.name || "" }),
    field("Phone", { name: "phone", type: "tel", autocomplete: "tel", value: me.phone || "" }),
    h("div", { class: "field inline" }, h("input", { type: "checkbox", id: "marketing", name: "marketingOptIn", checked: Boolean(me.marketingOptIn) }), h("label", { for: "marketing" }, "Email me news and offers")),
    h("button", { type: "submit" }, "Save profile"));

  const orderRows = items.map((o) => h("tr", {},
    h("td", {}, h("a", { href: `#/order/${o.orderId}` }, o.orderId.slice(0, 8))),
    h("td", {}, when(o.createdAt)),
    h("td", {}, statusText(o.status)),
    h("td", { class: "num" }, money(o.total))));
  const invoices = items.filter((o) => o.invoice);
  const returns = items.flatMap((o) => (o.returns || []).map((r) => ({ ...r, orderId: o.orderId })));

  const exportArea = h("div", {});
  const deleteArea = h("div", {});
  const askDelete = () => {
    fill(deleteArea, 
      h("p", { id: "delete-warning" }, "This erases your profile and signs you out for good. Orders are kept for accounting, without your personal details."),
      h("div", { class: "field inline" }, h("input", { type: "checkbox", id: "delete-confirm", "aria-describedby": "delete-warning" }), h("label", { for: "delete-confirm" }, "I understand that this cannot be undone")),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "danger", async onclick() {
          if (!deleteArea.querySelector("#delete-confirm").checked) {
            app.announce("Tick the box to confirm that you want to delete your account.", "error");
            deleteArea.querySelector("#delete-confirm").focus();
            return;
          }
          try {
            await app.api.del("/me");
            app.session.clear();
            app.cart.forget();
            app.navigate("#/", { message: "Your account is deleted.", kind: "success" });
          } catch (error) {
            app.error(error);
          }
        } }, "Delete my account permanently"),
        h("button", { type: "button", class: "secondary", onclick: () => { deleteArea.replaceChildren(); view.querySelector("#delete-start").focus(); } }, "Keep my account")));
    deleteArea.querySelector("#delete-confirm").focus();
  };

  fill(view, 
    h("h1", {}, "Your account"),
    profile,
    h("section", { "aria-labelledby": "orders-title" }, h("h2", { id: "orders-title" }, "Orders"),
      items.length
        ? h("table", {}, h("caption", { class: "visually-hidden" }, "Your orders, newest first"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Order"), h("th", { scope: "col" }, "Placed"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Total"))),
            h("tbody", {}, orderRows))
        : h("p", {}, "No orders yet. ", h("a", { href: "#/" }, "Start shopping"))),
    h("section", { "aria-labelledby": "invoices-title" }, h("h2", { id: "invoices-title" }, "Invoices"),
      invoices.length
        ? h("ul", {}, invoices.map((o) => h("li", {}, h("a", { href: `#/invoice/${o.orderId}` }, `Invoice ${o.invoice.invoiceNumber}`), ` · ${when(o.invoice.issuedAt)}`)))
        : h("p", {}, "Invoices appear here once an order is confirmed.")),
    h("section", { "aria-labelledby": "acct-returns-title" }, h("h2", { id: "acct-returns-title" }, "Returns"),
      returns.length
        ? h("ul", {}, returns.map((r) => h("li", {}, `Return ${r.returnId.slice(0, 8)} for `, h("a", { href: `#/order/${r.orderId}` }, `order ${r.orderId.slice(0, 8)}`), `: ${statusText(r.status)}`)))
        : h("p", {}, "No returns. To return items, open a delivered order and request a return.")),
    h("section", { "aria-labelledby": "data-title" }, h("h2", { id: "data-title" }, "Your data"),
      h("p", {}, "Download every record the shop holds about you, as JSON."),
      h("button", { type: "button", class: "secondary", async onclick() {
        try {
          const data = await app.api.get("/me/export");
          const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
          const link = h("a", { href: url, download: "shopstack-my-data.json", id: "export-link" }, "Download your data (JSON)");
          fill(exportArea, h("p", {}, link));
          app.announce("Your data export is ready to download.", "success");
          link.focus();
        } catch (error) {
          app.error(error);
        }
      } }, "Export my data"),
      exportArea),
    h("section", { "aria-labelledby": "delete-title" }, h("h2", { id: "delete-title" }, "Delete account"),
      h("button", { type: "button", class: "danger", id: "delete-start", onclick: askDelete }, "Delete my account…"),
      deleteArea),
  );
}
