"""Every change the local cloud makes to moto's behaviour, in one place.

Each hook replaces one attribute of moto (pinned at 5.2.5). Before patching, `install` checks that
the attribute still exists with the parameters the hook was written against, and fails loudly,
naming the hook, when a moto upgrade changed it. tests/localcloud/test_hooks_contract.py checks
the same and the behaviour each hook relies on, through boto3.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shopstack.localcloud import dynamodb_hooks, executions
from shopstack.localcloud.telemetry import TELEMETRY


class Invoker(Protocol):
    def invoke_raw(self, function_name_or_arn: str, event: Any) -> tuple[str, bool, str]: ...

    def invoke_async(self, function_name_or_arn: str, event: Any) -> None: ...


class HookContractError(RuntimeError):
    """moto changed an internal a hook patches."""


@dataclass(frozen=True)
class PatchPoint:
    """An attribute of moto a hook replaces, and the parameters it must still have."""

    hook: str
    module: str
    owner: str
    attribute: str
    parameters: tuple[str, ...]

    def resolve_owner(self) -> Any:
        import importlib

        module = importlib.import_module(self.module)
        return getattr(module, self.owner) if self.owner else module

    def describe(self) -> str:
        owner = f"{self.owner}." if self.owner else ""
        return f"{self.module}.{owner}{self.attribute}"


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint("untracked_models", "moto.core.common_models", "BaseModel", "__new__", ("cls", "args", "kwargs")),
    PatchPoint("lambda_invoke", "moto.awslambda.models", "LambdaFunction", "_invoke_lambda", ("self", "event")),
    PatchPoint(
        "sfn_cfn_parser_backend",
        "moto.stepfunctions.models",
        "StateMachine",
        "create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
    ),
    PatchPoint(
        "sfn_cfn_parser_backend",
        "moto.stepfunctions.models",
        "StateMachine",
        "delete_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name"),
    ),
    PatchPoint(
        "sfn_execution_name",
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend",
        "start_execution",
        ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
    ),
    PatchPoint(
        "sfn_bounded_history",
        "moto.stepfunctions.models",
        "StateMachine",
        "_handle_name_input_idempotency",
        ("self", "name", "execution_input"),
    ),
    *(
        PatchPoint("sfn_express_history", "moto.stepfunctions.models", "StepFunctionBackend", name, parameters)
        for name, parameters in (
            ("describe_execution", ("self", "execution_arn")),
            ("stop_execution", ("self", "execution_arn")),
        )
    ),
    PatchPoint(
        "sfn_express_history",
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend",
        "get_execution_history",
        ("self", "execution_arn"),
    ),
    PatchPoint("sfn_express_history", "moto.stepfunctions.models", "StepFunctionBackend", "list_executions", ()),
    PatchPoint(
        "sqs_mapping_detach",
        "moto.awslambda.models",
        "LambdaBackend",
        "create_event_source_mapping",
        ("self", "spec"),
    ),
    PatchPoint(
        "ddb_stream_dispatch_detach", "moto.dynamodb.models.table", "StreamShard", "add", ("self", "old", "new")
    ),
    PatchPoint(
        "ddb_stream_live_shard",
        "moto.dynamodbstreams.models",
        "DynamoDBStreamsBackend",
        "get_records",
        ("self", "iterator_arn", "limit"),
    ),
    PatchPoint(
        "ddb_transaction_item_undo",
        "moto.dynamodb.models",
        "DynamoDBBackend",
        "transact_write_items",
        ("self", "transact_items"),
    ),
    PatchPoint("ses_capture_bodies", "moto.ses.responses", "EmailResponse", "send_email", ("self",)),
    PatchPoint("ses_capture_bodies", "moto.ses.responses", "EmailResponse", "send_raw_email", ("self",)),
    PatchPoint("ses_capture_bodies", "moto.sesv2.responses", "SESV2Response", "send_email", ("self",)),
    PatchPoint(
        "ses_sandbox",
        "moto.ses.models",
        "SESBackend",
        "send_email",
        ("self", "source", "subject", "body", "destinations"),
    ),
    PatchPoint(
        "ses_sandbox", "moto.ses.models", "SESBackend", "send_raw_email", ("self", "source", "destinations", "raw_data")
    ),
    PatchPoint(
        "ses_sandbox",
        "moto.ses.models",
        "SESBackend",
        "send_templated_email",
        ("self", "source", "template", "template_data", "destinations"),
    ),
    PatchPoint("ses_sandbox", "moto.sesv2.responses", "SESV2Response", "get_account", ()),
    PatchPoint("ses_sandbox", "moto.sesv2.urls", "", "url_paths", ()),
    PatchPoint(
        "events_lambda_sfn_targets",
        "moto.events.models",
        "Rule",
        "send_to_targets",
        ("self", "original_event", "transform_input"),
    ),
    PatchPoint(
        "cfn_resource_types",
        "moto.cloudformation.parsing",
        "",
        "resource_class_from_type",
        ("resource_type",),
    ),
    PatchPoint(
        "cfn_apigateway_method",
        "moto.apigateway.models",
        "Method",
        "create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
    ),
    PatchPoint("cfn_create_failed", "moto.cloudformation.models", "Stack", "create_resources", ("self",)),
    PatchPoint(
        "cfn_lambda_layers",
        "moto.awslambda.models",
        "LambdaFunction",
        "create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
    ),
    PatchPoint(
        "cognito_signing_key",
        "moto.cognitoidp.models",
        "CognitoIdpUserPool",
        "create_jwt",
        ("self", "client_id", "username", "token_use", "expires_in", "extra_data"),
    ),
    PatchPoint("cognito_signing_key", "moto.cognitoidp.responses", "CognitoIdpJsonWebKeyResponse", "json_web_key", ()),
    PatchPoint("events_replay", "moto.events.models", "Replay", "replay_events", ("self", "archive")),
    PatchPoint(
        "cfn_events_archive",
        "moto.events.models",
        "Archive",
        "create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
    ),
    PatchPoint("cfn_physical_ids", "moto.events.models", "EventBus", "physical_resource_id", ()),
    PatchPoint("cfn_physical_ids", "moto.events.models", "Archive", "physical_resource_id", ()),
    PatchPoint("cfn_physical_ids", "moto.apigateway.models", "Deployment", "physical_resource_id", ()),
    PatchPoint("cfn_physical_ids", "moto.awslambda.models", "LayerVersion", "physical_resource_id", ()),
)

PHYSICAL_ID_ATTRIBUTES = {"EventBus": "name", "Archive": "name", "Deployment": "id", "LayerVersion": "arn"}


def check_patch_point(point: PatchPoint) -> None:
    """Raise HookContractError unless moto still has the attribute with the expected parameters."""
    try:
        owner = point.resolve_owner()
    except (ImportError, AttributeError) as exc:
        raise HookContractError(f"hook {point.hook}: {point.describe()} is gone: {exc}") from exc
    if not point.parameters:
        return
    original = _ORIGINALS.get((point.module, point.owner, point.attribute))
    if original is None:
        original = inspect.getattr_static(owner, point.attribute, None)
    if original is None:
        raise HookContractError(f"hook {point.hook}: {point.describe()} is gone")
    found = tuple(inspect.signature(_unwrap(original)).parameters)
    if found != point.parameters:
        raise HookContractError(
            f"hook {point.hook}: {point.describe()} changed: expected parameters {point.parameters}, found {found}"
        )


def _unwrap(attr: Any) -> Callable[..., Any]:
    if isinstance(attr, (classmethod, staticmethod)):
        function: Callable[..., Any] = attr.__func__
        return function
    unwrapped: Callable[..., Any] = attr
    return unwrapped


_ORIGINALS: dict[tuple[str, str, str], Any] = {}
_STATE: dict[str, Any] = {}


def _replace(point: PatchPoint, replacement: Any) -> None:
    check_patch_point(point)
    owner = point.resolve_owner()
    key = (point.module, point.owner, point.attribute)
    if key not in _ORIGINALS:
        _ORIGINALS[key] = inspect.getattr_static(owner, point.attribute, None)
    setattr(owner, point.attribute, replacement)


def _original(hook: str, attribute: str, owner: str | None = None) -> Any:
    point = _point(hook, attribute, owner)
    return _unwrap(_ORIGINALS[(point.module, point.owner, point.attribute)])


def _point(hook: str, attribute: str, owner: str | None = None) -> PatchPoint:
    return next(p for p in PATCH_POINTS if p.hook == hook and p.attribute == attribute and owner in (None, p.owner))


def pool() -> Invoker:
    invoker: Invoker | None = _STATE.get("pool")
    if invoker is None:
        raise RuntimeError("local cloud hooks used before install()")
    return invoker


# --- Lambda: every invocation path ends in the worker pool -------------------------------------


def hook_lambda_invoke() -> None:
    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        return pool().invoke_raw(self.function_arn, {} if event is None else event)

    _replace(_point("lambda_invoke", "_invoke_lambda"), _invoke_lambda)


# --- Step Functions: CloudFormation's state machines execute; unnamed executions get a UUID -----


def _parser_backend(account_id: str, region_name: str) -> Any:
    return executions.backend(account_id, region_name)


def hook_sfn_cfn_parser_backend() -> None:
    from moto.stepfunctions.utils import cfn_to_api_tags

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        definition = properties.get("DefinitionString") or json.dumps(properties.get("Definition", {}))
        for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        return _parser_backend(account_id, region_name).create_state_machine(
            properties.get("StateMachineName", resource_name),
            definition,
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            sm_type=properties.get("StateMachineType", "STANDARD"),
        )

    def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        _parser_backend(account_id, region_name).delete_state_machine(resource_name)

    _replace(_point("sfn_cfn_parser_backend", "create_from_cloudformation_json"), classmethod(create))
    _replace(_point("sfn_cfn_parser_backend", "delete_from_cloudformation_json"), classmethod(delete))


EXPRESS_UNSUPPORTED = "This operation is not supported by EXPRESS state machines: read their executions in their logs"


def _aws_error(code: str) -> type:
    """An error moto's server answers as AWS does: HTTP 400 with `__type` (and the code) `code`."""
    from moto.core.exceptions import AWSError

    return type(code, (AWSError,), {"TYPE": code, "STATUS": 400})


