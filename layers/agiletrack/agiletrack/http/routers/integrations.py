"""The integrations config API: ``/integrations`` CRUD, webhook-secret rotation, status and manual sync.

Thin: each route takes the calling team from the authorizer's context, hands the validated request to
``IntegrationService`` and returns its view; errors are typed and mapped in ``agiletrack.http.errors``.
The service is wired per request from the cached adapter factories (cheap, and a test that switches its
AWS environment gets fresh adapters).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from agiletrack.adapters.providers.registry import PROVIDER_NAMES, spec_for
from agiletrack.domain.integrations import credential_problems
from agiletrack.domain.status import IntegrationStatusView
from agiletrack.http.context import team_id_from_event
from agiletrack.http.responses import BEARER, links, responses
from agiletrack.models.base import Model, Root
from agiletrack.models.integrations import (
    IntegrationList,
    IntegrationType,
    IntegrationView,
    SyncRunList,
    UpdateIntegration,
)
from agiletrack.wiring import integration_service

router = APIGatewayHttpRouter()

TAG = "integrations"
VALIDATION_TIMEOUT_SECONDS = 5.0
"""Per provider request while validating: three calls, one retry each, well inside API Gateway's 29 s."""
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


# ---------------------------------------------------------------- request and answer models
class NewIntegrationOf(Model):
    """What every provider's create body has; each provider's model narrows ``type`` and ``config``."""

    model_config = ConfigDict(extra="forbid")

    type: str
    name: str | None = Field(default=None, min_length=1, max_length=100, description="Defaults to the repo/project")
    config: BaseModel = Field(description="The config of the integration's type")


def _new_integration_model(kind: str) -> type[NewIntegrationOf]:
    """``POST /integrations`` for one provider: ``type`` is its name, ``config`` its config model."""
    config_model = spec_for(kind).config_model
    return create_model(
        "New" + config_model.__name__.removesuffix("Config") + "Integration",
        __base__=NewIntegrationOf,
        __doc__=f"Connect a {kind} integration.",
        type=(Literal[kind], Field(description="The provider")),
        config=(config_model, Field(description=f"The {kind} config, credentials included")),
    )


NEW_INTEGRATION_MODELS = {kind: _new_integration_model(kind) for kind in PROVIDER_NAMES}
if TYPE_CHECKING:
    AnyNewIntegration = NewIntegrationOf
