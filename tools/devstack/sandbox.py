"""One Lambda sandbox: a process that imports one function's handler once and runs its invocations, one
at a time, for as long as it lives (``python -m devstack.sandbox``; started by ``devstack.lambda_runtime``).

The protocol is JSON lines over two pipes whose descriptors arrive in ``DEVSTACK_SANDBOX_FDS``
(``"<read>,<write>"``): the sandbox answers ``{"ready": true}`` or ``{"init_error": {...}}`` once its
handler is imported, then for each ``{"event": ..., "request_id": ..., "deadline_ms": ...}`` line it reads,
one ``{"payload": ...}`` or ``{"error": {...}}`` line. The function's own output (Powertools logs, EMF
metrics) goes to the inherited stdout and stderr, as a Lambda function's goes to its log stream.

Only the standard library is imported here, so a sandbox's cold start is its function's own imports.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any

FDS_VARIABLE = "DEVSTACK_SANDBOX_FDS"


class LambdaContext:
    """What the Lambda runtime passes as ``context``; the remaining time counts down from the timeout."""

    def __init__(
        self,
        function_name: str = "test-function",
        memory_limit_in_mb: int = 128,
        timeout_seconds: float = 3,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The body Lambda returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_exception(error)[1:],
    }


def _write(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    out.flush()


def serve(code_dir: str, handler: str, function_name: str, memory: int, region: str, account: str) -> int:
    read_fd, write_fd = (int(fd) for fd in os.environ.pop(FDS_VARIABLE).split(","))
    inbox, out = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    module_name, _, attribute = handler.rpartition(".")
    sys.path.insert(0, code_dir)  # as /var/task is on a Lambda function's path
    try:
        function = getattr(importlib.import_module(module_name), attribute)
        if not callable(function):
            raise AttributeError(f"{module_name}.{attribute} is not callable")
    except Exception as error:
        _write(out, {"init_error": {**error_payload(error, ""), "errorType": "Runtime.ImportModuleError"}})
        return 1
    _write(out, {"ready": True})
    for line in inbox:
        request = json.loads(line)
        request_id = request["request_id"]
        context = LambdaContext(
            function_name=function_name,
            memory_limit_in_mb=memory,
            timeout_seconds=request["timeout_ms"] / 1000,
            region=region,
            account_id=account,
            aws_request_id=request_id,
        )
        try:
            result = function(request["event"], context)
        except Exception as error:
            _write(out, {"error": error_payload(error, request_id)})
            continue
        try:
            _write(out, {"payload": result})
        except (TypeError, ValueError) as error:
            body = {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError"}
            _write(out, {"error": {**body, "requestId": request_id}})
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]))
