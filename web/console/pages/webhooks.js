// Webhooks: register (the secret is shown once), list, enable, rotate the secret, delete; a
// subscription's deliveries with their attempts, and redeliver.
import { clear, field, form, h, table, timeEl } from "../dom.js";
import { api } from "../session.js";
import { fail, notify } from "../ui.js";

const badge = (status) => h("span", { class: `badge ${status}` }, status);

function secretBox(created, verb) {
  return h("div", { role: "region", "aria-label": "Signing secret", class: "secret-box" },
    h("p", {}, `${verb} The signing secret is shown this once: copy it now.`),
    h("p", { class: "secret", id: "webhook-secret" }, created.secret));
}

export async function webhooksPage(el, { refresh }) {
  const list = await api("GET", "/admin/webhooks");
  const created = h("div");
  const register = form(
    { "aria-labelledby": "webhook-legend", id: "webhook-form" },
    h("fieldset", {},
      h("legend", { id: "webhook-legend" }, "Register a webhook"),
      h("div", { class: "row" },
        field("URL", h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/shopstack", size: 40 }), "https to a public address"),
        field("Events", h("input", { name: "events", value: "*", required: true, size: 30 }), "Comma-separated event names, or * for all"),
        field("Description", h("input", { name: "description", maxlength: 500 })),
        h("button", { type: "submit" }, "Register"))),
    async (data, formEl) => {
      const events = String(data.get("events")).split(",").map((s) => s.trim()).filter(Boolean);
      const hook = await api("POST", "/admin/webhooks", { body: { url: String(data.get("url")).trim(), events, description: String(data.get("description") || "") } });
      await refresh();
      const box = document.getElementById("webhook-created");
      if (box) clear(box, secretBox(hook, `Registered ${hook.url}.`));
      notify(`Webhook registered for ${hook.url}. Copy its signing secret now: it is shown once.`);
      formEl.reset();
    },
    fail,
  );
  created.id = "webhook-created";
  const rows = list.items.map((w) =>
    h("tr", { dataset: { webhookId: w.webhookId } },
      h("td", {}, h("a", { href: `#/webhooks/${encodeURIComponent(w.webhookId)}` }, w.url)),
      h("td", {}, w.events.join(", ")),
      h("td", {}, w.description || ""),
      h("td", {}, badge(w.status), w.failingSince ? [" failing since ", timeEl(w.failingSince)] : null),
      h("td", {}, timeEl(w.createdAt))),
  );
  clear(el, h("h1", {}, "Webhooks"), register, created, table("Subscriptions", ["URL", "Events", "Description", "Status", "Created"], rows, { id: "webhooks-table" }));
}

export async function webhookPage(el, { args, refresh, go }) {
  const [webhookId] = args;
  const list = await api("GET", "/admin/webhooks");
  const hook = list.items.find((w) => w.webhookId === webhookId);
  if (!hook) {
    clear(el, h("p", {}, h("a", { href: "#/webhooks" }, "← Webhooks")), h("h1", {}, "Webhook not found"), h("p", {}, "It may have been deleted."));
    return;
  }
  const deliveries = await api("GET", `/admin/webhooks/${encodeURIComponent(webhookId)}/deliveries`, { query: { limit: 50 } });
  const secretArea = h("div");
  const act = (label, fn, cls = "secondary") =>
    h("button", { type: "button", class: cls, onclick: async (event) => {
      event.target.disabled = true;
      try { await fn(); } catch (error) { fail(error); } finally { event.target.disabled = false; }
    } }, label);
  const actions = h("div", { class: "row" },
    hook.status !== "ACTIVE" ? act("Enable", async () => { await api("POST", `/admin/webhooks/${encodeURIComponent(webhookId)}/enable`); await refresh(); notify("The webhook takes deliveries again."); }) : null,
    act("Rotate secret", async () => {
      const rotated = await api("POST", `/admin/webhooks/${encodeURIComponent(webhookId)}/rotate-secret`);
      clear(secretArea, secretBox(rotated, "The secret is rotated; the old one keeps signing for 24 hours."));
      notify("New signing secret shown below: copy it now.");
    }),
    act("Delete", async () => {
      if (!window.confirm(`Delete the webhook to ${hook.url}?`)) return;
      await api("DELETE", `/admin/webhooks/${encodeURIComponent(webhookId)}`);
      go("/webhooks");
      notify("The webhook is deleted.");
    }, "danger"));
  const rows = deliveries.items.map((d) => {
    const last = d.attempts[d.attempts.length - 1];
    return h("tr", { dataset: { deliveryId: d.deliveryId } },
      h("td", {}, d.eventType), h("td", {}, badge(d.status)), h("td", { class: "num" }, d.attempts.length),
      h("td", {}, last ? [timeEl(last.at), ` → ${last.statusCode ?? "no answer"}${last.error ? ` (${last.error})` : ""}, ${last.latencyMs} ms`] : "—"),
      h("td", {}, d.nextAttemptAt ? timeEl(d.nextAttemptAt) : "—"),
      h("td", {}, act("Redeliver", async () => {
        await api("POST", `/admin/webhooks/${encodeURIComponent(webhookId)}/deliveries/${encodeURIComponent(d.deliveryId)}/redeliver`);
        notify(`Delivery of ${d.eventType} is being attempted again.`);
        setTimeout(() => refresh().catch(fail), 1500);
      })));
  });
  clear(el,
    h("p", {}, h("a", { href: "#/webhooks" }, "← Webhooks")),
    h("h1", {}, "Webhook ", h("span", { class: "muted" }, hook.url)),
    h("p", {}, "Status: ", badge(hook.status), ` · events: ${hook.events.join(", ")}${hook.description ? ` · ${hook.description}` : ""}`),
    actions, secretArea,
    table("Deliveries, newest first", ["Event", "Status", "Attempts", "Last attempt", "Next attempt", "Action"], rows, { id: "deliveries-table" }));
}
