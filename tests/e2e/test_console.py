"""The staff ops console in a real browser (Chromium driven by Playwright): a staff member signs
in, sees an order placed through the API, ships it, records its delivery, refunds its return and
sees the sales chart count it; a signed-in customer is told the console is for staff. Every page
visited is saved as a screenshot under tests/e2e/artifacts/ and checked with axe-core (no serious
or critical violation)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts" / "console"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
STAFF = "console-staff@example.com"
SHOPPER = "console-shopper@example.com"
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Chromium is not installed (make chromium)")
    return found


@pytest.fixture(scope="module")
def console_browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield browser
        browser.close()


class Visit:
    """A page with a screenshot and an accessibility check for every view it reaches."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.count = 0
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def check(self, label: str) -> None:
        self.count += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.count:02d}-{label}.png"), full_page=True)
        if not AXE.exists():
            pytest.fail("node_modules/axe-core is missing (make setup)")
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, so the page's CSP does not refuse it.
            self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, f"{label}: {serious}"
        assert not self.errors, f"{label}: script errors {self.errors}"


@pytest.fixture
def console_visit(console_browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], Visit]]:
    contexts: list[Any] = []

    def open_visit() -> Visit:
        context = console_browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return Visit(context.new_page(), request.node.name)

    yield open_visit
    for context in contexts:
        context.close()


# --- the API, as a shopper uses it ---------------------------------------------------------------


def place_order(cloud: Any, sku: str = "TENT-2P") -> dict[str, Any]:
    cart = cloud.request("POST", "/carts", body={})
    assert cart.status == 201, cart.text
    cart_id, cart_token = cart.json["cartId"], cart.json["cartToken"]
    put = cloud.request("PUT", f"/carts/{cart_id}/items/{sku}", body={"quantity": 1}, headers={"X-Cart-Token": cart_token})
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
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# --- the console, as staff use it ----------------------------------------------------------------


def sign_in(visit: Visit, base: str, email: str, password: str) -> None:
    page = visit.page
    page.goto(base + "/console/")
    page.get_by_role("heading", name="Staff sign-in").wait_for()
    visit.check("sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sales_today(visit: Visit, base: str) -> int:
    """The orders the sales chart draws for today (its column's value)."""
    page = visit.page
    page.goto(f"{base}/console/#/analytics?metric=orders")
    column = page.locator(f'svg[data-chart="sales"] rect[data-key="{today()}"]').first
    column.wait_for(state="attached")
    return int(column.get_attribute("data-value") or "0")


def staff_flow(visit: Visit, base: str, cloud: Any, password: str) -> None:
    page = visit.page
    sign_in(visit, base, STAFF, password)
    page.get_by_role("heading", name="Orders").wait_for()
    baseline = sales_today(visit, base)
    visit.check("analytics-before")

    order = place_order(cloud)
    wait_for(lambda: order_status(cloud, order) == "CONFIRMED", "the order to be confirmed")

    # The order in the list, filtered by status.
    page.goto(f"{base}/console/#/orders?status=CONFIRMED")
    row = page.locator(f'#orders-table tr[data-order-id="{order["orderId"]}"]')
    row.wait_for()
    visit.check("orders")
    row.get_by_role("link").click()
    page.get_by_role("heading", name=re.compile("^Order")).wait_for()
    visit.check("order-confirmed")

    # Ship it.
    ship = page.locator("#ship-form")
    ship.get_by_label("Carrier").fill("UPS")
    ship.get_by_label("Tracking number").fill(f"1Z{uuid.uuid4().hex[:12].upper()}")
    ship.get_by_role("button", name="Ship").click()
    page.get_by_role("status").filter(has_text="Shipped with UPS").wait_for()
    assert page.locator("#order-status").inner_text() == "SHIPPED"
    visit.check("order-shipped")

    # Record its delivery, as staff do by hand for a carrier that sends no webhook.
    tracking = page.locator("form.tracking-form")
    tracking.get_by_label("Event").select_option("DELIVERED")
    tracking.get_by_label("Location").fill("Springfield")
    tracking.get_by_role("button", name="Record event").click()
    page.get_by_role("status").filter(has_text="Recorded DELIVERED").wait_for()
    assert page.locator("#order-status").inner_text() == "DELIVERED"
    assert "DELIVERED" in page.locator("#order-history").inner_text()
    visit.check("order-delivered")

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
    assert refund_row.get_by_label("Restock").is_checked()
    visit.check("order-return-requested")
    refund_row.get_by_role("button", name="Refund").click()
    page.get_by_role("status").filter(has_text=f"Return {return_id} is REFUNDED").wait_for()
    assert "REFUNDED" in page.locator(f'#returns-table tr[data-return-id="{return_id}"]').inner_text()
    visit.check("order-refunded")

    # The sales chart counts the new order (analytics follows the events within seconds).
    def counted() -> bool:
        return sales_today(visit, base) >= baseline + 1

    wait_for(counted, "the sales chart to count the new order", timeout=45)
    api_count = cloud.request(
        "GET", f"/admin/analytics/sales?from={today()}&to={today()}", token=staff_token(cloud)
    ).json["totals"]["usd"]["orders"]
    assert sales_today(visit, base) == api_count
    visit.check("analytics-after")


def staff_token(cloud: Any) -> str:
    from shopstack.localcloud.tokens import issue_token

    return issue_token(cloud.base_url, STAFF, admin=True)


def test_staff_ship_deliver_refund_and_see_the_sale_counted(cloud: Any, console_visit: Callable[[], Visit]) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD

    staff_token(cloud)  # the staff user, with a password, in the admin group of the local pool
    staff_flow(console_visit(), cloud.base_url, cloud, LOCAL_PASSWORD)


def test_every_section_renders_for_staff(cloud: Any, console_visit: Callable[[], Visit]) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD

    staff_token(cloud)
    visit = console_visit()
    sign_in(visit, cloud.base_url, STAFF, LOCAL_PASSWORD)
    page = visit.page
    page.get_by_role("heading", name="Orders").wait_for()
    for path, ready in [
        ("inventory?sku=TENT-2P", "#low-stock-table"),
        ("products", "#products-table"),
        ("customers?email=example.com", "#customers-table"),
        ("analytics", 'svg[data-chart="funnel"]'),
        ("webhooks", "#webhooks-table"),
        ("operations", "#alarms-table"),
    ]:
        page.goto(f"{cloud.base_url}/console/#/{path}")
        page.locator(ready).wait_for(state="attached")
        assert not page.get_by_role("alert").inner_text()
        visit.check(path.split("?")[0])


def test_a_customer_is_told_the_console_is_for_staff(cloud: Any, console_visit: Callable[[], Visit]) -> None:
    from shopstack.localcloud.tokens import LOCAL_PASSWORD, issue_token

    issue_token(cloud.base_url, SHOPPER)
    visit = console_visit()
    sign_in(visit, cloud.base_url, SHOPPER, LOCAL_PASSWORD)
    visit.page.get_by_role("heading", name="This console is for staff").wait_for()
    visit.check("not-staff")
