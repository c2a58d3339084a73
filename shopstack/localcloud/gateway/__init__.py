"""The local API Gateway: REST API v1 data plane over the RestApis deployed into moto.

Routes, methods, Lambda proxy integrations, the Cognito authorizer, CORS preflight mocks and
stage throttling are all read from what CloudFormation deployed into moto's in-process
apigateway backend; nothing here declares a route. `refresh()` compiles them into a routing
tree so a request costs a few dictionary lookups before the Lambda is invoked.

- `app.py`: `LocalGateway`, the WSGI app: what a request goes through, in order
- `local_endpoints.py`: `/_localcloud` and the local cloud's other endpoints on the same origin
- `deployed.py`: the deployed RestApis (and what moto does not keep of their templates) compiled
  into the `model.py` dataclasses
- `routes.py`: the routing tree; `authorizer.py`: the Cognito authorizer; `throttling.py`: stage
  throttling; `mock_integration.py`: MOCK integrations (CORS preflights)
- `http_request.py`: reading the request; `proxy_event.py`: the Lambda proxy event;
  `proxy_response.py`: the function's answer as the HTTP response
- `gateway_responses.py`: the errors the gateway answers itself; `access_log.py`: its access log
"""

from __future__ import annotations

from shopstack.localcloud.gateway.app import INTEGRATION_TIMEOUT_SECONDS, LocalGateway

__all__ = ["INTEGRATION_TIMEOUT_SECONDS", "LocalGateway"]
