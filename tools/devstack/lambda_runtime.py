"""Lambda runtimes for the local stack.

``SandboxRuntime`` (the default): each function has a pool of sandboxes, processes that import its
handler once and are reused warm, one invocation at a time each, as many at once as the function's
concurrency. ``LambdaRuntime``: every function in this process, one warm instance each, under a lock
(for benchmarks that time code inside the handler, and tests that need no processes).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import select
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from devstack.sandbox import LambdaContext, error_payload
from devstack.template import DEFAULT_ACCOUNT_ID, DEFAULT_PREFIX, DEFAULT_REGION, FunctionSpec

__all__ = ["LambdaContext", "error_payload"]

log = logging.getLogger("devstack.lambda")

_IMPORT_LOCK = threading.Lock()


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


def concurrency_of(runtime: Invoker, logical_id: str) -> int:
    """How many invocations of the function the runtime runs at once (1 if it does not say)."""
    concurrency = getattr(runtime, "concurrency", None)
    return max(1, int(concurrency(logical_id))) if callable(concurrency) else 1


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

    def concurrency(self, logical_id: str) -> int:
        """One invocation of a function at a time: there is one instance of each."""
        del logical_id
        return 1

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


# ---------------------------------------------------------------- sandboxes in processes of their own

DEFAULT_CONCURRENCY = 4
"""Sandboxes per function at most when the template sets no concurrency (see ``SandboxRuntime``)."""
INIT_TIMEOUT_SECONDS = 10.0
"""Lambda's limit for a sandbox's init phase (importing the handler)."""
TOOLS_DIR = Path(__file__).resolve().parents[1]


class SandboxError(Exception):
    """The sandbox could not run the invocation: ``error`` is what Lambda would report."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage"))
        self.error = error


