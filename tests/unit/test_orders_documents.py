import hashlib
import hmac

import pytest

from commerce.errors import BadRequest
from orders.domain.invoice import invoice_document, invoice_html
from orders.domain.model import invoice_number
from orders.entrypoints.api import verify_carrier_signature
from tests.unit.orders_fakes import paid_order

SECRET = "carrier-secret"


def sign(body: str, stamp: int, secret: str = SECRET) -> str:
    return f"t={stamp},v1=" + hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()


def test_a_carrier_signature_within_five_minutes_verifies() -> None:
    verify_carrier_signature("{}", sign("{}", 1_000), SECRET, now=1_000 + 299)
    verify_carrier_signature("{}", sign("{}", 1_000), SECRET, now=1_000 - 299)


@pytest.mark.parametrize(
    ("header", "now"),
    [
        (sign("{}", 1_000), 1_000 + 301),
        (sign("{}", 1_000), 1_000 - 301),
        (sign("{}", 1_000, "other-secret"), 1_000),
        (sign('{"a":1}', 1_000), 1_000),
        ("t=1000", 1_000),
        ("garbage", 1_000),
        (None, 1_000),
    ],
)
def test_forged_stale_or_missing_carrier_signatures_are_400(header: str | None, now: int) -> None:
    with pytest.raises(BadRequest):
        verify_carrier_signature("{}", header, SECRET, now=now)


def test_invoice_numbers_are_per_year_and_zero_padded() -> None:
    assert invoice_number(2026, 42) == "INV-2026-000042"


def test_the_printable_invoice_escapes_customer_text() -> None:
    order = paid_order(shipping_address={"name": "<script>x</script>", "line1": "1 Main", "country": "US"})
    document = invoice_document(order, number="INV-2026-000001", issued_at="2026-01-01", seller={"name": "Shop"})
    page = invoice_html(document)
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert "27.59 USD" in page and "INV-2026-000001" in page
    assert document["total"] == {"amount": 2759, "currency": "usd"}
