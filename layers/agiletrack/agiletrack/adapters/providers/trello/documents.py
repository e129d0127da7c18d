"""The Trello metrics answer as models (``METRICS.md``, section "Trello"), for the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from agiletrack.metrics.shape import DurationStatistic, Strict, Week


class Moves(Strict):
    total: int
    backward: int
    per_card: float | None
    per_week: float


class CardMetrics(Strict):
    lead_time: DurationStatistic
    cycle_time: DurationStatistic
    moves: Moves


class Throughput(Strict):
    total: int
    per_week: float
    weekly: list[Week]


class ListMetrics(Strict):
    throughput: Throughput


class MemberShare(Strict):
    member_id: str | None
    name: str | None
    actions: int
    share: float | None


class Comments(Strict):
    total: int
    per_week: float
    per_card: float | None


class Activity(Strict):
    members: list[MemberShare]
    comments: Comments


class ListNow(Strict):
    id: str
    name: str | None
    open_cards: int
    age: DurationStatistic = Field(description="Hours since each open card last entered the list")


class TrelloNow(Strict):
    lists: list[ListNow]
    labels: dict[str, int] = Field(description="Label name (or colour) to open cards carrying it")


class TrelloMetrics(Strict):
    cards: CardMetrics
    lists: ListMetrics
    activity: Activity
    now: TrelloNow


class TrelloSeries(Strict):
    cards_created: list[Week]
    cards_done: list[Week]