class Sandbox:
    """One process running one function's handler (``devstack.sandbox``), spoken to in JSON lines."""

    def __init__(
        self,
        spec: FunctionSpec,
        function_name: str,
        env: dict[str, str],
        region: str,
        account: str,
        output: int | None = None,
    ) -> None:
        import subprocess

        self.spec = spec
        child_read, self._to_child = os.pipe()
        self._from_child, child_write = os.pipe()
        command = [
            sys.executable,
            "-m",
            "devstack.sandbox",
            str(spec.code_dir),
            spec.handler,
            function_name,
            str(spec.memory_size),
            region,
            account,
        ]
        try:
            # A session of its own: Ctrl-C reaches the local stack, which stops its sandboxes.
            self.process = subprocess.Popen(
                command,
                env={**env, "DEVSTACK_SANDBOX_FDS": f"{child_read},{child_write}"},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                pass_fds=(child_read, child_write),
                start_new_session=True,
            )
        except BaseException:
            for fd in (self._to_child, self._from_child):
                os.close(fd)
            raise
        finally:
            os.close(child_read)
            os.close(child_write)
        self._buffer = bytearray()
        self.invocations = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float) -> None:
        """Wait for the handler's import; a failed or overlong init is a ``SandboxError``."""
        message = self._read(time.monotonic() + timeout)
        if message is None:
            raise SandboxError(
                {"errorMessage": f"Init timed out after {timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            )
        if "init_error" in message:
            raise SandboxError(message["init_error"])

    def invoke(self, event: Any, request_id: str, timeout: float) -> dict[str, Any] | None:
        """Send one event; the answer (``payload`` or ``error``), or None when the timeout passed first."""
        deadline = time.monotonic() + timeout
        line = json.dumps({"event": event, "request_id": request_id, "timeout_ms": int(timeout * 1000)})
        try:
            _write_all(self._to_child, line.encode() + b"\n")
        except OSError as error:
            raise self._exited() from error
        self.invocations += 1
        return self._read(deadline)

    def _read(self, deadline: float) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise self._exited()
            self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return json.loads(line)  # type: ignore[no-any-return]

    def _exited(self) -> SandboxError:
        try:
            code = self.process.wait(2)
        except Exception:
            code = None
        return SandboxError(
            {
                "errorMessage": f"RequestId: sandbox exited with status {code}",
                "errorType": "Runtime.ExitError",
            }
        )

    def kill(self) -> None:
        """End the process now (a timeout, a crash, or the stack stopping) and close the pipes."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except Exception:
            log.warning("sandbox %d of %s did not exit", self.pid, self.spec.logical_id)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass
class PoolStats:
    """What a function's pool did: sandboxes started (cold starts), invocations, timeouts, crashes, peak."""

    cold_starts: int = 0
    invocations: int = 0
    timeouts: int = 0
    crashes: int = 0
    peak: int = 0


class _Pool:
    def __init__(self, spec: FunctionSpec, concurrency: int) -> None:
        self.spec = spec
        self.concurrency = concurrency
        self.slots = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.idle: list[Sandbox] = []
        self.live: set[Sandbox] = set()
        self.busy = 0
        self.stats = PoolStats()


class SandboxRuntime:
    """Runs each function in sandboxes, processes of its own, as Lambda does.

    A function's pool starts a sandbox when an invocation finds none idle (a cold start: the process
    imports the handler once, then stays warm), runs one invocation at a time in each, and has at most
    ``concurrency`` sandboxes: an invocation beyond that waits for one to be free (where Lambda would
    throttle). The concurrency is the template's ``ReservedConcurrentExecutions``, or the smallest
    ``ScalingConfig.MaximumConcurrency`` of its SQS sources, at most ``max_concurrency`` (or
    ``concurrency`` for every function, given). A sandbox over its function's timeout is killed and the
    invocation reports ``Sandbox.Timedout``; one that exits reports ``Runtime.ExitError``; the next
    invocation starts a new sandbox in their place. Each sandbox has its own function's environment
    (``environments``) over ``base_environment`` (default: this process's), and ``python_path`` (the layers)
    on its path; it writes to this process's stdout and stderr, or to the descriptor ``output``.
    """

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        *,
        prefix: str = DEFAULT_PREFIX,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        environments: dict[str, dict[str, str]] | None = None,
        base_environment: dict[str, str] | None = None,
        python_path: Iterable[str] = (),
        concurrency: int | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        output: int | None = None,
    ) -> None:
        self.prefix = prefix
        self.output = output
        self.region = region
        self.account_id = account_id
        self.environments = dict(environments or {})
        self.base_environment = base_environment
        self.python_path = [*python_path, str(TOOLS_DIR)]
        self._pools = {
            spec.logical_id: _Pool(spec, concurrency or configured_concurrency(spec, max_concurrency)) for spec in specs
        }
        self._closed = False

    @property
    def specs(self) -> dict[str, FunctionSpec]:
        return {name: pool.spec for name, pool in self._pools.items()}

    def function_name(self, logical_id: str) -> str:
        return f"{self.prefix}-{logical_id}"

    def concurrency(self, logical_id: str) -> int:
        return self._pools[logical_id].concurrency

    def stats(self, logical_id: str) -> PoolStats:
        return self._pools[logical_id].stats

    def sandbox_pids(self, logical_id: str) -> list[int]:
        with self._pools[logical_id].lock:
            return sorted(s.pid for s in self._pools[logical_id].live)

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        base = os.environ if self.base_environment is None else self.base_environment
        env = {**base, **self.environments.get(spec.logical_id, {})}
        inherited = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([*self.python_path, *inherited])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _take(self, pool: _Pool) -> Sandbox:
        with pool.lock:
            if self._closed:
                raise SandboxError({"errorMessage": "the runtime is stopped", "errorType": "Runtime.Stopped"})
            if pool.idle:
                return pool.idle.pop()
        return self._start(pool)

    def _start(self, pool: _Pool) -> Sandbox:
        """A new sandbox of the pool's function, counted live and as a cold start, its handler imported."""
        spec = pool.spec
        sandbox = Sandbox(
            spec,
            self.function_name(spec.logical_id),
            self._environment(spec),
            self.region,
            self.account_id,
            self.output,
        )
        with pool.lock:
            pool.live.add(sandbox)
            pool.stats.cold_starts += 1
        try:
            sandbox.wait_ready(INIT_TIMEOUT_SECONDS)
        except BaseException:
            self._discard(pool, sandbox)
            raise
        log.info("%s: sandbox %d started", spec.logical_id, sandbox.pid)
        return sandbox

    def provision(self, logical_id: str, count: int | None = None) -> int:
        """Start sandboxes of the function until ``count`` (its concurrency by default) are idle and warm,
        as provisioned concurrency keeps them; the number started."""
        pool = self._pools[logical_id]
        wanted = min(pool.concurrency, count or pool.concurrency)
        started = 0
        while True:
            with pool.lock:
                if len(pool.live) >= wanted or self._closed:
                    return started
            sandbox = self._start(pool)
            with pool.lock:
                pool.idle.append(sandbox)
            started += 1

    def _discard(self, pool: _Pool, sandbox: Sandbox) -> None:
        sandbox.kill()
        with pool.lock:
            pool.live.discard(sandbox)

    def invoke(self, logical_id: str, event: Any) -> InvokeResult:
        """Invoke synchronously in a free sandbox (waiting for one if all are busy); JSON in and out."""
        pool = self._pools[logical_id]
        request_id = str(uuid.uuid4())
        with pool.slots:
            with pool.lock:
                pool.busy += 1
                pool.stats.peak = max(pool.stats.peak, pool.busy)
                pool.stats.invocations += 1
            started = time.monotonic()
            try:
                return self._invoke(pool, event, request_id, started)
            finally:
                with pool.lock:
                    pool.busy -= 1

    def _invoke(self, pool: _Pool, event: Any, request_id: str, started: float) -> InvokeResult:
        spec = pool.spec
        logical_id = spec.logical_id

        def failed(error: dict[str, Any]) -> InvokeResult:
            error.setdefault("requestId", request_id)
            return InvokeResult(logical_id, request_id, (time.monotonic() - started) * 1000, error=error)

        try:
            sandbox = self._take(pool)
        except SandboxError as error:
            (log.info if self._closed else log.error)("%s could not start a sandbox: %s", logical_id, error)
            return failed(error.error)
        started = time.monotonic()  # the init phase is not part of the invocation's timeout
        try:
            answer = sandbox.invoke(event, request_id, spec.timeout)
        except SandboxError as error:
            self._discard(pool, sandbox)
            with pool.lock:
                pool.stats.crashes += 1
            (log.info if self._closed else log.error)(
                "%s: sandbox %d exited during request %s", logical_id, sandbox.pid, request_id
            )
            return failed(error.error)
        if answer is None:
            self._discard(pool, sandbox)
            with pool.lock:
                pool.stats.timeouts += 1
            log.error(
                "%s timed out after %s s (request %s); sandbox %d killed",
                logical_id,
                spec.timeout,
                request_id,
                sandbox.pid,
            )
            return failed(
                {"errorMessage": f"Task timed out after {spec.timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            )
        with pool.lock:
            if self._closed:
                sandbox.kill()
                pool.live.discard(sandbox)
            else:
                pool.idle.append(sandbox)
        elapsed = (time.monotonic() - started) * 1000
        if "error" in answer:
            failure: dict[str, Any] = answer["error"]
            if failure.get("errorMessage") == "Unauthorized":  # an authorizer's refusal, not a fault
                log.info("%s raised %s: Unauthorized", logical_id, failure.get("errorType"))
            else:
                log.error(
                    "%s failed (request %s): %s\n%s",
                    logical_id,
                    request_id,
                    failure.get("errorMessage"),
                    "".join(failure.get("stackTrace") or ()),
                )
            return InvokeResult(logical_id, request_id, elapsed, error=failure)
        return InvokeResult(logical_id, request_id, elapsed, payload=answer.get("payload"))

    def close(self) -> None:
        """Kill every sandbox (idle or busy); invocations after this fail with ``Runtime.Stopped``."""
        with_lock: list[Sandbox] = []
        for pool in self._pools.values():
            with pool.lock:
                self._closed = True
                with_lock.extend(pool.live)
                pool.live.clear()
                pool.idle.clear()
        for sandbox in with_lock:
            sandbox.kill()


def configured_concurrency(spec: FunctionSpec, limit: int = DEFAULT_CONCURRENCY) -> int:
    """The function's reserved concurrency, or its SQS sources' smallest maximum concurrency, capped at
    ``limit``; ``limit`` when the template sets neither."""
    declared = [c for c in (spec.reserved_concurrency, *(s.maximum_concurrency for s in spec.sqs_sources)) if c]
    return max(1, min([limit, *declared]))


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
