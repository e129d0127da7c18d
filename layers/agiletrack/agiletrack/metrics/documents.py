"""The answer of ``GET /integrations/{id}/metrics`` as a model, for the OpenAPI document: one model per provider,
told apart by ``type``.

Each provider declares the models of its ``metrics`` and ``series`` objects (``ProviderSpec.metrics_model`` and
``series_model``, imported here, in the API function only); this module wraps them in the envelope every answer
shares. The answer itself is built by the provider's calculator; a test validates real answers against these
models, so the document cannot drift from what is served.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from agiletrack.adapters.providers.registry import specs
from agiletrack.metrics.shape import Strict
from agiletrack.models.base import Root
from agiletrack.models.common import UtcDatetime


class WindowBounds(Strict):
    since: UtcDatetime = Field(description="Start of the window (inclusive)")
    until: UtcDatetime = Field(description="End of the window (exclusive)")


class MetricsDocumentOf(Strict):
    """What every provider's answer has; each narrows ``type``, ``metrics`` and ``series``."""

    integration_id: str
    type: str
    window: WindowBounds
    generated_at: UtcDatetime
    metrics: Any
    series: Any = None


def _load(reference: str) -> type[BaseModel]:
    module, _, name = reference.partition(":")
    model = getattr(import_module(module), name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{reference} is not a pydantic model")
    return model


def _document_model(kind: str, metrics_ref: str, series_ref: str | None) -> type[MetricsDocumentOf]:
    metrics_model = _load(metrics_ref)
    fields: dict[str, Any] = {
        "type": (Literal[kind], Field(description="The integration type")),
        "metrics": (metrics_model, Field(description="The metrics of ../shared/METRICS.md for this type")),
    }
    if series_ref is not None:
        fields["series"] = (
            _load(series_ref),
            Field(description="Weekly series for charts, each summing to the total it splits (always served)"),
        )
    return create_model(
        metrics_model.__name__.removesuffix("Metrics") + "MetricsDocument",
        __base__=MetricsDocumentOf,
        **fields,
    )


DOCUMENT_MODELS: dict[str, type[MetricsDocumentOf]] = {
    spec.name: _document_model(spec.name, spec.metrics_model, spec.series_model)
    for spec in specs()
    if spec.metrics_model is not None
}

if TYPE_CHECKING:
    AnyMetricsDocument = MetricsDocumentOf
elif len(DOCUMENT_MODELS) > 1:
    AnyMetricsDocument = Annotated[Union[tuple(DOCUMENT_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
else:
    AnyMetricsDocument = next(iter(DOCUMENT_MODELS.values()))


class MetricsDocument(Root[AnyMetricsDocument]):
    """The metrics answer of one integration, its shape chosen by ``type``."""