else:
    AnyNewIntegration = Annotated[Union[tuple(NEW_INTEGRATION_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
    """One provider's create body, told apart by ``type`` (the OpenAPI document lists each)."""


class NewIntegration(Root[AnyNewIntegration]):
    """``POST /integrations``: a union discriminated by ``type``. It is checked in one pass that names every bad
    field by its path (``config.repository``), an unknown ``type`` once as ``type``, and a config of another
    provider's shape as bad fields of the config of ``type``."""

    @model_validator(mode="wrap")
    @classmethod
    def _config_of_type(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> NewIntegration:
        if isinstance(data, NewIntegration):
            return data
        if not isinstance(data, dict):
            return handler(data)  # type: ignore[no-any-return]
        kind = data.get("type")
        model = spec_for(kind).config_model if kind in PROVIDER_NAMES else None
        errors: list[InitErrorDetails] = []
        checked = dict(data)
        if "config" in data:
            # An unknown or missing type is reported once (as ``type``), not as a mismatch with every config model.
            checked["config"] = None
            if model is not None:
                try:
                    config = model.model_validate(data["config"])
                except ValidationError as exc:
                    errors.extend(_relocated(exc, ("config",)))
                else:
                    checked["config"] = config
                    errors.extend(
                        InitErrorDetails(
                            type=PydanticCustomError("credential", "{reason}", {"reason": reason}),
                            loc=("config", field),
                            input=None,
                        )
                        for field, reason in credential_problems(str(kind), config)
                    )
        try:
            envelope = _Envelope.model_validate(checked)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(cls.__name__, [*_relocated(exc, ()), *errors]) from None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        variant = NEW_INTEGRATION_MODELS[str(kind)].model_construct(
            type=str(kind), name=envelope.name, config=checked["config"]
        )
        return cls.model_construct(root=variant)


class _Envelope(Model):
    """The fields around the config, checked once whatever the type (the config is checked by its own model)."""

    model_config = ConfigDict(extra="forbid")

    type: IntegrationType
    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: Any = Field()


def _relocated(exc: ValidationError, prefix: tuple[str, ...]) -> list[InitErrorDetails]:
    """The errors of ``exc`` under ``prefix``, messages kept as they are and inputs left out (they may be
    credentials)."""
    return [
        InitErrorDetails(
            type=PydanticCustomError(error["type"], "{reason}", {"reason": error["msg"]}),
            loc=(*prefix, *error["loc"]),
            input=None,
        )
        for error in exc.errors(include_url=False, include_input=False)
    ]


class WebhookSecret(Model):
    secret: str = Field(description="The new webhook secret: set it on the provider's webhook now; shown only once")


class SyncQueued(Model):
    queued: bool = True
    coalesced: bool = Field(description="True when a sync was already queued or running: this trigger joins it")


def _team() -> str:
    return team_id_from_event(router.current_event.raw_event)


def _base_url() -> str:
    """``{proto}://{domain}`` of this API as the caller reached it (webhook URLs are built on it)."""
    event = router.current_event.raw_event
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    proto = headers.get("x-forwarded-proto", "https").split(",")[0].strip().lower()
    if proto not in ("http", "https"):
        proto = "https"
    domain = str((event.get("requestContext") or {}).get("domainName") or headers.get("host") or "")
    if not _HOST.match(domain):
        domain = "localhost"
    return f"{proto}://{domain}"


IntegrationId = Annotated[str, Path(description="The integration id (int_...)")]
ONE_INTEGRATION = (
    "get_integration",
    "update_integration",
    "trigger_sync",
    "integration_status",
    "list_syncs",
    "get_metrics",
    "rotate_webhook_secret",
    "delete_integration",
)
"""The operations on one integration, linked from the answer that creates it."""


# ---------------------------------------------------------------- routes
@router.post(
    "/integrations",
    operation_id="create_integration",
    status_code=201,
    summary="Connect a tool",
    description="Checks the config, tries the credentials against the provider, keeps them in Secrets Manager and "
    "queues the first sync. The answer is the only one that shows the webhook secret (GitHub, Jira).",
    tags=[TAG],
    security=BEARER,
    responses=responses(
        201,
        "The integration, with its webhook URL and secret",
        400,
        413,
        415,
        429,
        502,
        linked=links("$response.body#/id", *ONE_INTEGRATION),
    ),
)
def create_integration(
    body: Annotated[NewIntegration, Body(description="type, optional name, config")],
) -> IntegrationView:
    new = body.root
    return integration_service().create(_team(), new.type, new.config, name=new.name, base_url=_base_url())


@router.get(
    "/integrations",
    operation_id="list_integrations",
    summary="The team's integrations",
    tags=[TAG],
    security=BEARER,
    responses=responses(200, "One page of integrations, oldest first"),
)
def list_integrations(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 50,
    next_token: Annotated[str | None, Query(max_length=2048, description="From the previous page")] = None,
) -> IntegrationList:
    return integration_service().list(_team(), limit=limit, next_token=next_token, base_url=_base_url())


@router.get(
    "/integrations/<integration_id>",
    operation_id="get_integration",
    summary="One integration",
    tags=[TAG],
    security=BEARER,
    responses=responses(
        200,
        "The integration (credentials masked, no webhook secret)",
        404,
        linked=links("$response.body#/id", "update_integration", "trigger_sync", "delete_integration"),
    ),
)
def get_integration(integration_id: IntegrationId) -> IntegrationView:
    return integration_service().get(_team(), integration_id, base_url=_base_url())


@router.patch(
    "/integrations/<integration_id>",
    operation_id="update_integration",
    summary="Rename it or change its config",
    description="`config` is partial. New credentials are tried before they replace the old ones; a credential "
    "given as `********` keeps its value. Changing the repository, branch, API root, Jira site/project/board or "
    "Trello board drops the stored records, cached metrics and sync cursor and queues a full sync.",
    tags=[TAG],
    security=BEARER,
    responses=responses(
        200,
        "The updated integration",
        400,
        404,
        413,
        415,
        429,
        502,
        linked=links("$response.body#/id", "get_integration", "trigger_sync", "delete_integration"),
    ),
)
def update_integration(
    integration_id: IntegrationId,
    body: Annotated[UpdateIntegration, Body(description="name and/or a partial config")],
) -> IntegrationView:
    return integration_service().update(_team(), integration_id, body, base_url=_base_url())


@router.delete(
    "/integrations/<integration_id>",
    operation_id="delete_integration",
    summary="Disconnect it",
    description="Removes the integration, its secret, its records, cached metrics and sync state.",
    tags=[TAG],
    security=BEARER,
    responses=responses(204, "Deleted", 404, linked=links("$request.path.integration_id", "get_integration")),
)
def delete_integration(integration_id: IntegrationId) -> Response[None]:
    integration_service().delete(_team(), integration_id)
    return Response(status_code=204, body=None)


@router.post(
    "/integrations/<integration_id>/webhook-secret",
    operation_id="rotate_webhook_secret",
    summary="Rotate the webhook secret",
    description="GitHub and Jira only: Trello signs its webhooks with the application's api_secret (409).",
    tags=[TAG],
    security=BEARER,
    responses=responses(200, "The new secret, shown only in this answer", 404, 409),
)
def rotate_webhook_secret(integration_id: IntegrationId) -> WebhookSecret:
    return WebhookSecret(secret=integration_service().rotate_webhook_secret(_team(), integration_id))


@router.get(
    "/integrations/<integration_id>/status",
    operation_id="integration_status",
    summary="Sync and webhook health",
    tags=[TAG],
    security=BEARER,
    responses=responses(200, "Last sync, errors, data freshness, quota and webhook counters", 404),
)
def integration_status(integration_id: IntegrationId) -> IntegrationStatusView:
    return integration_service().status(_team(), integration_id)


@router.post(
    "/integrations/<integration_id>/sync",
    operation_id="trigger_sync",
    status_code=202,
    summary="Sync now",
    description="Queues a sync. A trigger while one is queued or running is accepted and coalesced into it.",
    tags=[TAG],
    security=BEARER,
    responses=responses(
        202,
        "Queued",
        404,
        linked=links(
            "$request.path.integration_id", "integration_status", "list_syncs", "get_integration", "delete_integration"
        ),
    ),
)
def trigger_sync(integration_id: IntegrationId) -> SyncQueued:
    queued = integration_service().trigger_sync(_team(), integration_id)
    return SyncQueued(queued=True, coalesced=not queued)


@router.get(
    "/integrations/<integration_id>/syncs",
    operation_id="list_syncs",
    summary="Recent sync runs",
    description="One entry per sync worker invocation (a long first sync takes several: `partial`, then the "
    "continuation), newest first, kept for 14 days.",
    tags=[TAG],
    security=BEARER,
    responses=responses(200, "One page of runs, newest first", 404),
)
def list_syncs(
    integration_id: IntegrationId,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    next_token: Annotated[str | None, Query(max_length=2048, description="From the previous page")] = None,
) -> SyncRunList:
    return integration_service().syncs(_team(), integration_id, limit=limit, next_token=next_token)