def hook_sfn_execution_name() -> None:
    """An unnamed execution gets a UUID. An Express execution is at-least-once and its name is not
    unique, as on AWS: a second start with the same name runs a second execution (its ARN ends in
    `:<name>:<uuid>`, as an Express execution's does); a Standard one keeps moto's idempotency.
    Chaos (`{"stepfunctions": rate}`) refuses that share of starts with ThrottlingException."""
    StartThrottled = _aws_error("ThrottlingException")

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        from shopstack.localcloud.chaos import CHAOS

        if CHAOS.start_execution_fault():
            raise StartThrottled("Rate exceeded")
        name = name or str(uuid.uuid4())
        express = executions.is_express(self.describe_state_machine(state_machine_arn))
        execution = _original("sfn_execution_name", "start_execution")(
            self, state_machine_arn, f"{name}:{uuid.uuid4().hex}" if express else name, execution_input, trace_header
        )
        if express:
            execution.name = name
        return execution

    _replace(_point("sfn_execution_name", "start_execution"), start_execution)


def hook_sfn_bounded_history() -> None:
    """Each start drops the oldest finished executions of its state machine beyond a bound and
    keeps their names, so a dropped name is still taken (retention.py)."""
    from moto.stepfunctions.exceptions import ExecutionAlreadyExists

    from shopstack.localcloud import retention

    def handle_name(self: Any, name: str, execution_input: str) -> Any:
        arn = retention.forgotten(self).get(name)
        if arn is not None:
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        found = _original("sfn_bounded_history", "_handle_name_input_idempotency")(self, name, execution_input)
        retention.prune_executions(self)
        return found

    _replace(_point("sfn_bounded_history", "_handle_name_input_idempotency"), handle_name)


