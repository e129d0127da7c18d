"""A rotated secret stops working within 60 s (issue 8, item 6): the secret cache never serves a value
older than a minute, and the setting cannot be raised above it."""

from __future__ import annotations

import pytest

from agiletrack.settings import Settings, SettingsError


def test_secrets_are_cached_at_most_60_seconds_by_default() -> None:
    assert 0 < Settings.from_env({}).secret_cache_seconds <= 60


def test_a_longer_secret_cache_is_refused() -> None:
    with pytest.raises(SettingsError, match="SECRET_CACHE_SECONDS"):
        Settings.from_env({"SECRET_CACHE_SECONDS": "300"})


def test_a_shorter_secret_cache_is_allowed() -> None:
    assert Settings.from_env({"SECRET_CACHE_SECONDS": "5"}).secret_cache_seconds == 5


def test_settings_are_converted_and_checked() -> None:
    settings = Settings.from_env(
        {"BACKFILL_DAYS": "30", "HTTP_TIMEOUT_SECONDS": "2.5", "ALLOW_PRIVATE_PROVIDER_URLS": "true", "TEAMS_TABLE": ""}
    )
    assert (settings.backfill_days, settings.http_timeout_seconds) == (30, 2.5)
    assert settings.allow_private_provider_urls is True
    assert settings.teams_table == "agiletrack-local-TeamsTable"
    for bad in (
        {"BACKFILL_DAYS": "0"},
        {"BACKFILL_DAYS": "many"},
        {"HTTP_TIMEOUT_SECONDS": "0"},
        {"VALIDATION_DEADLINE_SECONDS": "26"},
        {"ALLOW_PRIVATE_PROVIDER_URLS": "maybe"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
