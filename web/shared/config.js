/**
 * Runtime configuration, fetched once from `/config.json` (written by the stack, never built in):
 *
 *   { apiBase: "/v1", region, userPoolId, userPoolClientId, cognitoEndpoint,
 *     payments: { mode: "stripe" | "emulator", publishableKey, emulatorUrl } }
 *
 * `loadConfig()` returns the same promise on every call.
 */
let pending = null;

export function loadConfig(url = "/config.json") {
  if (!pending) {
    pending = fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }).then(async (response) => {
      if (!response.ok) throw new Error(`Could not load the shop's configuration (${response.status}).`);
      const config = await response.json();
      return { apiBase: "/v1", payments: { mode: "stripe" }, ...config };
    });
  }
  return pending;
}
