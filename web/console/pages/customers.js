// Customers: search by email, a customer's profile, stats and timeline, and logging an interaction.
import { clear, field, form, h, money, select, table, timeEl } from "../dom.js";
import { api } from "../session.js";
import { fail, notify } from "../ui.js";

export async function customersPage(el, { params, go }) {
  const email = params.get("email") || "";
  const search = form(
    { role: "search", "aria-label": "Search customers" },
    h("div", { class: "row" }, field("Email", h("input", { type: "search", name: "email", value: email, minlength: 3, required: true, autocomplete: "off" }), "At least 3 characters"), h("button", { type: "submit" }, "Search")),
    async (data) => go(`/customers?email=${encodeURIComponent(String(data.get("email")).trim())}`),
    fail,
  );
  clear(el, h("h1", {}, "Customers"), search);
  if (!email) return;
  const result = await api("GET", "/admin/customers", { query: { email } });
  const rows = result.items.map((c) =>
    h("tr", {}, h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(c.customerId)}` }, c.email || c.customerId)), h("td", {}, c.name || ""), h("td", {}, timeEl(c.createdAt))),
  );
  el.append(table(`Customers matching “${email}”`, ["Email", "Name", "Since"], rows, { id: "customers-table" }));
}

const SKIP = new Set(["type", "at"]);
function describe(entry) {
  return Object.entries(entry)
    .filter(([k, v]) => !SKIP.has(k) && v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${v && typeof v === "object" ? ("amount" in v ? money(v) : JSON.stringify(v)) : v}`)
    .join("; ");
}

export async function customerPage(el, { args, refresh }) {
  const [customerId] = args;
  const view = await api("GET", `/admin/customers/${encodeURIComponent(customerId)}`);
  const p = view.profile || {};
  const interaction = form(
    { "aria-labelledby": "interaction-legend", id: "interaction-form" },
    h("fieldset", {},
      h("legend", { id: "interaction-legend" }, "Log an interaction"),
      h("div", { class: "row" }, field("Channel", select("channel", [["email", "Email"], ["phone", "Phone"], ["chat", "Chat"], ["note", "Note"]], "note"))),
      field("Summary", h("textarea", { name: "summary", rows: 3, required: true, maxlength: 2000 })),
      h("button", { type: "submit" }, "Log interaction")),
    async (data) => {
      await api("POST", `/admin/customers/${encodeURIComponent(customerId)}/interactions`, {
        body: { channel: String(data.get("channel")), summary: String(data.get("summary")).trim() },
      });
      await refresh();
      notify("The interaction is logged.");
    },
    fail,
  );
  clear(
    el,
    h("p", {}, h("a", { href: "#/customers" }, "← Customer search")),
    h("h1", {}, p.name || p.email || customerId),
    view.status === "ERASED" ? h("p", {}, `This customer's personal data was erased${view.erasedAt ? ` on ${view.erasedAt.slice(0, 10)}` : ""}.`) : null,
    h("dl", { class: "summary" },
      h("dt", {}, "Email"), h("dd", {}, p.email || "—"),
      h("dt", {}, "Phone"), h("dd", {}, p.phone || "—"),
      h("dt", {}, "Customer since"), h("dd", {}, p.createdAt ? timeEl(p.createdAt) : "—"),
      h("dt", {}, "Orders"), h("dd", {}, view.stats.orders),
      h("dt", {}, "Lifetime value"), h("dd", {}, money(view.stats.lifetimeValue)),
      h("dt", {}, "Refunded"), h("dd", {}, money(view.stats.refunded)),
      h("dt", {}, "Marketing"), h("dd", {}, p.marketingOptIn ? "opted in" : "not opted in")),
    view.status === "ERASED" ? null : interaction,
    table("Timeline, newest first", ["When", "What", "Details"], (view.timeline || []).map((e) =>
      h("tr", {}, h("td", {}, timeEl(e.at)), h("td", {}, String(e.type).replace(/_/g, " ")), h("td", {}, describe(e))),
    ), { id: "timeline-table" }),
  );
}
