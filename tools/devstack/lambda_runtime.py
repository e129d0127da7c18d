"""An in-process Lambda runtime: one warm instance per function, invoked under a lock."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from devstack.template import DEFAULT_ACCOUNT_ID, DEFAULT_PREFIX, DEFAULT_REGION, FunctionSpec

log = logging.getLogger("devstack.lambda")

_IMPORT_LOCK = threading.Lock()


class LambdaContext:
    """What the Lambda runtime passes as ``context``; the remaining time counts down from the timeout."""

    def __init__(
        self,
        function_name: str = "test-function",
        memory_limit_in_mb: int = 128,
        timeout_seconds: float = 3,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
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


@dataclass
class InvokeResult:
    """The outcome of one invocation: a JSON payload, or ``error`` as Lambda reports a function error."""

    function: str
    request_id: str
    duration_ms: float
    payload: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Invoker(Protocol):
    """Anything that invokes a function by logical id (the runtime, or a fake in tests)."""

    def invoke(self, logical_id: str, event: Any) -> InvokeResult: ...


class _Instance:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.handler: Callable[[Any, Any], Any] | None = None


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """Import the function's module from its file as ``fn_<dir>`` and return its handler.

    The code directory is on ``sys.path`` while the module is imported (as in Lambda); modules it
    imports from that directory are renamed ``fn_<dir>.<name>`` so functions never share them.
    """
    path = spec.module_file
    if not path.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: handler module {path} does not exist")
    with _IMPORT_LOCK:
        module = sys.modules.get(spec.module_name)
        if module is None:
            module = _import_from(spec.code_dir, spec.module_name, path)
    handler = getattr(module, spec.handler_name, None)
    if not callable(handler):
        raise AttributeError(f"{spec.logical_id}: {path} has no callable {spec.handler_name!r}")
    return handler  # type: ignore[no-any-return]


def _import_from(code_dir: Path, module_name: str, path: Path) -> ModuleType:
    before = set(sys.modules)
    sys.path.insert(0, str(code_dir))
    try:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    finally:
        sys.path.remove(str(code_dir))
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None)
            if name != module_name and file and Path(file).resolve().is_relative_to(code_dir):
                sys.modules[f"{module_name}.{name}"] = sys.modules.pop(name)
    return module


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The body Lambda returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_exception(error)[1:],
    }


class LambdaRuntime:
    """Runs the template's functions in this process, one warm instance each."""

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        *,
        prefix: str = DEFAULT_PREFIX,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        self.prefix = prefix
        self.region = region
        self.account_id = account_id
        self._instances = {spec.logical_id: _Instance(spec) for spec in specs}

    @property
    def specs(self) -> dict[str, FunctionSpec]:
        return {name: instance.spec for name, instance in self._instances.items()}

    def function_name(self, logical_id: str) -> str:
        return f"{self.prefix}-{logical_id}"

    def invoke(self, logical_id: str, event: Any) -> InvokeResult:
        """Invoke synchronously. The event and result go through JSON, as they would in Lambda."""
        instance = self._instances[logical_id]
        spec = instance.spec
        request_id = str(uuid.uuid4())
        event_copy = json.loads(json.dumps(event))
        started = time.monotonic()
        with instance.lock:
            try:
                if instance.handler is None:
                    instance.handler = load_handler(spec)
                context = LambdaContext(
                    function_name=self.function_name(logical_id),
                    memory_limit_in_mb=spec.memory_size,
                    timeout_seconds=spec.timeout,
                    region=self.region,
                    account_id=self.account_id,
                    aws_request_id=request_id,
                )
                result = instance.handler(event_copy, context)
            except Exception as error:
                if str(error) == "Unauthorized":  # an authorizer's refusal, not a fault
                    log.info("%s raised %s: Unauthorized", logical_id, type(error).__name__)
                else:
                    log.exception("%s failed (request %s)", logical_id, request_id)
                elapsed = (time.monotonic() - started) * 1000
                return InvokeResult(logical_id, request_id, elapsed, error=error_payload(error, request_id))
        try:
            payload = json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            log.error("%s returned a result that is not JSON: %s", logical_id, error)
            body = {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError"}
            return InvokeResult(logical_id, request_id, (time.monotonic() - started) * 1000, error=body)
        elapsed = (time.monotonic() - started) * 1000
        if elapsed > spec.timeout * 1000:
            log.error("%s ran %.0f ms, over its %s s timeout", logical_id, elapsed, spec.timeout)
            return InvokeResult(
                logical_id,
                request_id,
                elapsed,
                error={
                    "errorMessage": f"Task timed out after {spec.timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                    "requestId": request_id,
                },
            )
        return InvokeResult(logical_id, request_id, elapsed, payload=payload)


def clear_agiletrack_caches() -> None:
    """Forget every ``functools.cache`` of the agiletrack package (settings, clients, stores, wiring).

    Only modules already imported can hold cached values, so nothing is imported here.
    """
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "agiletrack" or name.startswith("agiletrack.")):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()
