// Analytics: sales per day, top products and the funnel, drawn as inline SVG (../charts.js), each
// with the same numbers in a table. Money is per currency, never summed across currencies.
import { columnChart, barChart, funnelChart } from "../charts.js";
import { clear, daysAgo, field, form, h, isoDay, minor, select, table } from "../dom.js";
import { api } from "../session.js";
import { fail } from "../ui.js";

function eachDay(from, to) {
  const days = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (d <= end && days.length < 400) {
    days.push(isoDay(d));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return days;
}

const FUNNEL = [
  ["cartsCreated", "Carts created"], ["cartsWithItems", "Carts with items"], ["checkoutsStarted", "Checkouts started"],
  ["ordersPaid", "Orders paid"], ["ordersShipped", "Orders shipped"], ["ordersDelivered", "Orders delivered"],
];

export async function analyticsPage(el, { params, go }) {
  const to = params.get("to") || isoDay(new Date());
  const from = params.get("from") || daysAgo(29);
  const metric = params.get("metric") || "orders";
  const by = params.get("by") || "revenue";
  const controls = form(
    { "aria-label": "Report range" },
    h("div", { class: "row" },
      field("From", h("input", { type: "date", name: "from", value: from, required: true })),
      field("To", h("input", { type: "date", name: "to", value: to, required: true })),
      field("Sales per day shows", select("metric", [["orders", "Orders"], ["revenue", "Revenue"], ["units", "Units"], ["netRevenue", "Net revenue"]], metric)),
      field("Top products by", select("by", [["revenue", "Revenue"], ["units", "Units"]], by)),
      h("button", { type: "submit" }, "Show")),
    async (data) => go(`/analytics?${new URLSearchParams({ from: data.get("from"), to: data.get("to"), metric: data.get("metric"), by: data.get("by") })}`),
    fail,
  );
  clear(el, h("h1", {}, "Analytics"), controls, h("p", { "aria-busy": "true" }, "Loading reports…"));
  const range = { from, to };
  const [sales, products, funnel] = await Promise.all([
    api("GET", "/admin/analytics/sales", { query: range }),
    api("GET", "/admin/analytics/products", { query: { ...range, by, limit: 10 } }),
    api("GET", "/admin/analytics/funnel", { query: range }),
  ]);
  const days = eachDay(sales.from, sales.to);
  const byDay = new Map(sales.days.map((d) => [d.date, d.currencies || {}]));
  const currencies = [...new Set([...Object.keys(sales.totals || {}), ...sales.days.flatMap((d) => Object.keys(d.currencies || {}))])];
  if (!currencies.length) currencies.push("usd");
  const isMoney = metric === "revenue" || metric === "netRevenue";
  const metricLabel = { orders: "Orders", revenue: "Revenue", units: "Units", netRevenue: "Net revenue" }[metric] || metric;

  const salesSections = currencies.map((cur) => {
    const totals = (sales.totals || {})[cur] || {};
    const points = days.map((date) => {
      const counts = (byDay.get(date) || {})[cur] || {};
      return { key: date, label: date, short: date.slice(5), value: Number(counts[metric] || 0), counts };
    });
    const fmt = isMoney ? (v) => minor(Math.round(v), cur) : (v) => String(Math.round(v * 100) / 100);
    return h("section", { "aria-labelledby": `sales-${cur}-h`, class: "sales", dataset: { currency: cur } },
      h("h2", { id: `sales-${cur}-h` }, `Sales per day (${cur.toUpperCase()})`),
      h("ul", { class: "cards", "aria-label": `Totals ${from} to ${to}` },
        h("li", {}, "Orders", h("strong", { dataset: { total: "orders" } }, totals.orders || 0)),
        h("li", {}, "Revenue", h("strong", {}, minor(totals.revenue || 0, cur))),
        h("li", {}, "Refunds", h("strong", {}, minor(totals.refunds || 0, cur))),
        h("li", {}, "Net revenue", h("strong", {}, minor(totals.netRevenue || 0, cur))),
        h("li", {}, "Average order", h("strong", {}, minor(totals.averageOrderValue || 0, cur))),
        h("li", {}, "New / returning customers", h("strong", {}, `${totals.newCustomers || 0} / ${totals.returningCustomers || 0}`))),
      columnChart({
        title: `${metricLabel} per day in ${cur.toUpperCase()}, ${from} to ${to}`,
        description: `${points.length} days; ${points.filter((p) => p.value > 0).length} with sales. The table below lists every day.`,
        points,
        format: fmt,
        name: "sales",
      }),
      h("details", {},
        h("summary", {}, "Sales per day as a table"),
        table(`Sales per day (${cur.toUpperCase()})`, ["Day", "Orders", "Units", "Revenue", "Refunds", "Net revenue"],
          points.filter((p) => Object.keys(p.counts).length).map((p) =>
            h("tr", {}, h("td", {}, p.label), h("td", { class: "num" }, p.counts.orders || 0), h("td", { class: "num" }, p.counts.units || 0), h("td", { class: "num" }, minor(p.counts.revenue || 0, cur)), h("td", { class: "num" }, minor(p.counts.refunds || 0, cur)), h("td", { class: "num" }, minor(p.counts.netRevenue || 0, cur)))))));
  });

  const productSections = Object.entries(products.currencies || {}).map(([cur, rows]) => {
    const fmt = by === "revenue" ? (v) => minor(v, cur) : String;
    return h("section", { "aria-labelledby": `top-${cur}-h`, class: "top-products" },
      h("h2", { id: `top-${cur}-h` }, `Top products by ${by} (${cur.toUpperCase()})`),
      barChart({ title: `Top ${rows.length} products by ${by}`, description: "Bars in order, largest first; the table below has the numbers.", rows: rows.map((r) => ({ key: r.sku, label: r.sku, value: r[by] })), format: fmt, name: "top-products" }),
      h("details", {}, h("summary", {}, "Top products as a table"),
        table(`Top products (${cur.toUpperCase()})`, ["SKU", "Units", "Revenue", "Refunds", "Returned units", "Return rate"],
          rows.map((r) => h("tr", {}, h("td", {}, r.sku), h("td", { class: "num" }, r.units), h("td", { class: "num" }, minor(r.revenue, cur)), h("td", { class: "num" }, minor(r.refunds || 0, cur)), h("td", { class: "num" }, r.returnedUnits || 0), h("td", { class: "num" }, `${Math.round((r.returnRate || 0) * 1000) / 10}%`))))));
  });
  if (!productSections.length) productSections.push(h("section", { "aria-labelledby": "top-h" }, h("h2", { id: "top-h" }, "Top products"), h("p", {}, "No product sold in this range.")));

  const steps = FUNNEL.map(([key, label]) => ({ key, label, value: Number(funnel[key] || 0) }));
  const funnelSection = h("section", { "aria-labelledby": "funnel-h", class: "funnel" },
    h("h2", { id: "funnel-h" }, "Funnel"),
    h("p", {}, `Conversion (orders paid per cart created): ${Math.round((funnel.conversionRate || 0) * 1000) / 10}%. Abandoned carts: ${funnel.abandonedCarts || 0}.`),
    funnelChart({ title: `Funnel, ${from} to ${to}`, description: "From carts created to orders delivered; each step's share of the step before in brackets.", steps }),
    h("details", {}, h("summary", {}, "Funnel as a table"),
      table("Funnel", ["Step", "Count"], steps.map((st) => h("tr", {}, h("td", {}, st.label), h("td", { class: "num" }, st.value))))));

  clear(el, h("h1", {}, "Analytics"), controls, ...salesSections, ...productSections, funnelSection);
}
