"""Invoices: the document an order's invoice number stands for, as JSON and a printable page.
Pure: no I/O."""

from __future__ import annotations

from html import escape
from typing import Any

from orders.domain.model import Order


def invoice_document(order: Order, *, number: str, issued_at: str, seller: dict[str, str]) -> dict[str, Any]:
    address = order.shipping_address
    return {
        "invoiceNumber": number,
        "issuedAt": issued_at,
        "orderId": order.order_id,
        "seller": seller,
        "billTo": {"name": address.get("name", ""), "email": order.email, "address": address},
        "lines": [line.to_json(order.currency, name_as="description") for line in order.lines],
        **order.money,
    }


def _money(value: dict[str, Any]) -> str:
    return f"{value['amount'] / 100:,.2f} {str(value['currency']).upper()}"


def invoice_html(invoice: dict[str, Any]) -> str:
    """A self-contained printable page (no scripts, no external assets)."""
    bill = invoice["billTo"]
    address = bill["address"]
    rows = "".join(
        f"<tr><td>{escape(line['sku'])}</td><td>{escape(line['description'])}</td>"
        f"<td class=n>{line['quantity']}</td><td class=n>{_money(line['unitPrice'])}</td>"
        f"<td class=n>{_money(line['lineTotal'])}</td></tr>"
        for line in invoice["lines"]
    )
    totals = "".join(
        f"<tr><th colspan=4>{label}</th><td class=n>{_money(invoice[key])}</td></tr>"
        for label, key in (("Subtotal", "subtotal"), ("Shipping", "shipping"), ("Tax", "tax"), ("Total", "total"))
    )
    street = ", ".join(
        escape(str(address.get(k, ""))) for k in ("line1", "line2", "city", "postalCode", "country") if address.get(k)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Invoice {escape(invoice['invoiceNumber'])}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left}.n{text-align:right}"
        "@media print{body{margin:0}}</style></head><body>"
        f"<h1>Invoice {escape(invoice['invoiceNumber'])}</h1>"
        f"<p>{escape(invoice['seller']['name'])}<br>{escape(invoice['seller'].get('address', ''))}</p>"
        f"<p>Issued {escape(invoice['issuedAt'])} &middot; Order {escape(invoice['orderId'])}</p>"
        f"<h2>Bill to</h2><p>{escape(bill['name'])}<br>{street}<br>{escape(bill['email'])}</p>"
        "<table><thead><tr><th>SKU</th><th>Item</th><th class=n>Qty</th><th class=n>Unit</th>"
        f"<th class=n>Amount</th></tr></thead><tbody>{rows}</tbody><tfoot>{totals}</tfoot></table>"
        "</body></html>"
    )
