"""template.yaml's security settings: least-privilege IAM per function (exactly the actions its code
calls), a log group with a retention per function, TLS-only queues, no response or error capture in
traces, HTTP API throttling and an authorizer cache of at most 60 s."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.template import load_template, resources_of

FUNCTION = "AWS::Serverless::Function"

# What each function's code calls (handler -> wiring -> adapters), resource by resource.
EXPECTED_ACTIONS: dict[str, set[str]] = {
    "ApiFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "sqs:SendMessage",
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DeleteSecret",
    },
    "WebhooksFunction": {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
        "s3:PutObject",
        "secretsmanager:GetSecretValue",
    },
    "AuthorizerFunction": {"dynamodb:GetItem"},
    "SchedulerFunction": {"dynamodb:Scan", "sqs:SendMessage"},
    "SyncWorkerFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
    },
    "EventProcessorFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
    },
}

# Per function: table logical id -> the actions allowed on it (no function touches a table it does not use).
EXPECTED_TABLE_ACTIONS: dict[str, dict[str, set[str]]] = {
    "ApiFunction": {
        "IntegrationsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
        | {"dynamodb:Query"},
        "RecordsTable": {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        "MetricsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"},
    },
    "WebhooksFunction": {"IntegrationsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    "AuthorizerFunction": {"TeamsTable": {"dynamodb:GetItem"}},
    "SchedulerFunction": {"IntegrationsTable": {"dynamodb:Scan"}},
    "SyncWorkerFunction": {
        "IntegrationsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"},
        "RecordsTable": {"dynamodb:PutItem", "dynamodb:Query"},
        "MetricsTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
    },
    "EventProcessorFunction": {
        "IntegrationsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "RecordsTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
        "IdempotencyTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    },
}

SECRET_PREFIX_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:agiletrack/${AWS::StackName}/*"
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {logical_id: resource["Properties"] for logical_id, resource in resources_of(template, FUNCTION)}


def _statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in props.get("Policies") or []:
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, f"not an inline statement: {policy}"
        statements.extend(policy["Statement"])
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _referenced_table(resource: Any) -> str | None:
    """The table logical id a statement resource names (``!GetAtt T.Arn`` or ``!Sub "${T.Arn}/index/..."``)."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        name = resource["Fn::GetAtt"][0]
    elif isinstance(resource, dict) and "Fn::Sub" in resource and str(resource["Fn::Sub"]).startswith("${"):
        name = str(resource["Fn::Sub"])[2:].split(".", 1)[0]
    else:
        return None
    return str(name) if str(name).endswith("Table") else None


def test_every_function_is_listed(template: dict[str, Any]) -> None:
    assert set(_functions(template)) == set(EXPECTED_ACTIONS)


@pytest.mark.parametrize("function", sorted(EXPECTED_ACTIONS))
def test_each_function_gets_exactly_the_actions_its_code_calls(template: dict[str, Any], function: str) -> None:
    statements = _statements(_functions(template)[function])
    actions = {action for s in statements for action in _listed(s["Action"])}
    assert actions == EXPECTED_ACTIONS[function]
    assert all(s["Effect"] == "Allow" for s in statements)
    assert not any("*" in action for action in actions)


@pytest.mark.parametrize("function", sorted(EXPECTED_ACTIONS))
def test_dynamodb_actions_are_scoped_to_the_tables_the_function_uses(template: dict[str, Any], function: str) -> None:
    per_table: dict[str, set[str]] = {}
    for statement in _statements(_functions(template)[function]):
        dynamo = {a for a in _listed(statement["Action"]) if a.startswith("dynamodb:")}
        if not dynamo:
            continue
        for resource in _listed(statement["Resource"]):
            table = _referenced_table(resource)
            assert table is not None, f"{function}: DynamoDB actions on {resource}"
            per_table.setdefault(table, set()).update(dynamo)
    assert per_table == EXPECTED_TABLE_ACTIONS[function]


@pytest.mark.parametrize("function", sorted(EXPECTED_ACTIONS))
def test_secrets_and_queues_and_objects_are_scoped(template: dict[str, Any], function: str) -> None:
    for statement in _statements(_functions(template)[function]):
        actions = _listed(statement["Action"])
        resources = _listed(statement["Resource"])
        if any(a.startswith("secretsmanager:") for a in actions):
            assert resources == [{"Fn::Sub": SECRET_PREFIX_ARN}]
        if any(a.startswith("sqs:") for a in actions):
            assert all(r.get("Fn::GetAtt", [""])[0].endswith("Queue") for r in resources)
        if any(a.startswith("s3:") for a in actions):
            assert resources == [{"Fn::Sub": "${BlobBucket.Arn}/webhooks/*"}]


def test_every_function_logs_to_its_own_log_group_with_a_retention_parameter(template: dict[str, Any]) -> None:
    groups = dict(resources_of(template, "AWS::Logs::LogGroup"))
    parameter = template["Parameters"]["LogRetentionDays"]
    assert parameter["Default"] == 30
    used = set()
    for function, props in _functions(template).items():
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, f"{function} logs to {group}, which the template does not create"
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        used.add(group)
    assert len(used) == len(_functions(template))


def test_every_queue_denies_access_without_tls(template: dict[str, Any]) -> None:
    covered: set[str] = set()
    for _, policy in resources_of(template, "AWS::SQS::QueuePolicy"):
        props = policy["Properties"]
        for statement in props["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement["Principal"] == "*"
                and statement["Action"] in ("sqs:*", ["sqs:*"])
                and statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}
            ):
                arns = {r["Fn::GetAtt"][0] for r in _listed(statement["Resource"])}
                urls = {q["Ref"] for q in props["Queues"]}
                covered |= arns & urls
    assert covered == {logical_id for logical_id, _ in resources_of(template, "AWS::SQS::Queue")}


def test_traces_never_capture_responses_or_errors(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    for function, props in _functions(template).items():
        own = (props.get("Environment") or {}).get("Variables") or {}
        assert "POWERTOOLS_TRACER_CAPTURE_RESPONSE" not in own, function
        assert "POWERTOOLS_TRACER_CAPTURE_ERROR" not in own, function


def test_the_http_api_is_throttled_by_parameters(template: dict[str, Any]) -> None:
    ((_, api),) = resources_of(template, "AWS::Serverless::HttpApi")
    settings = api["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    parameters = template["Parameters"]
    assert 0 < parameters["ApiThrottlingRateLimit"]["Default"] <= parameters["ApiThrottlingBurstLimit"]["Default"]


def test_authorizer_results_are_cached_at_most_60_seconds(template: dict[str, Any]) -> None:
    ((_, api),) = resources_of(template, "AWS::Serverless::HttpApi")
    for authorizer in api["Properties"]["Auth"]["Authorizers"].values():
        assert 0 <= authorizer["Identity"]["ReauthorizeEvery"] <= 60
