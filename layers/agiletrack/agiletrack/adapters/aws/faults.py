"""Which AWS failures are an outage to wait out, as opposed to a defect: the one classification the HTTP layer
uses to answer 503 ``dependency_unavailable`` (so a provider redelivers, a client retries) instead of 500."""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "TransactionInProgressException",
        "LimitExceededException",
        "InternalServerError",
        "InternalServiceError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def is_transient(exc: BaseException) -> bool:
    """True for an AWS call that failed after botocore's retries by throttling, a 5xx or the network; also
    when such an error is the cause of ``exc`` (Powertools parameters wrap it in ``GetParameterError``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (HTTPClientError, AwsConnectionError)):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = int(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return status >= 500 or error.get("Code", "") in TRANSIENT_CODES
        current = current.__cause__ or current.__context__
    return False
