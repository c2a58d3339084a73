"""Logs, traces and metrics of every handler (Powertools Logger, Tracer and Metrics), and the
correlation id that follows one storefront request everywhere it goes.

- `@observed` wraps every Lambda handler: JSON log lines with the function's context and cold
  start flag, an X-Ray segment (Tracer, which patches botocore and the HTTP clients, so every
  AWS call and every Stripe or webhook request is a subsegment), the invocation's metrics flushed
  as CloudWatch EMF when it ends, and the correlation id of what it serves.
- The correlation id of an API request is its `X-Correlation-Id` header when well formed, else API
  Gateway's request id. Checkout stores it on the order (`correlationId`), and from there it rides
  in every event's `metadata.correlationId`, every workflow input and every queue message, so a
  consumer sets it again with `correlate(...)` per record.
- Every line a function logs passes through `redact`: e-mail addresses, card numbers, bearer and
  ID tokens, Stripe keys and signing secrets never reach a log, whoever wrote the line.

Powertools objects are built on first use, not at import, so a module that is only imported pays
nothing and the service name and namespace come from the function's environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE)."""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Mapping
from functools import cache, wraps
from typing import Any, TypeVar

CORRELATION_HEADER = "x-correlation-id"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,99}$")
PACKAGES = ("commerce", "checkout", "orders", "inventory", "customers", "analytics", "integrations", "apidocs")
"""Loggers of these packages (`logging.getLogger(__name__)`) write through the function's logger."""

_REDACTIONS = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*"), "<token>"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]+"), "<stripe-key>"),
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), "<secret>"),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "<number>"),
    (re.compile(r"(?i)\b(bearer|token|secret|password)(\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\s\"'\\,}]+"), r"\1\2<redacted>"),
)

F = TypeVar("F", bound=Callable[..., Any])
_METRICS_LOCK = threading.Lock()


def redact(text: str) -> str:
    """`text` without e-mail addresses, JWTs, Stripe keys and secrets, card-like numbers (13-19
    digits) and the values of `token`/`secret`/`password`/`bearer` fields."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class _Stdout:
    """Whatever `sys.stdout` is when a line is written (a test's capture replaces it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@cache
def logger() -> Any:
    """The function's Powertools Logger (service from POWERTOOLS_SERVICE_NAME)."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class RedactingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: Any) -> str:
            return redact(super().serialize(log))

    log = Logger(logger_formatter=RedactingFormatter(), logger_handler=logging.StreamHandler(_Stdout()), utc=True)
    handlers = log.registered_handler
    for name in PACKAGES:
        if name == log.name:
            continue
        package = logging.getLogger(name)
        package.handlers = [handlers]
        package.setLevel(log.log_level)
        package.propagate = False
    return log


@cache
def tracer() -> Any:
    """The function's Powertools Tracer: off outside Lambda and where POWERTOOLS_TRACE_DISABLED."""
    from aws_lambda_powertools import Tracer

    return Tracer()


@cache
def metrics() -> Any:
    """The function's Powertools Metrics: EMF in POWERTOOLS_METRICS_NAMESPACE, dimension `service`."""
    from aws_lambda_powertools import Metrics

    return Metrics()


def count(name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
    """Add one datapoint to the invocation's metrics. Extra dimensions (keep them few: each value
    is a metric billed by the month) go out at once as their own EMF line, beside `service`."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    if not dimensions:
        with _METRICS_LOCK:  # a batch's records may run on threads
            metrics().add_metric(name=name, unit=MetricUnit(unit), value=value)
        return
    service = metrics().service or "unknown"
    with single_metric(
        name=name,
        unit=MetricUnit(unit),
        value=value,
        namespace=metrics().namespace,
        default_dimensions={"service": service},
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def correlation_of(event: Any) -> str | None:
    """The correlation id an event carries: an API request's header or request id, a workflow
    task's or queue message's `correlationId`, an EventBridge event's `metadata.correlationId` (or
    its id), a table stream record's `correlationId` attribute."""
    if not isinstance(event, Mapping):
        return None
    if "httpMethod" in event:
        headers = event.get("headers") or {}
        given = next((str(v) for k, v in headers.items() if str(k).lower() == CORRELATION_HEADER), "")
        if _WELL_FORMED.match(given):
            return given
        request_id = (event.get("requestContext") or {}).get("requestId")
        return str(request_id) if request_id else None
    if isinstance(event.get("correlationId"), str):
        return str(event["correlationId"])
    execution = event.get("execution")  # a workflow task: its execution's input
    if isinstance(execution, Mapping) and isinstance(execution.get("correlationId"), str):
        return str(execution["correlationId"])
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        metadata = detail.get("metadata") or {}
        found = metadata.get("correlationId") if isinstance(metadata, Mapping) else None
        return str(found or event.get("id") or "") or None
    if "body" in event and "messageId" in event:  # an SQS record
        return correlation_of(_json(event.get("body")))
    change = event.get("dynamodb")
    if isinstance(change, Mapping):
        for image in ("NewImage", "OldImage"):
            attribute = (change.get(image) or {}).get("correlationId") or {}
            if attribute.get("S"):
                return str(attribute["S"])
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return str(event.get("id") or "") or None
    return None


def _json(raw: Any) -> Any:
    import json

    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None


def correlate(record: Any) -> str | None:
    """Set the correlation id of one batch record (an SQS message or a stream record, raw or a
    Powertools data class) on this thread's log lines; returns it."""
    raw = getattr(record, "raw_event", record)
    found = correlation_of(raw)
    logger().thread_safe_append_keys(correlation_id=found)
    return found


def per_record(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A batch record handler whose log lines carry the record's own correlation id."""

    @wraps(handler)
    def each(record: Any) -> Any:
        correlate(record)
        try:
            return handler(record)
        finally:
            logger().thread_safe_clear_keys()

    return each


def current_correlation_id() -> str | None:
    """The correlation id of what this invocation (or this thread's record) serves."""
    log = logger()
    found = log.thread_safe_get_current_keys().get("correlation_id") or log.get_correlation_id()
    return str(found) if found else None


def observed(handler: F) -> F:
    """Wrap a Lambda handler with the function's Logger (context, cold start, correlation id),
    Tracer and Metrics. The wrapping is built on the first invocation."""
    chain: list[Callable[[Any, Any], Any]] = []

    def correlated(event: Any, context: Any) -> Any:
        logger().set_correlation_id(correlation_of(event))
        return handler(event, context)

    def build() -> Callable[[Any, Any], Any]:
        inner = logger().inject_lambda_context(correlated, clear_state=True)
        return tracer().capture_lambda_handler(inner, capture_response=False)

    @wraps(handler)
    def entry(event: Any, context: Any) -> Any:
        if not chain:
            chain.append(build())
        try:
            return chain[0](event, context)
        finally:
            with _METRICS_LOCK:
                if metrics().metric_set:
                    metrics().flush_metrics()

    return entry  # type: ignore[return-value]
