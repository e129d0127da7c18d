"""The base of the models that describe metrics answers (``agiletrack.metrics.documents``)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from agiletrack.models.base import Model


class Strict(Model):
    """A part of a metrics answer: every key it may hold is declared."""

    model_config = ConfigDict(extra="forbid")


class DurationStatistic(Strict):
    """A duration statistic (``METRICS.md``, common rules): hours, or a unitless count where so named; with
    ``count`` 0 every other field is null."""

    count: int
    median: float | None
    p75: float | None
    p90: float | None
    mean: float | None


class Week(Strict):
    """One point of a weekly series."""

    week: str = Field(description="The week's Monday, UTC, YYYY-MM-DD")
    value: float
