"""``parse_iso``: every failure is a ``ValueError`` (callers map it to 422 or to a refused payload)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agiletrack.models.common import parse_iso


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00", "nope", ""])
def test_text_without_a_utc_instant_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)


def test_offsets_and_z_become_utc() -> None:
    assert parse_iso("2026-03-01T10:00:00+02:00") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert parse_iso("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
