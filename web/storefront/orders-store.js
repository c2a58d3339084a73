// Orders a guest placed from this browser: id and order token, so "Track an order" can list them.
const KEY = "shopstack.orders";

export function rememberOrder(orderId, orderToken) {
  const orders = recentOrders().filter((o) => o.orderId !== orderId);
  orders.unshift({ orderId, orderToken, at: new Date().toISOString() });
  localStorage.setItem(KEY, JSON.stringify(orders.slice(0, 10)));
}

export function recentOrders() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "[]");
  } catch {
    return [];
  }
}

export function tokenFor(orderId) {
  return recentOrders().find((o) => o.orderId === orderId)?.orderToken || null;
}

export function orderLink(orderId, orderToken) {
  return `#/order/${encodeURIComponent(orderId)}${orderToken ? `?token=${encodeURIComponent(orderToken)}` : ""}`;
}
