"""The storefront in a real browser, against the local cloud: browse, buy as a guest, a decline then
a success, 3-D Secure, an account with a purchase and a return, and a checkout by keyboard alone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from shopstack.harness import LocalCloud
from tests.e2e.conftest import Shop

TIMES = "\u00d7"  # the multiplication sign the pages write: f"2 {TIMES} Insulated Camp Mug"
ADDRESS = {"Full name": "Ada Lovelace", "Address": "1 Main St", "City": "Springfield", "Postal code": "12345"}


def add_from_product_page(shop: Shop, sku: str, name: str, quantity: int = 1) -> None:
    page = shop.open(f"/product/{sku}", f"product {sku}", name)
    expect(page.locator("main img").first).to_have_js_property("complete", True)
    assert page.locator("main img").first.evaluate("img => img.naturalWidth") > 0, "the product image loads"
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#messages")).to_contain_text(f"Added {quantity} {TIMES} {name}")


def go_to_checkout(shop: Shop) -> Page:
    page = shop.page
    page.get_by_role("link", name=re.compile(r"^Cart \(")).click()
    shop.visit("cart", "Your cart")
    expect(page.get_by_text("Tax", exact=True)).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    return shop.visit("checkout", "Checkout")


def fill_address(page: Page, email: str | None) -> None:
    if email is not None:
        page.get_by_label("Email").fill(email)
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)


def pay(page: Page, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def confirmed(shop: Shop) -> str:
    page = shop.visit("confirmation", "Thank you! Your order is placed")
    expect(page.locator("#order-status")).to_contain_text(re.compile("Paid|Confirmed"))
    return str(page.locator("main code").first.inner_text())


def test_guest_browses_and_buys(shop: Shop) -> None:
    page = shop.open("/", "catalog", "All gear")
    expect(page.locator("ul.grid > li")).to_have_count(12)
    first_image = page.locator("ul.grid img").first
    expect(first_image).to_have_js_property("complete", True)
    assert first_image.evaluate("img => img.naturalWidth") > 0, "the catalog's images load"
    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Tents").click()
    shop.visit("category tents", "Tents")
    expect(page.get_by_role("heading", name="Ridgeline 2-Person Tent")).to_be_visible()
    page.get_by_label("Search by name").fill("socks")
    page.get_by_label("Category").select_option("")
    page.get_by_role("button", name="Search").click()
    shop.visit("search socks", "Results for “socks”")
    page.get_by_role("link", name="Merino Hiking Socks").click()
    shop.visit("product page", "Merino Hiking Socks")
    expect(page.get_by_text("$22.00")).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#messages")).to_contain_text(f"Added 1 {TIMES} Merino Hiking Socks")
    page.reload()  # the cart survives a reload
    expect(page.get_by_role("link", name="Cart (1 item)")).to_be_visible()
    go_to_checkout(shop)
    fill_address(page, "guest@example.com")
    pay(page, "4242 4242 4242 4242")
    order_id = confirmed(shop)
    expect(page.locator("#order-status")).to_contain_text("Confirmed", timeout=20_000)
    page.get_by_role("link", name="Track this order").click()
    shop.visit("tracking", f"Order {order_id[:8]}")
    expect(page.get_by_role("heading", name="History")).to_be_visible()


def test_out_of_stock_then_decline_then_success(shop: Shop) -> None:
    page = shop.open("/product/FIRSTAID-1", "product low stock", "Trail First-Aid Kit")
    page.get_by_label("Quantity").fill("50")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#messages")).to_contain_text("left. Choose a smaller quantity.")
    expect(page.locator("#messages [role=alert]")).to_be_visible()
    add_from_product_page(shop, "MUG-INS", "Insulated Camp Mug", 2)
    page = go_to_checkout(shop)
    fill_address(page, "decline@example.com")
    pay(page, "4000000000000002")
    expect(page.locator("#messages")).to_contain_text("Payment declined: Your card was declined.")
    shop.visit("declined", "Checkout")
    expect(page.get_by_label("Card number")).to_be_focused()
    pay(page, "4242424242424242")
    confirmed(shop)
    expect(page.get_by_text(f"2 {TIMES} Insulated Camp Mug")).to_be_visible()


def test_three_d_secure_refused_then_completed(shop: Shop) -> None:
    add_from_product_page(shop, "LAMP-300", "Headlamp 300 Lumen")
    page = go_to_checkout(shop)
    fill_address(page, "threeds@example.com")
    pay(page, "4000002500003155")
    shop.visit("3-D Secure challenge", "3-D Secure · Test bank")
    page.get_by_role("button", name="Fail authentication").click()
    shop.visit("3-D Secure refused", "Checkout")
    expect(page.locator("#messages")).to_contain_text("Your bank did not confirm the payment")
    pay(page, "4000002500003155")
    shop.visit("3-D Secure challenge again", "3-D Secure · Test bank")
    page.get_by_role("button", name="Complete authentication").click()
    confirmed(shop)


def _ship_and_deliver(cloud: LocalCloud, admin_token: str, order_id: str) -> None:
    # The page showed the order Confirmed: staff can ship it.
    shipped = cloud.request(
        "POST",
        f"/admin/orders/{order_id}/shipments",
        token=admin_token,
        body={"carrier": "UPS", "trackingNumber": "1Z" + uuid.uuid4().hex[:12].upper()},
    )
    assert shipped.status == 201, shipped.text
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    delivered = cloud.request(
        "POST",
        f"/admin/shipments/{shipped.json['shipmentId']}/events",
        token=admin_token,
        body={"status": "DELIVERED", "at": at, "location": "Springfield"},
    )
    assert delivered.status == 200, delivered.text


def test_sign_up_buy_return_invoice_export_and_delete(shop: Shop, cloud: LocalCloud, admin_token: str) -> None:
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    page = shop.open("/signup", "sign up", "Create an account")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Trail-Mix-2026!")
    page.get_by_role("button", name="Create account").click()
    shop.visit("confirm code", "Confirm your email")
    page.get_by_label("Confirmation code").fill("123456")  # the local user pool accepts any code
    page.get_by_role("button", name="Confirm").click()
    shop.visit("account (new)", "Your account")
    expect(page.get_by_text(f"Email: {email}")).to_be_visible()
    add_from_product_page(shop, "PAD-FOAM", "Trail Foam Pad")
    page = go_to_checkout(shop)
    expect(page.get_by_label("Email")).to_have_value(email)
    fill_address(page, None)
    pay(page, "5555555555554444")
    order_id = confirmed(shop)
    expect(page.locator("#order-status")).to_contain_text("Confirmed", timeout=20_000)
    _ship_and_deliver(cloud, admin_token, order_id)
    page.get_by_role("link", name="Account").click()
    shop.visit("account with order", "Your account")
    page.get_by_role("link", name=order_id[:8]).click()
    shop.visit("order delivered", f"Order {order_id[:8]}")
    expect(page.locator("#order-status")).to_contain_text("Delivered")
    page.get_by_label("Quantity of Trail Foam Pad to return").select_option("1")
    page.get_by_label("Reason").fill("Too firm for me")
    page.get_by_role("button", name="Request return").click()
    expect(page.locator("#messages")).to_contain_text("requested")
    expect(page.get_by_role("heading", name="Returns")).to_be_visible()
    shop.visit("return requested", f"Order {order_id[:8]}")
    page.get_by_role("link", name=re.compile(r"^Invoice INV-")).click()
    shop.visit("invoice", re.compile(r"^Invoice INV-"))
    expect(page.get_by_text("Trail Foam Pad")).to_be_visible()
    page.get_by_role("link", name="Account").click()
    shop.visit("account with return", "Your account")
    expect(page.get_by_text("Return requested")).to_be_visible()
    page.get_by_role("button", name="Export my data").click()
    expect(page.get_by_role("link", name="Download your data (JSON)")).to_be_focused()
    page.get_by_role("button", name="Delete my account…").click()
    page.get_by_role("button", name="Delete my account permanently").click()
    expect(page.locator("#messages")).to_contain_text("Tick the box")
    page.get_by_label("I understand that this cannot be undone").check()
    page.get_by_role("button", name="Delete my account permanently").click()
    shop.visit("account deleted", "All gear")
    expect(page.locator("#messages")).to_contain_text("Your account is deleted.")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def _tab_to(page: Page, pattern: str, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible text matches."""
    wanted = re.compile(pattern)
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            """() => { const e = document.activeElement; if (!e) return "";
                 const label = e.labels && e.labels[0] ? e.labels[0].textContent : "";
                 return (e.getAttribute("aria-label") || label || e.textContent || e.value || "").trim(); }"""
        )
        if wanted.search(text):
            return
    raise AssertionError(f"Tab never reached {pattern!r}")


def test_keyboard_only_checkout(shop: Shop) -> None:
    page = shop.open("/product/FILTER-SQ", "product", "Squeeze Water Filter")
    _tab_to(page, r"^Add to cart$")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text(f"Added 1 {TIMES} Squeeze Water Filter")
    _tab_to(page, r"^Cart \(")
    page.keyboard.press("Enter")
    shop.visit("cart", "Your cart")
    _tab_to(page, r"^Check out$")
    page.keyboard.press("Enter")
    shop.visit("checkout", "Checkout")
    for label, value in (
        ("Email", "keys@example.com"),
        *ADDRESS.items(),
        ("Card number", "4242424242424242"),
        ("Expiry date", "12/34"),
        ("Security code", "123"),
    ):
        _tab_to(page, "^" + re.escape(label))
        page.keyboard.type(value)
    _tab_to(page, r"^Pay ")
    page.keyboard.press("Space")
    confirmed(shop)
