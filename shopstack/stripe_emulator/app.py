"""The WSGI application: authentication, routing, faults, idempotency and the `/_emulator` controls."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from shopstack.stripe_emulator import payments
from shopstack.stripe_emulator.challenge import challenge_page
from shopstack.stripe_emulator.errors import StripeError, authentication, invalid_request, no_such, validation
from shopstack.stripe_emulator.faults import Fault, Faults
from shopstack.stripe_emulator.forms import Params, as_bool, as_str, check_known, expand_paths, parse_pairs
from shopstack.stripe_emulator.idempotency import IdempotencyStore, StoredResponse, fingerprint
from shopstack.stripe_emulator.state import (
    DEFAULT_API_VERSION,
    Clock,
    Obj,
    RequestContext,
    State,
    check_expandable,
    expand,
    new_id,
    page,
)
from shopstack.stripe_emulator.webhooks import Dispatcher, Post, RetryPolicy, check_url, http_post, new_secret

JSON = "application/json"


@dataclass
class Call:
    """One API request as a handler sees it."""

    emulator: StripeEmulator
    params: Params
    args: dict[str, str]
    path: str

    @property
    def state(self) -> State:
        return self.emulator.state


Handler = Callable[[Call], Obj]


# --- API handlers --------------------------------------------------------------------------------


def _listed(call: Call, items: list[Obj], allowed: Iterable[str]) -> Obj:
    check_known(call.params, {"limit", "starting_after", "ending_before", *allowed})
    return page(items, call.params, call.path)


def _webhook_endpoint_view(endpoint: Obj, *, with_secret: bool = False) -> Obj:
    view = {k: v for k, v in endpoint.items() if k != "secret"}
    if with_secret:
        view["secret"] = endpoint["secret"]
    return view


def _enabled_events(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise validation("Invalid array", param="enabled_events")


def create_webhook_endpoint(state: State, params: Params) -> Obj:
    check_known(params, {"url", "enabled_events", "description", "metadata", "api_version", "secret"})
    if "enabled_events" not in params:
        raise validation("Missing required param: enabled_events.", param="enabled_events", code="parameter_missing")
    endpoint: Obj = {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": state.now(),
        "description": params.get("description"),
        "enabled_events": _enabled_events(params["enabled_events"]),
        "livemode": False,
        "metadata": dict(params.get("metadata") or {}),
        "secret": as_str(params.get("secret") or new_secret(), "secret"),
        "status": "enabled",
        "url": check_url(params.get("url")),
    }
    state.webhook_endpoints[endpoint["id"]] = endpoint
    return endpoint


def _webhook_endpoint(state: State, endpoint_id: str) -> Obj:
    endpoint = state.webhook_endpoints.get(endpoint_id)
    if endpoint is None:
        raise no_such("webhook_endpoint", endpoint_id)
    return endpoint


def _update_webhook_endpoint(call: Call) -> Obj:
    check_known(call.params, {"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = _webhook_endpoint(call.state, call.args["id"])
    if "url" in call.params:
        endpoint["url"] = check_url(call.params["url"])
    if "enabled_events" in call.params:
        endpoint["enabled_events"] = _enabled_events(call.params["enabled_events"])
    if "description" in call.params:
        endpoint["description"] = call.params["description"] or None
    if "disabled" in call.params:
        endpoint["status"] = "disabled" if as_bool(call.params["disabled"], "disabled") else "enabled"
    return _webhook_endpoint_view(endpoint)


def _delete_webhook_endpoint(call: Call) -> Obj:
    endpoint = _webhook_endpoint(call.state, call.args["id"])
    del call.state.webhook_endpoints[endpoint["id"]]
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


def _event(call: Call) -> Obj:
    event = call.state.events.get(call.args["id"])
    if event is None:
        raise no_such("event", call.args["id"])
    return call.emulator.event_view(event)


def _events(call: Call) -> Obj:
    items = [call.emulator.event_view(e) for e in reversed(call.state.events.values())]
    types: list[str] = []
    if "type" in call.params:
        types.append(as_str(call.params["type"], "type"))
    if isinstance(call.params.get("types"), list):
        types.extend(call.params["types"])
    if types:
        items = [e for e in items if any(_type_matches(t, e["type"]) for t in types)]
    return _listed(call, items, {"type", "types", "created", "delivery_success"})


def _type_matches(pattern: str, event_type: str) -> bool:
    return pattern == event_type or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))


API: list[tuple[str, str, str, Handler]] = [
    ("POST", "/v1/payment_intents", "pi_create", lambda c: payments.create_payment_intent(c.state, c.params)),
    (
        "GET",
        "/v1/payment_intents",
        "pi_list",
        lambda c: _listed(c, payments.list_payment_intents(c.state, c.params), {"customer", "created"}),
    ),
    ("GET", "/v1/payment_intents/<id>", "pi_get", lambda c: payments.retrieve_payment_intent(c.state, c.args["id"])),
    (
        "POST",
        "/v1/payment_intents/<id>",
        "pi_update",
        lambda c: payments.update_payment_intent(c.state, c.args["id"], c.params),
    ),
    (
        "POST",
        "/v1/payment_intents/<id>/confirm",
        "pi_confirm",
        lambda c: payments.confirm_payment_intent(c.state, c.args["id"], c.params),
    ),
    (
        "POST",
        "/v1/payment_intents/<id>/capture",
        "pi_capture",
        lambda c: payments.capture_payment_intent(c.state, c.args["id"], c.params),
    ),
    (
        "POST",
        "/v1/payment_intents/<id>/cancel",
        "pi_cancel",
        lambda c: payments.cancel_payment_intent(c.state, c.args["id"], c.params),
    ),
    ("POST", "/v1/payment_methods", "pm_create", lambda c: payments.create_payment_method(c.state, c.params)),
    (
        "GET",
        "/v1/payment_methods/<id>",
        "pm_get",
        lambda c: payments.retrieve_payment_method(c.state, c.args["id"]),
    ),
    (
        "GET",
        "/v1/charges",
        "ch_list",
        lambda c: _listed(c, payments.list_charges(c.state, c.params), {"payment_intent"}),
    ),
    ("GET", "/v1/charges/<id>", "ch_get", lambda c: payments.retrieve_charge(c.state, c.args["id"])),
    ("POST", "/v1/refunds", "re_create", lambda c: payments.create_refund(c.state, c.params)),
    (
        "GET",
        "/v1/refunds",
        "re_list",
        lambda c: _listed(c, payments.list_refunds(c.state, c.params), {"payment_intent", "charge"}),
    ),
    ("GET", "/v1/refunds/<id>", "re_get", lambda c: payments.retrieve_refund(c.state, c.args["id"])),
    ("GET", "/v1/events", "evt_list", _events),
    ("GET", "/v1/events/<id>", "evt_get", _event),
    (
        "POST",
        "/v1/webhook_endpoints",
        "we_create",
        lambda c: _webhook_endpoint_view(create_webhook_endpoint(c.state, c.params), with_secret=True),
    ),
    (
        "GET",
        "/v1/webhook_endpoints",
        "we_list",
        lambda c: _listed(c, [_webhook_endpoint_view(e) for e in reversed(c.state.webhook_endpoints.values())], ()),
    ),
    (
        "GET",
        "/v1/webhook_endpoints/<id>",
        "we_get",
        lambda c: _webhook_endpoint_view(_webhook_endpoint(c.state, c.args["id"])),
    ),
    ("POST", "/v1/webhook_endpoints/<id>", "we_update", _update_webhook_endpoint),
    ("DELETE", "/v1/webhook_endpoints/<id>", "we_delete", _delete_webhook_endpoint),
]

HANDLERS: dict[str, Handler] = {name: handler for _, _, name, handler in API}
API_MAP = Map([Rule(path, methods=[method], endpoint=name) for method, path, name, _ in API], strict_slashes=False)

CONTROL_MAP = Map(
    [
        Rule("/_emulator/health", methods=["GET"], endpoint="health"),
        Rule("/_emulator/reset", methods=["POST"], endpoint="reset"),
        Rule("/_emulator/clock", methods=["GET", "POST"], endpoint="clock"),
        Rule("/_emulator/faults", methods=["GET", "POST", "DELETE"], endpoint="faults"),
        Rule("/_emulator/webhooks", methods=["GET"], endpoint="webhooks"),
        Rule("/_emulator/webhooks/pause", methods=["POST"], endpoint="webhooks_pause"),
        Rule("/_emulator/webhooks/resume", methods=["POST"], endpoint="webhooks_resume"),
        Rule("/_emulator/webhooks/config", methods=["GET", "POST"], endpoint="webhooks_config"),
        Rule("/_emulator/webhooks/redeliver/<event_id>", methods=["POST"], endpoint="webhooks_redeliver"),
        Rule("/_emulator/webhook_endpoints", methods=["GET", "POST"], endpoint="webhook_endpoints"),
        Rule("/_emulator/payment_intents/<id>/authenticate", methods=["GET", "POST"], endpoint="authenticate"),
        Rule("/_emulator/payment_intents/<id>/challenge", methods=["GET"], endpoint="challenge"),
    ],
    strict_slashes=False,
)


# --- the application -----------------------------------------------------------------------------


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, indent=2), status=status, mimetype=JSON, headers=headers or {})


def api_key_of(request: Request) -> str:
    """The secret key from Bearer or Basic auth; 401 unless it is a `sk_test_` key."""
    auth = request.authorization
    key = ""
    if auth is not None:
        if auth.type == "bearer":
            key = auth.token or ""
        elif auth.type == "basic":
            key = auth.username or ""
    if not key:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api"
            "#authentication for details, or we can help at https://support.stripe.com/."
        )
    if not key.startswith("sk_test_") or len(key) <= len("sk_test_"):
        masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
        raise authentication(f"Invalid API Key provided: {masked}")
    return key


def request_params(request: Request) -> Params:
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs.extend(request.form.items(multi=True))
    return parse_pairs(pairs)


class StripeEmulator:
    """The Stripe emulator as a WSGI application; its state lives in memory behind one lock."""

    def __init__(self, *, webhook_policy: RetryPolicy | None = None, post: Post = http_post) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.state = self._new_state()
        self.idempotency = IdempotencyStore()
        self.faults = Faults()
        self.dispatcher = Dispatcher(
            self.lock, self.clock, lambda event_id: self.state.events.get(event_id), webhook_policy, post
        )

    def _new_state(self) -> State:
        state = State(clock=self.clock)
        state.sinks.append(self._deliver)
        return state

    def _deliver(self, event: Obj) -> None:
        self.dispatcher.schedule(event, list(self.state.webhook_endpoints.values()))

    # --- in-process API ---

    def start(self) -> StripeEmulator:
        self.dispatcher.start()
        return self

    def stop(self) -> None:
        self.dispatcher.stop()

    def reset(self, *, webhook_endpoints: bool = False) -> None:
        """Forget every object, event, key, fault and delivery; keep webhook endpoints unless asked."""
        with self.lock:
            endpoints = {} if webhook_endpoints else self.state.webhook_endpoints
            self.state = self._new_state()
            self.state.webhook_endpoints = endpoints
            self.idempotency.clear()
            self.faults.clear()
            self.dispatcher.clear()
            self.clock.offset = 0.0

    def add_webhook_endpoint(
        self, url: str, *, secret: str | None = None, enabled_events: Iterable[str] = ("*",)
    ) -> Obj:
        """Register an endpoint; the answer includes its signing `secret`."""
        params: Params = {"url": url, "enabled_events": list(enabled_events)}
        if secret:
            params["secret"] = secret
        with self.lock:
            return _webhook_endpoint_view(create_webhook_endpoint(self.state, params), with_secret=True)

    def event_view(self, event: Obj) -> Obj:
        return {**event, "pending_webhooks": self.dispatcher.pending_for(event["id"])}

    # --- WSGI ---

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/_emulator"):
            response = self._control(request)
            return response(environ, start_response)
        response, fault = self._api(request)
        if fault is not None:
            return self._lose(fault, environ, response, start_response)
        return response(environ, start_response)

    def _lose(self, fault: Fault, environ: dict[str, Any], response: Response, start_response: Any) -> Iterable[bytes]:
        """The effect has been committed; the client never sees the answer."""
        if fault.kind == "drop_after_commit":
            connection = environ.get("werkzeug.socket")
            if isinstance(connection, socket.socket):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                # The server's write of this answer then fails on the closed socket, quietly.
                start_response("500 Connection Dropped", [("Content-Length", "0")])
                return []
        time.sleep(fault.seconds)
        return response(environ, start_response)

    def _api(self, request: Request) -> tuple[Response, Fault | None]:
        request_id = new_id("req", 14)
        version = request.headers.get("Stripe-Version") or DEFAULT_API_VERSION
        headers = {"Request-Id": request_id, "Stripe-Version": version}
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        if key:
            headers["Idempotency-Key"] = key
        try:
            api_key = api_key_of(request)
            endpoint, args = self._route(request)
            params = request_params(request)
            paths = expand_paths(params)
            check_expandable(paths)
            with self.lock:
                fault = self.faults.take(request.method, request.path)
            if fault is not None and not fault.after_commit:
                raise fault.error()
            call = Call(self, params, args, request.path)
            context = RequestContext(request_id, key, version, request.host_url.rstrip("/"))
            return self._execute(
                api_key, key, f"{request.method} {request.path}", call, endpoint, paths, context, headers
            ), fault
        except StripeError as err:
            return json_response(err.status, err.body(), {**headers, **err.headers}), None

    def _route(self, request: Request) -> tuple[str, dict[str, str]]:
        try:
            endpoint, args = API_MAP.bind_to_environ(request.environ).match()
        except HTTPException:
            raise invalid_request(
                f"Unrecognized request URL ({request.method}: {request.path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
                status=404,
                saved=False,
            ) from None
        return str(endpoint), {k: str(v) for k, v in args.items()}

    def _execute(
        self,
        api_key: str,
        key: str | None,
        endpoint_name: str,
        call: Call,
        endpoint: str,
        paths: list[str],
        context: RequestContext,
        headers: dict[str, str],
    ) -> Response:
        with self.lock:
            now = self.clock.now()
            if key:
                self.idempotency.check_key(key)
                stored = self.idempotency.lookup(api_key, key, endpoint_name, call.params, now)
                if stored is not None:
                    replay = {
                        **stored.headers,
                        "Request-Id": context.request_id,
                        "Original-Request": stored.headers.get("Request-Id", ""),
                        "Idempotent-Replayed": "true",
                    }
                    return Response(stored.body, status=stored.status, mimetype=JSON, headers=replay)
            self.state.request = context
            try:
                result = expand(HANDLERS[endpoint](call), paths, self.state)
                status, body, extra = 200, result, {}
                saved = True
            except StripeError as err:
                status, body, extra, saved = err.status, err.body(), err.headers, err.saved
            finally:
                self.state.request = None
            payload = json.dumps(body, indent=2).encode()
            all_headers = {**headers, **extra}
            if key and saved:
                self.idempotency.save(
                    api_key,
                    key,
                    StoredResponse(endpoint_name, fingerprint(call.params), status, payload, all_headers, now),
                )
            return Response(payload, status=status, mimetype=JSON, headers=all_headers)

    # --- /_emulator ---

    def _control(self, request: Request) -> Response:
        try:
            endpoint, args = CONTROL_MAP.bind_to_environ(request.environ).match()
        except HTTPException:
            return json_response(404, invalid_request(f"Unknown emulator path {request.path}").body())
        try:
            body = request.get_json(silent=True) if request.method == "POST" else None
            if body is None and request.method == "POST" and request.form:
                body = request.form.to_dict()  # the challenge page's forms
            spec: dict[str, Any] = body if isinstance(body, dict) else {}
            return self._control_action(str(endpoint), dict(args), spec, request)
        except StripeError as err:
            return json_response(err.status, err.body(), err.headers)

    def _control_action(self, endpoint: str, args: dict[str, Any], spec: dict[str, Any], request: Request) -> Response:
        if endpoint == "health":
            return json_response(200, {"ok": True})
        if endpoint == "reset":
            self.reset(webhook_endpoints=bool(spec.get("webhook_endpoints", False)))
            return json_response(200, {"reset": True})
        if endpoint == "clock":
            return self._clock(spec, request)
        if endpoint == "faults":
            return self._faults(spec, request)
        if endpoint.startswith("webhook"):
            return self._webhooks(endpoint, args, spec, request)
        if endpoint == "authenticate":
            return self._authenticate(str(args["id"]), spec, request)
        if endpoint == "challenge":
            return self._challenge(str(args["id"]), request)
        raise invalid_request(f"Unknown emulator path {request.path}", status=404)

    def _clock(self, spec: dict[str, Any], request: Request) -> Response:
        if request.method == "POST":
            for name in ("advance", "offset"):
                value = spec.get(name)
                if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                    raise validation(f"{name} must be a number of seconds", param=name)
            with self.lock:
                if "offset" in spec:
                    self.clock.offset = float(spec["offset"])
                self.clock.offset += float(spec.get("advance", 0))
        return json_response(200, {"now": self.clock.now(), "offset": self.clock.offset})

    def _faults(self, spec: dict[str, Any], request: Request) -> Response:
        with self.lock:
            if request.method == "POST":
                return json_response(200, self.faults.add(spec).describe())
            if request.method == "DELETE":
                self.faults.clear()
            return json_response(200, {"faults": self.faults.describe()})

    def _webhooks(self, endpoint: str, args: dict[str, Any], spec: dict[str, Any], request: Request) -> Response:
        dispatcher = self.dispatcher
        if endpoint == "webhooks_pause":
            dispatcher.pause()
        elif endpoint == "webhooks_resume":
            dispatcher.resume(str(spec.get("order", "created")))
        elif endpoint == "webhooks_config":
            if request.method == "POST":
                with self.lock:
                    dispatcher.policy.update(spec)
            policy = dispatcher.policy
            return json_response(
                200,
                {
                    "max_attempts": policy.max_attempts,
                    "base_delay": policy.base_delay,
                    "max_delay": policy.max_delay,
                    "timeout": policy.timeout,
                },
            )
        elif endpoint == "webhooks_redeliver":
            with self.lock:
                event = self.state.events.get(str(args["event_id"]))
                if event is None:
                    raise no_such("event", str(args["event_id"]))
                created = dispatcher.schedule(event, list(self.state.webhook_endpoints.values()))
            return json_response(200, {"deliveries": [d.describe() for d in created]})
        elif endpoint == "webhook_endpoints":
            if request.method == "POST":
                enabled = spec.get("enabled_events", ["*"])
                return json_response(
                    200,
                    self.add_webhook_endpoint(spec.get("url", ""), secret=spec.get("secret"), enabled_events=enabled),
                )
            with self.lock:
                listed = [_webhook_endpoint_view(e, with_secret=True) for e in self.state.webhook_endpoints.values()]
            return json_response(200, {"data": listed})
        return json_response(200, {"paused": dispatcher.paused, "deliveries": dispatcher.describe()})

    def _authenticate(self, pi_id: str, spec: dict[str, Any], request: Request) -> Response:
        """The customer completes or fails 3-D Secure; with `redirect=true` the browser goes back to
        the PaymentIntent's return URL (or the challenge page's `return_url`), with `payment_intent`
        and `redirect_status` added as Stripe adds them."""
        outcome = str(spec.get("outcome") or request.args.get("outcome") or "succeed")
        with self.lock:
            pi = self.state.payment_intents.get(pi_id)
            return_url = spec.get("return_url") or request.args.get("return_url")
            if pi is not None and pi["next_action"] and pi["next_action"]["type"] == "redirect_to_url":
                return_url = pi["next_action"]["redirect_to_url"]["return_url"]
            result = payments.authenticate_payment_intent(self.state, pi_id, outcome)
            body = json.loads(json.dumps(result))
        if "true" in (request.args.get("redirect"), spec.get("redirect")) and return_url:
            separator = "&" if "?" in return_url else "?"
            status = "failed" if result["status"] == "requires_payment_method" else "succeeded"
            location = f"{return_url}{separator}payment_intent={pi_id}&redirect_status={status}"
            return Response("", status=302, headers={"Location": location})
        return json_response(200, body)

    def _challenge(self, pi_id: str, request: Request) -> Response:
        """The test bank's 3-D Secure page for a PaymentIntent that requires action: two forms,
        complete or fail, each posting to `authenticate` and going back to `return_url`."""
        with self.lock:
            pi = payments.retrieve_payment_intent(self.state, pi_id)
            amount, currency, status = int(pi["amount"]), str(pi["currency"]), str(pi["status"])
        return_url = request.args.get("return_url", "")
        if not return_url.startswith(("http://", "https://")):
            raise validation("return_url must be an http(s) URL", param="return_url")
        page = challenge_page(pi_id, amount, currency, status, return_url)
        return Response(page, status=200, mimetype="text/html", headers={"Cache-Control": "no-store"})
