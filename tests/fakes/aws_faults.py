"""AWS faults for tests: moto answers an error instead of doing the call, on the real boto3 clients the code uses.

moto answers every boto3 request from one ``before-send`` handler (``BotocoreStubber``) that it puts in botocore's
built-in handlers, so every client has it whenever it was created (the code's cached clients, Powertools'
idempotency and parameters clients). ``AwsFaults.install`` wraps that handler: a call that matches an armed
``Fault`` gets the error AWS would send (the status and body of the service's protocol, so botocore parses it into
the ``ClientError`` of that code) or a connection error, and every other call goes to moto as usual.

This sits under botocore's retry handler, so retries are part of what is tested: each attempt is one call here.
The clients are in adaptive mode with ``max_attempts`` 5 (``adapters/aws/clients.py``), which botocore reads as 5
retries after the first try: 5 consecutive failures of a call are absorbed by botocore, a 6th reaches the code.
The waits botocore takes between attempts are recorded in ``retry_sleeps`` and skipped (they are random, up to
20 s), and so is the adaptive rate limiter's wait for a token after a throttling answer.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError

CONNECTION_ERROR = "EndpointConnectionError"
"""Not an AWS answer: the request never got one (botocore raises ``EndpointConnectionError``, and retries it)."""
BOTOCORE_ATTEMPTS = 6
"""The first attempt and the 5 retries of the code's clients (botocore's ``retries.max_attempts`` counts retries, not
the first try): a fault must fail this many attempts in a row to reach the code."""

_STATUS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
    "InternalServiceError": 500,
    "InternalFailure": 500,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
}
_JSON_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#", "secrets-manager": ""}


class _Raw(BytesIO):
    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def error_response(service: str, code: str, url: str) -> AWSResponse:
    """What ``service`` answers for error ``code``, in its protocol (JSON for DynamoDB, SQS and Secrets Manager;
    S3's REST XML)."""
    status = _STATUS.get(code, 500)
    message = f"injected {code}"
    headers = {"x-amzn-RequestId": "fault-injected"}
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers["Content-Type"] = "application/xml"
    else:
        body = json.dumps({"__type": _JSON_PREFIX.get(service, "") + code, "message": message}).encode()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        if service == "sqs":  # SQS speaks JSON but names its errors as its query protocol did
            headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
    return AWSResponse(url, status, headers, _Raw(body))  # type: ignore[arg-type]


@dataclass
class Fault:
    """Calls of ``service`` (botocore's service id: ``dynamodb``, ``sqs``, ``s3``, ``secrets-manager``) to one of
    ``operations`` (all when empty) for which ``when`` holds: the first ``skip`` go through, the next ``times``
    (every one when None) fail with ``error``."""

    service: str
    operations: frozenset[str]
    error: str
    times: int | None
    skip: int = 0
    when: Callable[[AWSPreparedRequest], bool] | None = None
    matched: int = 0
    injected: int = 0

    def applies(self, service: str, operation: str, request: AWSPreparedRequest) -> bool:
        if service != self.service or (self.operations and operation not in self.operations):
            return False
        return self.when is None or self.when(request)

    def take(self) -> bool:
        """Counts a matching call; True when this one fails."""
        self.matched += 1
        if self.matched <= self.skip:
            return False
        if self.times is not None and self.injected >= self.times:
            return False
        self.injected += 1
        return True


@dataclass
class AwsFaults:
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Every attempt seen, by (service, operation), retries included."""
    retry_sleeps: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        service: str,
        *operations: str,
        error: str = "InternalServerError",
        times: int | None = 1,
        skip: int = 0,
        when: Callable[[AWSPreparedRequest], bool] | None = None,
    ) -> Fault:
        fault = Fault(service, frozenset(operations), error, times, skip, when)
        with self._lock:
            self.faults.append(fault)
        return fault

    @contextmanager
    def outage(self, service: str, *operations: str, error: str = "ServiceUnavailable") -> Iterator[Fault]:
        """Every matching call fails while the block runs."""
        fault = self.fail(service, *operations, error=error, times=None)
        try:
            yield fault
        finally:
            self.clear(fault)

    def clear(self, fault: Fault | None = None) -> None:
        with self._lock:
            self.faults = [] if fault is None else [f for f in self.faults if f is not fault]

    def answer(self, event_name: str, request: AWSPreparedRequest) -> AWSResponse | None:
        """The injected answer of one attempt, or None to let moto answer it."""
        _, service, operation = [*event_name.split("."), "", ""][:3]
        with self._lock:
            self.calls[(service, operation)] += 1
            fault = next((f for f in self.faults if f.applies(service, operation, request) and f.take()), None)
        if fault is None:
            return None
        if fault.error == CONNECTION_ERROR:
            raise EndpointConnectionError(endpoint_url=request.url)
        return error_response(service, fault.error, request.url)

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> AwsFaults:
        from botocore import endpoint
        from botocore.retries import bucket
        from moto.core.botocore_stubber import BotocoreStubber

        faults = cls()
        moto_answer = BotocoreStubber.__call__

        def answer(stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kw: Any) -> Any:
            if stubber.enabled:
                injected = faults.answer(event_name, request)
                if injected is not None:
                    return injected
            return moto_answer(stubber, event_name, request, **kw)

        class _Time:
            """``botocore.endpoint``'s ``time``, with the retry wait recorded instead of slept."""

            def __getattr__(self, name: str) -> Any:
                import time

                return getattr(time, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                faults.retry_sleeps.append(seconds)

        def acquire(self: bucket.TokenBucket, amount: int = 1, block: bool = True) -> bool:
            """The adaptive limiter's token, taken at once (the rate it would pace us to is botocore's business)."""
            return True

        monkeypatch.setattr(BotocoreStubber, "__call__", answer)
        monkeypatch.setattr(endpoint, "time", _Time())
        monkeypatch.setattr(bucket.TokenBucket, "acquire", acquire)
        return faults


def table_is(name_part: str) -> Callable[[AWSPreparedRequest], bool]:
    """A ``when`` for DynamoDB calls that name a table containing ``name_part`` (TransactWriteItems included)."""

    def check(request: AWSPreparedRequest) -> bool:
        body = request.body
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        return name_part in text

    return check
