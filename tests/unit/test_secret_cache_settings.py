"""A rotated secret stops working within 60 s (issue 8, item 6): the secret cache never serves a value
older than a minute, and the setting cannot be raised above it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agiletrack.settings import Settings


def test_secrets_are_cached_at_most_60_seconds_by_default() -> None:
    assert 0 < Settings.from_env({}).secret_cache_seconds <= 60


def test_a_longer_secret_cache_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({"SECRET_CACHE_SECONDS": "300"})


def test_a_shorter_secret_cache_is_allowed() -> None:
    assert Settings.from_env({"SECRET_CACHE_SECONDS": "5"}).secret_cache_seconds == 5
