"""The test bank's 3-D Secure challenge page: what a shopper sees when a payment requires action
(Stripe shows its issuer's page; the emulator shows this one). Plain HTML forms: no script and no
inline style, so any Content-Security-Policy in front of it holds."""

from __future__ import annotations

from html import escape

ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


def _amount(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def challenge_page(pi_id: str, amount: int, currency: str, status: str, return_url: str) -> str:
    action = "authenticate"  # relative: the page also works behind a relay's path prefix
    pending = status == "requires_action"

    def form(outcome: str, label: str) -> str:
        return (
            f'<form method="post" action="{action}">'
            f'<input type="hidden" name="outcome" value="{outcome}">'
            '<input type="hidden" name="redirect" value="true">'
            f'<input type="hidden" name="return_url" value="{escape(return_url)}">'
            f'<button type="submit">{label}</button></form>'
        )

    body = (
        form("succeed", "Complete authentication") + form("fail", "Fail authentication")
        if pending
        else f"<p>This payment needs no authentication now (it is {escape(status)}).</p>"
        f'<p><a href="{escape(return_url)}">Back to the shop</a></p>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>3-D Secure · Test bank</title>"
        "</head><body><main><h1>3-D Secure · Test bank</h1>"
        f"<p>Your bank asks you to confirm a payment of {escape(_amount(amount, currency))}.</p>"
        "<p>Test mode: the Stripe emulator plays your bank. Complete to approve the payment, fail to refuse it.</p>"
        f"{body}</main></body></html>"
    )
