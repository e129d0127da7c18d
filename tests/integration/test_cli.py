"""The ``agiletrack`` CLI in-process: teams and dlq against moto (the template's resources), integrations
and metrics against a tiny local HTTP server serving canned answers."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from agiletrack.adapters.aws.teams import team_store
from agiletrack.cli.aws_commands import STACK_OUTPUTS
from agiletrack.cli.main import main
from agiletrack.domain import teams
from agiletrack.settings import Settings, get_settings

TOKEN = "at_test-token-never-printed"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def value_after(text: str, label: str) -> str:
    line = next(line for line in text.splitlines() if line.strip().startswith(label))
    return line.split(label, 1)[1].strip()


# ------------------------------------------------------------------ teams


def test_teams_create_prints_id_and_a_working_token_once(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "teams", "create", "Platform")

    assert (code, err) == (0, "")
    team_id, token = value_after(out, "id:"), value_after(out, "token:")
    assert "shown only this once" in out
    assert teams.authenticate(team_store(), token) == (team_id, "Platform")


def test_teams_list_shows_token_state_and_no_secret(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    first = teams.create_team(team_store(), "Alpha")
    second = teams.create_team(team_store(), "Beta")
    teams.revoke_token(team_store(), second.team.id)

    code, out, _ = run(capsys, "teams", "list")

    assert code == 0
    assert out.splitlines()[0].split() == ["id", "name", "created", "token"]
    alpha = next(line for line in out.splitlines() if first.team.id in line).split()
    beta = next(line for line in out.splitlines() if second.team.id in line).split()
    assert (alpha[1], alpha[-1]) == ("Alpha", "active")
    assert (beta[1], beta[-1]) == ("Beta", "revoked")
    assert first.token not in out
    assert teams.hash_token(first.token) not in out


def test_teams_list_json(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    created = teams.create_team(team_store(), "Alpha")

    code, out, _ = run(capsys, "teams", "list", "--json")

    assert code == 0
    assert json.loads(out) == [
        {"id": created.team.id, "name": "Alpha", "created": json.loads(out)[0]["created"], "token": "active"}
    ]


def test_revoke_then_rotate_token(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    created = teams.create_team(team_store(), "Alpha")

    code, out, _ = run(capsys, "teams", "revoke-token", created.team.id)
    assert code == 0
    assert "Revoked" in out
    assert teams.authenticate(team_store(), created.token) is None

    code, out, _ = run(capsys, "teams", "rotate-token", created.team.id)
    assert code == 0
    new_token = value_after(out, f"New token for team {created.team.id}:")
    assert "shown only this once" in out
    assert teams.authenticate(team_store(), new_token) == (created.team.id, "Alpha")
    assert teams.authenticate(team_store(), created.token) is None


def test_domain_errors_print_code_and_message(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "teams", "rotate-token", "team_missing")
    assert (code, out) == (1, "")
    assert err.strip() == "error: not_found: No team team_missing."

    code, _, err = run(capsys, "teams", "create", "   ")
    assert code == 1
    assert err.startswith("error: validation_failed: ")


def test_stack_outputs_map_to_settings_fields() -> None:
    assert set(STACK_OUTPUTS.values()) <= set(Settings.field_names())


def test_stack_option_reads_resource_names_from_the_stack_outputs(
    aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack whose TeamsTableName output names another table than the environment does
    template = {
        "Resources": {
            "Teams": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "other-teams",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                },
            }
        },
        "Outputs": {"TeamsTableName": {"Value": {"Ref": "Teams"}}},
    }
    boto3.client("cloudformation").create_stack(StackName="other", TemplateBody=json.dumps(template))
    monkeypatch.setenv("TEAMS_TABLE", get_settings().teams_table)  # restored after the test

    # When a team is created with --stack
    code, out, _ = run(capsys, "teams", "create", "--stack", "other", "Elsewhere")

    # Then it lands in the stack's table, not the environment's
    assert code == 0
    team_id = value_after(out, "id:")
    dynamodb = boto3.client("dynamodb")
    assert "Item" in dynamodb.get_item(TableName="other-teams", Key={"pk": {"S": f"TEAM#{team_id}"}})
    assert "Item" not in dynamodb.get_item(TableName=aws.tables["TeamsTable"], Key={"pk": {"S": f"TEAM#{team_id}"}})


def test_stack_option_needs_the_outputs_it_uses(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Other": {"Value": "x"}}}
    boto3.client("cloudformation").create_stack(StackName="bare", TemplateBody=json.dumps(template))

    code, _, err = run(capsys, "dlq", "list", "--stack", "bare", "--queue", "sync")

    assert code == 1
    assert "SyncQueueUrl" in err
    assert "SyncDeadLetterQueueUrl" in err


def test_unknown_stack_is_an_aws_error(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "teams", "list", "--stack", "nope")

    assert code == 1
    assert err.startswith("error: ValidationError: ")


# ------------------------------------------------------------------ dead-letter queues


def put(queue_url: str, count: int, start: int = 0) -> list[str]:
    sqs = boto3.client("sqs")
    bodies = [json.dumps({"job": start + i}) for i in range(count)]
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "sync"},
                "attempt": {"DataType": "Number", "StringValue": "4"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )
    return bodies


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
    ).get("Messages", []):
        messages.extend(batch)  # type: ignore[arg-type]
    return messages


def visible(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_dlq_list_counts_each_dead_letter_queue(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    put(aws.queue_urls["SyncDeadLetterQueue"], 3)

    code, out, _ = run(capsys, "dlq", "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["queue", "dead-letter", "queue", "messages", "in", "flight"]
    assert next(line for line in out.splitlines() if line.startswith("sync")).split()[1:3] == [
        aws.queues["SyncDeadLetterQueue"],
        "3",
    ]
    assert next(line for line in out.splitlines() if line.startswith("webhooks")).split()[2] == "0"

    code, out, _ = run(capsys, "dlq", "list", "--queue", "sync", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"queue": "sync", "dead_letter_queue": aws.queues["SyncDeadLetterQueue"], "messages": 3, "in_flight": 0}
    ]


def test_queues_are_found_by_their_local_names_when_not_configured(
    aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SYNC_QUEUE_URL", "WEBHOOK_QUEUE_URL", "SYNC_DLQ_URL", "WEBHOOK_DLQ_URL"):
        monkeypatch.delenv(name, raising=False)
    put(aws.queue_urls["WebhookDeadLetterQueue"], 2)

    code, out, _ = run(capsys, "dlq", "list", "--queue", "webhooks", "--json")

    assert code == 0
    assert json.loads(out)[0]["messages"] == 2


def test_redrive_moves_every_message_with_its_attributes(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sync_bodies = put(aws.queue_urls["SyncDeadLetterQueue"], 12)
    webhook_bodies = put(aws.queue_urls["WebhookDeadLetterQueue"], 2, start=100)

    code, out, err = run(capsys, "dlq", "redrive", "--wait", "0")

    assert (code, err) == (0, "")
    assert f"sync: moved 12 message(s) from {aws.queues['SyncDeadLetterQueue']} to {aws.queues['SyncQueue']}" in out
    assert "webhooks: moved 2 message(s)" in out
    assert visible(aws.queue_urls["SyncDeadLetterQueue"]) == 0
    assert visible(aws.queue_urls["WebhookDeadLetterQueue"]) == 0
    moved = drain(aws.queue_urls["SyncQueue"])
    assert sorted(m["Body"] for m in moved) == sorted(sync_bodies)
    assert sorted(m["Body"] for m in drain(aws.queue_urls["WebhookQueue"])) == sorted(webhook_bodies)
    attributes = moved[0]["MessageAttributes"]
    assert attributes["kind"] == {"DataType": "String", "StringValue": "sync"}
    assert attributes["attempt"] == {"DataType": "Number", "StringValue": "4"}
    assert attributes["blob"] == {"DataType": "Binary", "BinaryValue": b"\x00\x01"}


def test_redrive_of_one_queue_leaves_the_other(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    put(aws.queue_urls["SyncDeadLetterQueue"], 1)
    put(aws.queue_urls["WebhookDeadLetterQueue"], 1)

    code, out, _ = run(capsys, "dlq", "redrive", "--queue", "webhooks", "--wait", "0")

    assert code == 0
    assert "sync" not in out
    assert visible(aws.queue_urls["SyncDeadLetterQueue"]) == 1
    assert visible(aws.queue_urls["WebhookDeadLetterQueue"]) == 0


def test_redrive_keeps_messages_it_could_not_send(
    aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a source queue that does not exist
    put(aws.queue_urls["SyncDeadLetterQueue"], 3)
    monkeypatch.setenv("SYNC_QUEUE_URL", aws.queue_urls["SyncQueue"] + "-gone")
    monkeypatch.setenv("SYNC_DLQ_URL", aws.queue_urls["SyncDeadLetterQueue"])

    code, out, err = run(capsys, "dlq", "redrive", "--queue", "sync", "--wait", "0")

    # Then nothing moved and every message is still (visibly) in the dead-letter queue
    assert code == 1
    assert "moved 0 message(s)" in out
    assert err.startswith("error: redrive_incomplete: sync: SQS refused the batch")
    assert visible(aws.queue_urls["SyncDeadLetterQueue"]) == 3


# ------------------------------------------------------------------ HTTP API


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    """Canned answers by (method, path with query) or else (method, path); anything else is a 404 in the API's
    error shape."""

    url: str = ""
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    sequences: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)

    def on(self, method: str, path: str, status: int, body: Any = None) -> None:
        self.routes[(method, path)] = (status, body)

    def on_each(self, method: str, path: str, answers: list[tuple[int, Any]]) -> None:
        """Answer these in turn, the last one again once they are used up."""
        self.sequences[(method, path)] = list(answers)
        self.routes[(method, path)] = answers[-1]

    def answer(self, method: str, path: str, url_path: str) -> tuple[int, Any]:
        for key in ((method, path), (method, url_path)):
            queued = self.sequences.get(key)
            if queued:
                return queued.pop(0)
            if key in self.routes:
                return self.routes[key]
        return 404, {"error": {"code": "not_found", "message": "No such route."}}


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            api.requests.append(
                Recorded(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            status, body = api.answer(self.command, self.path, url.path)
            payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.chdir(tmp_path)  # no .local/dev.env from the checkout
    monkeypatch.setenv("AGILETRACK_API", fake.url)
    monkeypatch.setenv("AGILETRACK_TOKEN", TOKEN)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


VIEW: dict[str, Any] = {
    "id": "int_0123456789abcdef",
    "team_id": "team_1",
    "type": "github",
    "name": "octo-org/octo-repo",
    "status": "pending",
    "config": {"repository": "octo-org/octo-repo", "branch": "main", "token": "********"},
    "created_at": "2024-05-01T10:00:00Z",
    "updated_at": "2024-05-01T10:00:00Z",
}
WEBHOOK = {"url": "https://api.example.com/webhooks/github/int_0123456789abcdef", "secret": "whsec-shown-once"}
CONFIG = {"repository": "octo-org/octo-repo", "token": "ghp_secret-in-the-file"}


def test_create_posts_the_config_and_shows_the_webhook_secret_once(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("POST", "/integrations", 201, {**VIEW, "webhook": WEBHOOK})
    (tmp_path / "github.json").write_text(json.dumps(CONFIG))

    code, out, err = run(capsys, "integrations", "create", "--type", "github", "--config", "github.json", "--name", "N")

    assert (code, err) == (0, "")
    [request] = api.requests
    assert request.body == {"type": "github", "config": CONFIG, "name": "N"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert value_after(out, "Webhook URL:") == WEBHOOK["url"]
    assert value_after(out, "Webhook secret:") == WEBHOOK["secret"]
    assert out.count(WEBHOOK["secret"]) == 1
    assert "shown only this once" in out
    assert "config.repository" in out
    assert TOKEN not in out
    assert CONFIG["token"] not in out


def test_create_reads_the_config_from_stdin_and_prints_raw_json(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.on("POST", "/integrations", 201, {**VIEW, "webhook": WEBHOOK})
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(CONFIG)))

    code, out, _ = run(capsys, "integrations", "create", "--type", "github", "--config", "-", "--json")

    assert code == 0
    assert api.requests[0].body == {"type": "github", "config": CONFIG}
    assert json.loads(out) == {**VIEW, "webhook": WEBHOOK}


def test_create_refuses_a_config_that_is_not_a_json_object(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1]")

    assert run(capsys, "integrations", "create", "--type", "jira", "--config", "bad.json")[0] == 1
    code, _, err = run(capsys, "integrations", "create", "--type", "jira", "--config", "list.json")
    assert code == 1
    assert "JSON object" in err
    code, _, err = run(capsys, "integrations", "create", "--type", "jira", "--config", "missing.json")
    assert code == 1
    assert "missing.json" in err
    assert api.requests == []


def test_list_follows_pages_and_prints_a_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    second = {**VIEW, "id": "int_2", "type": "jira", "name": "ENG", "status": "active"}
    api.on("GET", "/integrations", 200, {"items": [VIEW], "next_token": "page2"})
    api.on("GET", "/integrations?limit=100&next_token=page2", 200, {"items": [second], "next_token": None})

    code, out, _ = run(capsys, "integrations", "list")

    assert code == 0
    assert [r.query for r in api.requests] == [{"limit": ["100"]}, {"limit": ["100"], "next_token": ["page2"]}]
    assert out.splitlines()[0].split() == ["id", "name", "type", "status", "created_at", "updated_at"]
    assert "int_0123456789abcdef" in out
    assert next(line for line in out.splitlines() if line.startswith("int_2")).split()[:4] == [
        "int_2",
        "ENG",
        "jira",
        "active",
    ]


def test_show_status_sync_delete_and_rotate(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    iid = str(VIEW["id"])
    api.on("GET", f"/integrations/{iid}", 200, VIEW)
    api.on(
        "GET",
        f"/integrations/{iid}/status",
        200,
        {"status": "failed", "last_error": {"kind": "auth", "message": "Bad credentials"}, "freshness": {"hours": 2}},
    )
    api.on("POST", f"/integrations/{iid}/sync", 202, {"queued": True, "coalesced": False})
    api.on("DELETE", f"/integrations/{iid}", 204)
    api.on("POST", f"/integrations/{iid}/webhook-secret", 200, {"secret": WEBHOOK["secret"]})

    code, out, _ = run(capsys, "integrations", "show", iid)
    assert code == 0
    assert "config.token" in out
    assert "********" in out

    code, out, _ = run(capsys, "integrations", "status", iid)
    assert code == 0
    assert "last_error.message" in out
    assert "Bad credentials" in out

    code, out, _ = run(capsys, "integrations", "sync", iid)
    assert code == 0
    assert out.startswith(f"Sync of {iid} queued.")

    code, out, _ = run(capsys, "integrations", "delete", iid)
    assert code == 0
    assert out.strip() == f"Deleted integration {iid}."

    code, out, _ = run(capsys, "integrations", "rotate-webhook-secret", iid)
    assert code == 0
    assert value_after(out, "Webhook secret:") == WEBHOOK["secret"]

    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", f"/integrations/{iid}"),
        ("GET", f"/integrations/{iid}/status"),
        ("POST", f"/integrations/{iid}/sync"),
        ("DELETE", f"/integrations/{iid}"),
        ("POST", f"/integrations/{iid}/webhook-secret"),
    ]


def test_ids_cannot_escape_their_path_segment(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "integrations", "show", "../teams/me")

    assert api.requests[0].path == "/integrations/..%2Fteams%2Fme"


METRICS = {
    "integration_id": "int_0123456789abcdef",
    "type": "github",
    "window": {"since": "2024-05-01T00:00:00Z", "until": "2024-05-15T00:00:00Z"},
    "generated_at": "2024-05-15T01:00:00Z",
    "metrics": {
        "pull_requests": {
            "opened": 4,
            "pickup_time": {"count": 2, "median": 1.5, "p75": 2.0, "p90": 2.2, "mean": 1.5},
        },
        "commits": {
            "weekly": [{"week": "2024-04-29", "value": 3}, {"week": "2024-05-06", "value": 5}],
            "authors": [{"author": "alice", "commits": 8, "share": 1.0}],
        },
    },
}


def test_metrics_passes_the_window_and_prints_tables(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/integrations/int_0123456789abcdef/metrics", 200, METRICS)

    code, out, _ = run(
        capsys,
        "metrics",
        "int_0123456789abcdef",
        "--since",
        "2024-05-01T00:00:00Z",
        "--until",
        "2024-05-15T00:00:00Z",
    )

    assert code == 0
    assert api.requests[0].query == {"since": ["2024-05-01T00:00:00Z"], "until": ["2024-05-15T00:00:00Z"]}
    assert "window       2024-05-01T00:00:00Z to 2024-05-15T00:00:00Z" in out
    assert next(line for line in out.splitlines() if line.startswith("pull_requests.pickup_time")).split() == [
        "pull_requests.pickup_time",
        "2",
        "1.5",
        "2.0",
        "2.2",
        "1.5",
    ]
    assert "2024-04-29:3  2024-05-06:5" in out
    assert "commits.authors" in out


def test_metrics_json_is_the_raw_answer(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/integrations/int_1/metrics", 200, METRICS)

    code, out, _ = run(capsys, "metrics", "int_1", "--json")

    assert code == 0
    assert json.loads(out) == METRICS
    assert api.requests[0].query == {}


def test_metrics_refuses_a_window_that_is_not_iso(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["metrics", "int_1", "--since", "last tuesday"])

    assert exit_.value.code == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err
    assert api.requests == []


def test_api_errors_print_code_and_message(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "integrations", "show", "int_missing")

    assert (code, out) == (1, "")
    assert err.strip() == "error: not_found: No such route."


def test_refused_token_without_an_error_body_is_still_clear(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/integrations", 401, b"Unauthorized")

    code, out, err = run(capsys, "integrations", "list")

    assert code == 1
    assert err.startswith("error: unauthorized: ")
    assert TOKEN not in out + err


def test_unreachable_api_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AGILETRACK_API", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AGILETRACK_TOKEN", TOKEN)

    code, out, err = run(capsys, "integrations", "list")

    assert (code, out) == (2, "")
    assert err.startswith(f"error: Cannot reach the AgileTrack API at http://127.0.0.1:{port}")
    assert TOKEN not in err


def test_api_settings_come_from_dev_env_when_not_in_the_environment(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AGILETRACK_API")
    monkeypatch.delenv("AGILETRACK_TOKEN")
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "dev.env").write_text(
        f"# written by make dev\nAGILETRACK_API={api.url}\nAGILETRACK_TOKEN={TOKEN}\n"
    )
    api.on("GET", "/integrations", 200, {"items": []})

    code, out, _ = run(capsys, "integrations", "list")

    assert code == 0
    assert "No integrations yet" in out
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_missing_api_settings_say_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGILETRACK_API", raising=False)
    monkeypatch.setenv("AGILETRACK_TOKEN", TOKEN)

    code, _, err = run(capsys, "metrics", "int_1")

    assert code == 1
    assert "AGILETRACK_API" in err
    assert ".local/dev.env" in err
    assert TOKEN not in err


# ------------------------------------------------------------------ help


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["teams"],
        ["teams", "create"],
        ["teams", "list"],
        ["teams", "revoke-token"],
        ["teams", "rotate-token"],
        ["dlq"],
        ["dlq", "list"],
        ["dlq", "redrive"],
        ["integrations"],
        ["integrations", "create"],
        ["integrations", "list"],
        ["integrations", "show"],
        ["integrations", "status"],
        ["integrations", "sync"],
        ["integrations", "delete"],
        ["integrations", "rotate-webhook-secret"],
        ["metrics"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: agiletrack {' '.join(argv)}".rstrip())


# ------------------------------------------------------------------ sync --wait and syncs


def _status(state: str, *, started: str | None, outcome: str | None, progress: Any = None) -> dict[str, Any]:
    last = None if started is None else {"started_at": started, "outcome": outcome, "records": 40, "api_calls": 4}
    if last is not None and outcome not in ("running", "partial"):
        last |= {"finished_at": started, "duration_ms": 1234}
    return {"status": state, "last_sync": last, "progress": progress, "last_error": None}


def _progress(pages: int, percent: float | None, phase: str = "pull_requests") -> dict[str, Any]:
    return {
        "phase": phase,
        "pages": pages,
        "records": pages * 50,
        "first_sync": percent is not None,
        "percent": percent,
    }


def test_sync_wait_draws_the_progress_until_the_sync_ends(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    iid = str(VIEW["id"])
    before = _status("pending", started=None, outcome=None)
    api.on("POST", f"/integrations/{iid}/sync", 202, {"queued": True, "coalesced": False})
    api.on_each(
        "GET",
        f"/integrations/{iid}/status",
        [
            (200, before),  # read before the trigger
            (200, before),  # queued, not started yet
            (200, _status("syncing", started="2026-12-02T00:00:00Z", outcome="running")),
            (200, _status("syncing", started="2026-12-02T00:00:00Z", outcome="running", progress=_progress(1, 22.5))),
            (200, _status("syncing", started="2026-12-02T00:00:00Z", outcome="running", progress=_progress(1, 22.5))),
            (200, _status("syncing", started="2026-12-02T00:00:00Z", outcome="running", progress=_progress(2, 100.0))),
            (
                200,
                _status(
                    "syncing", started="2026-12-02T00:00:00Z", outcome="running", progress=_progress(3, None, "commits")
                ),
            ),
            (200, _status("active", started="2026-12-02T00:00:00Z", outcome="success")),
        ],
    )

    code, out, err = run(capsys, "integrations", "sync", iid, "--wait", "--interval", "0")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Sync of {iid} queued.",
        "[" + " " * 30 + "]  starting",
        "[#######" + "." * 23 + "]  22.5%  pull_requests  page 1  50 records",  # 30 * 22.5% = 6.75: 7 filled
        "[" + "#" * 30 + "] 100.0%  pull_requests  page 2  100 records",
        "[" + "~" * 30 + "]  commits  page 3  150 records",  # a later phase with no time to measure
        f"Sync of {iid} done: 40 records written, 4 API calls, 1234 ms.",
    ]
    assert [(r.method, r.path) for r in api.requests][:2] == [
        ("GET", f"/integrations/{iid}/status"),
        ("POST", f"/integrations/{iid}/sync"),
    ]


def test_sync_wait_exits_1_with_the_reason_when_the_sync_fails(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    iid = str(VIEW["id"])
    before = _status("active", started="2026-12-01T00:00:00Z", outcome="success")
    failed = _status("active", started="2026-12-02T00:00:00Z", outcome="failed")
    failed["last_error"] = {"kind": "other", "message": "GitHub answered 500."}
    api.on("POST", f"/integrations/{iid}/sync", 202, {"queued": True, "coalesced": False})
    api.on_each("GET", f"/integrations/{iid}/status", [(200, before), (200, before), (200, failed)])

    code, out, err = run(capsys, "integrations", "sync", iid, "--wait", "--interval", "0")

    assert code == 1
    assert "The sync ended failed: GitHub answered 500." in err
    assert out.splitlines() == [f"Sync of {iid} queued."]


def test_sync_wait_gives_up_after_its_timeout(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    iid = str(VIEW["id"])
    api.on("POST", f"/integrations/{iid}/sync", 202, {"queued": True, "coalesced": True})
    api.on("GET", f"/integrations/{iid}/status", 200, _status("pending", started=None, outcome=None))

    code, _, err = run(capsys, "integrations", "sync", iid, "--wait", "--interval", "0", "--timeout", "0")

    assert code == 1
    assert "has not ended after 0 s" in err


def test_syncs_lists_the_runs_as_a_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    iid = str(VIEW["id"])
    runs = [
        {
            "started_at": "2026-12-02T01:00:00Z",
            "finished_at": "2026-12-02T01:00:02Z",
            "outcome": "failed",
            "reason": "manual",
            "records_written": 0,
            "records_pulled": 0,
            "pages": 0,
            "api_calls": 1,
            "bytes_received": 52,
            "duration_ms": 2000,
            "peak_memory_mb": 91.0,
            "error": "The provider refused the credentials (401).",
        },
        {
            "started_at": "2026-12-02T00:00:00Z",
            "finished_at": "2026-12-02T00:00:09Z",
            "outcome": "success",
            "reason": "created",
            "records_written": 105,
            "records_pulled": 105,
            "pages": 3,
            "api_calls": 3,
            "bytes_received": 39004,
            "duration_ms": 9000,
            "peak_memory_mb": 87.5,
            "error": None,
        },
    ]
    api.on("GET", f"/integrations/{iid}/syncs?limit=5", 200, {"items": runs, "next_token": None})

    code, out, _ = run(capsys, "integrations", "syncs", iid, "--limit", "5")

    assert code == 0
    header, _rule, first, second = out.splitlines()
    assert header.split() == [
        "started_at", "outcome", "reason", "records", "pages", "api_calls", "bytes", "duration_ms", "memory_mb", "error"
    ]  # fmt: skip
    assert first.split()[:9] == ["2026-12-02T01:00:00Z", "failed", "manual", "0", "0", "1", "52", "2000", "91.0"]
    assert first.endswith("The provider refused the credentials (401).")
    assert second.split() == [
        "2026-12-02T00:00:00Z",
        "success",
        "created",
        "105",
        "3",
        "3",
        "39004",
        "9000",
        "87.5",
        "-",
    ]

    code, out, _ = run(capsys, "integrations", "syncs", iid, "--limit", "5", "--json")
    assert json.loads(out)["items"] == runs
