/**
 * A small client for the shopstack HTTP API (docs/api.md).
 *
 *   const api = createApi({ base: config.apiBase, idToken: () => session.idToken(), onUnauthorized });
 *   const cart = await api.post("/carts");
 *   await api.put(`/carts/${id}/items/${sku}`, { quantity: 1 }, { cartToken });
 *   await api.post(`/carts/${id}/checkout`, body, { cartToken, idempotencyKey: newIdempotencyKey() });
 *
 * Every call sends and receives JSON. A problem+json answer (or any non-2xx) throws an
 * `ApiError` whose `message` is the problem's `detail`, readable as it is.
 */

export class ApiError extends Error {
  /** @param {number} status @param {object} problem the problem+json body (or {}) */
  constructor(status, problem, correlationId) {
    super(problemMessage(status, problem));
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || null;
    this.correlationId = correlationId || null;
  }
}

const FALLBACK = {
  400: "The request was not understood.",
  401: "Your session has expired. Please sign in again.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  409: "That conflicts with the current state. Please reload and try again.",
  413: "That is too large.",
  422: "Some fields are not valid.",
  429: "Too many requests. Please wait a moment and try again.",
  503: "The shop is busy right now. Please try again in a moment.",
};

/** A readable sentence for a problem: its `detail`, with field errors when there are some. */
export function problemMessage(status, problem = {}) {
  if (status === 401 && problem.code !== "account_erased") return FALLBACK[401];
  let message = problem.detail || problem.message || problem.title || FALLBACK[status] || `Something went wrong (${status}).`;
  if (problem.code === "validation_error" && Array.isArray(problem.errors) && problem.errors.length) {
    const fields = problem.errors.map((e) => `${e.field || e.loc || "field"}: ${e.message || e.msg || "invalid"}`);
    message = `${message} (${fields.join("; ")})`;
  }
  return message;
}

/** A fresh Idempotency-Key: keep it for retries of the same request, make a new one for a new request. */
export function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * @param {object} options
 * @param {string} options.base the API's base path or URL ("/v1")
 * @param {() => string | null} [options.idToken] the signed-in user's Cognito ID token, if any
 * @param {(error: ApiError) => void} [options.onUnauthorized] called on every 401 sent with a token
 */
export function createApi({ base, idToken = () => null, onUnauthorized = () => {} }) {
  const root = base.replace(/\/$/, "");

  async function request(method, path, body, { cartToken, orderToken, idempotencyKey, auth = true } = {}) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = auth ? idToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (cartToken) headers["X-Cart-Token"] = cartToken;
    if (orderToken) headers["X-Order-Token"] = orderToken;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let response;
    try {
      response = await fetch(root + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, { detail: "The shop could not be reached. Check your connection and try again." });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { detail: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data || {}, response.headers.get("X-Correlation-Id"));
      if (response.status === 401 && token) onUnauthorized(error);
      throw error;
    }
    return data;
  }

  return {
    request,
    get: (path, options) => request("GET", path, undefined, options),
    post: (path, body, options) => request("POST", path, body === undefined ? {} : body, options),
    put: (path, body, options) => request("PUT", path, body, options),
    del: (path, options) => request("DELETE", path, undefined, options),
  };
}
