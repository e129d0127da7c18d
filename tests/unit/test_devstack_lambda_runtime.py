"""devstack.lambda_runtime: loading handlers from files, the context, errors, one warm instance; sandboxes."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from devstack.lambda_runtime import (
    DEFAULT_CONCURRENCY,
    LambdaContext,
    LambdaRuntime,
    SandboxRuntime,
    configured_concurrency,
    load_handler,
)
from devstack.template import FunctionSpec, SqsEventSource


def _function(tmp_path: Path, directory: str, app: str, timeout: int = 3, **modules: str) -> FunctionSpec:
    code_dir = tmp_path / directory
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(app), encoding="utf-8")
    for name, text in modules.items():
        (code_dir / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return FunctionSpec(
        logical_id=f"{directory.title()}Function",
        code_dir=code_dir,
        handler="app.handler",
        timeout=timeout,
        memory_size=256,
    )


@pytest.fixture(autouse=True)
def _forget_modules():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("fn_"):
            del sys.modules[name]


def test_context_counts_down() -> None:
    context = LambdaContext(function_name="f", memory_limit_in_mb=256, timeout_seconds=2)
    first = context.get_remaining_time_in_millis()
    assert 1900 < first <= 2000
    time.sleep(0.05)
    assert context.get_remaining_time_in_millis() < first
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert context.aws_request_id
    assert LambdaContext(timeout_seconds=0).get_remaining_time_in_millis() == 0


def test_functions_are_separate_modules_with_their_own_helpers(tmp_path: Path) -> None:
    helper_a = "NAME = 'a'\n"
    helper_b = "NAME = 'b'\n"
    app = """
        import helper

        def handler(event, context):
            return {"helper": helper.NAME, "module": __name__, "fn": context.function_name,
                    "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis()}
    """
    a = _function(tmp_path, "alpha", app, helper=helper_a)
    b = _function(tmp_path, "beta", app, helper=helper_b)
    runtime = LambdaRuntime([a, b], prefix="px")
    result_a = runtime.invoke("AlphaFunction", {})
    result_b = runtime.invoke("BetaFunction", {})
    assert result_a.ok and result_b.ok
    assert result_a.payload["helper"] == "a"
    assert result_b.payload["helper"] == "b"
    assert result_a.payload["module"] == "fn_alpha"
    assert result_a.payload["fn"] == "px-AlphaFunction"
    assert result_a.payload["memory"] == 256
    assert 0 < result_a.payload["left"] <= 3000
    assert "helper" not in sys.modules
    assert str(a.code_dir) not in sys.path


def test_the_instance_stays_warm(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "warm",
        """
        CALLS = []

        def handler(event, context):
            CALLS.append(event["n"])
            return len(CALLS)
        """,
    )
    runtime = LambdaRuntime([spec])
    assert [runtime.invoke("WarmFunction", {"n": n}).payload for n in range(3)] == [1, 2, 3]
    assert load_handler(spec).__module__ == "fn_warm"


def test_exceptions_become_lambda_errors(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "broken",
        """
        class UnauthorizedError(Exception):
            pass

        def handler(event, context):
            raise UnauthorizedError("Unauthorized")
        """,
    )
    result = LambdaRuntime([spec]).invoke("BrokenFunction", {})
    assert not result.ok
    assert result.error is not None
    assert result.error["errorMessage"] == "Unauthorized"
    assert result.error["errorType"] == "UnauthorizedError"
    assert result.error["requestId"] == result.request_id
    assert result.error["stackTrace"]


def test_missing_module_and_unserializable_result(tmp_path: Path) -> None:
    missing = FunctionSpec("GoneFunction", tmp_path / "gone", "app.handler", 3, 128)
    unserializable = _function(tmp_path, "odd", "def handler(event, context):\n    return object()\n")
    runtime = LambdaRuntime([missing, unserializable])
    gone = runtime.invoke("GoneFunction", {})
    assert gone.error is not None and gone.error["errorType"] == "FileNotFoundError"
    odd = runtime.invoke("OddFunction", {})
    assert odd.error is not None and odd.error["errorType"] == "Runtime.MarshalError"


def test_events_are_copies(tmp_path: Path) -> None:
    spec = _function(tmp_path, "mutate", "def handler(event, context):\n    event['x'] = 2\n    return event\n")
    event = {"x": 1}
    assert LambdaRuntime([spec]).invoke("MutateFunction", event).payload == {"x": 2}
    assert event == {"x": 1}


def test_overrunning_the_timeout_is_an_error(tmp_path: Path) -> None:
    spec = _function(tmp_path, "slow", "import time\ndef handler(event, context):\n    time.sleep(1.1)\n", timeout=1)
    result = LambdaRuntime([spec]).invoke("SlowFunction", {})
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"


def test_one_invocation_at_a_time_per_function(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "serial",
        """
        import threading, time
        ACTIVE = []
        PEAK = [0]

        def handler(event, context):
            ACTIVE.append(1)
            PEAK[0] = max(PEAK[0], len(ACTIVE))
            time.sleep(0.05)
            ACTIVE.pop()
            return PEAK[0]
        """,
    )
    runtime = LambdaRuntime([spec])
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke("SerialFunction", {}).payload)) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(results) == 1


# ---------------------------------------------------------------- sandboxes (processes of their own)


@pytest.fixture
def sandboxes() -> Iterator[list[SandboxRuntime]]:
    """Runtimes made in a test; every sandbox they started is killed after it."""
    made: list[SandboxRuntime] = []
    yield made
    for runtime in made:
        runtime.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is dead, only not reaped
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_sandbox_is_a_process_of_its_own_kept_warm(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    spec = _function(
        tmp_path,
        "warm",
        """
        import os
        CALLS = []

        def handler(event, context):
            CALLS.append(event["n"])
            return {"pid": os.getpid(), "calls": len(CALLS), "event": event, "fn": context.function_name,
                    "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis()}
        """,
    )
    runtime = SandboxRuntime([spec], prefix="px")
    sandboxes.append(runtime)
    event = {"n": 1, "text": "é ✓", "nested": [1, 2.5, None, True, {"k": "v"}]}
    first = runtime.invoke("WarmFunction", event)
    second = runtime.invoke("WarmFunction", {**event, "n": 2})
    assert first.ok and second.ok, (first.error, second.error)
    assert first.payload["pid"] != os.getpid()
    assert first.payload["pid"] == second.payload["pid"]
    assert [first.payload["calls"], second.payload["calls"]] == [1, 2]
    assert first.payload["event"] == event
    assert first.payload["fn"] == "px-WarmFunction"
    assert first.payload["memory"] == 256
    assert 0 < first.payload["left"] <= 3000
    assert runtime.stats("WarmFunction").cold_starts == 1
    assert "fn_warm" not in sys.modules and "app" not in sys.modules


def test_sandbox_errors_and_results_that_are_not_json(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    broken = _function(tmp_path, "broken", "def handler(event, context):\n    raise ValueError('no such thing')\n")
    odd = _function(tmp_path, "odd", "def handler(event, context):\n    return object()\n")
    unimportable = _function(tmp_path, "bad", "import does_not_exist\n")
    runtime = SandboxRuntime([broken, odd, unimportable])
    sandboxes.append(runtime)
    failed = runtime.invoke("BrokenFunction", {})
    assert failed.error is not None
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "no such thing"
    assert failed.error["requestId"] == failed.request_id
    assert any("no such thing" in line for line in failed.error["stackTrace"])
    marshal = runtime.invoke("OddFunction", {})
    assert marshal.error is not None and marshal.error["errorType"] == "Runtime.MarshalError"
    assert runtime.invoke("OddFunction", {}).error is not None  # the sandbox survived its bad answer
    assert runtime.stats("OddFunction").cold_starts == 1
    init = runtime.invoke("BadFunction", {})
    assert init.error is not None and init.error["errorType"] == "Runtime.ImportModuleError"
    assert "does_not_exist" in init.error["errorMessage"]


def test_a_crashed_sandbox_is_replaced(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    spec = _function(
        tmp_path,
        "crash",
        """
        import os

        def handler(event, context):
            if event.get("exit"):
                os._exit(3)
            return os.getpid()
        """,
    )
    runtime = SandboxRuntime([spec])
    sandboxes.append(runtime)
    before = runtime.invoke("CrashFunction", {}).payload
    crashed = runtime.invoke("CrashFunction", {"exit": True})
    assert crashed.error is not None
    assert crashed.error["errorType"] == "Runtime.ExitError"
    assert "status 3" in crashed.error["errorMessage"]
    after = runtime.invoke("CrashFunction", {})
    assert after.ok and after.payload != before
    assert not _alive(before)
    assert runtime.stats("CrashFunction").crashes == 1
    assert runtime.stats("CrashFunction").cold_starts == 2
    assert runtime.sandbox_pids("CrashFunction") == [after.payload]


def test_a_sandbox_over_its_timeout_is_killed_and_replaced(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    spec = _function(
        tmp_path,
        "slow",
        """
        import os, time

        def handler(event, context):
            if event.get("hang"):
                while True:
                    time.sleep(1)
            return os.getpid()
        """,
        timeout=1,
    )
    runtime = SandboxRuntime([spec])
    sandboxes.append(runtime)
    first = runtime.invoke("SlowFunction", {}).payload
    result = runtime.invoke("SlowFunction", {"hang": True})
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert result.error["errorMessage"] == "Task timed out after 1.00 seconds"
    assert not _alive(first)
    replacement = runtime.invoke("SlowFunction", {})
    assert replacement.ok and replacement.payload != first
    assert runtime.stats("SlowFunction").timeouts == 1


def test_at_most_the_concurrency_runs_at_once(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    """Each invocation waits (5 s at most) until two are in flight, then says how many it saw."""
    spec = _function(
        tmp_path,
        "busy",
        f"""
        import os, time, uuid
        DIRECTORY = {str(tmp_path / "active")!r}

        def handler(event, context):
            mine = os.path.join(DIRECTORY, uuid.uuid4().hex)
            open(mine, "w").close()
            deadline = time.monotonic() + 5
            while len(os.listdir(DIRECTORY)) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen = len(os.listdir(DIRECTORY))
            time.sleep(0.1)
            os.remove(mine)
            return {{"seen": seen, "pid": os.getpid()}}
        """,
        timeout=10,
    )
    (tmp_path / "active").mkdir()
    runtime = SandboxRuntime([spec], concurrency=2)
    sandboxes.append(runtime)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke("BusyFunction", {}).payload)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(results)
    assert max(r["seen"] for r in results) == 2
    assert len({r["pid"] for r in results}) == 2
    assert runtime.stats("BusyFunction").peak == 2
    assert runtime.concurrency("BusyFunction") == 2


def test_each_function_has_its_own_environment(tmp_path: Path, sandboxes: list[SandboxRuntime]) -> None:
    app = "import os\ndef handler(event, context):\n    return {k: os.environ.get(k) for k in ('SHARED', 'OWN')}\n"
    alpha = _function(tmp_path, "alpha", app)
    beta = _function(tmp_path, "beta", app)
    environments = {"AlphaFunction": {"SHARED": "a", "OWN": "alpha"}, "BetaFunction": {"SHARED": "b"}}
    base = {**os.environ, "SHARED": "base"}
    runtime = SandboxRuntime([alpha, beta], environments=environments, base_environment=base)
    sandboxes.append(runtime)
    assert runtime.invoke("AlphaFunction", {}).payload == {"SHARED": "a", "OWN": "alpha"}
    assert runtime.invoke("BetaFunction", {}).payload == {"SHARED": "b", "OWN": None}
    os.environ["OWN"] = "this process only"  # not in the base environment: no sandbox sees it
    try:
        fresh = SandboxRuntime([beta], environments=environments, base_environment=base)
        sandboxes.append(fresh)
        assert fresh.invoke("BetaFunction", {}).payload == {"SHARED": "b", "OWN": None}
    finally:
        del os.environ["OWN"]


def test_concurrency_from_the_template(tmp_path: Path) -> None:
    plain = _function(tmp_path, "plain", "def handler(event, context):\n    return 1\n")
    assert configured_concurrency(plain) == DEFAULT_CONCURRENCY
    assert configured_concurrency(replace(plain, reserved_concurrency=2)) == 2
    assert configured_concurrency(replace(plain, reserved_concurrency=50), limit=6) == 6
    source = SqsEventSource(function="PlainFunction", event="Jobs", queue="Q", maximum_concurrency=3)
    assert configured_concurrency(replace(plain, sqs_sources=(source,))) == 3


def test_close_kills_every_sandbox(tmp_path: Path) -> None:
    spec = _function(tmp_path, "idle", "import os\ndef handler(event, context):\n    return os.getpid()\n")
    runtime = SandboxRuntime([spec])
    pid = runtime.invoke("IdleFunction", {}).payload
    runtime.close()
    assert not _alive(pid)
    stopped = runtime.invoke("IdleFunction", {})
    assert stopped.error is not None and stopped.error["errorType"] == "Runtime.Stopped"


def test_provisioned_sandboxes_are_warm_before_the_first_invocation(
    tmp_path: Path, sandboxes: list[SandboxRuntime]
) -> None:
    spec = _function(
        tmp_path,
        "ready",
        """
        import os

        def handler(event, context):
            return os.getpid()
        """,
    )
    runtime = SandboxRuntime([spec], prefix="px", concurrency=3)
    sandboxes.append(runtime)
    assert runtime.provision("ReadyFunction", 2) == 2
    assert runtime.provision("ReadyFunction", 2) == 0  # already there
    assert runtime.stats("ReadyFunction").cold_starts == 2
    started = set(runtime.sandbox_pids("ReadyFunction"))
    answer = runtime.invoke("ReadyFunction", {})
    assert answer.ok, answer.error
    assert answer.payload in started
    assert runtime.stats("ReadyFunction").cold_starts == 2  # served warm, none started for it
