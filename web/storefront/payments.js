// Payment: Stripe.js's Payment Element on AWS (mode "stripe"), or a card form for the local
// Stripe emulator (mode "emulator"). The emulator takes no publishable key and answers no
// browser (CORS) requests, so the card form turns the emulator's test card numbers into the
// test PaymentMethods Stripe and the emulator both know (pm_card_visa, ...), and checkout
// confirms the payment server-side with it.
import { h } from "../shared/dom.js";

/** Test card number -> the emulator's PaymentMethod (shopstack/stripe_emulator/cards.py). */
export const TEST_CARDS = [
  ["4242424242424242", "pm_card_visa", "Visa: succeeds"],
  ["5555555555554444", "pm_card_mastercard", "Mastercard: succeeds"],
  ["2223003122003222", "pm_card_mastercard", "Mastercard (2-series): succeeds"],
  ["378282246310005", "pm_card_amex", "American Express: succeeds"],
  ["4000056655665556", "pm_card_visa_debit", "Visa debit: succeeds"],
  ["4000002500003155", "pm_card_authenticationRequired", "3-D Secure: asks your bank to confirm"],
  ["4000002760003184", "pm_card_authenticationRequired", "3-D Secure: asks your bank to confirm"],
  ["4000000000003220", "pm_card_threeDSecure2Required", "3-D Secure 2: asks your bank to confirm"],
  ["4000000000003063", "pm_card_threeDSecure2Required", "3-D Secure: asks your bank to confirm"],
  ["4000000000000002", "pm_card_chargeDeclined", "Declined"],
  ["4000000000009995", "pm_card_chargeDeclinedInsufficientFunds", "Declined: insufficient funds"],
  ["4000000000009987", "pm_card_chargeDeclinedLostCard", "Declined: lost card"],
  ["4000000000009979", "pm_card_chargeDeclinedStolenCard", "Declined: stolen card"],
  ["4000000000000069", "pm_card_chargeDeclinedExpiredCard", "Declined: expired card"],
  ["4000000000000127", "pm_card_chargeDeclinedIncorrectCvc", "Declined: incorrect CVC"],
  ["4000000000000119", "pm_card_chargeDeclinedProcessingError", "Declined: processing error"],
];

export function luhnValid(number) {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  [...number].reverse().forEach((d, i) => {
    let v = Number(d);
    if (i % 2 === 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  });
  return sum % 10 === 0;
}

/** The PaymentMethod for a card number typed into the emulator's card form. */
export function paymentMethodFor(number) {
  const digits = number.replace(/[\s-]/g, "");
  const known = TEST_CARDS.find(([n]) => n === digits);
  if (known) return known[1];
  if (!luhnValid(digits)) throw new Error("That card number is not valid. Check the digits and try again.");
  // Any other valid number succeeds on the emulator, as on Stripe's test mode.
  if (/^3[47]/.test(digits)) return "pm_card_amex";
  if (/^(5[1-5]|2[2-7])/.test(digits)) return "pm_card_mastercard";
  return "pm_card_visa";
}

function checkExpiry(value) {
  const match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(value.trim());
  if (!match) throw new Error("Enter the card's expiry date as MM/YY.");
  const month = Number(match[1]);
  const year = Number(match[2].length === 2 ? `20${match[2]}` : match[2]);
  const now = new Date();
  if (month < 1 || month > 12) throw new Error("The expiry month must be between 01 and 12.");
  if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1))
    throw new Error("This card has expired. Use another card.");
}

/** The card form for the emulator: `{ element, paymentMethod() }`. */
export function emulatorCardForm() {
  const element = h(
    "fieldset",
    { class: "card-form" },
    h("legend", {}, "Card"),
    h("p", { class: "hint", id: "card-test-hint" }, "Test mode: no real card is charged. Use one of the test cards below."),
    h("div", { class: "field" }, h("label", { for: "card-number" }, "Card number"),
      h("input", { id: "card-number", name: "cardNumber", inputmode: "numeric", autocomplete: "cc-number", required: true, "aria-describedby": "card-test-hint", placeholder: "4242 4242 4242 4242" })),
    h("div", { class: "field" }, h("label", { for: "card-expiry" }, "Expiry date (MM/YY)"),
      h("input", { id: "card-expiry", name: "cardExpiry", autocomplete: "cc-exp", required: true, placeholder: "12/34" })),
    h("div", { class: "field" }, h("label", { for: "card-cvc" }, "Security code (CVC)"),
      h("input", { id: "card-cvc", name: "cardCvc", inputmode: "numeric", autocomplete: "cc-csc", required: true, placeholder: "123" })),
    h("details", { class: "test-cards" }, h("summary", {}, "Test cards"),
      h("ul", {}, TEST_CARDS.map(([number, , text]) => h("li", {}, h("code", {}, number.replace(/(\d{4})(?=\d)/g, "$1 ")), ` ${text}`))),
      h("p", {}, "Any future expiry date and any 3-digit CVC.")),
  );
  return {
    element,
    focus: () => element.querySelector("#card-number").focus(),
    async paymentMethod() {
      const number = element.querySelector("#card-number").value;
      const pm = paymentMethodFor(number);
      checkExpiry(element.querySelector("#card-expiry").value);
      if (!/^\d{3,4}$/.test(element.querySelector("#card-cvc").value.trim())) throw new Error("Enter the card's 3 or 4 digit security code.");
      return pm;
    },
  };
}

let stripeLoading = null;
function loadStripeJs() {
  if (!stripeLoading) {
    stripeLoading = new Promise((resolve, reject) => {
      if (globalThis.Stripe) return resolve(globalThis.Stripe);
      const script = document.createElement("script");
      script.src = "https://js.stripe.com/v3";
      script.onload = () => resolve(globalThis.Stripe);
      script.onerror = () => reject(new Error("Payments could not be loaded. Check your connection and reload the page."));
      document.head.append(script);
    });
  }
  return stripeLoading;
}

/**
 * Stripe's Payment Element with a deferred intent: the form collects the payment details, then
 * checkout creates the PaymentIntent (no paymentMethod sent), then Stripe.js confirms it with the
 * client secret, handling 3-D Secure itself.
 */
export async function stripePaymentElement(config, cart) {
  const Stripe = await loadStripeJs();
  const stripe = Stripe(config.payments.publishableKey);
  const elements = stripe.elements({
    mode: "payment",
    amount: cart.total.amount,
    currency: cart.currency || cart.total.currency,
    captureMethod: "manual",
  });
  const element = h("fieldset", { class: "card-form" }, h("legend", {}, "Payment"), h("div", { id: "payment-element" }));
  const payment = elements.create("payment");
  queueMicrotask(() => payment.mount(element.querySelector("#payment-element")));
  return {
    element,
    focus: () => payment.focus && payment.focus(),
    async validate() {
      const { error } = await elements.submit();
      if (error) throw new Error(error.message);
    },
    async confirm(clientSecret, returnUrl, amount) {
      // The order's total (shipping and tax for the address given) is what the intent charges.
      if (amount) elements.update({ amount });
      const { error, paymentIntent } = await stripe.confirmPayment({
        elements,
        clientSecret,
        confirmParams: { return_url: returnUrl },
        redirect: "if_required",
      });
      if (error) throw Object.assign(new Error(error.message), { declined: error.type === "card_error" });
      return paymentIntent;
    },
  };
}