def hook_sfn_express_history() -> None:
    """Express executions keep no history Step Functions can be asked for: DescribeExecution,
    GetExecutionHistory, StopExecution and ListExecutions answer StateMachineTypeNotSupported, as on
    AWS (their history is in their logs; locally, `/_localcloud/executions`)."""
    StateMachineTypeNotSupported = _aws_error("StateMachineTypeNotSupported")

    def refuse_express(machine: Any) -> None:
        if executions.is_express(machine):
            raise StateMachineTypeNotSupported(EXPRESS_UNSUPPORTED)

    def by_execution(attribute: str, owner: str) -> Callable[..., Any]:
        def call(self: Any, execution_arn: str) -> Any:
            self._validate_execution_arn(execution_arn)
            refuse_express(self._get_state_machine_for_execution(execution_arn))
            return _original("sfn_express_history", attribute, owner)(self, execution_arn)

        return call

    def list_executions(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        refuse_express(self.describe_state_machine(state_machine_arn))
        return _original("sfn_express_history", "list_executions")(self, state_machine_arn, *args, **kwargs)

    for attribute, owner in (
        ("describe_execution", "StepFunctionBackend"),
        ("stop_execution", "StepFunctionBackend"),
        ("get_execution_history", "StepFunctionsParserBackend"),
    ):
        _replace(_point("sfn_express_history", attribute, owner), by_execution(attribute, owner))
    _replace(_point("sfn_express_history", "list_executions"), list_executions)


# --- SQS: no Lambda inside SendMessage; pollers.py runs the mappings --------------------------


def hook_sqs_mapping_detach() -> None:
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        from moto.sqs.models import sqs_backends

        esm = _original("sqs_mapping_detach", "create_event_source_mapping")(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            if queue.queue_arn == esm.event_source_arn:
                queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    _replace(_point("sqs_mapping_detach", "create_event_source_mapping"), create_event_source_mapping)


# --- DynamoDB streams: records only; pollers.py runs the mappings, outside any request -----------

MAX_SHARD_ITERATORS = dynamodb_hooks.MAX_LIVE_ITERATORS + dynamodb_hooks.MAX_SUPERSEDED_ITERATORS


def hook_ddb_stream_dispatch_detach() -> None:
    """A write appends its stream record and invokes nothing: moto would call the mapped function
    inside the write, holding the DynamoDB lock the function's own writes wait for. Records past
    retention or the per-shard bound, that every reader has read, are trimmed (dynamodb_hooks)."""
    from moto.dynamodb.models.table import StreamRecord

    def add(self: Any, old: Any, new: Any) -> None:
        view_type = self.table.stream_specification["StreamViewType"]
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        sequence_number = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view_type, event_name, old, new, sequence_number))
        dynamodb_hooks.after_append(self)

    _replace(_point("ddb_stream_dispatch_detach", "add"), add)


