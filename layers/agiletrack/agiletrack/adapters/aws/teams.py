"""Teams table: ``TEAM#<id>`` items and ``TOKEN#<sha256>`` items that point at their team."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.dynamo import from_item, paginate, to_item, to_value
from agiletrack.models.times import iso
from agiletrack.settings import get_settings

if TYPE_CHECKING:
    # The authorizer's one read (``by_token_hash``) needs no model: ``Team`` is imported where one is made.
    from agiletrack.models.teams import Team


class DynamoTeamStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def create(self, team: Team) -> None:
        assert team.token_hash is not None
        clients.dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({"pk": f"TEAM#{team.id}", **self._team_values(team)}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({"pk": f"TOKEN#{team.token_hash}", "team_id": team.id, "team_name": team.name}),
                    }
                },
            ]
        )

    def get(self, team_id: str) -> Team | None:
        raw = clients.dynamodb().get_item(TableName=self.table, Key={"pk": to_value(f"TEAM#{team_id}")})
        if "Item" not in raw:
            return None
        return _team(from_item(raw["Item"]))

    def by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        """The (team id, team name) a token hash belongs to."""
        raw = clients.dynamodb().get_item(
            TableName=self.table, Key={"pk": to_value(f"TOKEN#{token_hash}")}, ConsistentRead=True
        )
        if "Item" not in raw:
            return None
        item = from_item(raw["Item"])
        return str(item["team_id"]), str(item["team_name"])

    def all(self) -> Iterator[Team]:
        for item in paginate(
            clients.dynamodb().scan,
            TableName=self.table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": to_value("TEAM#")},
        ):
            yield _team(item)

    def replace_token(self, team: Team, new_hash: str | None) -> None:
        """Point the team at a new token hash (or none), dropping the old token item atomically."""
        items: list[dict[str, object]] = []
        if team.token_hash:
            items.append({"Delete": {"TableName": self.table, "Key": {"pk": to_value(f"TOKEN#{team.token_hash}")}}})
        if new_hash:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({"pk": f"TOKEN#{new_hash}", "team_id": team.id, "team_name": team.name}),
                    }
                }
            )
        update: dict[str, object] = {
            "TableName": self.table,
            "Key": {"pk": to_value(f"TEAM#{team.id}")},
            "ConditionExpression": "attribute_exists(pk)",
        }
        if new_hash:
            update["UpdateExpression"] = "SET token_hash = :h"
            update["ExpressionAttributeValues"] = {":h": to_value(new_hash)}
        else:
            update["UpdateExpression"] = "REMOVE token_hash"
        items.append({"Update": update})
        clients.dynamodb().transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    @staticmethod
    def _team_values(team: Team) -> dict[str, object]:
        return {
            "id": team.id,
            "name": team.name,
            "created_at": iso(team.created_at),
            "token_hash": team.token_hash,
        }


def _team(item: dict[str, object]) -> Team:
    from agiletrack.models.teams import Team

    return Team.model_validate(
        {k: item.get(k) for k in ("id", "name", "created_at", "token_hash") if item.get(k) is not None}
    )


@cache
def team_store() -> DynamoTeamStore:
    return DynamoTeamStore(get_settings().teams_table)
