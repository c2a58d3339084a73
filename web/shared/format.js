/** Money and dates for display. Money is `{amount: <minor units>, currency}` as the API sends it. */

const DIGITS = { jpy: 0, krw: 0 };

export function money(value) {
  if (!value) return "";
  const currency = (value.currency || "usd").toLowerCase();
  const digits = DIGITS[currency] ?? 2;
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(
    value.amount / 10 ** digits,
  );
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const STATUS_TEXT = {
  PENDING_PAYMENT: "Awaiting payment",
  PAID: "Paid",
  CONFIRMED: "Confirmed",
  SHIPPED: "Shipped",
  DELIVERED: "Delivered",
  PAYMENT_FAILED: "Payment failed",
  CANCELLING: "Cancelling",
  CANCELLED: "Cancelled",
  RETURN_REQUESTED: "Return requested",
  REFUNDING: "Refunding",
  PARTIALLY_REFUNDED: "Partially refunded",
  REFUNDED: "Refunded",
  REQUESTED: "Requested",
  RECEIVED: "Received",
  REJECTED: "Rejected",
};

export const statusText = (status) => STATUS_TEXT[status] || status;
