"""The load run's pure parts (bench/load.py): the spike shape, how answers are classed, Locust's CSV
output read back, and the stock conservation check."""

from __future__ import annotations

import ipaddress

import pytest

from bench.load import (
    OK,
    OTHER,
    OUT_OF_STOCK,
    SERVER_ERROR,
    STAGES,
    THROTTLED,
    aggregate,
    classify,
    gateway_timeouts,
    history,
    lambda_durations,
    outcome_totals,
    per_second,
    problem_code,
    route_stats,
    shape_at,
    source_address,
    stock_check,
    users_peak,
)

PERCENTILES = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
STATS_CSV = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    f"Max Response Time,Average Content Size,Requests/s,Failures/s,{PERCENTILES}\n"
    "GET,/products/{sku},120,2,15,18.5,9,410,512,2.0,0.03,15,17,19,20,30,45,80,120,400,410,410\n"
    "POST,/carts/{cartId}/checkout,10,0,300,320,200,900,700,0.2,0.0,300,310,320,330,400,800,900,900,900,900,900\n"
    "GET,/carts/{cartId},0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    ",Aggregated,130,2,16,40.0,9,900,530,2.2,0.03,16,18,20,25,60,300,800,900,900,900,900\n"
)
HISTORY_HEADER = (
    f"Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILES},Total Request Count,Total Failure Count,"
    "Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size\n"
)


def test_the_shape_ramps_holds_drops_spikes_and_stops_after_a_minute() -> None:
    assert shape_at(0) == (200, 20)
    assert shape_at(9.9) == (200, 20)
    assert shape_at(20) == (200, 20)
    assert shape_at(35) == (20, 18)
    assert shape_at(42) == (200, 36)
    assert shape_at(60) == (200, 36)
    assert shape_at(STAGES[-1].until_s) is None
    assert STAGES[-1].until_s >= 60
    assert users_peak() == 200


def test_each_stage_reaches_its_users_within_the_stage_at_its_spawn_rate() -> None:
    previous_users, previous_end = 0, 0.0
    for stage in STAGES:
        assert abs(stage.users - previous_users) / stage.rate <= stage.until_s - previous_end + 1e-9
        previous_users, previous_end = stage.users, stage.until_s


@pytest.mark.parametrize(
    ("route", "status", "code", "expected"),
    [
        ("GET /products", 200, None, OK),
        ("POST /carts", 201, None, OK),
        ("POST /carts", 200, None, OTHER),  # not what the route answers on success
        ("POST /carts/{cartId}/checkout", 201, None, OK),
        ("POST /carts/{cartId}/checkout", 409, "out_of_stock", OUT_OF_STOCK),
        ("PUT /carts/{cartId}/items/{sku}", 409, "out_of_stock", OUT_OF_STOCK),
        ("POST /carts/{cartId}/checkout", 409, "idempotency_in_progress", OTHER),
        ("GET /products", 409, "out_of_stock", OTHER),  # no stock is taken there
        ("GET /products/{sku}", 429, None, THROTTLED),
        ("POST /carts/{cartId}/checkout", 429, "hold_limit_exceeded", THROTTLED),
        ("GET /products", 500, None, SERVER_ERROR),
        ("GET /products", 502, "INTEGRATION_FAILURE", SERVER_ERROR),
        ("PUT /carts/{cartId}/items/{sku}", 504, "INTEGRATION_TIMEOUT", SERVER_ERROR),
        ("GET /products", 0, None, OTHER),  # no answer at all
        ("GET /products/{sku}", 404, "product_not_found", OTHER),
    ],
)
def test_answers_are_classed(route: str, status: int, code: str | None, expected: str) -> None:
    assert classify(route, status, code) == expected


def test_problem_code_reads_problem_and_waf_bodies() -> None:
    assert problem_code('{"type": "about:blank", "status": 409, "code": "out_of_stock"}') == "out_of_stock"
    assert problem_code('{"message": "Too Many Requests"}') is None
    assert problem_code("<html>bad gateway</html>") is None
    assert problem_code('["not", "an", "object"]') is None


