import json
import re

import pytest

from commerce.errors import Conflict, ValidationFailed
from commerce.http import caller_of, problem_body, require_admin
from commerce.idempotency import idempotency_key
from commerce.ids import new_id, stable_id
from commerce.money import Money
from commerce.pagination import decode_cursor, encode_cursor


def test_problem_body_is_rfc9457_with_code_and_field_errors() -> None:
    body = problem_body(Conflict("gone", code="out_of_stock", errors=[{"sku": "AB"}]))
    assert body == {
        "type": "/problems/out_of_stock",
        "title": "Conflict",
        "status": 409,
        "detail": "gone",
        "code": "out_of_stock",
        "errors": [{"sku": "AB"}],
    }


def _claims(**claims: object) -> dict[str, object]:
    return {"requestContext": {"authorizer": {"claims": claims}}}


@pytest.mark.parametrize("groups", ["admin", "[admin, staff]", "staff,admin", ["admin"]])
def test_admin_group_is_read_from_every_claim_rendering(groups: object) -> None:
    assert caller_of(_claims(sub="u1", **{"cognito:groups": groups})).is_admin


def test_anonymous_and_non_admin_callers_are_refused_admin_routes() -> None:
    from commerce.errors import Forbidden, Unauthorized

    with pytest.raises(Unauthorized):
        require_admin({"requestContext": {}})
    with pytest.raises(Forbidden):
        require_admin(_claims(sub="u1", **{"cognito:groups": "staff"}))


def test_ids_are_unguessable_and_time_ordered() -> None:
    first, second = new_id(1_000), new_id(2_000)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", first)
    assert first < second
    assert new_id() != new_id()
    assert stable_id("a", "b") == stable_id("a", "b") != stable_id("ab")


@pytest.mark.parametrize("amount", [1.5, "100", True])
def test_money_is_integer_minor_units(amount: object) -> None:
    with pytest.raises(ValidationFailed):
        Money(amount)  # type: ignore[arg-type]


def test_cursor_round_trip_and_binding_to_its_query() -> None:
    cursor = encode_cursor({"sku": "AB"}, query="category=tents")
    assert cursor is not None
    assert decode_cursor(cursor, query="category=tents") == {"sku": "AB"}
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, query="category=packs")
    with pytest.raises(ValidationFailed):
        decode_cursor("not-a-cursor!", query="category=tents")
    assert encode_cursor(None, query="x") is None


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": ""}, {"idempotency-key": "k" * 256}])
def test_idempotency_key_is_required_and_bounded(headers: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed):
        idempotency_key(headers)


def test_idempotency_key_header_is_case_insensitive() -> None:
    assert idempotency_key({"IDEMPOTENCY-KEY": "abc"}) == "abc"
    assert json.dumps(idempotency_key({"idempotency-key": "k" * 255}))
