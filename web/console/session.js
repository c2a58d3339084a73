// The console's session, on the shared browser modules (web/shared): the runtime config
// (/config.json), the staff member's Cognito ID token (sessionStorage: gone when the tab closes)
// and the API calls made with it. Errors are web/shared's ApiError, whose message is the
// problem+json `detail`.
import { ApiError, createApi } from "../shared/api.js";
import { createCognito } from "../shared/cognito.js";
import { loadConfig } from "../shared/config.js";
import { createSession } from "../shared/session.js";

export { ApiError };

const session = createSession("shopstack.console", globalThis.sessionStorage);

export const config = () => loadConfig();

export function currentUser() {
  const token = session.idToken();
  if (!token) return null;
  const user = session.user();
  return { token, email: (user && user.email) || "", groups: (user && user.groups) || [] };
}

export function signOut() {
  session.clear();
}

export async function signIn(email, password) {
  const cognito = createCognito(await config());
  session.save(await cognito.signIn(email, password));
  return currentUser();
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

const clients = new Map();
async function client(base) {
  const cfg = await config();
  const root = base !== undefined ? base : cfg.apiBase || "";
  if (!clients.has(root)) {
    clients.set(root, createApi({ base: root, idToken: () => session.idToken(), onUnauthorized: (error) => onUnauthorized(error) }));
  }
  return clients.get(root);
}

// api("GET", "/admin/orders", {query: {status}}) -> parsed JSON; throws ApiError.
export async function api(method, path, { body, query, headers = {}, base } = {}) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") search.set(k, v);
  const target = search.toString() ? `${path}?${search}` : path;
  const http = await client(base);
  const idempotencyKey = headers["Idempotency-Key"];
  const payload = body === undefined && method === "POST" ? {} : body;
  return http.request(method, target, payload, { idempotencyKey });
}