def test_route_stats_per_route_template_without_the_aggregate() -> None:
    routes = route_stats(STATS_CSV)
    assert set(routes) == {"GET /products/{sku}", "POST /carts/{cartId}/checkout", "GET /carts/{cartId}"}
    assert routes["GET /products/{sku}"] == {"count": 120, "p50_ms": 15.0, "p95_ms": 45.0, "p99_ms": 120.0}
    assert routes["GET /carts/{cartId}"] == {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    assert aggregate(STATS_CSV) == {"count": 130, "p50_ms": 16.0, "p95_ms": 300.0, "p99_ms": 900.0}


def test_aggregate_of_an_empty_run() -> None:
    assert aggregate(STATS_CSV.splitlines()[0] + "\n")["count"] == 0


def _history_row(at: int, users: int, name: str, rps: str, p95: str) -> str:
    percentiles = ",".join(["10", "11", "12", "13", "14", p95, "16", "17", "18", "19", "20"])
    kind = "" if name == "Aggregated" else "GET"
    return f"{at},{users},{kind},{name},{rps},0.000000,{percentiles},5,0,10,10.5,3,20,100\n"


def test_history_keeps_the_aggregated_rows_one_per_second_in_order() -> None:
    text = HISTORY_HEADER + "".join(
        [
            _history_row(1001, 20, "/products", "9.0", "40"),
            _history_row(1001, 20, "Aggregated", "3.5", "50"),
            _history_row(1000, 0, "Aggregated", "0.000000", "N/A"),
            _history_row(1001, 22, "Aggregated", "4.0", "55"),  # a second row in the same second wins
        ]
    )
    points = history(text)
    assert [(p.time, p.users, p.rps, p.p95_ms) for p in points] == [(1000, 0, 0.0, None), (1001, 22, 4.0, 55.0)]


def _order(status: str, *lines: tuple[str, int]) -> dict[str, object]:
    return {"orderId": status + str(lines), "status": status, "lines": [{"sku": s, "quantity": q} for s, q in lines]}


def test_stock_conserved_when_counters_match_the_orders() -> None:
    orders = [
        _order("CONFIRMED", ("A", 2), ("B", 1)),
        _order("CONFIRMED", ("A", 1)),
        _order("PENDING_PAYMENT", ("B", 2)),
        _order("CANCELLED", ("A", 5)),
        _order("PAYMENT_FAILED", ("B", 1)),
        _order("CONFIRMED", ("PLENTY", 3)),  # not a product under check
    ]
    inventory = {"A": {"onHand": 17, "reserved": 0}, "B": {"onHand": 19, "reserved": 2}}
    checked = stock_check({"A": 20, "B": 20}, inventory, orders)
    assert checked["stock_conserved"] is True
    assert checked["oversold"] == 0
    stock = checked["stock"]
    assert {k: stock[k] for k in ("initial", "on_hand_end", "reserved_end", "sold")} == {
        "initial": 40,
        "on_hand_end": 36,
        "reserved_end": 2,
        "sold": 4,
    }
    assert stock["per_sku"]["B"]["held"] == 2
    assert "PLENTY" not in stock["per_sku"]


def test_units_sold_beyond_the_initial_stock_are_oversold() -> None:
    orders = [_order("CONFIRMED", ("A", 1))] * 21  # 21 units of a product that had 20
    checked = stock_check({"A": 20}, {"A": {"onHand": -1, "reserved": 0}}, orders)
    assert checked["oversold"] == 1
    assert checked["stock"]["per_sku"]["A"]["oversold"] == 1


def test_a_reservation_promised_beyond_stock_is_oversold_too() -> None:
    orders = [_order("CONFIRMED", ("A", 19)), _order("PAID", ("A", 2))]
    checked = stock_check({"A": 20}, {"A": {"onHand": 1, "reserved": 2}}, orders)
    assert checked["oversold"] == 1  # 21 units promised, 20 there; and reserved > on hand
    assert checked["stock_conserved"] is False


def test_a_leaked_reservation_breaks_conservation_without_overselling() -> None:
    orders = [_order("CANCELLED", ("A", 2))]  # released, yet still counted as reserved
    checked = stock_check({"A": 20}, {"A": {"onHand": 20, "reserved": 2}}, orders)
    assert checked["oversold"] == 0
    assert checked["stock_conserved"] is False


def test_committed_stock_missing_from_on_hand_breaks_conservation() -> None:
    orders = [_order("CONFIRMED", ("A", 2))]
    checked = stock_check({"A": 20}, {"A": {"onHand": 20, "reserved": 0}}, orders)
    assert checked["stock_conserved"] is False


def test_shoppers_connect_from_distinct_loopback_addresses_apart_from_the_harness() -> None:
    addresses = [source_address(n) for n in range(1000)]
    assert len(set(addresses)) == 1000
    for address in addresses:
        parsed = ipaddress.ip_address(address)
        assert parsed.is_loopback
        assert not address.startswith("127.0.0.")
        assert not address.endswith((".0", ".255"))


def test_summary_totals_and_seconds() -> None:
    summary = {
        "outcomes": {"GET /products": {OK: 5, SERVER_ERROR: 1}, "POST /carts": {OK: 2, THROTTLED: 3}},
        "timeline": {"1000": {OK: 4, THROTTLED: 1}, "1001": {OK: 3, SERVER_ERROR: 1, THROTTLED: 2}},
    }
    totals = outcome_totals(summary)
    assert (totals[OK], totals[SERVER_ERROR], totals[THROTTLED], totals[OTHER]) == (7, 1, 3, 0)
    assert per_second(summary, SERVER_ERROR) == {1000: 0, 1001: 1}
    assert per_second(summary, THROTTLED) == {1000: 1, 1001: 2}


def test_lambda_durations_from_report_lines() -> None:
    console = [
        "[CheckoutApi] REPORT RequestId: 2bb3\tDuration: 300.00 ms\tBilled Duration: 300 ms\tMemory Size: 512 MB",
        "[CheckoutApi] START RequestId: 087b Version: $LATEST",
        '[InventoryApi] {"level":"INFO","message":"request"}'
        "\n[InventoryApi] REPORT RequestId: 1fc7\tDuration: 10.50 ms\tBilled Duration: 11 ms",
        "[CheckoutApi] REPORT RequestId: 4c50\tDuration: 100.00 ms\tBilled Duration: 100 ms",
        "gateway: arn:aws:lambda:...: endpoint request timed out (TimeoutError())",
    ]
    assert lambda_durations(console) == {
        "CheckoutApi": {"count": 2, "p50_ms": 200.0, "p90_ms": 300.0, "total_s": 0.4},
        "InventoryApi": {"count": 1, "p50_ms": 10.5, "p90_ms": 10.5, "total_s": 0.0},
    }


def test_gateway_timeouts_per_function_queued_or_running() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shopstack-dev-checkout-CheckoutApiFunctionC3B80C0B-WG92D7P9"
    inventory = (
        "arn:aws:lambda:us-east-1:123456789012:function:shopstack-dev-inventory-InventoryApiFunction55841460-JB5"
    )
    console = [
        f"gateway: {arn}: endpoint request timed out (TimeoutError())",
        f"gateway: {arn}: endpoint request timed out (TimeoutError())[CheckoutApi] START RequestId: 1",
        f"gateway: {arn}: endpoint request timed out (TimeoutError('shopstack-dev-checkout-CheckoutApiFunction"
        "C3B80C0B-WG92D7P9: LocalCloud.QueueTimeout: no worker of shopstack-dev-checkout-CheckoutApiFunctionC3B80C0B"
        "-WG92D7P9 came free within 27.2 s'))",
        f"gateway: {inventory}: endpoint request timed out (TimeoutError('x: LocalCloud.QueueTimeout: no worker'))",
        f"gateway: {arn} failed: LambdaInvocationError('Sandbox.Timedout')",
    ]
    assert gateway_timeouts(console) == {
        "CheckoutApi": {"queued": 1, "running": 2},
        "InventoryApi": {"queued": 1, "running": 0},
    }