def hook_ddb_stream_live_shard() -> None:
    """GetRecords reads the table's current shard, and old shard iterators expire.

    A table deleted and created again has a new shard, so an iterator follows the table's current
    one. Every GetRecords creates an iterator: the one it used is marked superseded (it no longer
    holds back stream trimming), and superseded iterators are dropped first, then the oldest
    beyond MAX_SHARD_ITERATORS (AWS expires them after 15 minutes). An iterator whose records were
    trimmed reads from the oldest record kept."""

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        iterator = self.shard_iterators[iterator_arn]
        table = self.dynamodb.tables.get(iterator.stream_shard.table.name)
        if table is not None and table.stream_shard is not None:
            iterator.stream_shard = table.stream_shard
        if iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
            iterator.sequence_number = iterator.stream_shard.starting_sequence_number
        result: dict[str, Any] = _original("ddb_stream_live_shard", "get_records")(self, iterator_arn, limit)
        setattr(iterator, dynamodb_hooks.SUPERSEDED, True)
        dynamodb_hooks.expire_iterators(self.shard_iterators)
        return result

    _replace(_point("ddb_stream_live_shard", "get_records"), get_records)


# --- Models: moto keeps every model object it ever created --------------------------------------

TRACKED_MODEL_MODULES = ("moto.s3.",)
"""S3 objects stay tracked: moto's S3 reset disposes their file buffers through the list."""


