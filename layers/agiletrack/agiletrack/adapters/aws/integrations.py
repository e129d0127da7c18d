"""Integrations table.

One partition per integration (``pk = INT#<id>``):
- ``sk = META``: the integration itself (no credentials). Only these items carry ``team_id`` and
  ``created_at``, so the ``by_team`` index is sparse: it lists a team's integrations in creation order
  (the config API) and, scanned, every integration (the scheduler).
- ``sk = SYNC``: the sync state: the provider cursor, the lease (with the generation it was taken under),
  the queued flag, the generation the cursor belongs to, and the running sync's ``progress`` (written with
  each cursor, so a page costs no extra write).
- ``generation`` (on ``META`` and ``SYNC``): the scope generation. A scope change and a delete raise it in one
  transaction with the reset of the cursor (the lease is kept), and every write of a sync or webhook is
  conditional on it: a worker that started under an older generation writes nothing.
- ``sk = COUNT#<YYYY-MM-DDTHH>``: the hour's counters of job and webhook outcomes (``job_success``,
  ``webhook_rejected``...), one item per integration per hour however many events (atomic ``ADD``),
  expiring after two days (TTL ``expires_at``), for ``error_rate_24h`` and the webhook counters: the
  status reads at most ``COUNTER_ITEMS_READ`` of them.
- ``sk = RUN#<finished ISO>#<owner>``: one sync worker invocation (``SyncRun``), expiring after
  ``RUN_TTL`` (TTL ``expires_at``): an hourly sync keeps about 340 of them. Listed newest first.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.dynamo import from_item, paginate, to_item, to_value
from agiletrack.errors import Superseded, ValidationFailed
from agiletrack.models.times import iso, utcnow
from agiletrack.models.webhook_target import WebhookTarget
from agiletrack.settings import get_settings

if TYPE_CHECKING:
    from agiletrack.models.integrations import Integration, SyncProgress, SyncRun

EVENT_TTL = timedelta(days=2)
RUN_TTL = timedelta(days=14)
RUN_PREFIX = "RUN#"
RUN_PAGE_KEY = frozenset({"pk", "sk"})
COUNTER_PREFIX = "COUNT#"
COUNTER_ITEMS_READ = 25
"""Hourly counter items a status read takes at most: the current hour and the 24 before it."""
_COUNTER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
META = "META"
SYNC = "SYNC"
BY_TEAM_KEY = frozenset({"pk", "sk", "team_id", "created_at"})
"""The attributes of a ``by_team`` page key: the table's key and the index's."""
NOT_OUR_TOKEN = "next_token is not a token this API gave out."


def _pk(integration_id: str) -> str:
    return f"INT#{integration_id}"


_TARGET_NAMES = {
    f"#{name}": name for name in ("id", "type", "status", "secret_name", "generation", "webhook_registration")
}
"""The attributes ``webhook_target`` projects (as names: ``status`` and ``type`` are DynamoDB reserved words)."""


def _integration(item: dict[str, Any]) -> Integration:
    # The models (pydantic) load with the first integration read: the scheduler reads none, only ids and states.
    from agiletrack.models.integrations import Integration

    return Integration.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")})


def encode_token(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str | None, key_names: frozenset[str]) -> dict[str, Any] | None:
    """The DynamoDB key a ``next_token`` encodes. It must be a whole key of exactly ``key_names``, each a
    non-empty string: anything else (a partial key, another type) would make DynamoDB fail, so it is
    ``ValidationFailed`` here."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(NOT_OUR_TOKEN) from exc
    if not isinstance(key, dict) or set(key) != key_names or not all(_is_string_value(v) for v in key.values()):
        raise ValidationFailed(NOT_OUR_TOKEN)
    return key


def _is_string_value(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str) and value["S"] != ""


