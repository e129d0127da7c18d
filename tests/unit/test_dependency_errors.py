"""Which AWS failures are answered 503 ``dependency_unavailable`` (an outage to wait out) and which stay a 500 (a
defect of ours): ``adapters/aws/faults.is_transient`` and the HTTP mapping built on it."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from agiletrack.adapters.aws.faults import is_transient
from agiletrack.http.errors import from_dependency_error


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def wrapped_by_powertools(cause: Exception) -> Exception:
    """As Powertools parameters raise it: ``GetParameterError(str(exc))`` inside the ``except`` of the cause."""
    try:
        raise cause
    except Exception as exc:
        try:
            raise GetParameterError(str(exc))  # Powertools chains implicitly, as here
        except GetParameterError as wrapped:
            return wrapped
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException", 400),
        client_error("ThrottlingException", 400),
        client_error("InternalServerError", 500),
        client_error("SomethingNew", 503),
        EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"),
    ],
)
def test_throttles_5xx_and_network_failures_are_503_with_retry_after(error: Exception) -> None:
    assert is_transient(error)
    assert is_transient(wrapped_by_powertools(error))
    response = from_dependency_error(error)
    assert response is not None and response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert json.loads(str(response.body))["error"]["code"] == "dependency_unavailable"


@pytest.mark.parametrize(
    "error",
    [
        client_error("AccessDeniedException", 400),
        client_error("ValidationException", 400),
        client_error("ResourceNotFoundException", 400),
        wrapped_by_powertools(client_error("ResourceNotFoundException", 400)),
        RuntimeError("a bug"),
        ValueError("a bug"),
    ],
)
def test_refusals_and_bugs_are_not_an_outage(error: Exception) -> None:
    assert not is_transient(error)
    assert from_dependency_error(error) is None
