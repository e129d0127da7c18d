"""Read template.yaml and turn it into local resources, function environments and event sources."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

log = logging.getLogger("devstack.template")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_PREFIX = "agiletrack-local"
DEFAULT_STACK_NAME = "local"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_API_ID = "devstack"
LAMBDA_DEFAULT_TIMEOUT = 3
LAMBDA_DEFAULT_MEMORY = 128

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
FUNCTION = "AWS::Serverless::Function"
HTTP_API = "AWS::Serverless::HttpApi"

Template = dict[str, Any]


class TemplateError(ValueError):
    """The template uses something the local stack cannot reproduce."""


# ------------------------------------------------------------------ YAML


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that reads CloudFormation short tags (``!Ref``, ``!GetAtt``, ``!Sub``...)."""


def _construct_short_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{suffix}")
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: str | Path | None = None) -> Template:
    """The template as plain data, short tags in their long form (``{"Ref": ...}``)."""
    with Path(path or DEFAULT_TEMPLATE).open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=CfnLoader)
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError("not a CloudFormation template: no Resources")
    return data


def resources_of(template: Template, type_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, resource) of every resource of one type, in template order."""
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == type_name:
            yield logical_id, resource


def _props(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


# ------------------------------------------------------------------ resources


@dataclass
class Resources:
    """Physical names of the resources created locally, by logical id."""

    prefix: str = DEFAULT_PREFIX
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    api_id: str = DEFAULT_API_ID
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        """Logical id -> physical name of every table, queue and bucket."""
        return {**self.tables, **self.queues, **self.buckets}

    def function_name(self, logical_id: str) -> str:
        return f"{self.prefix}-{logical_id}"

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def table_arn(self, logical_id: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{self.tables[logical_id]}"


def _named(template: dict[str, Any], res: Resources) -> Resources:
    """``res`` with the physical name of every table, queue and bucket of the template."""
    for type_name, names in ((TABLE, res.tables), (QUEUE, res.queues), (BUCKET, res.buckets)):
        for logical_id, _ in resources_of(template, type_name):
            names[logical_id] = physical_name(res.prefix, logical_id, type_name)
    return res


def planned_resources(template: dict[str, Any]) -> Resources:
    """The names a deployed stack's functions see, nothing created: every table, queue and bucket, with the queue
    URLs and ARNs AWS would give them (for a function's environment without an emulator)."""
    res = _named(template, Resources())
    for logical_id, name in res.queues.items():
        res.queue_urls[logical_id] = f"https://sqs.{res.region}.amazonaws.com/{res.account_id}/{name}"
        res.queue_arns[logical_id] = f"arn:aws:sqs:{res.region}:{res.account_id}:{name}"
    return res


def physical_name(prefix: str, logical_id: str, type_name: str) -> str:
    """``{prefix}-{LogicalId}``; lower case for buckets (S3 names must be)."""
    name = f"{prefix}-{logical_id}"
    return name.lower() if type_name == BUCKET else name


_SERVICES = {TABLE: "dynamodb", QUEUE: "sqs", BUCKET: "s3"}


def _clients(session_or_clients: Any, template: Template) -> dict[str, Any]:
    needed = {_SERVICES[t] for t in _SERVICES if any(True for _ in resources_of(template, t))}
    if session_or_clients is None:
        import boto3

        session_or_clients = boto3.Session()
    if isinstance(session_or_clients, Mapping):
        missing = needed - set(session_or_clients)
        if missing:
            raise ValueError(f"clients missing for: {', '.join(sorted(missing))}")
        return {name: session_or_clients[name] for name in needed}
    if callable(getattr(session_or_clients, "client", None)):
        return {name: session_or_clients.client(name) for name in needed}
    raise TypeError("expected a boto3 Session or a mapping of service name to client")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def create_resources(
    session_or_clients: Any = None,
    prefix: str = DEFAULT_PREFIX,
    *,
    template: Template | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
) -> Resources:
    """Create every table, queue and bucket of the template (idempotent) and return their names.

    ``session_or_clients`` is a boto3 Session or a mapping with ``dynamodb``, ``sqs`` and ``s3`` clients;
    it may point at moto's server or be used under ``moto.mock_aws``.
    """
    tpl = template if template is not None else load_template()
    clients = _clients(session_or_clients, tpl)
    region = next(iter(clients.values())).meta.region_name if clients else DEFAULT_REGION
    res = _named(tpl, Resources(prefix=prefix, region=region or DEFAULT_REGION))
    resolver = Resolver(tpl, res, stack_name)
    for logical_id in queue_creation_order(tpl):
        _create_queue(clients["sqs"], res, logical_id, _props(tpl["Resources"][logical_id]), resolver)
    for logical_id, resource in resources_of(tpl, TABLE):
        _create_table(clients["dynamodb"], res.tables[logical_id], _props(resource), resolver)
    for logical_id, _ in resources_of(tpl, BUCKET):
        _create_bucket(clients["s3"], res.buckets[logical_id], res.region)
    return res


def _referenced_ids(value: Any) -> set[str]:
    """Logical ids a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _referenced_ids(item)
    elif isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        elif "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add(str(target[0] if isinstance(target, list) else target).split(".")[0])
        elif "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text = sub[0] if isinstance(sub, list) else sub
            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
            if isinstance(sub, list) and len(sub) > 1:
                found |= _referenced_ids(sub[1])
        else:
            for item in value.values():
                found |= _referenced_ids(item)
    return found


def queue_creation_order(template: Template) -> list[str]:
    """Queues in an order where every dead-letter queue comes before the queues that use it."""
    queues = {logical_id: _props(resource) for logical_id, resource in resources_of(template, QUEUE)}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"queues refer to each other in a cycle: {logical_id}")
        visiting.add(logical_id)
        for dependency in sorted(_referenced_ids(queues[logical_id]) & set(queues)):
            visit(dependency)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in queues:
        visit(logical_id)
    return order


_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def queue_attributes(props: Mapping[str, Any], resolver: Resolver) -> dict[str, str]:
    """SQS attributes for a queue's template properties (RedrivePolicy as JSON)."""
    attributes = {name: _attribute_text(resolver.resolve(props[name])) for name in _QUEUE_ATTRIBUTES if name in props}
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if name in props:
            policy = resolver.resolve(props[name])
            if "maxReceiveCount" in policy:
                policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
            attributes[name] = json.dumps(policy, separators=(",", ":"))
    return attributes


def _create_queue(sqs: Any, res: Resources, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    attributes = queue_attributes(props, resolver)
    name = res.queues[logical_id]
    if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
        name = res.queues[logical_id] = f"{name}.fifo"
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as error:
        if "QueueAlreadyExists" not in _error_code(error) and "QueueNameExists" not in _error_code(error):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        changeable = {k: v for k, v in attributes.items() if k not in ("FifoQueue",)}
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    res.queue_urls[logical_id] = url
    res.queue_arns[logical_id] = arn
    res.account_id = arn.split(":")[4] or res.account_id


def table_definition(name: str, props: Mapping[str, Any], resolver: Resolver) -> dict[str, Any]:
    """``create_table`` arguments for a table's template properties, always on-demand."""
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": resolver.resolve(props["AttributeDefinitions"]),
        "KeySchema": resolver.resolve(props["KeySchema"]),
        "BillingMode": "PAY_PER_REQUEST",
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            definition[key] = [
                {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                for index in resolver.resolve(props[key])
            ]
    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return definition


def _create_table(dynamodb: Any, name: str, props: dict[str, Any], resolver: Resolver) -> None:
    try:
        dynamodb.create_table(**table_definition(name, props, resolver))
    except ClientError as error:
        if _error_code(error) != "ResourceInUseException":
            raise
    status = dynamodb.describe_table(TableName=name)["Table"].get("TableStatus", "ACTIVE")
    if status != "ACTIVE":
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = resolver.resolve(props.get("TimeToLiveSpecification") or {})
    if ttl.get("Enabled") in (True, "true", "True"):
        current = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )


def _create_bucket(s3: Any, name: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if _error_code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


# ------------------------------------------------------------------ intrinsic functions

_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against the local resources."""

    def __init__(
        self,
        template: Template,
        resources: Resources,
        stack_name: str = DEFAULT_STACK_NAME,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.resources = resources
        self.stack_name = stack_name
        self.parameters = dict(parameters or {})
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda v: base64.b64encode(str(self.resolve(v)).encode()).decode(),
        }

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self._resolve(v) for v in value) if r is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(str(argument))
            if key in self._functions:
                return self._functions[key](argument)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported locally")
        return {k: r for k, r in ((k, self._resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}

    def _kind(self, logical_id: str) -> str:
        resource = self.template["Resources"].get(logical_id)
        if resource is None:
            raise TemplateError(f"unknown logical id: {logical_id}")
        return str(resource.get("Type"))

    def ref(self, name: str) -> Any:
        """``!Ref name``: a pseudo parameter, a parameter (override or Default) or a resource."""
        res = self.resources
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": res.region,
            "AWS::AccountId": res.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{res.region}:{res.account_id}:stack/{self.stack_name}/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        parameters = self.template.get("Parameters") or {}
        if name in parameters:
            if name in self.parameters:
                return self.parameters[name]
            if "Default" not in parameters[name]:
                raise TemplateError(f"parameter {name} has no Default; pass it in parameters")
            return parameters[name]["Default"]
        kind = self._kind(name)
        if kind == TABLE:
            return res.tables[name]
        if kind == QUEUE:
            return res.queue_urls[name]
        if kind == BUCKET:
            return res.buckets[name]
        if kind == HTTP_API:
            return res.api_id
        return res.function_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        """``!GetAtt logical_id.attribute`` for tables, queues, buckets and functions."""
        kind = self._kind(logical_id)
        res = self.resources
        values: dict[str, Callable[[], str]] = {}
        if kind == TABLE:
            values = {"Arn": lambda: res.table_arn(logical_id)}
        elif kind == QUEUE:
            values = {
                "Arn": lambda: res.queue_arns[logical_id],
                "QueueName": lambda: res.queues[logical_id],
                "QueueUrl": lambda: res.queue_urls[logical_id],
            }
        elif kind == BUCKET:
            name = res.buckets[logical_id]
            values = {
                "Arn": lambda: f"arn:aws:s3:::{name}",
                "DomainName": lambda: f"{name}.s3.amazonaws.com",
                "RegionalDomainName": lambda: f"{name}.s3.{res.region}.amazonaws.com",
            }
        elif kind == FUNCTION:
            values = {"Arn": lambda: res.function_arn(logical_id)}
        if attribute not in values:
            raise TemplateError(f"GetAtt {logical_id}.{attribute} is not supported locally")
        try:
            return values[attribute]()
        except KeyError:
            raise TemplateError(f"{logical_id} has not been created yet") from None

    def _get_att(self, argument: Any) -> str:
        target = self._resolve(argument)
        if isinstance(target, str):
            target = target.split(".", 1)
        return self.get_att(str(target[0]), str(target[1]))

    def _sub(self, argument: Any) -> str:
        text, variables = (
            (argument[0], argument[1] if len(argument) > 1 else {}) if isinstance(argument, list) else (argument, {})
        )
        values = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self._resolve(items)[int(self._resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return str(self._resolve(text)).split(str(delimiter))

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top, second = (self._resolve(a) for a in argument)
        return self.template.get("Mappings", {})[map_name][top][second]

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template."""
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition: {name}")
        return self._evaluate(conditions[name])

    def _evaluate(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition":
                return self.condition(str(argument))
            if key == "Fn::Equals":
                left, right = (self._resolve(a) for a in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._evaluate(argument[0])
            if key == "Fn::And":
                return all(self._evaluate(a) for a in argument)
            if key == "Fn::Or":
                return any(self._evaluate(a) for a in argument)
        if isinstance(expression, bool):
            return expression
        raise TemplateError(f"unsupported condition: {expression!r}")

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(str(name)) else when_false)


# ------------------------------------------------------------------ functions and events


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: ``method`` is upper case or ``ANY``; ``authorizer`` None means no auth."""

    function: str
    event: str
    method: str
    path: str
    authorizer: str | None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsEventSource:
    """One SQS event source mapping."""

    function: str
    event: str
    queue: str
    batch_size: int = 10
    batching_window: int = 0
    function_response_types: tuple[str, ...] = ()
    enabled: bool = True
    maximum_concurrency: int | None = None
    """``ScalingConfig.MaximumConcurrency``: at most this many batches of the queue in flight at once."""

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class ScheduleEvent:
    """A Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler) event."""

    function: str
    event: str
    kind: str
    expression: str
    input: str | None = None
    enabled: bool = True

    @property
    def interval_seconds(self) -> int | None:
        """The period of a ``rate(...)`` expression; None for cron and at expressions."""
        match = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", self.expression)
        if not match:
            return None
        unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
        return int(match.group(1)) * unit


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the template, with where its handler lives and what invokes it."""

    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    routes: tuple[HttpRoute, ...] = ()
    sqs_sources: tuple[SqsEventSource, ...] = ()
    schedules: tuple[ScheduleEvent, ...] = ()
    reserved_concurrency: int | None = None
    """``ReservedConcurrentExecutions``, if the template sets it."""

    @property
    def module_file(self) -> Path:
        """``functions/<dir>/app.py`` for ``Handler: app.handler``."""
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def module_name(self) -> str:
        """A unique import name, ``fn_<dir>``."""
        return "fn_" + re.sub(r"\W", "_", self.code_dir.name)


@dataclass(frozen=True)
class LambdaAuthorizer:
    """A Lambda authorizer of the HttpApi."""

    name: str
    function: str
    identity_headers: tuple[str, ...]
    reauthorize_every: int = 0
    simple_responses: bool = False
    payload_format_version: str = "2.0"


@dataclass(frozen=True)
class HttpApiSpec:
    """The HttpApi: its authorizers and every route of every function."""

    logical_id: str | None
    default_authorizer: str | None
    authorizers: dict[str, LambdaAuthorizer]
    routes: tuple[HttpRoute, ...]


def _globals(template: Template, section: str) -> dict[str, Any]:
    return dict((template.get("Globals") or {}).get(section) or {})


def _function_id_of_arn(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    raise TemplateError(f"authorizer FunctionArn must be !GetAtt <Function>.Arn, got {value!r}")


def http_api(template: Template, logical_id: str | None = None) -> HttpApiSpec:
    """The HttpApi (the only one unless ``logical_id`` is given) with authorizers and routes."""
    apis = dict(resources_of(template, HTTP_API))
    if logical_id is None and len(apis) > 1:
        raise TemplateError("several HttpApis; pass logical_id")
    if logical_id is None and apis:
        logical_id = next(iter(apis))
    auth = {
        **(_globals(template, "HttpApi").get("Auth") or {}),
        **(_props(apis.get(logical_id or "", {})).get("Auth") or {}),
    }
    authorizers: dict[str, LambdaAuthorizer] = {}
    for name, config in (auth.get("Authorizers") or {}).items():
        identity = config.get("Identity") or {}
        authorizers[name] = LambdaAuthorizer(
            name=name,
            function=_function_id_of_arn(config.get("FunctionArn")),
            identity_headers=tuple(identity.get("Headers") or ()),
            reauthorize_every=int(identity.get("ReauthorizeEvery", 0)),
            simple_responses=bool(config.get("EnableSimpleResponses", False)),
            payload_format_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
        )
    default = auth.get("DefaultAuthorizer")
    routes: list[HttpRoute] = []
    for function_id, resource in resources_of(template, FUNCTION):
        for event_name, event in (_props(resource).get("Events") or {}).items():
            if event.get("Type") != "HttpApi":
                continue
            props = _props(event)
            api_ref = props.get("ApiId")
            if api_ref is not None and logical_id is not None and api_ref != {"Ref": logical_id}:
                continue
            route_auth = (props.get("Auth") or {}).get("Authorizer")
            authorizer = None if route_auth == "NONE" else (route_auth or default)
            path = props.get("Path")
            routes.append(
                HttpRoute(
                    function=function_id,
                    event=event_name,
                    method=str(props.get("Method") or "ANY").upper(),
                    path=str(path) if path else "$default",
                    authorizer=authorizer,
                )
            )
    return HttpApiSpec(logical_id=logical_id, default_authorizer=default, authorizers=authorizers, routes=tuple(routes))


def functions(template: Template, root: Path | None = None) -> list[FunctionSpec]:
    """Every function with its handler module, Timeout and memory (Globals fallback) and events.

    ``root`` is the directory CodeUri is relative to (the template's directory; the repo by default).
    """
    base = root or REPO_ROOT
    glob = _globals(template, "Function")
    api = http_api(template)
    specs: list[FunctionSpec] = []
    for logical_id, resource in resources_of(template, FUNCTION):
        props = {**glob, **_props(resource)}
        code_uri = props.get("CodeUri")
        handler = props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: CodeUri and Handler must be plain strings")
        sqs: list[SqsEventSource] = []
        schedules: list[ScheduleEvent] = []
        for event_name, event in (props.get("Events") or {}).items():
            kind = event.get("Type")
            event_props = _props(event)
            if kind == "SQS":
                sqs.append(
                    SqsEventSource(
                        function=logical_id,
                        event=event_name,
                        queue=_function_id_of_queue(event_props.get("Queue")),
                        batch_size=int(event_props.get("BatchSize", 10)),
                        batching_window=int(event_props.get("MaximumBatchingWindowInSeconds", 0)),
                        function_response_types=tuple(event_props.get("FunctionResponseTypes") or ()),
                        enabled=bool(event_props.get("Enabled", True)),
                        maximum_concurrency=_optional_int(
                            (event_props.get("ScalingConfig") or {}).get("MaximumConcurrency")
                        ),
                    )
                )
            elif kind in ("Schedule", "ScheduleV2"):
                enabled = event_props.get("Enabled", event_props.get("State", "ENABLED"))
                schedules.append(
                    ScheduleEvent(
                        function=logical_id,
                        event=event_name,
                        kind=str(kind),
                        expression=str(event_props.get("ScheduleExpression", "")),
                        input=event_props.get("Input"),
                        enabled=enabled not in (False, "DISABLED"),
                    )
                )
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=(base / code_uri).resolve(),
                handler=handler,
                timeout=int(props.get("Timeout", LAMBDA_DEFAULT_TIMEOUT)),
                memory_size=int(props.get("MemorySize", LAMBDA_DEFAULT_MEMORY)),
                routes=tuple(r for r in api.routes if r.function == logical_id),
                sqs_sources=tuple(sqs),
                schedules=tuple(schedules),
                reserved_concurrency=_optional_int(props.get("ReservedConcurrentExecutions")),
            )
        )
    return specs


def _optional_int(value: Any) -> int | None:
    """An integer property the template may leave out (or set from a parameter: then None here)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _function_id_of_queue(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    raise TemplateError(f"SQS event Queue must be !GetAtt <Queue>.Arn, got {value!r}")


# ------------------------------------------------------------------ environment


def function_environment(
    template: Template,
    function_logical_id: str,
    resources: Resources,
    stack_name: str = DEFAULT_STACK_NAME,
    parameters: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Globals' environment merged with the function's own, every value resolved to a string.

    A variable the template declares that is also set (not empty) in ``environ`` takes that value, as
    ``sam local --env-vars`` overrides the template's: ``BACKFILL_DAYS=30 make dev``.
    """
    resource = template["Resources"].get(function_logical_id)
    if resource is None or resource.get("Type") != FUNCTION:
        raise TemplateError(f"no function {function_logical_id} in the template")
    variables = {
        **((_globals(template, "Function").get("Environment") or {}).get("Variables") or {}),
        **((_props(resource).get("Environment") or {}).get("Variables") or {}),
    }
    resolved = Resolver(template, resources, stack_name, parameters).resolve(variables) or {}
    env = {name: _attribute_text(value) for name, value in resolved.items()}
    return {**env, **environment_overrides(env, environ or {})}


def environment_overrides(declared: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The declared variables that ``environ`` sets to something else (a non-empty value)."""
    return {name: environ[name] for name in declared if environ.get(name) and environ[name] != declared[name]}


def stack_environment(
    template: Template,
    resources: Resources,
    stack_name: str = DEFAULT_STACK_NAME,
    parameters: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The union of every function's environment (one process runs them all); conflicts are logged.

    ``environ`` overrides the template's values as in ``function_environment``.
    """
    merged: dict[str, str] = {}
    for spec in functions(template):
        env = function_environment(template, spec.logical_id, resources, stack_name, parameters, environ)
        for name, value in env.items():
            if name in merged and merged[name] != value:
                log.warning("%s differs between functions; %s keeps %r", name, spec.logical_id, merged[name])
                continue
            merged[name] = value
    return merged
