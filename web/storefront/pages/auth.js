import { field, fill, h } from "../../shared/dom.js";

let pendingSignUp = null; // { email, password } between sign-up and its confirmation code

function form(title, fields, submitText, onsubmit, extra = []) {
  const el = h("form", { "aria-labelledby": "auth-title", novalidate: true, async onsubmit(event) {
    event.preventDefault();
    const button = el.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await onsubmit(Object.fromEntries(new FormData(el).entries()), el);
    } finally {
      button.disabled = false;
    }
  } }, fields, h("div", { class: "actions" }, h("button", { type: "submit" }, submitText), extra));
  return [h("h1", { id: "auth-title" }, title), el];
}

async function afterSignIn(app, tokens, next, message) {
  app.session.save(tokens);
  await app.cart.claim();
  app.navigate(next || "#/account", { message, kind: "success" });
}

export async function signInPage(app, params, view) {
  const next = params.get("next");
  fill(view, ...form("Sign in", [
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true, value: params.get("email") || "" }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
  ], "Sign in", async ({ email, password }, el) => {
    if (!email || !password) {
      app.announce("Enter your email and password.", "error");
      el.querySelector(email ? "[name=password]" : "[name=email]").focus();
      return;
    }
    try {
      const tokens = await app.cognito.signIn(email.trim(), password);
      await afterSignIn(app, tokens, next, `Signed in as ${email.trim()}.`);
    } catch (error) {
      if (error.type === "UserNotConfirmedException") {
        pendingSignUp = { email: email.trim(), password };
        app.navigate(`#/confirm?email=${encodeURIComponent(email.trim())}`, { message: error.message, kind: "error" });
        return;
      }
      app.announce(error.message, "error");
      el.querySelector("[name=password]").focus();
    }
  }, [h("a", { href: "#/signup" }, "Create an account")]));
}

export async function signUpPage(app, params, view) {
  fill(view, ...form("Create an account", [
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 },
      "At least 8 characters, with upper and lower case letters, a number and a symbol."),
  ], "Create account", async ({ email, password }, el) => {
    if (!email || !password) {
      app.announce("Enter an email and a password.", "error");
      el.querySelector(email ? "[name=password]" : "[name=email]").focus();
      return;
    }
    try {
      await app.cognito.signUp(email.trim(), password);
      pendingSignUp = { email: email.trim(), password };
      app.navigate(`#/confirm?email=${encodeURIComponent(email.trim())}`, { message: `We emailed a confirmation code to ${email.trim()}.`, kind: "success" });
    } catch (error) {
      app.announce(error.message, "error");
      el.querySelector(error.type === "InvalidPasswordException" ? "[name=password]" : "[name=email]").focus();
    }
  }, [h("a", { href: "#/signin" }, "I have an account")]));
}

export async function confirmPage(app, params, view) {
  const email = params.get("email") || pendingSignUp?.email || "";
  fill(view, ...form("Confirm your email", [
    h("p", {}, "Enter the code from the email we sent you."),
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true, value: email }),
    field("Confirmation code", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
  ], "Confirm", async ({ email: address, code }, el) => {
    if (!code) {
      app.announce("Enter the confirmation code.", "error");
      el.querySelector("[name=code]").focus();
      return;
    }
    try {
      await app.cognito.confirmSignUp(address.trim(), code.trim());
    } catch (error) {
      app.announce(error.message, "error");
      el.querySelector("[name=code]").focus();
      return;
    }
    if (pendingSignUp && pendingSignUp.email === address.trim()) {
      const { password } = pendingSignUp;
      pendingSignUp = null;
      try {
        const tokens = await app.cognito.signIn(address.trim(), password);
        await afterSignIn(app, tokens, "#/account", "Your account is ready and you are signed in.");
        return;
      } catch {
        // fall through to the sign-in page
      }
    }
    app.navigate(`#/signin?email=${encodeURIComponent(address.trim())}`, { message: "Your email is confirmed. Sign in to continue.", kind: "success" });
  }));
}

export function signOut(app) {
  app.session.clear();
  app.cart.forget();
  app.navigate("#/", { message: "You are signed out.", kind: "success" });
}
