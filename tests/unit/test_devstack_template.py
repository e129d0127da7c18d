"""devstack.template: short tags, resources created from the template, environment, routes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from devstack.api_gateway import match_route
from devstack.template import (
    REPO_ROOT,
    Resolver,
    Resources,
    TemplateError,
    create_resources,
    environment_overrides,
    function_environment,
    functions,
    http_api,
    load_template,
    queue_creation_order,
    resources_of,
    stack_environment,
)


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


@pytest.fixture
def moto_session(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ------------------------------------------------------------------ YAML


def test_short_tags_become_long_form(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        Resources:
          Thing:
            Type: Custom::Thing
            Properties:
              A: !Ref Table
              B: !GetAtt Queue.Arn
              C: !GetAtt [Queue, QueueName]
              D: !Sub "x-${AWS::Region}"
              E: !Join [",", [a, !Ref Table]]
              F: !If [IsProd, 1, 2]
              G: !Select [0, !Split [",", "a,b"]]
              H: !Sub
                - "${Name}-x"
                - Name: !Ref Table
              I: !Equals [!Ref Stage, prod]
              J: !Condition IsProd
              K: !FindInMap [Map, Top, Second]
              L: !GetAtt Endpoint.Address.Port
        """,
    )
    props = load_template(path)["Resources"]["Thing"]["Properties"]
    assert props["A"] == {"Ref": "Table"}
    assert props["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert props["C"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert props["D"] == {"Fn::Sub": "x-${AWS::Region}"}
    assert props["E"] == {"Fn::Join": [",", ["a", {"Ref": "Table"}]]}
    assert props["F"] == {"Fn::If": ["IsProd", 1, 2]}
    assert props["G"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert props["H"] == {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Table"}}]}
    assert props["I"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert props["J"] == {"Condition": "IsProd"}
    assert props["K"] == {"Fn::FindInMap": ["Map", "Top", "Second"]}
    assert props["L"] == {"Fn::GetAtt": ["Endpoint", "Address.Port"]}


def test_not_a_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        load_template(_write(tmp_path, "just: a mapping\n"))


def test_the_real_template_loads(template: dict) -> None:
    assert template["Globals"]["Function"]["Environment"]["Variables"]["TEAMS_TABLE"] == {"Ref": "TeamsTable"}
    assert {"TeamsTable", "SyncQueue", "BlobBucket", "ApiFunction"} <= set(template["Resources"])


# ------------------------------------------------------------------ resources


def test_dead_letter_queues_are_created_first(template: dict) -> None:
    order = queue_creation_order(template)
    assert set(order) == {logical_id for logical_id, _ in resources_of(template, "AWS::SQS::Queue")}
    assert order.index("SyncDeadLetterQueue") < order.index("SyncQueue")
    assert order.index("WebhookDeadLetterQueue") < order.index("WebhookQueue")


def test_create_resources_follows_the_template(template: dict, moto_session) -> None:
    resources = create_resources(moto_session, template=template)

    tables = {logical_id for logical_id, _ in resources_of(template, "AWS::DynamoDB::Table")}
    assert set(resources.tables) == tables
    assert resources.tables["IntegrationsTable"] == "agiletrack-local-IntegrationsTable"
    assert resources.buckets == {"BlobBucket": "agiletrack-local-blobbucket"}
    assert resources.account_id == "123456789012"

    dynamodb = moto_session.client("dynamodb")
    for logical_id, resource in resources_of(template, "AWS::DynamoDB::Table"):
        props = resource["Properties"]
        table = dynamodb.describe_table(TableName=resources.tables[logical_id])["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        wanted_indexes = {i["IndexName"]: i["KeySchema"] for i in props.get("GlobalSecondaryIndexes", [])}
        assert {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])} == wanted_indexes
        ttl = dynamodb.describe_time_to_live(TableName=resources.tables[logical_id])["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"

    sqs = moto_session.client("sqs")
    for logical_id, resource in resources_of(template, "AWS::SQS::Queue"):
        props = resource["Properties"]
        attributes = sqs.get_queue_attributes(QueueUrl=resources.queue_urls[logical_id], AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["QueueArn"] == resources.queue_arns[logical_id]
        assert attributes["VisibilityTimeout"] == str(props.get("VisibilityTimeout", 30))
        if "RedrivePolicy" in props:
            policy = json.loads(attributes["RedrivePolicy"])
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert policy == {
                "deadLetterTargetArn": resources.queue_arns[dlq],
                "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
            }

    assert moto_session.client("s3").head_bucket(Bucket="agiletrack-local-blobbucket")


def test_create_resources_is_idempotent_and_takes_clients(template: dict, moto_session) -> None:
    first = create_resources(moto_session, template=template)
    clients = {name: moto_session.client(name) for name in ("dynamodb", "sqs", "s3")}
    second = create_resources(clients, template=template)
    assert second == first


def test_create_resources_uses_the_prefix(template: dict, moto_session) -> None:
    resources = create_resources(moto_session, prefix="other", template=template)
    assert resources.queues["SyncQueue"] == "other-SyncQueue"
    assert resources.queue_urls["SyncQueue"].endswith("/other-SyncQueue")
    assert resources.buckets["BlobBucket"] == "other-blobbucket"


# ------------------------------------------------------------------ environment


def _resources() -> Resources:
    return Resources(
        tables={"TeamsTable": "p-TeamsTable", "IntegrationsTable": "p-IntegrationsTable"},
        queues={"SyncQueue": "p-SyncQueue"},
        queue_urls={"SyncQueue": "http://localhost/123456789012/p-SyncQueue"},
        queue_arns={"SyncQueue": "arn:aws:sqs:us-east-1:123456789012:p-SyncQueue"},
        buckets={"BlobBucket": "p-blobbucket"},
    )


def test_function_environment_resolves_the_real_template(template: dict, moto_session) -> None:
    resources = create_resources(moto_session, template=template)
    env = function_environment(template, "ApiFunction", resources, "mystack")
    assert env["TEAMS_TABLE"] == resources.tables["TeamsTable"]
    assert env["SYNC_QUEUE_URL"] == resources.queue_urls["SyncQueue"]
    assert env["BLOB_BUCKET"] == "agiletrack-local-blobbucket"
    assert env["SECRETS_PREFIX"] == "agiletrack/mystack/"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["STAGE"] == "dev"
    assert env["BACKFILL_DAYS"] == "365"
    assert all(isinstance(v, str) for v in env.values())
    assert set(env) == set(template["Globals"]["Function"]["Environment"]["Variables"])


def test_function_environment_merges_own_variables_and_parameters(tmp_path: Path) -> None:
    template = load_template(
        _write(
            tmp_path,
            """
            Parameters:
              Level: {Type: String, Default: INFO}
            Globals:
              Function:
                Environment:
                  Variables:
                    LEVEL: !Ref Level
                    SHARED: global
            Resources:
              TeamsTable: {Type: AWS::DynamoDB::Table, Properties: {}}
              SyncQueue: {Type: AWS::SQS::Queue, Properties: {}}
              BlobBucket: {Type: AWS::S3::Bucket}
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: functions/x/
                  Handler: app.handler
                  Environment:
                    Variables:
                      SHARED: own
                      ARN: !GetAtt SyncQueue.Arn
                      NAME: !GetAtt SyncQueue.QueueName
                      WHERE: !Sub "${AWS::AccountId}/${AWS::Region}/${AWS::StackName}/${TeamsTable}/${!Literal}"
                      BUCKET_ARN: !Sub "${BlobBucket.Arn}/*"
                      JOINED: !Join ["-", [a, !Ref TeamsTable]]
                      ENABLED: true
            """,
        )
    )
    env = function_environment(template, "Fn", _resources(), "st", parameters={"Level": "DEBUG"})
    assert env == {
        "LEVEL": "DEBUG",
        "SHARED": "own",
        "ARN": "arn:aws:sqs:us-east-1:123456789012:p-SyncQueue",
        "NAME": "p-SyncQueue",
        "WHERE": "123456789012/us-east-1/st/p-TeamsTable/${Literal}",
        "BUCKET_ARN": "arn:aws:s3:::p-blobbucket/*",
        "JOINED": "a-p-TeamsTable",
        "ENABLED": "true",
    }


def test_function_settings_set_in_the_environment_win_over_the_template(template: dict, moto_session) -> None:
    """``BACKFILL_DAYS=30 make dev``: the shell's value of a declared variable wins, as with sam local."""
    resources = create_resources(moto_session, template=template)
    environ = {"BACKFILL_DAYS": "30", "POWERTOOLS_LOG_LEVEL": "DEBUG", "STAGE": "", "NOT_DECLARED": "x"}
    env = function_environment(template, "SyncWorkerFunction", resources, "mystack", environ=environ)
    assert env["BACKFILL_DAYS"] == "30"
    assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert env["STAGE"] == "dev"  # an empty value does not override
    assert "NOT_DECLARED" not in env  # only what the template declares is a function setting
    assert env["TEAMS_TABLE"] == resources.tables["TeamsTable"]
    merged = stack_environment(template, resources, "mystack", environ=environ)
    assert merged["BACKFILL_DAYS"] == "30"
    assert stack_environment(template, resources, "mystack")["BACKFILL_DAYS"] == "365"


def test_environment_overrides_name_only_declared_variables_set_to_something_else() -> None:
    declared = {"BACKFILL_DAYS": "365", "STAGE": "dev", "LEVEL": "INFO"}
    environ = {"BACKFILL_DAYS": "30", "STAGE": "dev", "LEVEL": "", "OTHER": "1"}
    assert environment_overrides(declared, environ) == {"BACKFILL_DAYS": "30"}


def test_resolver_refuses_what_it_cannot_do(template: dict) -> None:
    resolver = Resolver(template, _resources())
    with pytest.raises(TemplateError):
        resolver.resolve({"Fn::GetAZs": ""})
    with pytest.raises(TemplateError):
        resolver.resolve({"Ref": "NoSuchThing"})
    with pytest.raises(TemplateError):
        function_environment(template, "TeamsTable", _resources())


# ------------------------------------------------------------------ functions and the API


def test_functions_lists_handlers_timeouts_and_events(template: dict) -> None:
    specs = {spec.logical_id: spec for spec in functions(template)}
    assert set(specs) == {logical_id for logical_id, _ in resources_of(template, "AWS::Serverless::Function")}

    api = specs["ApiFunction"]
    assert api.module_file == REPO_ROOT / "functions" / "api" / "app.py"
    assert api.module_name == "fn_api"
    assert api.handler_name == "handler"
    assert api.timeout == template["Globals"]["Function"]["Timeout"]
    assert {(r.method, r.path, r.authorizer) for r in api.routes} == {
        ("ANY", "/health", None),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
        ("GET", "/", None),
        ("GET", "/assets/{name}", None),
        ("ANY", "/{proxy+}", "TeamTokenAuthorizer"),
    }
    assert specs["AuthorizerFunction"].timeout == 5
    assert specs["WebhooksFunction"].memory_size == 1024
    assert {r.route_key for r in specs["WebhooksFunction"].routes} == {
        "POST /webhooks/{type}/{integration_id}",
        "HEAD /webhooks/{type}/{integration_id}",
    }

    (jobs,) = specs["SyncWorkerFunction"].sqs_sources
    assert (jobs.queue, jobs.batch_size, jobs.report_batch_item_failures) == ("SyncQueue", 1, True)
    (deliveries,) = specs["EventProcessorFunction"].sqs_sources
    assert (deliveries.queue, deliveries.batch_size, deliveries.batching_window) == ("WebhookQueue", 10, 1)

    (hourly,) = specs["SchedulerFunction"].schedules
    assert (hourly.kind, hourly.interval_seconds, hourly.enabled) == ("ScheduleV2", 3600, True)


def test_http_api_authorizer(template: dict) -> None:
    api = http_api(template)
    assert api.logical_id == "HttpApi"
    assert api.default_authorizer == "TeamTokenAuthorizer"
    authorizer = api.authorizers["TeamTokenAuthorizer"]
    assert authorizer.function == "AuthorizerFunction"
    assert authorizer.identity_headers == ("Authorization",)
    assert authorizer.reauthorize_every == 60  # a revoked or rotated token stops working within 60 s
    assert authorizer.simple_responses is True
    assert authorizer.payload_format_version == "2.0"


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        ("GET", "/health", "ANY /health", {}),
        # every method on /health reaches the function without a token (it answers 405 but for GET)
        ("POST", "/health", "ANY /health", {}),
        ("TRACE", "/health", "ANY /health", {}),
        ("GET", "/openapi.json", "GET /openapi.json", {}),
        ("GET", "/docs", "GET /docs", {}),
        ("GET", "/teams/me", "ANY /{proxy+}", {"proxy": "teams/me"}),
        ("DELETE", "/integrations/abc", "ANY /{proxy+}", {"proxy": "integrations/abc"}),
        (
            "POST",
            "/webhooks/github/int_1",
            "POST /webhooks/{type}/{integration_id}",
            {"type": "github", "integration_id": "int_1"},
        ),
        (
            "HEAD",
            "/webhooks/trello/int_2",
            "HEAD /webhooks/{type}/{integration_id}",
            {"type": "trello", "integration_id": "int_2"},
        ),
        ("GET", "/webhooks/github/int_1", "ANY /{proxy+}", {"proxy": "webhooks/github/int_1"}),
        ("POST", "/webhooks/github", "ANY /{proxy+}", {"proxy": "webhooks/github"}),
    ],
)
def test_template_routes_match_like_api_gateway(template, method, path, route_key, params) -> None:
    matched = match_route(http_api(template).routes, method, path)
    assert matched is not None
    route, found = matched
    assert route.route_key == route_key
    assert found == params


def test_root_path_is_the_dashboard_for_get_only(template: dict) -> None:
    """``/{proxy+}`` needs a non-empty path, so the root is routed only by the dashboard's ``GET /``."""
    matched = match_route(http_api(template).routes, "GET", "/")
    assert matched is not None and matched[0].route_key == "GET /" and matched[0].authorizer is None
    assert match_route(http_api(template).routes, "POST", "/") is None
