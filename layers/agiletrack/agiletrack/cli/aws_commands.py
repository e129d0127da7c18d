"""``agiletrack teams`` and ``agiletrack dlq``: talk to DynamoDB and SQS with the standard AWS environment.

Resource names come from the settings the Lambdas use (``TEAMS_TABLE``, ``SYNC_QUEUE_URL``, ...), or with
``--stack NAME`` from that CloudFormation stack's Outputs. ``AWS_ENDPOINT_URL`` points boto3 at the local stack.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.teams import team_store
from agiletrack.cli import EXIT_OK, EXIT_UNREACHABLE, CliError
from agiletrack.cli.tables import render_table
from agiletrack.domain import teams
from agiletrack.models.common import iso_short
from agiletrack.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

Handler = Callable[[argparse.Namespace], int]

LOCAL_PREFIX = "agiletrack-local-"
"""Physical names of the local stack's resources: ``agiletrack-local-<LogicalId>``."""

STACK_OUTPUTS: dict[str, str] = {
    "TeamsTableName": "teams_table",
    "IntegrationsTableName": "integrations_table",
    "RecordsTableName": "records_table",
    "MetricsTableName": "metrics_table",
    "IdempotencyTableName": "idempotency_table",
    "SyncQueueUrl": "sync_queue_url",
    "WebhookQueueUrl": "webhook_queue_url",
    "SyncDeadLetterQueueUrl": "sync_dlq_url",
    "WebhookDeadLetterQueueUrl": "webhook_dlq_url",
    "BlobBucketName": "blob_bucket",
    "SecretsPrefix": "secrets_prefix",
}
"""template.yaml Output -> the Settings field (its environment variable is the field name in upper case)."""

RECEIVE_BATCH = 10
REDRIVE_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class QueuePair:
    """A work queue and its dead-letter queue."""

    name: str
    source_id: str
    dlq_id: str
    source_url: Callable[[Settings], str]
    dlq_url: Callable[[Settings], str]

    @property
    def outputs(self) -> tuple[str, str]:
        return f"{self.source_id}Url", f"{self.dlq_id}Url"


QUEUES: dict[str, QueuePair] = {
    "sync": QueuePair("sync", "SyncQueue", "SyncDeadLetterQueue", lambda s: s.sync_queue_url, lambda s: s.sync_dlq_url),
    "webhooks": QueuePair(
        "webhooks", "WebhookQueue", "WebhookDeadLetterQueue", lambda s: s.webhook_queue_url, lambda s: s.webhook_dlq_url
    ),
}


# ------------------------------------------------------------------ configuration


def apply_stack_outputs(stack_name: str, required: Sequence[str] = ()) -> dict[str, str]:
    """Set the settings' environment variables from a CloudFormation stack's Outputs; returns what was set."""
    cloudformation = boto3.client("cloudformation")
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    if not stacks:
        raise CliError(f"No stack named {stack_name}.")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in stacks[0].get("Outputs", [])
        if "OutputKey" in o and "OutputValue" in o
    }
    missing = [key for key in required if key not in outputs]
    if missing:
        raise CliError(f"Stack {stack_name} has no output {', '.join(missing)}; was it deployed from template.yaml?")
    applied = {field.upper(): outputs[key] for key, field in STACK_OUTPUTS.items() if key in outputs}
    os.environ.update(applied)
    return applied


def configure(args: argparse.Namespace, required_outputs: Sequence[str] = ()) -> Settings:
    """Read the settings afresh for this command, after applying ``--stack`` when given."""
    if args.stack:
        apply_stack_outputs(args.stack, required_outputs)
    get_settings.cache_clear()
    team_store.cache_clear()
    return get_settings()


def _queue_url_by_name(name: str, owner: str | None = None) -> str:
    try:
        if owner:
            return clients.sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
        return clients.sqs().get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if "NonExistentQueue" in _code(exc) or _code(exc) == "QueueDoesNotExist":
            raise CliError(
                f"There is no queue {name}: set its URL in the environment or pass --stack NAME.",
                code="queue_not_found",
            ) from exc
        raise


def _dead_letter_target(source_url: str) -> str | None:
    """The DLQ URL from the source queue's RedrivePolicy, if it has one."""
    attributes = clients.sqs().get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        return None
    arn = str(json.loads(policy).get("deadLetterTargetArn", ""))
    parts = arn.split(":")
    if len(parts) != 6:
        return None
    return _queue_url_by_name(parts[5], owner=parts[4])


