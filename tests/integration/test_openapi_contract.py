"""The served OpenAPI document tells the truth (issue 12's schemathesis findings): which routes need a token,
the 401 and 404 answers and their real bodies, the create body as a union discriminated by ``type``, and the
metrics answer's shape per provider, checked against answers the API really gives. Swagger UI at /docs is served
from our own origin."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.adapters.providers.registry import PROVIDER_NAMES
from agiletrack.http.responses import ErrorResponse, GatewayError
from agiletrack.metrics.documents import MetricsDocument
from agiletrack.models.common import iso_short, utcnow
from devstack.template import Resources, load_template
from tests.fakes import trello_payloads as tp
from tests.fakes.aws_faults import AwsFaults
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.integration.conftest import ApiCaller, api_event, api_module
from tests.integration.test_sync_worker import receive_job, run_sync_worker
from tests.unit import test_trello_metrics as trello_case

PUBLIC = {"/health"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def document(call_api: ApiCaller) -> dict[str, Any]:
    reply = call_api("GET", "/openapi.json", None)  # no token needed
    assert reply.status == 200, reply.text
    return dict(reply.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def ref(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[1]


def answer_schema(operation: dict[str, Any], status: str) -> str:
    return ref(operation["responses"][status]["content"]["application/json"]["schema"])


# ---------------------------------------------------------------- tokens, 401 and 404
def test_only_the_public_routes_are_declared_without_a_token(document: dict[str, Any]) -> None:
    assert "security" not in document  # no global requirement: each operation says what it needs
    assert document["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    seen = set()
    for path, method, operation in operations(document):
        seen.add(path)
        if path in PUBLIC:
            assert "security" not in operation, (method, path)
            assert "401" not in operation["responses"], (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
    assert "/health" in seen and "/integrations/{integration_id}/syncs" in seen


def valid_body(method: str, path: str, github: FakeGitHub) -> Any:
    """A body the route accepts (so what is checked is the route itself, not the body)."""
    if (method, path) == ("post", "/integrations"):
        return {"type": "github", "config": github.config().model_dump(mode="json")}
    return {"name": "renamed"} if method == "patch" else None


def test_every_route_that_needs_a_token_documents_the_401_api_gateway_gives(
    document: dict[str, Any], call_api: ApiCaller, github: FakeGitHub
) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["GatewayError"]["required"] == ["message"]
    assert schemas["GatewayError"]["properties"]["message"]["type"] == "string"
    for path, method, operation in operations(document):
        if path in PUBLIC:
            continue
        assert answer_schema(operation, "401") == "GatewayError", (method, path)
        # and what the function answers without an authorizer context is that document's shape
        concrete = path.replace("{integration_id}", "int_0123456789abcdef")
        reply = call_api(method.upper(), concrete, None, valid_body(method, path, github))
        assert reply.status == 401, (method, path, reply.text)
        GatewayError.model_validate(reply.json())
        assert set(reply.json()) == {"message"}


def test_every_route_of_one_integration_documents_its_404_and_gives_it(
    document: dict[str, Any], call_api: ApiCaller, github: FakeGitHub
) -> None:
    checked = 0
    for path, method, operation in operations(document):
        if "{integration_id}" not in path:
            continue
        assert answer_schema(operation, "404") == "ErrorResponse", (method, path)
        concrete = path.replace("{integration_id}", "int_0123456789abcdef")
        reply = call_api(method.upper(), concrete, "team_a", valid_body(method, path, github))
        assert reply.status == 404, (method, path, reply.text)
        assert ErrorResponse.model_validate(reply.json()).error.code == "not_found"
        checked += 1
    assert checked == 8  # get, patch, delete; webhook-secret, status, sync, syncs, metrics
    # every error answer of every operation is one of the two documented shapes
    for path, method, operation in operations(document):
        for status in operation["responses"]:
            if (status.startswith(("4", "5")) and status != "422") or (status == "422" and path not in PUBLIC):
                assert answer_schema(operation, status) in {"ErrorResponse", "GatewayError"}, (method, path, status)


def test_every_route_that_needs_a_token_documents_the_503_of_an_aws_outage_and_gives_it(
    document: dict[str, Any], call_api: ApiCaller, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = AwsFaults.install(monkeypatch)
    checked = 0
    for path, method, operation in operations(document):
        if path in PUBLIC:
            continue
        if path == "/teams/me":  # answered from the authorizer's context: no AWS call, no 503
            assert "503" not in operation["responses"]
            continue
        answer = operation["responses"]["503"]
        assert answer_schema(operation, "503") == "ErrorResponse", (method, path)
        assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)
        concrete = path.replace("{integration_id}", "int_0123456789abcdef")
        with faults.outage("dynamodb"):
            reply = call_api(method.upper(), concrete, "team_a", valid_body(method, path, github))
        assert reply.status == 503, (method, path, reply.text)
        assert ErrorResponse.model_validate(reply.json()).error.code == "dependency_unavailable"
        assert int(reply.headers["retry-after"]) > 0
        checked += 1
    assert checked == 10  # every operation on integrations and their metrics


# ---------------------------------------------------------------- links (schemathesis' stateful phase follows them)
def test_links_chain_create_get_patch_sync_delete(document: dict[str, Any]) -> None:
    by_id = {operation["operationId"]: (path, method) for path, method, operation in operations(document)}
    assert len(by_id) == len(list(operations(document)))  # operation ids are unique

    def links(path: str, method: str, status: str) -> dict[str, tuple[str, str]]:
        found = document["paths"][path][method]["responses"][status].get("links", {})
        targets = {}
        for link in found.values():
            target = by_id[link["operationId"]]  # every link names an operation that exists
            declared = {p["name"] for p in document["paths"][target[0]][target[1]].get("parameters", [])}
            assert set(link["parameters"]) <= declared, link
            assert link["parameters"]["integration_id"] in {"$response.body#/id", "$request.path.integration_id"}
            targets[link["operationId"]] = target
        return targets

    one = "/integrations/{integration_id}"
    created = links("/integrations", "post", "201")
    # the answer of a create leads to every operation on one integration
    assert set(created.values()) == {(p, m) for p, m, _ in operations(document) if p.startswith(one)}
    assert {"update_integration", "trigger_sync", "delete_integration"} <= set(links(one, "get", "200"))
    assert {"trigger_sync", "delete_integration"} <= set(links(one, "patch", "200"))
    assert {"integration_status", "delete_integration"} <= set(links(f"{one}/sync", "post", "202"))
    assert set(links(one, "delete", "204")) == {"get_integration"}  # ... which then answers 404


# ---------------------------------------------------------------- the create body
def test_the_create_body_is_a_union_discriminated_by_type(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    create = document["paths"]["/integrations"]["post"]
    body = schemas[ref(create["requestBody"]["content"]["application/json"]["schema"])]
    assert body["discriminator"]["propertyName"] == "type"
    mapping = {kind: target.rsplit("/", 1)[1] for kind, target in body["discriminator"]["mapping"].items()}
    assert set(mapping) == set(PROVIDER_NAMES)
    assert sorted(ref(option) for option in body["oneOf"]) == sorted(mapping.values())
    for kind, name in mapping.items():
        variant = schemas[name]
        assert variant["properties"]["type"]["const"] == kind
        assert variant["additionalProperties"] is False
        assert set(variant["required"]) == {"type", "config"}
        config = schemas[ref(variant["properties"]["config"])]
        assert config["title"].lower().startswith(kind)


def test_a_github_config_for_type_jira_is_refused_with_the_fields_of_jiras_config(
    call_api: ApiCaller, github: FakeGitHub
) -> None:
    reply = call_api(
        "POST", "/integrations", "team_a", {"type": "jira", "config": github.config().model_dump(mode="json")}
    )

    assert reply.status == 422, reply.text
    error = ErrorResponse.model_validate(reply.json()).error
    assert error.code == "validation_failed"
    fields = {d["field"] for d in error.details}
    # Jira's required fields are missing and GitHub's are not Jira's: every one named under config
    assert {"config.server_url", "config.email", "config.api_token", "config.project_key"} <= fields
    assert {"config.repository", "config.token"} <= fields
    assert all(f.startswith("config.") for f in fields)


# ---------------------------------------------------------------- the metrics answer
def test_the_metrics_answer_is_documented_per_type(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    operation = document["paths"]["/integrations/{integration_id}/metrics"]["get"]
    answer = schemas[answer_schema(operation, "200")]
    assert answer["discriminator"]["propertyName"] == "type"
    assert set(answer["discriminator"]["mapping"]) == set(PROVIDER_NAMES)
    for name in (ref(option) for option in answer["oneOf"]):
        assert {"integration_id", "type", "window", "generated_at", "metrics", "series"} <= set(
            schemas[name]["properties"]
        )
        # every answer carries its series, so the document says it is always there
        assert {"metrics", "series"} <= set(schemas[name]["required"]), name


def _synced(aws: Resources, call_api: ApiCaller, body: dict[str, Any]) -> str:
    reply = call_api("POST", "/integrations", "team_a", body)
    assert reply.status == 201, reply.text
    message = receive_job(aws)
    assert message is not None
    assert run_sync_worker(aws, message) == {"batchItemFailures": []}
    return str(reply.json()["id"])


def _metrics(call_api: ApiCaller, integration_id: str) -> dict[str, Any]:
    now = utcnow()
    window = {"since": iso_short(now - timedelta(days=90)), "until": iso_short(now + timedelta(minutes=1))}
    reply = call_api("GET", f"/integrations/{integration_id}/metrics", "team_a", query=window)
    assert reply.status == 200, reply.text
    return dict(reply.json())


def test_a_github_answer_matches_its_model(aws: Resources, call_api: ApiCaller) -> None:
    with FakeGitHub.synthetic(prs=30, commits=60, issues=15, seed=7) as github:
        integration_id = _synced(aws, call_api, {"type": "github", "config": github.config().model_dump(mode="json")})
        answer = _metrics(call_api, integration_id)
    parsed = MetricsDocument.model_validate(answer).root
    assert type(parsed).__name__ == "GitHubMetricsDocument"
    assert answer["metrics"]["pull_requests"]["opened"] > 0  # a document with data, not an empty one
    assert sum(p["value"] for p in answer["series"]["prs_opened"]) == answer["metrics"]["pull_requests"]["opened"]


def test_a_jira_answer_matches_its_model(aws: Resources, call_api: ApiCaller, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeJira() as jira:
        monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
        start = utcnow() - timedelta(days=20)
        jira.add_sprint(7, 1, "closed", start, start + timedelta(days=7), start + timedelta(days=7))
        jira.add_sprint(7, 2, "active", start + timedelta(days=7), start + timedelta(days=21))
        jira.generate(30, start, long_every=0, sprint_ids=[1, 2])
        integration_id = _synced(aws, call_api, {"type": "jira", "config": jira.config(board_id=7)})
        answer = _metrics(call_api, integration_id)
    parsed = MetricsDocument.model_validate(answer).root
    assert type(parsed).__name__ == "JiraMetricsDocument"
    assert answer["metrics"]["sprints"] and answer["metrics"]["burndown"] is not None
    assert sum(p["value"] for p in answer["series"]["issues_created"]) == answer["metrics"]["issues"]["created"] > 0


def test_a_trello_metrics_object_matches_its_model() -> None:
    # Trello's calculator over a board with moves, as its own tests build it, wrapped in the envelope.
    a = trello_case.card_id(trello_case.t(4), 1)
    records = trello_case.store(
        [
            tp.create_card(a, trello_case.TODO, trello_case.t(4)),
            tp.move_card(a, trello_case.TODO, trello_case.DOING, trello_case.t(4, 6)),
            tp.move_card(a, trello_case.DOING, trello_case.DONE, trello_case.t(5)),
        ]
    )
    answer = {
        "integration_id": "int_1",
        "type": "trello",
        "window": {"since": iso_short(trello_case.SINCE), "until": iso_short(trello_case.UNTIL)},
        "generated_at": iso_short(trello_case.NOW),
        "metrics": trello_case.metrics(records),
        "series": trello_case.series(records),
    }
    parsed = MetricsDocument.model_validate(json.loads(json.dumps(answer))).root
    assert type(parsed).__name__ == "TrelloMetricsDocument"


def test_an_answer_with_a_key_the_model_does_not_declare_is_refused() -> None:
    # The models are strict, so a calculator that grows a key fails the tests above until it is documented.
    answer = trello_case.metrics({})
    answer["cards"]["surprise"] = 1
    with pytest.raises(ValueError, match="surprise"):
        MetricsDocument.model_validate(
            {
                "integration_id": "int_1",
                "type": "trello",
                "window": {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
                "generated_at": "2026-01-02T00:00:00Z",
                "metrics": answer,
            }
        )


# ---------------------------------------------------------------- Swagger UI
def test_docs_serves_swagger_ui_from_our_own_origin_without_a_token(call_api: ApiCaller) -> None:
    reply = call_api("GET", "/docs", None)

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.text
    assert "SwaggerUIBundle(" in page and "<style>" in page  # script and style sheet inlined
    # nothing is loaded from anywhere else: no external script, style sheet or image
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "/integrations/{integration_id}/syncs" in page  # it shows our document


def test_docs_is_gzipped_for_a_client_that_accepts_it(call_api: ApiCaller, lambda_context: LambdaContext) -> None:
    plain = call_api("GET", "/docs", None)
    event = api_event("GET", "/docs", None, headers={"accept-encoding": "gzip"})

    answer = api_module().handler(event, lambda_context)

    assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is True
    assert answer["headers"]["Content-Encoding"] == "gzip"
    packed = base64.b64decode(answer["body"])
    assert gzip.decompress(packed).decode() == plain.text
    assert len(packed) < len(plain.text) / 3


def test_the_swagger_ui_document_is_the_served_one(call_api: ApiCaller, document: dict[str, Any]) -> None:
    reply = call_api("GET", "/docs", None, query={"format": "json"})
    assert reply.status == 200
    shown = reply.json()
    assert shown["paths"] == document["paths"]
    assert shown["components"] == document["components"]


def test_the_template_serves_docs_and_openapi_without_the_authorizer() -> None:
    events = load_template()["Resources"]["ApiFunction"]["Properties"]["Events"]
    public = {
        (e["Properties"]["Path"], e["Properties"]["Method"])
        for e in events.values()
        if (e["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
    }
    assert {("/health", "ANY"), ("/openapi.json", "GET"), ("/docs", "GET")} <= public
