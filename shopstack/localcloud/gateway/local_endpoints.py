"""The local cloud's own endpoints on the gateway's origin: `GET /_localcloud` (where moto and
the user pool are), the control switches (shopstack.localcloud.control), captured mail, the WAF
rate limits, and the observability reads (logs, metrics, alarms, traces)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shopstack.localcloud import control, mail, observability, ratelimit
from shopstack.localcloud.gateway.deployed import backend
from shopstack.localcloud.gateway.http_request import query_parameters, read_body
from shopstack.localcloud.gateway.model import Headers, Request

if TYPE_CHECKING:
    from shopstack.localcloud.gateway.app import LocalGateway

LOCALCLOUD_PATH = "/_localcloud"


def serve(gateway: LocalGateway, request: Request) -> tuple[int, Headers, bytes] | None:
    """The answer of the local endpoint at the request's path; None when it is not one."""
    if request.path == LOCALCLOUD_PATH and request.method == "GET":
        return json_response(200, localcloud_info(gateway), request)
    if request.path in control.PATHS:
        status, document = control.handle(request.method, request.path, read_body(request.environ) or b"")
        return json_response(status, document, request)
    if request.path == mail.MAIL_PATH and request.method == "GET":
        to = (query_parameters(request.environ.get("QUERY_STRING", ""))[0] or {}).get("to")
        return json_response(200, mail.captured(gateway.account_id, gateway.region, to), request)
    if request.path == ratelimit.RATELIMITS_PATH:
        status, document = gateway.rate_limiter.handle(request.method, read_body(request.environ) or b"")
        return json_response(status, document, request)
    if observability.serves(request.path):
        query = query_parameters(request.environ.get("QUERY_STRING", ""))[0] or {}
        status, document = observability.handle(
            request.method,
            request.path,
            query,
            clients=gateway.aws_clients,
            account_id=gateway.account_id,
            region=gateway.region,
        )
        return json_response(status, document, request)
    return None


def localcloud_info(gateway: LocalGateway) -> dict[str, Any]:
    pools = backend("cognito-idp", gateway.account_id, gateway.region).user_pools
    wanted = [pool_id for api in gateway.apis for pool_id in api.user_pool_ids]
    pool = next((pools[p] for p in wanted if p in pools), None) or next(iter(pools.values()), None)
    client_id = next(iter(pool.clients), None) if pool is not None else None
    return {
        "motoUrl": gateway.moto_url,
        "region": gateway.region,
        "accountId": gateway.account_id,
        "userPoolId": pool.id if pool is not None else None,
        "userPoolClientId": client_id,
    }


def json_response(status: int, document: Any, request: Request) -> tuple[int, Headers, bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request.request_id)]
    return status, headers, json.dumps(document).encode("utf-8")