def hook_untracked_models() -> None:
    """`BaseModel.__new__` appends every instance to its class's `instances_tracked` (for moto's
    reset and its /moto-api dashboard), so every DynamoDB item version, stream record, SQS message
    and execution ever created stays in memory: about 0.5 MB per order. Only S3's are kept."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance: Any = object.__new__(cls)
        if cls.__module__.startswith(TRACKED_MODEL_MODULES):
            cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
        return instance

    _replace(_point("untracked_models", "__new__"), staticmethod(__new__))


# --- DynamoDB transactions: undo the items touched, not whole-table copies ----------------------


def hook_ddb_transaction_item_undo() -> None:
    _replace(_point("ddb_transaction_item_undo", "transact_write_items"), dynamodb_hooks.transact_write_items)


# --- SES: keep both bodies of a message and when it was sent -----------------------------------


def hook_ses_capture_bodies() -> None:
    """moto keeps one body per message (HTML when both are given): keep text, HTML and the time."""
    from shopstack.localcloud import mail

    def send_email_v1(self: Any) -> Any:
        result = _original("ses_capture_bodies", "send_email", "EmailResponse")(self)
        text, html = self._get_param("Message.Body.Text.Data"), self._get_param("Message.Body.Html.Data")
        mail.stamp(self.backend.sent_messages, str(result.result["MessageId"]), text=text, html=html)
        return result

    def send_raw_email_v1(self: Any) -> Any:
        result = _original("ses_capture_bodies", "send_raw_email")(self)
        mail.stamp(self.backend.sent_messages, str(result.result["MessageId"]))
        return result

    def send_email_v2(self: Any) -> Any:
        result = _original("ses_capture_bodies", "send_email", "SESV2Response")(self)
        body = (json.loads(self.body).get("Content", {}).get("Simple") or {}).get("Body", {})
        text, html = (body.get("Text") or {}).get("Data"), (body.get("Html") or {}).get("Data")
        sent = self.sesv2_backend.core_backend.sent_messages
        mail.stamp(sent, str(json.loads(result)["MessageId"]), text=text, html=html)
        return result

    _replace(_point("ses_capture_bodies", "send_email", "EmailResponse"), send_email_v1)
    _replace(_point("ses_capture_bodies", "send_raw_email", "EmailResponse"), send_raw_email_v1)
    _replace(_point("ses_capture_bodies", "send_email", "SESV2Response"), send_email_v2)


# --- SES: the sandbox (see ses_sandbox.py) ----------------------------------------------------


def hook_ses_sandbox() -> None:
    """Senders (and, in the sandbox, recipients) must be verified identities, with SES's error;
    sesv2 GetAccount reports the sandbox or production access."""
    from shopstack.localcloud import ses_sandbox

    def send_email(self: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]]) -> Any:
        ses_sandbox.check_send(self, source, ses_sandbox.destination_addresses(destinations))
        return _original("ses_sandbox", "send_email", "SESBackend")(self, source, subject, body, destinations)

    def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
        recipients = [*ses_sandbox.destination_addresses(destinations), *ses_sandbox.raw_recipients(raw_data)]
        ses_sandbox.check_send(self, ses_sandbox.raw_sender(source, raw_data), recipients)
        return _original("ses_sandbox", "send_raw_email", "SESBackend")(self, source, destinations, raw_data)

    def send_templated_email(
        self: Any, source: str, template: str, template_data: str, destinations: dict[str, list[str]]
    ) -> Any:
        ses_sandbox.check_send(self, source, ses_sandbox.destination_addresses(destinations))
        return _original("ses_sandbox", "send_templated_email")(self, source, template, template_data, destinations)

    def get_account(self: Any) -> str:
        return json.dumps(ses_sandbox.account(self.sesv2_backend.core_backend))

    _replace(_point("ses_sandbox", "send_email", "SESBackend"), send_email)
    _replace(_point("ses_sandbox", "send_raw_email", "SESBackend"), send_raw_email)
    _replace(_point("ses_sandbox", "send_templated_email"), send_templated_email)
    _replace(_point("ses_sandbox", "get_account"), get_account)
    from moto.sesv2 import urls
    from moto.sesv2.responses import SESV2Response

    _replace(_point("ses_sandbox", "url_paths"), {**urls.url_paths, "{0}/v2/email/account$": SESV2Response.dispatch})


# --- Cognito: tokens signed with the stack's own key, never moto's published one ----------------


def hook_cognito_signing_key() -> None:
    """moto signs every token with the private key in its source (anyone can forge one): sign ID and
    access tokens again with the stack's key (signing.py) and publish that key's JWKS instead."""
    import jwt

    from shopstack.localcloud import signing

    def create_jwt(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 60 * 60,
        extra_data: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        original = _original("cognito_signing_key", "create_jwt")
        token, expires = original(self, client_id, username, token_use, expires_in, extra_data)
        claims = jwt.decode(token, options={"verify_signature": False})
        return signing.current().sign(claims), expires

    _replace(_point("cognito_signing_key", "create_jwt"), create_jwt)
    _publish_jwks()


def _publish_jwks() -> None:
    from shopstack.localcloud import signing

    document = json.dumps(signing.current().jwks()).encode("utf-8")
    _replace(_point("cognito_signing_key", "json_web_key"), document)


def use_signing_key(key: Any) -> None:
    """Sign the local user pools' tokens with `key` (a signing.SigningKey) from now on, and publish
    it at `/<pool id>/.well-known/jwks.json`; installs only this hook when the others are not."""
    from shopstack.localcloud import signing

    signing.use(key)
    if _STATE.get("cognito_signing_key"):
        _publish_jwks()
        return
    for point in PATCH_POINTS:
        if point.hook == "cognito_signing_key":
            check_patch_point(point)
    hook_cognito_signing_key()
    _STATE["cognito_signing_key"] = True


# --- EventBridge: Lambda and Step Functions targets ---------------------------------------------

OUR_TARGET_SERVICES = ("lambda", "states", "sns")
ARCHIVE_RULE_PREFIX = "Events-Archive-"


def _target_service(target: dict[str, Any]) -> str:
    parts = str(target.get("Arn", "")).split(":")
    return parts[2] if len(parts) > 2 else ""


def target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    """The payload EventBridge delivers to a target: Input, InputTransformer or the event."""
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events.utils import EventTemplateParser

    if "Input" in target:
        return json.loads(target["Input"])
    if transform_input:
        transformer = target.get("InputTransformer", {})
        payload: Any = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
    else:
        payload = dict(event)
    if isinstance(payload, dict) and isinstance(payload.get("time"), (int, float, str)):
        with contextlib.suppress(ValueError):
            payload["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(payload["time"])))  # type: ignore[arg-type]
    return payload


def deliver_to_target(rule: Any, target: dict[str, Any], payload: Any) -> None:
    if _target_service(target) == "lambda":
        pool().invoke_async(target["Arn"], payload)
        return
    if _target_service(target) == "sns":  # moto's EventBridge drops SNS targets
        from moto.sns.models import sns_backends

        message = payload if isinstance(payload, str) else json.dumps(payload)
        sns_backends[rule.account_id][rule.region_name].publish(message=message, arn=target["Arn"])
        return
    backend = _parser_backend(rule.account_id, rule.region_name)
    backend.start_execution(target["Arn"], None, json.dumps(payload))


def hook_events_targets() -> None:
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        matches = self.event_pattern.matches_event(original_event)
        if matches and not self.name.startswith(ARCHIVE_RULE_PREFIX):  # kept for `shopstack trace`
            TELEMETRY.event(original_event, self.name)
        ours = [t for t in self.targets if _target_service(t) in OUR_TARGET_SERVICES]
        send = _original("events_lambda_sfn_targets", "send_to_targets")
        if not ours:
            send(self, original_event, transform_input)
            return
        if not matches:
            return
        rest = copy.copy(self)
        rest.targets = [t for t in self.targets if _target_service(t) not in OUR_TARGET_SERVICES]
        send(rest, original_event, transform_input)
        for target in ours:
            deliver_to_target(self, target, target_input(target, original_event, transform_input))

    _replace(_point("events_lambda_sfn_targets", "send_to_targets"), send_to_targets)


def _epoch(value: Any) -> float:
    """An event's or a replay's time: epoch seconds (boto3, put_events) or ISO 8601."""
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def hook_events_replay() -> None:
    """A replay re-drives what AWS's would: only the archived events whose time is within
    [EventStartTime, EventEndTime), only to the rules in Destination.FilterArns when given, never
    back into an archive (moto replays the whole archive to every rule, archives included), each
    with a new envelope id and `replay-name` (consumers deduplicate on the detail's own id)."""
    from moto.core.utils import unix_time
    from moto.events.models import ReplayState, events_backends
    from moto.moto_api._internal import mock_random as random

    def replay_events(self: Any, archive: Any) -> None:
        backend = events_backends[self.account_id][self.region]
        bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
        archive_rules = {id(a.rule) for a in backend.archives.values() if a.rule is not None}
        only = set(self.destination.get("FilterArns") or [])
        rules = [r for r in bus.rules.values() if id(r) not in archive_rules and (not only or r.arn in only)]
        start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
        for event in list(archive.events):
            if not start <= _epoch(event.get("time", 0)) < end:
                continue
            for rule in rules:
                replayed: Any = dict(event, **{"id": str(random.uuid4()), "replay-name": self.name})
                rule.send_to_targets(replayed, transform_input=False)
        self.state = ReplayState.COMPLETED
        self.end_time = unix_time()

    _replace(_point("events_replay", "replay_events"), replay_events)


# --- CloudFormation: what CDK templates need and moto lacks -------------------------------------


def _physical_id(attribute: str) -> property:
    return property(lambda self: getattr(self, attribute))


def hook_cfn_physical_ids() -> None:
    """Ref of these resources must give their name, id or ARN, not the model object."""
    for point in PATCH_POINTS:
        if point.hook == "cfn_physical_ids":
            _replace(point, _physical_id(PHYSICAL_ID_ATTRIBUTES[point.owner]))


def hook_cfn_resource_types() -> None:
    from moto.cloudformation import parsing

    from shopstack.localcloud import cfn_models

    def resource_class_from_type(resource_type: str) -> Any:
        extra = cfn_models.MODELS.get(resource_type)
        if extra is not None:
            return extra
        if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
            return cfn_models.NullResource
        if resource_type in parsing.NULL_MODELS or resource_type in parsing.get_model_map():
            return _original("cfn_resource_types", "resource_class_from_type")(resource_type)
        return cfn_models.NullResource

    _replace(_point("cfn_resource_types", "resource_class_from_type"), resource_class_from_type)


def hook_cfn_apigateway_method() -> None:
    from shopstack.localcloud import cfn_models

    _replace(
        _point("cfn_apigateway_method", "create_from_cloudformation_json"),
        classmethod(cfn_models.create_method),
    )


def hook_cfn_create_failed() -> None:
    """A resource AWS would refuse to create (cfn_models.CreateFailed) fails the stack: a
    CREATE_FAILED event with the reason, then ROLLBACK_COMPLETE, instead of a server error."""
    from moto.cloudformation.models import Event
    from moto.cloudformation.parsing import OutputMap

    from shopstack.localcloud import cfn_models

    def create_resources(self: Any) -> None:
        try:
            _original("cfn_create_failed", "create_resources")(self)
        except cfn_models.CreateFailed as exc:
            failed = Event(
                stack_id=self.stack_id,
                stack_name=self.name,
                logical_resource_id=exc.logical_id,
                physical_resource_id="",
                resource_type=exc.resource_type,
                resource_status="CREATE_FAILED",
                resource_status_reason=exc.reason,
                resource_properties=None,
            )
            self.events.append(failed)
            reason = f"The following resource(s) failed to create: [{exc.logical_id}]. Rollback requested by user."
            self._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
            # A rolled-back stack has no outputs, and what it created is gone (best effort).
            self.output_map = OutputMap(self.resource_map, {}, self.stack_id)
            with contextlib.suppress(Exception):
                self.resource_map.delete()
            self._add_stack_event("ROLLBACK_COMPLETE")
            self.status = "ROLLBACK_COMPLETE"

    _replace(_point("cfn_create_failed", "create_resources"), create_resources)


def hook_cfn_events_archive() -> None:
    """An archive's EventPattern arrives from a template as an object; moto's model parses a string."""

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        original = _original("cfn_events_archive", "create_from_cloudformation_json")
        properties = dict(cloudformation_json.get("Properties") or {})
        if isinstance(properties.get("EventPattern"), dict):
            properties["EventPattern"] = json.dumps(properties["EventPattern"])
        resource = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, resource, account_id, region_name, **kwargs)

    _replace(_point("cfn_events_archive", "create_from_cloudformation_json"), classmethod(create))


