// Messages for the whole console: one polite live region for outcomes, one alert region for
// errors (the problem+json `detail`, with the correlation id to quote to support).

const statusEl = () => document.getElementById("status");
const alertEl = () => document.getElementById("alert");

export function notify(message) {
  alertEl().textContent = "";
  statusEl().textContent = "";
  // A fresh text node, so the same message twice is announced twice.
  requestAnimationFrame(() => {
    statusEl().textContent = message;
  });
}

export function fail(error) {
  statusEl().textContent = "";
  let message = error && error.message ? error.message : String(error);
  // web/shared's ApiError already lists a validation_error's fields in its message.
  const problem = (error && error.problem) || {};
  const errors = problem.code !== "validation_error" && Array.isArray(problem.errors) ? problem.errors : [];
  const fields = errors
    .map((e) => [e.field || e.loc || e.sku || "", e.message || e.msg || ""].filter(Boolean).join(": "))
    .filter(Boolean);
  if (fields.length) message += ` (${fields.join("; ")})`;
  if (error && error.correlationId) message += ` Reference: ${error.correlationId}.`;
  alertEl().textContent = message;
}

export function clearMessages() {
  statusEl().textContent = "";
  alertEl().textContent = "";
}