def queue_urls(pair: QueuePair, settings: Settings) -> tuple[str, str]:
    """(source URL, dead-letter URL): from the settings, else the local stack's names (and the redrive policy)."""
    source = pair.source_url(settings) or _queue_url_by_name(LOCAL_PREFIX + pair.source_id)
    dlq = pair.dlq_url(settings) or _dead_letter_target(source) or _queue_url_by_name(LOCAL_PREFIX + pair.dlq_id)
    return source, dlq


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "ClientError"))


def guarded(handler: Handler) -> Handler:
    """Turn boto3 failures into CLI errors: AWS refusals exit 1, an unreachable endpoint exits 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
            raise CliError(message, code=_code(exc)) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise CliError(f"Cannot reach AWS: {exc}", exit_code=EXIT_UNREACHABLE) from exc
        except BotoCoreError as exc:
            raise CliError(str(exc)) from exc

    return run


# ------------------------------------------------------------------ teams


def teams_create(args: argparse.Namespace) -> int:
    configure(args, ["TeamsTableName"])
    created = teams.create_team(team_store(), args.name)
    print(f"Created team {created.team.name}")
    print(f"  id:    {created.team.id}")
    print(f"  token: {created.token}")
    print("The token is shown only this once: store it now. `agiletrack teams rotate-token` issues a new one.")
    return EXIT_OK


def teams_list(args: argparse.Namespace) -> int:
    configure(args, ["TeamsTableName"])
    rows = [
        {
            "id": team.id,
            "name": team.name,
            "created": iso_short(team.created_at),
            "token": "active" if team.token_hash else "revoked",
        }
        for team in teams.list_teams(team_store())
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("No teams yet: `agiletrack teams create NAME` adds one.")
    else:
        print(render_table(["id", "name", "created", "token"], [list(r.values()) for r in rows]))
    return EXIT_OK


def teams_revoke_token(args: argparse.Namespace) -> int:
    configure(args, ["TeamsTableName"])
    teams.revoke_token(team_store(), args.team_id)
    print(f"Revoked the token of team {args.team_id}; requests with it are refused from now on.")
    print("`agiletrack teams rotate-token` issues a new one.")
    return EXIT_OK


def teams_rotate_token(args: argparse.Namespace) -> int:
    configure(args, ["TeamsTableName"])
    token = teams.rotate_token(team_store(), args.team_id)
    print(f"New token for team {args.team_id}: {token}")
    print("The old token no longer works. The new one is shown only this once: store it now.")
    return EXIT_OK


# ------------------------------------------------------------------ dead-letter queues


@dataclass
class RedriveResult:
    moved: int = 0
    failed: int = 0
    error: str | None = None


def _attributes(message: MessageTypeDef) -> dict[str, MessageAttributeValueTypeDef]:
    """The message attributes as SendMessage takes them (only the fields SQS accepts back)."""
    out: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attribute: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["BinaryValue"] = value["BinaryValue"]
        out[name] = attribute
    return out


def _release(dlq_url: str, messages: Sequence[MessageTypeDef]) -> None:
    """Make received but unsent messages visible in the dead-letter queue again at once."""
    clients.sqs().change_message_visibility_batch(
        QueueUrl=dlq_url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m.get("ReceiptHandle", ""), "VisibilityTimeout": 0}
            for i, m in enumerate(messages)
        ],
    )


def redrive(source_url: str, dlq_url: str, *, wait_seconds: int = 1) -> RedriveResult:
    """Move every message of ``dlq_url`` to ``source_url``: each is deleted from the DLQ only once sent.

    Stops at the first batch SQS refuses (in whole or in part), making the unsent messages visible again at once
    so that nothing waits out the visibility timeout."""
    sqs = clients.sqs()
    result = RedriveResult()
    while True:
        received = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=REDRIVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return result
        entries: list[Any] = []
        for i, message in enumerate(received):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message.get("Body", "")}
            attributes = _attributes(message)
            if attributes:
                entry["MessageAttributes"] = attributes
            entries.append(entry)
        try:
            sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        except ClientError as exc:
            # Unreachable SQS (BotoCoreError) propagates: the messages reappear when their visibility times out.
            _release(dlq_url, received)
            result.failed = len(received)
            result.error = f"SQS refused the batch: {_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
            return result
        sent_ids = {s["Id"] for s in sent.get("Successful", [])}
        done = [received[int(i)] for i in sorted(sent_ids, key=int)]
        if done:
            deleted = sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.get("ReceiptHandle", "")} for i, m in enumerate(done)],
            )
            result.moved += len(done)
            if deleted.get("Failed"):
                failure = deleted["Failed"][0]
                result.error = (
                    f"{len(deleted['Failed'])} message(s) were sent but could not be deleted from the dead-letter "
                    f"queue, so they will be delivered twice ({failure.get('Code')}: {failure.get('Message', '')})"
                )
                return result
        failures = sent.get("Failed", [])
        if failures:
            unsent = [received[int(f["Id"])] for f in failures]
            _release(dlq_url, unsent)
            result.failed = len(unsent)
            first = failures[0]
            result.error = f"SQS refused {len(unsent)} message(s): {first.get('Code')}: {first.get('Message', '')}"
            return result


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _selected(args: argparse.Namespace) -> list[QueuePair]:
    return [QUEUES[args.queue]] if args.queue else list(QUEUES.values())


def _required_outputs(pairs: Sequence[QueuePair]) -> list[str]:
    return [name for pair in pairs for name in pair.outputs]


def dlq_list(args: argparse.Namespace) -> int:
    pairs = _selected(args)
    settings = configure(args, _required_outputs(pairs))
    rows: list[dict[str, Any]] = []
    for pair in pairs:
        _, dlq = queue_urls(pair, settings)
        attributes = (
            clients.sqs()
            .get_queue_attributes(
                QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )
            .get("Attributes", {})
        )
        rows.append(
            {
                "queue": pair.name,
                "dead_letter_queue": _queue_name(dlq),
                "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(
            render_table(
                ["queue", "dead-letter queue", "messages", "in flight"], [[str(v) for v in r.values()] for r in rows]
            )
        )
    return EXIT_OK


def dlq_redrive(args: argparse.Namespace) -> int:
    pairs = _selected(args)
    settings = configure(args, _required_outputs(pairs))
    errors: list[str] = []
    for pair in pairs:
        source, dlq = queue_urls(pair, settings)
        result = redrive(source, dlq, wait_seconds=args.wait)
        print(f"{pair.name}: moved {result.moved} message(s) from {_queue_name(dlq)} to {_queue_name(source)}")
        if result.error:
            errors.append(f"{pair.name}: {result.error}")
    if errors:
        raise CliError("; ".join(errors), code="redrive_incomplete")
    return EXIT_OK


# ------------------------------------------------------------------ parser


def _aws_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--stack",
        metavar="NAME",
        help="read table and queue names from this CloudFormation stack's Outputs "
        "(default: the environment, as the Lambdas read it, else the local stack's names)",
    )
    return parent


def _json_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parent


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    aws = _aws_options()
    as_json = _json_option()

    team = commands.add_parser(
        "teams",
        help="create teams and manage their API tokens (AWS)",
        description="Teams and their API tokens, straight in the Teams table. Uses the standard AWS "
        "environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL for the local stack).",
    )
    team_commands = team.add_subparsers(dest="teams_command", required=True, metavar="COMMAND")
    create = team_commands.add_parser(
        "create", parents=[aws], help="create a team and print its token (shown once)", description="Create a team."
    )
    create.add_argument("name", metavar="NAME", help="the team's name (1 to 100 characters)")
    create.set_defaults(handler=guarded(teams_create))
    listing = team_commands.add_parser("list", parents=[aws, as_json], help="list teams", description="List teams.")
    listing.set_defaults(handler=guarded(teams_list))
    revoke = team_commands.add_parser(
        "revoke-token",
        parents=[aws],
        help="revoke a team's token",
        description="Revoke a team's token at once; rotate-token issues a new one later.",
    )
    revoke.add_argument("team_id", metavar="TEAM_ID")
    revoke.set_defaults(handler=guarded(teams_revoke_token))
    rotate = team_commands.add_parser(
        "rotate-token",
        parents=[aws],
        help="issue a new token (the old one stops working)",
        description="Issue a new token for a team and print it (shown once); the old token stops working.",
    )
    rotate.add_argument("team_id", metavar="TEAM_ID")
    rotate.set_defaults(handler=guarded(teams_rotate_token))

    dlq = commands.add_parser(
        "dlq",
        help="inspect and redrive the dead-letter queues (AWS)",
        description="The dead-letter queues of the sync and webhook queues.",
    )
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    queue = argparse.ArgumentParser(add_help=False)
    queue.add_argument("--queue", choices=sorted(QUEUES), help="only this queue (default: both)")
    counts = dlq_commands.add_parser(
        "list", parents=[aws, queue, as_json], help="count messages", description="Count dead-lettered messages."
    )
    counts.set_defaults(handler=guarded(dlq_list))
    move = dlq_commands.add_parser(
        "redrive",
        parents=[aws, queue],
        help="move dead-lettered messages back to their queue",
        description="Move every message of the dead-letter queue back to its source queue, body and message "
        "attributes unchanged; a message leaves the dead-letter queue only after it was sent.",
    )
    move.add_argument(
        "--wait",
        type=int,
        default=1,
        choices=range(21),
        metavar="SECONDS",
        help="long-poll wait per receive (default 1)",
    )
    move.set_defaults(handler=guarded(dlq_redrive))