def _update_expression(changes: dict[str, Any], remove: tuple[str, ...]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(UpdateExpression, names, values) that set ``changes`` (a None value removes) and remove ``remove``."""
    names = {f"#f{i}": name for i, name in enumerate([*changes, *remove])}
    by_name = {v: k for k, v in names.items()}
    values: dict[str, Any] = {}
    sets = []
    for i, (name, value) in enumerate(changes.items()):
        if value is None:
            remove = (*remove, name)
            continue
        values[f":v{i}"] = to_value(value)
        sets.append(f"{by_name[name]} = :v{i}")
    removes = [by_name[name] for name in dict.fromkeys(remove)]
    expression = ""
    if sets:
        expression += "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return expression.strip(), names, values


def _generation_condition(generation: int, values: dict[str, Any]) -> str:
    """``generation = :gen`` (adding ``:gen`` to ``values``); an item without one is of generation 0."""
    values[":gen"] = to_value(generation)
    if generation == 0:
        return "(attribute_not_exists(generation) OR generation = :gen)"
    return "generation = :gen"


class DynamoIntegrationStore:
    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------ the integration
    def create(self, integration: Integration) -> None:
        values = integration.model_dump(mode="python")
        clients.dynamodb().put_item(
            TableName=self.table,
            Item=to_item({"pk": _pk(integration.id), "sk": META, **values}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, integration_id: str) -> Integration | None:
        raw = clients.dynamodb().get_item(
            TableName=self.table,
            Key={"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
            ConsistentRead=True,
        )
        return _integration(from_item(raw["Item"])) if "Item" in raw else None

    def webhook_target(self, integration_id: str) -> WebhookTarget | None:
        """What the webhooks function needs of an integration, read as plain values (no model): the six fields of
        ``WebhookTarget``, projected, with the defaults ``Integration`` gives them."""
        raw = clients.dynamodb().get_item(
            TableName=self.table,
            Key={"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
            ConsistentRead=True,
            ProjectionExpression=", ".join(_TARGET_NAMES),
            ExpressionAttributeNames=_TARGET_NAMES,
        )
        if "Item" not in raw:
            return None
        item = from_item(raw["Item"])
        registration = item.get("webhook_registration")
        registered = (
            registration.get("callback_url")
            if isinstance(registration, dict) and registration.get("state") == "registered"
            else None
        )
        return WebhookTarget(
            id=str(item["id"]),
            type=str(item["type"]),
            status=str(item.get("status") or "pending"),
            secret_name=str(item["secret_name"]),
            generation=int(item.get("generation") or 0),
            registered_url=str(registered) if registered else None,
        )

    def list_for_team(
        self, team_id: str, *, limit: int, next_token: str | None
    ) -> tuple[list[Integration], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_team",
            "KeyConditionExpression": "team_id = :t",
            "ExpressionAttributeValues": {":t": to_value(team_id)},
            "Limit": limit,
        }
        start = decode_token(next_token, BY_TEAM_KEY)
        if start:
            if start["team_id"]["S"] != team_id or start["sk"]["S"] != META:
                raise ValidationFailed(NOT_OUR_TOKEN)
            kwargs["ExclusiveStartKey"] = start
        page = clients.dynamodb().query(**kwargs)
        items = [_integration(from_item(raw)) for raw in page.get("Items", [])]
        return items, encode_token(page.get("LastEvaluatedKey"))

    def all(self) -> Iterator[Integration]:
        """Every integration of every team (a scan of the sparse ``by_team`` index)."""
        for item in paginate(clients.dynamodb().scan, TableName=self.table, IndexName="by_team"):
            yield _integration(item)

    def schedulable(self) -> Iterator[tuple[str, str]]:
        """(id, status) of every integration: the scheduler's scan, projected to what it needs."""
        for item in paginate(
            clients.dynamodb().scan,
            TableName=self.table,
            IndexName="by_team",
            ProjectionExpression="id, #s",
            ExpressionAttributeNames={"#s": "status"},
        ):
            yield str(item["id"]), str(item["status"])

    def update(
        self,
        integration_id: str,
        changes: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        only_if_status: tuple[str, ...] | None = None,
        only_if_generation: int | None = None,
    ) -> bool:
        """Set (and remove) fields of an existing integration; False when it is gone or the status or
        generation condition does not hold."""
        if not changes and not remove:
            return True
        expression, names, values = _update_expression(changes, remove)
        condition = "attribute_exists(pk)"
        if only_if_generation is not None:
            condition += f" AND {_generation_condition(only_if_generation, values)}"
        if only_if_status:
            names["#status"] = "status"
            placeholders = []
            for i, status in enumerate(only_if_status):
                values[f":s{i}"] = to_value(status)
                placeholders.append(f":s{i}")
            condition += f" AND #status IN ({', '.join(placeholders)})"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            clients.dynamodb().update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def change_scope(
        self, integration_id: str, changes: dict[str, Any], *, remove: tuple[str, ...], generation: int
    ) -> bool:
        """Apply a scope change (or, with ``status: deleting``, the start of a delete) and raise the generation
        from ``generation`` in one transaction with the reset of the sync state: the cursor and the queued
        flag go, the lease stays (a running worker keeps it and is fenced off by the new generation). False
        when the integration is gone, being deleted, or changed generation meanwhile."""
        new = generation + 1
        expression, names, values = _update_expression({**changes, "generation": new}, remove)
        names["#status"] = "status"
        values[":deleting"] = to_value("deleting")
        condition = f"attribute_exists(pk) AND #status <> :deleting AND {_generation_condition(generation, values)}"
        try:
            clients.dynamodb().transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
                            "UpdateExpression": expression,
                            "ConditionExpression": condition,
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                            "UpdateExpression": "SET generation = :g REMOVE #c, queued_until, progress",
                            "ExpressionAttributeNames": {"#c": "cursor"},
                            "ExpressionAttributeValues": {":g": to_value(new)},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def delete(self, integration_id: str) -> None:
        """The integration and everything in its partition (sync state, events)."""
        keys = [
            {"pk": to_value(item["pk"]), "sk": to_value(item["sk"])}
            for item in paginate(
                clients.dynamodb().query,
                TableName=self.table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": to_value(_pk(integration_id))},
                ProjectionExpression="pk, sk",
            )
        ]
        # META last, so a crash halfway leaves an integration that can be deleted again.
        keys.sort(key=lambda k: k["sk"]["S"] == META)
        for key in keys:
            clients.dynamodb().delete_item(TableName=self.table, Key=key)

    # ------------------------------------------------------------ sync state
    def sync_state(self, integration_id: str) -> dict[str, Any]:
        raw = clients.dynamodb().get_item(
            TableName=self.table,
            Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
            ConsistentRead=True,
        )
        return from_item(raw["Item"]) if "Item" in raw else {}

    def mark_queued(self, integration_id: str, now: datetime, *, window: timedelta) -> bool:
        """Record that a sync job is queued; False when one is already queued or running
        (a trigger then is coalesced). ``window`` bounds how long a lost job can block new ones."""
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                UpdateExpression="SET queued_until = :until",
                ConditionExpression=(
                    "(attribute_not_exists(queued_until) OR queued_until < :now) "
                    "AND (attribute_not_exists(lease_until) OR lease_until < :now)"
                ),
                ExpressionAttributeValues={":until": to_value(iso(now + window)), ":now": to_value(iso(now))},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def acquire_lease(
        self,
        integration_id: str,
        owner: str,
        now: datetime,
        *,
        ttl: timedelta,
        generation: int = 0,
        keep_progress: bool = False,
    ) -> bool:
        """Take the integration's sync lease (a conditional write with an expiry) under ``generation`` and
        clear the queued flag: the queued job is now the running one. The progress of the sync before goes too,
        unless ``keep_progress`` (a continuation carries on counting)."""
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                UpdateExpression="SET lease_owner = :o, lease_until = :until, lease_generation = :lg "
                + ("REMOVE queued_until" if keep_progress else "REMOVE queued_until, progress"),
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :o",
                ExpressionAttributeValues={
                    ":o": to_value(owner),
                    ":until": to_value(iso(now + ttl)),
                    ":now": to_value(iso(now)),
                    ":lg": to_value(generation),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, integration_id: str, owner: str) -> None:
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :o",
                ExpressionAttributeValues={":o": to_value(owner)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def save_cursor(
        self,
        integration_id: str,
        owner: str,
        cursor: dict[str, Any],
        *,
        generation: int = 0,
        progress: SyncProgress | None = None,
    ) -> None:
        """Store the provider cursor (and the sync's progress, in the same write), only while holding the lease
        and while the sync state is still of ``generation`` (a stale worker cannot move it); ``Superseded``
        otherwise."""
        values: dict[str, Any] = {":c": to_value(json.dumps(cursor)), ":o": to_value(owner)}
        expression = "SET #c = :c"
        if progress is not None:
            values[":p"] = to_value(progress)
            expression += ", progress = :p"
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                UpdateExpression=expression,
                ConditionExpression=f"lease_owner = :o AND {_generation_condition(generation, values)}",
                ExpressionAttributeNames={"#c": "cursor"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Superseded("the sync lease or the generation moved on; cursor not saved") from exc
            raise

    def reset_sync_state(self, integration_id: str) -> None:
        """Forget the cursor and the queued flag. The lease stays: a running worker keeps it until it ends,
        so no second job runs beside it (without one, the whole item goes)."""
        key = {"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)}
        try:
            clients.dynamodb().delete_item(
                TableName=self.table, Key=key, ConditionExpression="attribute_not_exists(lease_owner)"
            )
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(SYNC)},
                UpdateExpression="REMOVE #c, queued_until, progress",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#c": "cursor"},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------ secret writes
    def acquire_secret_lease(self, integration_id: str, owner: str, now: datetime, *, ttl: timedelta) -> bool:
        """Take the lease that serializes writes of the integration's secret (on its META item); False
        while another writer holds an unexpired one, or when the integration is gone."""
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
                UpdateExpression="SET secret_lease_owner = :o, secret_lease_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(secret_lease_until) OR secret_lease_until < :now)"
                ),
                ExpressionAttributeValues={
                    ":o": to_value(owner),
                    ":until": to_value(iso(now + ttl)),
                    ":now": to_value(iso(now)),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_secret_lease(self, integration_id: str, owner: str) -> None:
        try:
            clients.dynamodb().update_item(
                TableName=self.table,
                Key={"pk": to_value(_pk(integration_id)), "sk": to_value(META)},
                UpdateExpression="REMOVE secret_lease_owner, secret_lease_until",
                ConditionExpression="secret_lease_owner = :o",
                ExpressionAttributeValues={":o": to_value(owner)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------ sync runs
    def add_run(self, integration_id: str, run: SyncRun, owner: str) -> None:
        """Keep one sync worker invocation (a put: ``owner``, the job's message id, makes the key unique)."""
        item = {
            "pk": _pk(integration_id),
            "sk": f"{RUN_PREFIX}{iso(run.finished_at)}#{owner}",
            **run.model_dump(mode="python"),
            "expires_at": int((run.finished_at + RUN_TTL).timestamp()),
        }
        clients.dynamodb().put_item(TableName=self.table, Item=to_item(item))

    def runs(self, integration_id: str, *, limit: int, next_token: str | None) -> tuple[list[SyncRun], str | None]:
        """One page of the integration's sync runs, newest first."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :r)",
            "ExpressionAttributeValues": {":p": to_value(_pk(integration_id)), ":r": to_value(RUN_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_token(next_token, RUN_PAGE_KEY)
        if start:
            if start["pk"]["S"] != _pk(integration_id) or not start["sk"]["S"].startswith(RUN_PREFIX):
                raise ValidationFailed(NOT_OUR_TOKEN)
            kwargs["ExclusiveStartKey"] = start
        page = clients.dynamodb().query(**kwargs)
        from agiletrack.models.integrations import SyncRun

        runs = [
            SyncRun.model_validate({k: v for k, v in from_item(raw).items() if k not in ("pk", "sk", "expires_at")})
            for raw in page.get("Items", [])
        ]
        return runs, encode_token(page.get("LastEvaluatedKey"))

    # ------------------------------------------------------------ event counters
    def add_event(self, integration_id: str, kind: str, at: datetime | None = None, *, outcome: str) -> None:
        """Count one ``kind`` (job, webhook) event with its ``outcome`` in the counter item of its hour: an
        atomic ``ADD`` on one item, so a flood of events writes no new items."""
        at = as_hour(at or utcnow())
        counter = f"{kind}_{outcome}"
        if not _COUNTER_NAME.match(counter):
            raise ValueError(f"not a counter name: {counter!r}")
        clients.dynamodb().update_item(
            TableName=self.table,
            Key={"pk": to_value(_pk(integration_id)), "sk": to_value(f"{COUNTER_PREFIX}{hour_key(at)}")},
            UpdateExpression="ADD #c :one SET expires_at = :exp, #h = :h",
            ExpressionAttributeNames={"#c": counter, "#h": "hour"},
            ExpressionAttributeValues={
                ":one": to_value(1),
                ":exp": to_value(int((at + EVENT_TTL).timestamp())),
                ":h": to_value(iso(at)),
            },
        )

    def counters_since(self, integration_id: str, since: datetime) -> list[dict[str, Any]]:
        """The hourly counter items from the hour of ``since`` on: one bounded Query, however many events."""
        page = clients.dynamodb().query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":p": to_value(_pk(integration_id)),
                ":a": to_value(f"{COUNTER_PREFIX}{hour_key(since)}"),
                ":b": to_value(f"{COUNTER_PREFIX}~"),
            },
            ScanIndexForward=False,
            Limit=COUNTER_ITEMS_READ,
        )
        return [from_item(item) for item in page.get("Items", [])]


def as_hour(at: datetime) -> datetime:
    """The start of ``at``'s hour, in UTC."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_key(at: datetime) -> str:
    return as_hour(at).strftime("%Y-%m-%dT%H")


@cache
def integration_store() -> DynamoIntegrationStore:
    return DynamoIntegrationStore(get_settings().integrations_table)