def _missing_code(account_id: str, code: dict[str, Any]) -> str | None:
    """Lambda's error when a function's S3 code object does not exist (moto accepts it silently)."""
    if not isinstance(code.get("S3Bucket"), str) or not isinstance(code.get("S3Key"), str):
        return None
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    prefix = "Error occurred while GetObject. S3 Error Code: "
    try:
        found = s3_backends[account_id]["aws"].get_object(code["S3Bucket"], code["S3Key"])
    except MissingBucket:
        return prefix + "NoSuchBucket. S3 Error Message: The specified bucket does not exist"
    if found is None:
        return prefix + "NoSuchKey. S3 Error Message: The specified key does not exist."
    return None


def hook_cfn_lambda_layers() -> None:
    """moto's CloudFormation drops a function's Layers: keep them, so workers import from the
    layers the function really has. An unknown layer version or a code object missing from S3
    fails the stack with Lambda's message, as on AWS (moto would answer CreateStack with a 500)."""
    from moto.awslambda.exceptions import InvalidParameterValueException, UnknownLayerVersionException

    from shopstack.localcloud.cfn_models import CreateFailed

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        original = _original("cfn_lambda_layers", "create_from_cloudformation_json", "LambdaFunction")
        logical_id = str(kwargs.get("LogicalId", resource_name))
        missing = _missing_code(account_id, cloudformation_json.get("Properties", {}).get("Code") or {})
        if missing:
            raise CreateFailed(logical_id, "AWS::Lambda::Function", f"{missing} (Service: Lambda)")
        try:
            function = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        except (InvalidParameterValueException, ValueError) as exc:
            reason = exc.args[-1] if isinstance(exc, ValueError) else exc.message
            raise CreateFailed(logical_id, "AWS::Lambda::Function", f"{reason} (Service: Lambda)") from exc
        layers = [str(arn) for arn in cloudformation_json.get("Properties", {}).get("Layers") or []]
        if layers:
            try:
                function.layers = function._get_layers_data(layers)
            except UnknownLayerVersionException as exc:
                raise CreateFailed(logical_id, "AWS::Lambda::Function", f"{exc.message} (Service: Lambda)") from exc
        return function

    _replace(_point("cfn_lambda_layers", "create_from_cloudformation_json", "LambdaFunction"), classmethod(create))


