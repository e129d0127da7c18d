"""The query window: a half-open interval ``[since, until)`` of aware UTC instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Window:
    """``[since, until)``; both ends are aware datetimes, stored in UTC.

    Query-string parsing belongs to the API layer; this only holds and tests instants.
    """

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"window {name} must be timezone-aware, got {value!r}")
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.until <= self.since:
            raise ValueError(f"window until ({self.until}) must be after since ({self.since})")

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> Window:
        """The ``days`` days that end at ``now`` (default: the current instant)."""
        end = now if now is not None else datetime.now(UTC)
        return cls(since=end - timedelta(days=days), until=end)

    def contains(self, ts: datetime | None) -> bool:
        """Whether ``ts`` is in ``[since, until)``; ``None`` (no such moment) is never inside."""
        if ts is None:
            return False
        return self.since <= ts < self.until

    @property
    def days(self) -> float:
        """The window length in days, fractional."""
        return (self.until - self.since).total_seconds() / 86400.0
