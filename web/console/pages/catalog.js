// Every product the catalog lists (GET /products, all pages).
import { api } from "../session.js";

export async function allProducts() {
  const items = [];
  let cursor = null;
  do {
    const page = await api("GET", "/products", { query: { limit: 100, cursor } });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < 2000);
  return items;
}

// Run fn over items, at most `width` at a time.
export async function pool(items, width, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]).catch((error) => ({ error }));
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
