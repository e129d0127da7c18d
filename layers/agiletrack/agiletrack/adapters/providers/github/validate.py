"""GitHub's credential check before an integration is stored: the adapter's own ``validate``."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from agiletrack.adapters.providers.base import ValidationInfo
from agiletrack.adapters.providers.registry import adapter_for
from agiletrack.adapters.providers.spec import Validator


def make_validator(timeout: float) -> Validator:
    """Validates through the cached GitHub adapter (it keeps its own request timeout), imported on first use."""
    del timeout

    def validate(config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        return adapter_for("github").validate(config, credentials)

    return validate
