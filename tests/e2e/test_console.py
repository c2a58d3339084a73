"""The staff ops console in a real browser (Chromium driven by Playwright): a staff member signs
in, sees an order placed through the API, ships it, records its delivery, refunds its return and
sees the sales chart count it; a signed-in customer is told the console is for staff. Every page
visited is saved as a screenshot under tests/e2e/artifacts/ and checked with axe-core (no serious
or critical violation)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from shopstack.harness import LocalCloud
from shopstack.waiting import eventually
from tests.e2e.conftest import Shop

STAFF = "console-staff@example.com"
SHOPPER = "console-shopper@example.com"
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}


# --- the API, as a shopper uses it ---------------------------------------------------------------


def place_order(cloud: Any, sku: str = "TENT-2P") -> dict[str, Any]:
    cart = cloud.request("POST", "/carts", body={})
    assert cart.status == 201, cart.text
    cart_id, cart_token = cart.json["cartId"], cart.json["cartToken"]
    put = cloud.request(
        "PUT", f"/carts/{cart_id}/items/{sku}", body={"quantity": 1}, headers={"X-Cart-Token": cart_token}
    )
    assert put.status == 200, put.text
    order = cloud.request(
        "POST",
        f"/carts/{cart_id}/checkout",
        body={"email": SHOPPER, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
        headers={"X-Cart-Token": cart_token, "Idempotency-Key": f"console-{uuid.uuid4()}"},
    )
    assert order.status == 201, order.text
    return {"orderId": order.json["orderId"], "orderToken": order.json["orderToken"], "sku": sku}


def order_status(cloud: Any, order: dict[str, Any]) -> str:
    reply = cloud.request("GET", f"/orders/{order['orderId']}", headers={"X-Order-Token": order["orderToken"]})
    assert reply.status == 200, reply.text
    return str(reply.json["status"])


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    return eventually(predicate, timeout=timeout, interval=0.5, what=what)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# --- the console, as staff use it ----------------------------------------------------------------


def console(shop: Shop, route: str) -> None:
    shop.page.goto(f"{shop.base_url}/console/#{route}")


def sign_in(shop: Shop, email: str, password: str) -> None:
    page = shop.page
    console(shop, "/orders")
    shop.visit("sign-in", "Staff sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sales_today(shop: Shop) -> int:
    """The orders the sales chart draws for today (its column's value)."""
    console(shop, "/analytics?metric=orders")
    column = shop.page.locator(f'svg[data-chart="sales"] rect[data-key="{today()}"]').first
    column.wait_for(state="attached")
    return int(column.get_attribute("data-value") or "0")


def staff_token(cloud: LocalCloud) -> str:
    """A staff user of the local pool (created on first use with the local password, in group admin)."""
    from shopstack.localcloud.tokens import issue_token

    return issue_token(cloud.base_url, STAFF, admin=True)


def staff_flow(shop: Shop, cloud: LocalCloud, password: str) -> None:
    page = shop.page
    sign_in(shop, STAFF, password)
    shop.visit("orders", "Orders")
    baseline = sales_today(shop)
    shop.visit("analytics before", "Analytics")

    order = place_order(cloud)
    wait_for(lambda: order_status(cloud, order) == "CONFIRMED", "the order to be confirmed")

    # The order in the list, filtered by status.
    console(shop, "/orders?status=CONFIRMED")
    row = page.locator(f'#orders-table tr[data-order-id="{order["orderId"]}"]')
    row.wait_for()
    shop.visit("orders confirmed", "Orders")
    row.get_by_role("link").click()
    expect(page.locator("#ship-form")).to_be_visible()
    shop.visit("order confirmed", re.compile(f"^Order {order['orderId']}"))

    # Ship it.
    ship = page.locator("#ship-form")
    ship.get_by_label("Carrier").fill("UPS")
    ship.get_by_label("Tracking number").fill(f"1Z{uuid.uuid4().hex[:12].upper()}")
    ship.get_by_role("button", name="Ship").click()
    expect(page.get_by_role("status")).to_contain_text("Shipped with UPS")
    expect(page.locator("#order-status")).to_have_text("SHIPPED")
    shop.visit("order shipped", re.compile("^Order"))

    # Record its delivery by hand, as staff do for a carrier that sends no webhook.
    tracking = page.locator("form.tracking-form")
    tracking.get_by_label("Event").select_option("DELIVERED")
    tracking.get_by_label("Location").fill("Springfield")
    tracking.get_by_role("button", name="Record event").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded DELIVERED")
    expect(page.locator("#order-status")).to_have_text("DELIVERED")
    expect(page.locator("#order-history")).to_contain_text("DELIVERED")
    shop.visit("order delivered", re.compile("^Order"))

    # The customer asks for a return through the API; staff refund it with restock.
    ret = cloud.request(
        "POST",
        f"/orders/{order['orderId']}/returns",
        body={"lines": [{"sku": order["sku"], "quantity": 1, "reason": "too small"}]},
        headers={"X-Order-Token": order["orderToken"], "Idempotency-Key": f"return-{uuid.uuid4()}"},
    )
    assert ret.status == 201, ret.text
    return_id = ret.json["returnId"]
    page.reload()
    refund_row = page.locator(f'#returns-table tr[data-return-id="{return_id}"]')
    refund_row.wait_for()
    expect(refund_row.get_by_label("Restock")).to_be_checked()
    shop.visit("return requested", re.compile("^Order"))
    refund_row.get_by_role("button", name="Refund").click()
    expect(page.get_by_role("status")).to_contain_text(f"Return {return_id} is REFUNDED")
    expect(page.locator(f'#returns-table tr[data-return-id="{return_id}"]')).to_contain_text("restocked")
    shop.visit("return refunded", re.compile("^Order"))

    # The sales chart counts the new order (analytics follows the events within seconds).
    wait_for(lambda: sales_today(shop) >= baseline + 1, "the sales chart to count the new order", timeout=45)
    reported = cloud.request("GET", f"/admin/analytics/sales?from={today()}&to={today()}", token=staff_token(cloud))
    assert sales_today(shop) == reported.json["totals"]["usd"]["orders"]
    shop.visit("analytics after", "Analytics")


def test_staff_ship_deliver_refund_and_see_the_sale_counted(cloud: LocalCloud, shop: Shop) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD

    staff_token(cloud)
    staff_flow(shop, cloud, LOCAL_PASSWORD)


SECTIONS = [
    ("/inventory?sku=TENT-2P", "#low-stock-table", "Inventory"),
    ("/products", "#products-table", "Products"),
    ("/customers?email=example.com", "#customers-table", "Customers"),
    ("/analytics", 'svg[data-chart="funnel"]', "Analytics"),
    ("/webhooks", "#webhooks-table", "Webhooks"),
    ("/operations", "#alarms-table", "Alarms and metrics"),
]


def test_every_section_renders_for_staff(cloud: LocalCloud, shop: Shop) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD

    staff_token(cloud)
    sign_in(shop, STAFF, LOCAL_PASSWORD)
    shop.visit("orders", "Orders")
    for route, ready, heading in SECTIONS:
        console(shop, route)
        shop.page.locator(ready).wait_for(state="attached")
        expect(shop.page.get_by_role("alert")).to_have_text("")
        shop.visit(route.split("?")[0].strip("/"), heading)


def test_a_customer_is_told_the_console_is_for_staff(cloud: LocalCloud, shop: Shop) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD, issue_token

    issue_token(cloud.base_url, SHOPPER)
    sign_in(shop, SHOPPER, LOCAL_PASSWORD)
    shop.visit("not staff", "This console is for staff")
    expect(shop.page.get_by_role("navigation")).to_be_hidden()