HOOKS: dict[str, Callable[[], None]] = {
    "untracked_models": hook_untracked_models,
    "lambda_invoke": hook_lambda_invoke,
    "sfn_cfn_parser_backend": hook_sfn_cfn_parser_backend,
    "sfn_execution_name": hook_sfn_execution_name,
    "sfn_bounded_history": hook_sfn_bounded_history,
    "sfn_express_history": hook_sfn_express_history,
    "sqs_mapping_detach": hook_sqs_mapping_detach,
    "ddb_stream_dispatch_detach": hook_ddb_stream_dispatch_detach,
    "ddb_stream_live_shard": hook_ddb_stream_live_shard,
    "ddb_transaction_item_undo": hook_ddb_transaction_item_undo,
    "ses_capture_bodies": hook_ses_capture_bodies,
    "ses_sandbox": hook_ses_sandbox,
    "events_lambda_sfn_targets": hook_events_targets,
    "events_replay": hook_events_replay,
    "cfn_events_archive": hook_cfn_events_archive,
    "cfn_physical_ids": hook_cfn_physical_ids,
    "cfn_create_failed": hook_cfn_create_failed,
    "cfn_lambda_layers": hook_cfn_lambda_layers,
    "cfn_resource_types": hook_cfn_resource_types,
    "cfn_apigateway_method": hook_cfn_apigateway_method,
    "cognito_signing_key": hook_cognito_signing_key,
}


def install(invoker: Invoker) -> None:
    """Install every hook (once); later calls only point the Lambda hooks at `invoker`."""
    _STATE["pool"] = invoker
    if _STATE.get("installed"):
        return
    for point in PATCH_POINTS:
        check_patch_point(point)
    for name, hook in HOOKS.items():
        if not (name == "cognito_signing_key" and _STATE.get(name)):
            hook()
    _STATE["installed"] = _STATE["cognito_signing_key"] = True


def uninstall() -> None:
    """Put moto's originals back."""
    import importlib

    for (module, owner, attribute), original in _ORIGINALS.items():
        target = importlib.import_module(module)
        if owner:
            target = getattr(target, owner)
        if original is None:
            delattr(target, attribute)
        else:
            setattr(target, attribute, original)
    _ORIGINALS.clear()
    _STATE.clear()
