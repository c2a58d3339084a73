"""A Python Lambda function of one service, packaged from `functions/<service>/`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.settings import ARCHITECTURE, REPO_ROOT, RUNTIME

FUNCTIONS_DIR = REPO_ROOT / "functions"
MEMORY_MB = 512
METRICS_NAMESPACE = "Shopstack"
NEVER_PACKAGED = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "tests"]


def service_code(*packages: str) -> lambda_.Code:
    """The `functions/` folder filtered to the given service packages (glob excludes, last match wins)."""
    kept = [pattern for package in packages for pattern in (f"!{package}", f"!{package}/**")]
    return lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=["*", *kept, *NEVER_PACKAGED])


class ServiceFunction(Construct):
    """A Lambda function (arm64, 512 MB, X-Ray) with its own log group, role and the shared layer.

    The role only writes the function's log group (no AWS managed policy); grants add the rest.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        handler: str,
        environment: Mapping[str, str],
        layers: Sequence[lambda_.ILayerVersion],
        timeout: Duration,
        log_retention: logs.RetentionDays,
        description: str,
        packages: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}: writes its own log group only",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=service_code(service, *packages),
            memory_size=MEMORY_MB,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            layers=list(layers),
            role=self.role,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                **environment,
            },
        )
