"""Reusable constructs of the shopstack app (keyword-only props, no grants)."""

from infra.components.queue import QueueWithDeadLetter, every_event
from infra.components.service_function import ServiceFunction
from infra.components.shared_layer import SharedLayer
from infra.components.table import OnDemandTable

__all__ = ["OnDemandTable", "QueueWithDeadLetter", "ServiceFunction", "SharedLayer", "every_event"]
