"""WAFv2 statements both web ACLs use: the API's (REGIONAL, on the stage) and the distribution's
(CLOUDFRONT): the same per-client rate limits, counted where each one sees the client."""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2

RATE_LIMIT_WINDOW_SECONDS = 300
CHECKOUT_METHOD = "POST"
CHECKOUT_URI_PATH_REGEX = "/checkout/*$"
"""WAF's URI path of a checkout, URL-decoded: `/v1/carts/<id>/checkout` (one trailing slash or more
too, which API Gateway routes to the same method). Together with method POST: no other route ends so."""


def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def per_ip(
    limit: int, scope_down: wafv2.CfnWebACL.StatementProperty | None = None
) -> wafv2.CfnWebACL.StatementProperty:
    """At most `limit` requests per client address in RATE_LIMIT_WINDOW_SECONDS (of those
    `scope_down` matches)."""
    return wafv2.CfnWebACL.StatementProperty(
        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
            aggregate_key_type="IP",
            limit=limit,
            evaluation_window_sec=RATE_LIMIT_WINDOW_SECONDS,
            scope_down_statement=scope_down,
        )
    )


def route(method: str, path_regex: str) -> wafv2.CfnWebACL.StatementProperty:
    """Requests of `method` whose URL-decoded path matches `path_regex`."""
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                        positional_constraint="EXACTLY",
                        search_string=method,
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                    )
                ),
                wafv2.CfnWebACL.StatementProperty(
                    regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                        regex_string=path_regex,
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE")
                        ],
                    )
                ),
            ]
        )
    )


def checkout_requests() -> wafv2.CfnWebACL.StatementProperty:
    """POST /carts/{cartId}/checkout (at the root or under the stage's path)."""
    return route(CHECKOUT_METHOD, CHECKOUT_URI_PATH_REGEX)
