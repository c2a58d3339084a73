"""Wires the customer use cases to their adapters, once per process, on first use."""

from __future__ import annotations

from functools import cache

from customers.service import Customers


@cache
def customers() -> Customers:
    from commerce import erasures
    from commerce.eventbridge import EventBridgePublisher
    from customers.adapters.cognito import CognitoUsers
    from customers.adapters.dynamodb import DynamoProfileStore
    from customers.adapters.records import DynamoCartRecords, DynamoOrderRecords

    return Customers(
        profiles=DynamoProfileStore(),
        orders=DynamoOrderRecords(),
        carts=DynamoCartRecords(),
        users=CognitoUsers(),
        publisher=EventBridgePublisher(),
        erasures=erasures.log(),
    )
