// Alarms and metrics. The local cloud serves them at /_localcloud/alarms and /_localcloud/metrics;
// on AWS those paths do not exist and the page points to the stage's CloudWatch dashboard.
import { clear, h, table, timeEl } from "../dom.js";
import { api, config } from "../session.js";

// The local cloud's own paths sit at the root of the origin that serves the API.
function localBase(apiBase) {
  return /^https?:\/\//.test(apiBase || "") ? new URL(apiBase).origin : "";
}

async function local(base, path, query) {
  try {
    return await api("GET", path, { base, query });
  } catch {
    return null;
  }
}

export async function operationsPage(el, { refresh }) {
  const cfg = await config();
  const base = localBase(cfg.apiBase);
  const [alarms, metrics] = await Promise.all([local(base, "/_localcloud/alarms"), local(base, "/_localcloud/metrics", { points: 0 })]);
  const dashboard = `shopstack-${cfg.stage || "<stage>"}`;
  if (!alarms && !metrics) {
    clear(el, h("h1", {}, "Alarms and metrics"),
      h("p", {}, "Alarms and metrics live in Amazon CloudWatch: open the CloudWatch dashboard ", h("strong", {}, dashboard),
        cfg.region ? ` in ${cfg.region}` : "", ", and its alarms under CloudWatch › Alarms. Alarm notifications go to the stage's alarm topic."),
      h("p", { class: "muted" }, "(On a laptop, the local cloud serves them here.)"));
    return;
  }
  const sections = [h("h1", {}, "Alarms and metrics"), h("p", { class: "muted" }, `Served by the local cloud. On AWS: the CloudWatch dashboard ${dashboard}.`),
    h("button", { type: "button", class: "secondary", onclick: () => refresh() }, "Refresh")];
  if (alarms) {
    const order = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
    const list = [...(alarms.alarms || [])].sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || a.name.localeCompare(b.name));
    const firing = list.filter((a) => a.state === "ALARM").length;
    sections.push(h("section", { "aria-labelledby": "alarms-h" },
      h("h2", { id: "alarms-h" }, "Alarms"),
      h("p", {}, `${firing} of ${list.length} alarms in ALARM.`),
      table("Alarms, firing first", ["Alarm", "State", "Metric", "Rule", "Since", "Reason"], list.map((a) =>
        h("tr", { dataset: { alarm: a.name } },
          h("td", {}, a.name), h("td", {}, h("span", { class: `badge ${a.state}` }, a.state)),
          h("td", {}, a.metric || ""), h("td", {}, `${a.statistic || ""} ${a.comparison || ""} ${a.threshold ?? ""}`.trim()),
          h("td", {}, a.lastChange ? timeEl(a.lastChange) : ""), h("td", {}, a.reason || ""))), { id: "alarms-table" })));
  } else {
    sections.push(h("p", {}, "The local cloud is not evaluating alarms right now."));
  }
  if (metrics) {
    const list = [...(metrics.metrics || [])].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    const dims = (d) => Object.entries(d || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    const num = (v) => (typeof v === "number" ? String(Math.round(v * 100) / 100) : "");
    sections.push(h("section", { "aria-labelledby": "metrics-h" },
      h("h2", { id: "metrics-h" }, "Metrics"),
      table(`${list.length} metrics since the local cloud started`, ["Namespace", "Metric", "Dimensions", "Unit", "Samples", "Sum", "Min", "Max"], list.map((m) =>
        h("tr", {}, h("td", {}, m.namespace), h("td", {}, m.name), h("td", {}, dims(m.dimensions)), h("td", {}, m.unit || ""),
          h("td", { class: "num" }, m.count), h("td", { class: "num" }, num(m.sum)), h("td", { class: "num" }, num(m.minimum)), h("td", { class: "num" }, num(m.maximum)))), { id: "metrics-table" })));
  }
  clear(el, ...sections);
}
