"""Response bodies of the analytics reports; the OpenAPI document is built from them. Names are
prefixed so they never clash with another service's schemas in the merged document."""

from __future__ import annotations

from pydantic import BaseModel, Field

from commerce.contract import OUT


class AnalyticsSalesCounts(BaseModel):
    model_config = OUT
    orders: int
    gross: int
    revenue: int
    units: int
    refunds: int
    refundCount: int
    netRevenue: int
    averageOrderValue: int
    newCustomers: int
    returningCustomers: int


class AnalyticsSalesDay(BaseModel):
    model_config = OUT
    date: str
    currencies: dict[str, AnalyticsSalesCounts]


class AnalyticsSales(BaseModel):
    """Amounts in minor units of each currency; totals per currency, never summed across."""

    model_config = OUT
    from_: str = Field(alias="from")
    to: str
    days: list[AnalyticsSalesDay]
    totals: dict[str, AnalyticsSalesCounts]


class AnalyticsProduct(BaseModel):
    model_config = OUT
    sku: str
    units: int
    revenue: int
    refunds: int
    returnedUnits: int
    returnRate: float


class AnalyticsProducts(BaseModel):
    model_config = OUT
    from_: str = Field(alias="from")
    to: str
    by: str
    currencies: dict[str, list[AnalyticsProduct]]


class AnalyticsConversion(BaseModel):
    model_config = OUT
    cartsCreatedToCartsWithItems: float
    cartsWithItemsToCheckoutsStarted: float
    checkoutsStartedToOrdersPaid: float
    ordersPaidToOrdersShipped: float
    ordersShippedToOrdersDelivered: float


class AnalyticsFunnel(BaseModel):
    model_config = OUT
    from_: str = Field(alias="from")
    to: str
    cartsCreated: int
    cartsWithItems: int
    checkoutsStarted: int
    ordersPaid: int
    ordersShipped: int
    ordersDelivered: int
    abandonedCarts: int
    conversion: AnalyticsConversion
    conversionRate: float


class AnalyticsAbandonedCart(BaseModel):
    model_config = OUT
    cartId: str
    date: str
    lastActivityAt: str
    email: str | None


class AnalyticsAbandonedCarts(BaseModel):
    model_config = OUT
    items: list[AnalyticsAbandonedCart]
    nextCursor: str | None
