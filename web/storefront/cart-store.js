// The shopper's cart: its id and capability token live in localStorage, so the cart survives a
// reload; the cart itself always comes from the server (prices, shipping and tax included).

const KEY = "shopstack.cart";

export function createCartStore(api) {
  let current = null;
  const listeners = new Set();

  const stored = () => {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "null");
    } catch {
      return null;
    }
  };
  const remember = (cart, token) => {
    localStorage.setItem(KEY, JSON.stringify({ cartId: cart.cartId, cartToken: token }));
  };
  const set = (cart) => {
    current = cart;
    for (const listener of listeners) listener(cart);
    return cart;
  };
  const token = () => stored()?.cartToken;

  async function create() {
    const cart = await api.post("/carts");
    remember(cart, cart.cartToken);
    return set(cart);
  }

  /** The open cart, or null when there is none yet (nothing is created until something is added). */
  async function load() {
    const saved = stored();
    if (!saved) return set(null);
    try {
      const cart = await api.get(`/carts/${saved.cartId}`, { cartToken: saved.cartToken });
      if (cart.status && cart.status !== "OPEN") {
        localStorage.removeItem(KEY);
        return set(null);
      }
      return set(cart);
    } catch (error) {
      if (error.status === 404 || error.status === 401 || error.status === 403) {
        localStorage.removeItem(KEY);
        return set(null);
      }
      throw error;
    }
  }

  async function open() {
    return current && current.status !== "CHECKED_OUT" ? current : (await load()) || create();
  }

  return {
    get: () => current,
    token,
    load,
    onChange: (listener) => listeners.add(listener),
    count: () => (current ? current.items.reduce((n, item) => n + item.quantity, 0) : 0),
    async setQuantity(sku, quantity) {
      const cart = await open();
      const path = `/carts/${cart.cartId}/items/${encodeURIComponent(sku)}`;
      return set(quantity > 0 ? await api.put(path, { quantity }, { cartToken: token() }) : await api.del(path, { cartToken: token() }));
    },
    async add(sku, quantity = 1) {
      const cart = await open();
      const line = cart.items.find((item) => item.sku === sku);
      return this.setQuantity(sku, (line ? line.quantity : 0) + quantity);
    },
    /** After a checkout: forget the cart (its order now holds the lines). */
    forget() {
      localStorage.removeItem(KEY);
      set(null);
    },
    /** After a decline the server closes the cart: open a fresh one with the same lines. */
    async reopenWith(lines) {
      localStorage.removeItem(KEY);
      current = null;
      let cart = await create();
      for (const line of lines) {
        cart = await api.put(`/carts/${cart.cartId}/items/${encodeURIComponent(line.sku)}`, { quantity: line.quantity }, { cartToken: token() });
      }
      return set(cart);
    },
    /** A signed-in shopper takes their guest cart into their account. */
    async claim() {
      const saved = stored();
      if (!saved) return null;
      try {
        return set(await api.post(`/carts/${saved.cartId}/claim`, {}, { cartToken: saved.cartToken }));
      } catch {
        return load();
      }
    },
  };
}
