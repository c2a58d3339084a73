/**
 * The signed-in user's tokens, kept in localStorage under one key per app ("shopstack.session"
 * by default), and what the ID token says about the user.
 *
 *   const session = createSession();
 *   session.save(tokens); session.idToken(); session.user(); session.clear();
 */

export function decodeJwt(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(part + "===".slice((part.length + 3) % 4))
        .split("")
        .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function createSession(key = "shopstack.session", storage = globalThis.localStorage) {
  const read = () => {
    try {
      return JSON.parse(storage.getItem(key) || "null");
    } catch {
      return null;
    }
  };
  return {
    save(tokens) {
      storage.setItem(key, JSON.stringify(tokens));
    },
    clear() {
      storage.removeItem(key);
    },
    tokens: read,
    /** The ID token, or null when signed out or expired. */
    idToken() {
      const tokens = read();
      if (!tokens || !tokens.idToken) return null;
      const claims = decodeJwt(tokens.idToken);
      if (claims && claims.exp && claims.exp * 1000 < Date.now()) return null;
      return tokens.idToken;
    },
    /** `{ email, sub, groups, expired }` from the ID token, or null when signed out. */
    user() {
      const tokens = read();
      const claims = tokens && decodeJwt(tokens.idToken);
      if (!claims) return null;
      return {
        email: claims.email,
        sub: claims.sub,
        groups: claims["cognito:groups"] || [],
        expired: Boolean(claims.exp && claims.exp * 1000 < Date.now()),
      };
    },
  };
}
